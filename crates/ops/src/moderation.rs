//! Moderation an operator decides: join requests, undoing a bot's ban or mute, the lurker sweep.

use qunzhu_domain::{ActionId, ActionKind, GroupId, MemberId, NewAction, Platform};
use qunzhu_storage::{StoredEvent, UserRole};
use serde_json::json;

use crate::{Actor, Ops, OpsError, Result};

/// What a decision wrote: `false` when the same decision was already in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    pub new: bool,
}

impl Ops {
    /// Approves or denies the waiting join request of `member` in a group.
    pub async fn decide_join_request(
        &self,
        who: &Actor,
        group_id: GroupId,
        member: &str,
        approve: bool,
        reason: &str,
    ) -> Result<Decided> {
        who.require(UserRole::Operator)?;
        let group = self.store.group(who.workspace, group_id).await?;
        let pending = self.store.pending_join_requests(who.workspace).await?;
        let request = pending
            .into_iter()
            .find(|stored| {
                stored.event.chat == group.chat
                    && stored.event.kind.member().map(MemberId::as_str) == Some(member)
            })
            .ok_or(OpsError::NotFound("join request"))?;
        self.decide(who, request, approve, reason).await
    }

    /// Approves or denies a waiting join request named by its event key (`moderation requests`).
    pub async fn decide_join_request_by_key(
        &self,
        who: &Actor,
        event_key: &str,
        approve: bool,
        reason: &str,
    ) -> Result<Decided> {
        who.require(UserRole::Operator)?;
        let pending = self.store.pending_join_requests(who.workspace).await?;
        let request = pending
            .into_iter()
            .find(|stored| stored.event.key == event_key)
            .ok_or(OpsError::NotFound("waiting join request"))?;
        self.decide(who, request, approve, reason).await
    }

    /// One decision, one action: the key is derived from the request alone, so deciding it
    /// twice (two tabs, the console and the CLI) writes once.
    async fn decide(
        &self,
        who: &Actor,
        request: StoredEvent,
        approve: bool,
        reason: &str,
    ) -> Result<Decided> {
        let member = request
            .event
            .kind
            .member()
            .ok_or(OpsError::NotFound("join request"))?
            .to_string();
        let now = self.clock.now();
        let action = NewAction {
            workspace: who.workspace,
            platform: request.event.platform,
            chat: request.event.chat.clone(),
            key: qunzhu_domain::keys::join_decision(&request.event.key),
            kind: ActionKind::DecideJoinRequest {
                member: member.clone(),
                approve,
                reason: reason.to_string(),
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::Api(who.name.clone()),
            cause: Some(request.event.key.clone()),
        };
        let new = self.store.enqueue(vec![action]).await? > 0;
        if new {
            let verb = if approve {
                "join_request.approve"
            } else {
                "join_request.deny"
            };
            self.audit(
                who,
                verb,
                &format!("{}:{member}", request.event.chat),
                json!({ "event": request.event.key, "reason": reason }),
            )
            .await?;
        }
        Ok(Decided { new })
    }

    /// Reverses a bot ban or mute by queueing the opposite action; returns what was queued.
    pub async fn undo_action(
        &self,
        who: &Actor,
        action_id: ActionId,
    ) -> Result<(NewAction, Decided)> {
        who.require(UserRole::Operator)?;
        let action = self.store.action(action_id).await?;
        // `action` is looked up by id alone; another workspace's action must look missing.
        if action.workspace != who.workspace {
            return Err(OpsError::NotFound("action"));
        }
        let now = self.clock.now();
        let (ws, platform, chat, by, cause) = (
            who.workspace,
            action.platform,
            action.chat.as_str(),
            &who.name,
            action.key.as_str(),
        );
        let undo = match &action.kind {
            ActionKind::Ban { member, .. } => {
                qunzhu_moderation::undo::unban(ws, platform, chat, member, by, cause, now)
            }
            ActionKind::Mute { member, .. } => {
                qunzhu_moderation::undo::unmute(ws, platform, chat, member, by, cause, now)
            }
            other => {
                return Err(OpsError::invalid(
                    "action",
                    format!(
                        "action {action_id} is a {}; only bans and mutes can be undone",
                        other.name()
                    ),
                ))
            }
        };
        let new = self.store.enqueue(vec![undo.clone()]).await? > 0;
        if new {
            self.audit(
                who,
                "moderation.undo",
                &action.key,
                json!({ "action": action.kind.name(), "chat": action.chat, "undo": undo.key }),
            )
            .await?;
        }
        Ok((undo, Decided { new }))
    }

    /// Runs today's lurker sweep now with the rules in force: each group's lurker policy turns
    /// its report into the policy's warning and removals (dry-run unless the policy says
    /// otherwise). Returns how many actions were new in the outbox.
    pub async fn sweep_lurkers(
        &self,
        who: &Actor,
        rules: qunzhu_engine::RulesHandle,
        zone: chrono_tz::Tz,
    ) -> Result<usize> {
        who.require(UserRole::Operator)?;
        let now = self.clock.now();
        let mut platforms: Vec<Platform> = self
            .store
            .groups(who.workspace)
            .await?
            .into_iter()
            .map(|summary| summary.group.platform)
            .collect();
        platforms.sort_by_key(|platform| platform.as_str());
        platforms.dedup();
        let mut written = 0;
        for platform in platforms {
            let sweeper = qunzhu_engine::LurkerSweeper {
                store: self.store.clone(),
                clock: self.clock.clone(),
                workspace: who.workspace,
                platform,
                rules: rules.clone(),
                zone,
                at: chrono::NaiveTime::MIN,
            };
            written += sweeper.sweep(now).await?;
        }
        self.audit(who, "lurkers.sweep", "", json!({ "new_actions": written }))
            .await?;
        Ok(written)
    }
}
