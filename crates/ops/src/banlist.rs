//! The brand-wide ban list 黑名单 as operators edit it: ban and unban a member (or a glob, or a
//! server) in every group of the workspace, follow Matrix policy lists, see in dry-run who a
//! list would ban where, then enforce it.
//!
//! The ban itself is a row of the ban store; the engine's ban watcher plans a `Ban` in every
//! group where the member is (and the guards ban them on any later join). An unban lifts the
//! row, cancels bans not yet carried out and queues an `Unban` where one was.

use qunzhu_domain::{
    ActionKind, Ban, BanSource, BanTarget, ListMode, NewAction, NewBan, Platform, PolicyList,
};
use qunzhu_engine::banlist::{lift, plan_bans, protected, read_bans};
use qunzhu_moderation::{BanList, Refusal};
use qunzhu_storage::UserRole;
use serde::Serialize;
use serde_json::json;

use crate::limits::{bounded, MAX_NAME_CHARS, MAX_TEXT_CHARS};
use crate::{Actor, Ops, OpsError, Result};

/// What a ban decision wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Banned {
    pub ban: Ban,
    /// False when the same ban was already on the list (the first decision stands).
    pub new: bool,
}

/// What an unban did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unbanned {
    pub ban: Ban,
    /// Bans not yet carried out, cancelled.
    pub cancelled: usize,
    /// `Unban` actions queued where the ban was carried out.
    pub unbans: usize,
}

/// Someone a followed list would ban, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WouldBan {
    pub platform: Platform,
    pub chat: String,
    pub member: String,
    pub entity: String,
    pub reason: String,
}

/// A followed list with what it would do (dry-run) or does (enforced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListView {
    pub list: PolicyList,
    pub rules: usize,
    pub would_ban: Vec<WouldBan>,
    pub refused: Vec<Refusal>,
}

/// The whole ban list as the console and CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BanOverview {
    pub bans: Vec<Ban>,
    pub lists: Vec<ListView>,
    /// Rules in force the staff guard refused.
    pub refused: Vec<Refusal>,
}

fn check_entity(platform: Platform, target: BanTarget, entity: &str) -> Result<()> {
    bounded("entity", entity, MAX_NAME_CHARS)?;
    if entity.trim().is_empty() || entity.trim() != entity {
        return Err(OpsError::invalid(
            "entity",
            "give a member id, a glob such as @*:spam.example, or a server",
        ));
    }
    if entity.chars().all(|c| c == '*' || c == '?') {
        return Err(OpsError::invalid(
            "entity",
            format!("`{entity}` would ban everyone; name a member, a server or a narrower glob"),
        ));
    }
    if platform == Platform::Matrix && target == BanTarget::User && !entity.starts_with('@') {
        return Err(OpsError::invalid(
            "entity",
            format!("`{entity}` is not a Matrix user id or glob (they start with @)"),
        ));
    }
    if target == BanTarget::Server && entity.starts_with('@') {
        return Err(OpsError::invalid(
            "entity",
            format!("`{entity}` is a user; a server ban names a server such as spam.example"),
        ));
    }
    Ok(())
}

impl Ops {
    /// Bans `entity` from every group of the workspace on `platform`, with the reason.
    /// Refused when the rule would match the brand's own staff.
    pub async fn ban(
        &self,
        who: &Actor,
        platform: Platform,
        target: BanTarget,
        entity: &str,
        reason: &str,
    ) -> Result<Banned> {
        who.require(UserRole::Operator)?;
        check_entity(platform, target, entity)?;
        bounded("reason", reason, MAX_TEXT_CHARS)?;
        if reason.trim().is_empty() {
            return Err(OpsError::invalid(
                "reason",
                "say why (members and admins see it)",
            ));
        }
        let new_ban = NewBan {
            workspace: who.workspace,
            platform,
            target,
            entity: entity.to_string(),
            reason: reason.trim().to_string(),
            decided_by: who.name.to_string(),
            decided_at: self.clock.now(),
            source: BanSource::Own,
        };
        let staff = protected(&*self.store, who.workspace, &[]).await?;
        let probe = Ban {
            id: 0,
            workspace: new_ban.workspace,
            platform,
            target,
            entity: new_ban.entity.clone(),
            reason: new_ban.reason.clone(),
            decided_by: new_ban.decided_by.clone(),
            decided_at: new_ban.decided_at,
            source: BanSource::Own,
        };
        if let Some(refusal) = BanList::compile([&probe], &staff).refused.first() {
            return Err(OpsError::invalid("entity", refusal.to_string()));
        }
        let (ban, new) = self.store.add_ban(new_ban).await?;
        if platform == Platform::Matrix {
            // Published in the brand's policy room, for other moderation bots to follow.
            self.store
                .enqueue(vec![self.policy_action(
                    &ban,
                    Some(ban.reason.clone()),
                    qunzhu_domain::keys::policy_rule(ban.id),
                )])
                .await?;
        }
        if new {
            self.audit(
                who,
                "banlist.ban",
                &ban.entity,
                json!({ "ban": ban.id, "platform": platform.as_str(), "target": target.as_str(), "reason": ban.reason }),
            )
            .await?;
        }
        Ok(Banned { ban, new })
    }

    /// Lifts the brand's own ban of `entity`: bans still waiting are cancelled, bans carried
    /// out are undone group by group.
    pub async fn unban(
        &self,
        who: &Actor,
        platform: Platform,
        entity: &str,
        reason: &str,
    ) -> Result<Unbanned> {
        who.require(UserRole::Operator)?;
        bounded("entity", entity, MAX_NAME_CHARS)?;
        bounded("reason", reason, MAX_TEXT_CHARS)?;
        let ban = self
            .store
            .remove_ban(who.workspace, platform, &BanSource::Own, entity)
            .await?
            .ok_or(OpsError::NotFound("ban"))?;
        let lifted = lift(&*self.store, &ban, reason, &[], self.clock.now()).await?;
        let (cancelled, unbans) = (lifted.cancelled, lifted.unbans);
        if platform == Platform::Matrix {
            let key = format!("{}:removed", qunzhu_domain::keys::policy_rule(ban.id));
            self.store
                .enqueue(vec![self.policy_action(&ban, None, key)])
                .await?;
        }
        self.audit(
            who,
            "banlist.unban",
            &ban.entity,
            json!({ "ban": ban.id, "reason": reason, "cancelled": cancelled, "unbans": unbans }),
        )
        .await?;
        Ok(Unbanned {
            ban,
            cancelled,
            unbans,
        })
    }

    /// The rule of the brand's Matrix policy list for `ban`; `None` removes it.
    fn policy_action(&self, ban: &Ban, reason: Option<String>, key: String) -> NewAction {
        let now = self.clock.now();
        NewAction {
            workspace: ban.workspace,
            platform: Platform::Matrix,
            chat: qunzhu_domain::action::POLICY_CHAT.to_string(),
            key,
            kind: ActionKind::PolicyRule {
                target: ban.target,
                entity: ban.entity.clone(),
                reason,
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::Ban {
                ban: ban.id,
                step: qunzhu_domain::BanStep::Policy,
            },
            cause: None,
        }
    }

    /// Follows a Matrix policy list room, in dry-run until [`Ops::enforce_list`].
    pub async fn follow_list(&self, who: &Actor, room: &str) -> Result<PolicyList> {
        self.set_list(who, room, ListMode::DryRun, "banlist.follow")
            .await
    }

    /// Enforces a followed list: its rules ban from now on (after its dry-run was seen).
    pub async fn enforce_list(&self, who: &Actor, room: &str) -> Result<PolicyList> {
        who.require(UserRole::Admin)?;
        let followed = self.store.policy_lists(who.workspace).await?;
        if !followed.iter().any(|list| list.room == room) {
            return Err(OpsError::invalid(
                "room",
                format!("`{room}` is not followed; follow it first and look at its dry-run"),
            ));
        }
        self.set_list(who, room, ListMode::Enforced, "banlist.enforce")
            .await
    }

    /// Stops following a list; its rules stop counting at once.
    pub async fn unfollow_list(&self, who: &Actor, room: &str) -> Result<()> {
        who.require(UserRole::Admin)?;
        if !self.store.remove_policy_list(who.workspace, room).await? {
            return Err(OpsError::NotFound("policy list"));
        }
        self.audit(who, "banlist.unfollow", room, json!({})).await
    }

    async fn set_list(
        &self,
        who: &Actor,
        room: &str,
        mode: ListMode,
        verb: &str,
    ) -> Result<PolicyList> {
        who.require(UserRole::Admin)?;
        bounded("room", room, MAX_NAME_CHARS)?;
        if !room.starts_with('!') && !room.starts_with('#') {
            return Err(OpsError::invalid(
                "room",
                format!("`{room}` is not a Matrix room id (!…) or alias (#…)"),
            ));
        }
        let list = self
            .store
            .set_policy_list(
                who.workspace,
                room,
                mode,
                &who.name.to_string(),
                self.clock.now(),
            )
            .await?;
        self.audit(who, verb, room, json!({ "mode": mode.as_str() }))
            .await?;
        Ok(list)
    }

    /// The ban list, the followed lists and who each would ban where.
    pub async fn ban_overview(&self, who: &Actor) -> Result<BanOverview> {
        who.require(UserRole::Viewer)?;
        let book = read_bans(&*self.store, who.workspace).await?;
        let staff = protected(&*self.store, who.workspace, &[]).await?;
        let refused = BanList::compile(&book.in_force, &staff).refused;
        let mut lists = Vec::new();
        for list in self.store.policy_lists(who.workspace).await? {
            let rules: Vec<&Ban> = match list.mode {
                ListMode::DryRun => book
                    .dry_run
                    .get(&list.room)
                    .map(|bans| bans.iter().collect())
                    .unwrap_or_default(),
                ListMode::Enforced => book
                    .in_force
                    .iter()
                    .filter(|ban| ban.source == BanSource::List(list.room.clone()))
                    .collect(),
            };
            let compiled = BanList::compile(rules.iter().copied(), &staff);
            let mut would_ban = Vec::new();
            let mut platforms: Vec<Platform> = rules.iter().map(|ban| ban.platform).collect();
            platforms.sort();
            platforms.dedup();
            for platform in platforms {
                let present = self
                    .store
                    .present_members(who.workspace, platform, None)
                    .await?;
                for action in plan_bans(&compiled.list, who.workspace, &present, self.clock.now()) {
                    if let ActionKind::Ban { member, reason } = action.kind {
                        let entity = compiled
                            .list
                            .hit(platform, &member)
                            .map(|hit| hit.entity.to_string())
                            .unwrap_or_default();
                        would_ban.push(WouldBan {
                            platform,
                            chat: action.chat,
                            member,
                            entity,
                            reason,
                        });
                    }
                }
            }
            lists.push(ListView {
                rules: rules.len(),
                list,
                would_ban,
                refused: compiled.refused,
            });
        }
        let bans = book.in_force;
        Ok(BanOverview {
            bans,
            lists,
            refused,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qunzhu_storage::ActionFilter;

    #[test]
    fn entities_are_checked_with_a_reason() {
        for (platform, target, entity, ok) in [
            (Platform::Matrix, BanTarget::User, "@spam:x.org", true),
            (Platform::Matrix, BanTarget::User, "@*:spam.example", true),
            (Platform::Matrix, BanTarget::User, "spam", false),
            (Platform::Matrix, BanTarget::User, "*", false),
            (Platform::Matrix, BanTarget::User, " @a:x", false),
            (Platform::Matrix, BanTarget::Server, "spam.example", true),
            (Platform::Matrix, BanTarget::Server, "@a:x", false),
            (Platform::Telegram, BanTarget::User, "123456", true),
        ] {
            assert_eq!(
                check_entity(platform, target, entity).is_ok(),
                ok,
                "{entity}"
            );
        }
    }

    async fn community() -> (Ops, qunzhu_domain::WorkspaceId) {
        use chrono::TimeZone;
        use qunzhu_domain::{Event, EventKind, FakeClock, JoinVia, MemberRole};
        use qunzhu_storage::{IngestBatch, MemberUpdate, NewEvent, NewWorkspace, Store};
        use std::sync::Arc;
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("SQLite"));
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "brand".into(),
                name: "Brand".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        let joins = [
            ("!a", "@spam:x"),
            ("!b", "@spam:x"),
            ("!a", "@admin:x"),
            ("!b", "@ok:y"),
        ];
        let events = joins
            .iter()
            .enumerate()
            .map(|(n, (chat, member))| NewEvent {
                event: Event {
                    workspace,
                    platform: Platform::Matrix,
                    key: format!("$j{n}"),
                    chat: chat.to_string(),
                    at: now,
                    kind: EventKind::MemberJoined {
                        member: member.to_string().into(),
                        display_name: None,
                        via: JoinVia::Direct,
                    },
                },
                day: now.date_naive(),
            })
            .collect();
        store
            .ingest(
                IngestBatch {
                    events,
                    cursor: None,
                },
                &mut |_| Vec::new(),
            )
            .await
            .unwrap();
        store
            .update_member(
                workspace,
                Platform::Matrix,
                &"@admin:x".into(),
                MemberUpdate {
                    role: Some(MemberRole::Admin),
                    ..MemberUpdate::default()
                },
            )
            .await
            .unwrap();
        (Ops::new(store, Arc::new(FakeClock::new(now))), workspace)
    }

    #[tokio::test]
    async fn a_ban_holds_in_every_group_and_an_unban_lifts_it() {
        let (ops, workspace) = community().await;
        let who = Actor {
            workspace,
            name: qunzhu_domain::ActorName::User("ops".into()),
            role: UserRole::Operator,
        };
        let refused = ops
            .ban(&who, Platform::Matrix, BanTarget::User, "@*:x", "spam")
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("@admin:x"), "{refused}");
        let banned = ops
            .ban(&who, Platform::Matrix, BanTarget::User, "@spam:x", "广告")
            .await
            .unwrap();
        assert!(banned.new);
        let again = ops
            .ban(&who, Platform::Matrix, BanTarget::User, "@spam:x", "again")
            .await
            .unwrap();
        assert_eq!((again.new, again.ban.reason.as_str()), (false, "广告"));

        let now = ops.clock.now();
        let bot = [(Platform::Matrix, "@bot:x".to_string())];
        let (list, written, _) = qunzhu_engine::banlist::enforce(&*ops.store, workspace, &bot, now)
            .await
            .unwrap();
        assert_eq!((list.len(), written), (1, 2), "banned in both groups");
        let (_, written, _) = qunzhu_engine::banlist::enforce(&*ops.store, workspace, &bot, now)
            .await
            .unwrap();
        assert_eq!(written, 0, "planning again writes nothing");
        let planned = ops
            .store
            .actions(workspace, &ActionFilter::default())
            .await
            .unwrap();
        let done = planned.iter().find(|action| action.chat == "!a").unwrap();
        ops.store
            .finish_action(
                done.id,
                qunzhu_storage::ActionOutcome::Done { receipt: None },
                now,
            )
            .await
            .unwrap();

        let lifted = ops
            .unban(&who, Platform::Matrix, "@spam:x", "appeal accepted")
            .await
            .unwrap();
        assert_eq!(
            (lifted.cancelled, lifted.unbans),
            (2, 1),
            "the waiting ban and the waiting policy-room publish are cancelled"
        );
        assert!(matches!(
            ops.unban(&who, Platform::Matrix, "@spam:x", "twice").await,
            Err(OpsError::NotFound("ban"))
        ));
        let overview = ops.ban_overview(&who).await.unwrap();
        assert!(overview.bans.is_empty());
    }

    #[tokio::test]
    async fn a_followed_list_is_dry_run_until_enforced_and_never_hits_staff() {
        let (ops, workspace) = community().await;
        let admin = Actor {
            workspace,
            name: qunzhu_domain::ActorName::User("boss".into()),
            role: UserRole::Admin,
        };
        ops.follow_list(&admin, "!policy:x").await.unwrap();
        for (entity, target) in [("@spam:x", BanTarget::User), ("@*:x", BanTarget::User)] {
            ops.store
                .add_ban(NewBan {
                    workspace,
                    platform: Platform::Matrix,
                    target,
                    entity: entity.into(),
                    reason: "listed".into(),
                    decided_by: "@mod:other".into(),
                    decided_at: ops.clock.now(),
                    source: BanSource::List("!policy:x".into()),
                })
                .await
                .unwrap();
        }
        let overview = ops.ban_overview(&admin).await.unwrap();
        let view = &overview.lists[0];
        assert_eq!(view.list.mode, ListMode::DryRun);
        let would: Vec<(&str, &str)> = view
            .would_ban
            .iter()
            .map(|would| (would.chat.as_str(), would.member.as_str()))
            .collect();
        assert_eq!(would, [("!a", "@spam:x"), ("!b", "@spam:x")]);
        assert_eq!(view.refused.len(), 1, "the glob over staff is refused");
        let now = ops.clock.now();
        let (list, written, _) = qunzhu_engine::banlist::enforce(&*ops.store, workspace, &[], now)
            .await
            .unwrap();
        assert_eq!((list.len(), written), (0, 0), "dry-run bans nobody");
        ops.enforce_list(&admin, "!policy:x").await.unwrap();
        let (list, written, refused) =
            qunzhu_engine::banlist::enforce(&*ops.store, workspace, &[], now)
                .await
                .unwrap();
        assert_eq!((list.len(), written, refused.len()), (1, 2, 1));
        assert!(ops.enforce_list(&admin, "!other:x").await.is_err());
    }
}
