//! Following other Matrix policy lists: the Matrix connector logs each followed list's rule
//! events (`EventKind::PolicyRuleChanged`, `chat` = the list); this consumer turns what a list
//! holds now into followed bans (`BanSource::List`), and lifts the ones it no longer holds.
//!
//! A round reconciles: the list's standing rules (`qunzhu_domain::ban::standing_rules`, folded
//! from its logged events) against its stored bans. That is idempotent, so a round redone after
//! a crash, or run by two instances at once, changes nothing twice; the ban list's own rules
//! then apply — a dry-run list's bans only show, an enforced one's ban, and a rule over staff
//! or the bot is refused by `BanList::compile`. A withdrawn rule's bans are undone with
//! [`crate::banlist::lift`]: unbanned where no other ban in force still holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use qunzhu_domain::ban::standing_rules;
use qunzhu_domain::{Ban, BanSource, Clock, NewBan, Platform, WorkspaceId};
use qunzhu_moderation::BanList;
use qunzhu_storage::Store;
use tokio::sync::watch;

/// The most events of one list read back to fold its rules.
pub const MAX_LIST_EVENTS: usize = 200_000;

/// What one reconciliation of a list changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub added: usize,
    /// Rules not taken because they would hit the brand's staff or a bot.
    pub refused: usize,
    pub removed: usize,
    pub unbans: usize,
}

/// Brings one followed list's bans level with the rules it holds in the log.
pub async fn reconcile(
    store: &dyn Store,
    workspace: WorkspaceId,
    list: &str,
    bots: &[(Platform, String)],
    now: chrono::DateTime<chrono::Utc>,
) -> qunzhu_storage::Result<Reconciled> {
    let events = store
        .recent_events(workspace, list, MAX_LIST_EVENTS)
        .await?;
    let standing = standing_rules(
        events
            .iter()
            .filter(|stored| stored.event.platform == Platform::Matrix)
            .map(|stored| {
                (
                    stored.event.key.as_str(),
                    stored.event.at,
                    &stored.event.kind,
                )
            }),
    );
    let source = BanSource::List(list.to_string());
    let stored: Vec<_> = store
        .bans(workspace)
        .await?
        .into_iter()
        .filter(|ban| ban.source == source && ban.platform == Platform::Matrix)
        .collect();
    let mut done = Reconciled::default();
    let protected = crate::banlist::protected(store, workspace, bots).await?;
    for rule in &standing {
        if stored
            .iter()
            .any(|ban| ban.target == rule.target && ban.entity == rule.entity)
        {
            continue;
        }
        let reason = if rule.reason.trim().is_empty() {
            format!("policy list {list}")
        } else {
            rule.reason.trim().to_string()
        };
        let new_ban = NewBan {
            workspace,
            platform: Platform::Matrix,
            target: rule.target,
            entity: rule.entity.clone(),
            reason,
            decided_by: rule.sender.clone(),
            decided_at: rule.at,
            source: source.clone(),
        };
        // A rule over staff or the bot is never taken (and, if someone becomes staff later,
        // `BanList::compile` refuses the stored rule when the list is applied).
        let probe = Ban {
            id: 0,
            workspace,
            platform: new_ban.platform,
            target: new_ban.target,
            entity: new_ban.entity.clone(),
            reason: new_ban.reason.clone(),
            decided_by: new_ban.decided_by.clone(),
            decided_at: new_ban.decided_at,
            source: new_ban.source.clone(),
        };
        if let Some(refusal) = BanList::compile([&probe], &protected).refused.first() {
            tracing::warn!(%list, %refusal, "policy list rule not taken");
            done.refused += 1;
            continue;
        }
        let (_, new) = store.add_ban(new_ban).await?;
        done.added += usize::from(new);
    }
    for ban in &stored {
        if standing
            .iter()
            .any(|rule| rule.target == ban.target && rule.entity == ban.entity)
        {
            continue;
        }
        let Some(lifted) = store
            .remove_ban(workspace, Platform::Matrix, &source, &ban.entity)
            .await?
        else {
            continue;
        };
        done.removed += 1;
        let undone = crate::banlist::lift(
            store,
            &lifted,
            &format!("withdrawn from policy list {list}"),
            bots,
            now,
        )
        .await?;
        done.unbans += undone.unbans;
    }
    Ok(done)
}

/// Reconciles every followed list whose log moved (or that is newly followed), every `every`.
#[derive(Clone)]
pub struct PolicyFollower {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    /// The bots' own ids, which an unban never needs to spare but the ban list guards.
    pub bots: Vec<(Platform, String)>,
    pub every: StdDuration,
    /// Per list, the newest log sequence number reconciled (in memory: a restart reconciles
    /// every list once, which changes nothing that is already level).
    pub seen: Arc<Mutex<HashMap<String, i64>>>,
}

impl PolicyFollower {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        workspace: WorkspaceId,
        bots: Vec<(Platform, String)>,
    ) -> Self {
        PolicyFollower {
            store,
            clock,
            workspace,
            bots,
            every: StdDuration::from_secs(2),
            seen: Arc::default(),
        }
    }

    /// One round; returns what changed across the lists.
    pub async fn sync(&self) -> qunzhu_storage::Result<Reconciled> {
        let mut total = Reconciled::default();
        let lists = self.store.policy_lists(self.workspace).await?;
        for list in &lists {
            let newest = self
                .store
                .recent_events(self.workspace, &list.room, 1)
                .await?
                .first()
                .map_or(0, |stored| stored.seq);
            let seen = self
                .seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .get(&list.room)
                .copied();
            if seen == Some(newest) {
                continue;
            }
            let done = reconcile(
                &*self.store,
                self.workspace,
                &list.room,
                &self.bots,
                self.clock.now(),
            )
            .await?;
            if done.added + done.removed + done.unbans > 0 {
                tracing::info!(list = %list.room, added = done.added, removed = done.removed, unbans = done.unbans, "policy list followed");
            }
            total.added += done.added;
            total.refused += done.refused;
            total.removed += done.removed;
            total.unbans += done.unbans;
            self.seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(list.room.clone(), newest);
        }
        // An unfollowed list is forgotten, so following it again reconciles it again.
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|room, _| lists.iter().any(|list| &list.room == room));
        Ok(total)
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if let Err(error) = self.sync().await {
                tracing::error!(%error, "cannot follow the policy lists");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use qunzhu_domain::{Event, EventKind, FakeClock, JoinVia, ListMode};
    use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace};

    fn rule(state_key: &str, entity: Option<&str>) -> EventKind {
        EventKind::PolicyRuleChanged {
            rule_type: Some("m.policy.rule.user".into()),
            state_key: Some(state_key.into()),
            entity: entity.map(str::to_string),
            recommendation: Some("m.ban".into()),
            reason: Some("spam".into()),
            sender: "@mod:list".into(),
            redacts: None,
        }
    }

    async fn log(
        store: &dyn Store,
        workspace: WorkspaceId,
        chat: &str,
        items: &[(&str, EventKind)],
    ) {
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let events = items
            .iter()
            .map(|(key, kind)| NewEvent {
                event: Event {
                    workspace,
                    platform: Platform::Matrix,
                    key: key.to_string(),
                    chat: chat.to_string(),
                    at,
                    kind: kind.clone(),
                },
                day: at.date_naive(),
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
    }

    #[tokio::test]
    async fn a_list_becomes_followed_bans_and_a_withdrawn_rule_is_lifted_once() {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap();
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "w".into(),
                name: "w".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        let joined = EventKind::MemberJoined {
            member: "@x:spam".into(),
            display_name: None,
            via: JoinVia::Direct,
        };
        log(&*store, workspace, "!group", &[("$join", joined)]).await;
        store
            .set_policy_list(workspace, "!list", ListMode::Enforced, "user:admin", now)
            .await
            .unwrap();
        log(
            &*store,
            workspace,
            "!list",
            &[
                ("$1", rule("rule:x", Some("@x:spam"))),
                ("$2", rule("rule:y", Some("@y:spam"))),
                ("$b", rule("rule:bot", Some("@bot:x"))),
            ],
        )
        .await;
        let bots = vec![(Platform::Matrix, "@bot:x".to_string())];
        let follower = PolicyFollower::new(
            store.clone(),
            Arc::new(FakeClock::new(now)),
            workspace,
            bots.clone(),
        );
        let first = follower.sync().await.unwrap();
        assert_eq!(
            (first.added, first.refused),
            (2, 1),
            "the rule over the bot is not taken"
        );
        assert_eq!(
            follower.sync().await.unwrap(),
            Reconciled::default(),
            "level: nothing"
        );
        let groups = store.groups(workspace).await.unwrap();
        assert_eq!(groups.len(), 1, "a list is not a group: {groups:?}");
        let (_, planned, _) = crate::banlist::enforce(&*store, workspace, &[], now)
            .await
            .unwrap();
        assert_eq!(planned, 1, "@x:spam is banned where it is");
        let ban = store
            .actions(workspace, &qunzhu_storage::ActionFilter::default())
            .await
            .unwrap()
            .into_iter()
            .find(|action| action.chat == "!group")
            .unwrap();
        store
            .finish_action(
                ban.id,
                qunzhu_storage::ActionOutcome::Done { receipt: None },
                now,
            )
            .await
            .unwrap();

        // Emptied content withdraws the rule: the followed ban goes and the member is unbanned.
        log(&*store, workspace, "!list", &[("$3", rule("rule:x", None))]).await;
        let done = follower.sync().await.unwrap();
        assert_eq!((done.added, done.removed, done.unbans), (0, 1, 1));
        // A fresh follower (a restart) reconciles again and changes nothing.
        let again = PolicyFollower::new(
            store.clone(),
            Arc::new(FakeClock::new(now)),
            workspace,
            bots,
        );
        let redone = again.sync().await.unwrap();
        assert_eq!((redone.added, redone.removed, redone.unbans), (0, 0, 0));
        let entities: Vec<String> = store
            .bans(workspace)
            .await
            .unwrap()
            .into_iter()
            .map(|ban| ban.entity)
            .collect();
        assert_eq!(entities, ["@y:spam"]);
    }
}
