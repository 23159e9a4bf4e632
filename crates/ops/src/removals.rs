//! "确认移出": the lurker sweep's dry-run removals, and the step that turns a group's dry-run
//! report into real removals through the outbox.

use chrono::Duration;
use qunzhu_domain::{ActionKind, ActionRecord, ActionStatus, NewAction};
use qunzhu_storage::{ActionQuery, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::{Actor, Ops, OpsError, Result};

/// What confirming a lurker report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Removals {
    /// Members the report names (each once).
    pub reported: usize,
    /// Kicks newly written to the outbox (confirming again writes none).
    pub queued: usize,
}

/// How far back a dry-run lurker report can still be confirmed.
const REPORT_DAYS: i64 = 7;

impl Ops {
    /// The dry-run lurker removals of the last week's reports, newest first; `chat` narrows to
    /// one group.
    pub async fn lurker_report(
        &self,
        who: &Actor,
        chat: Option<&str>,
    ) -> Result<Vec<ActionRecord>> {
        let query = ActionQuery {
            chat: chat.map(str::to_string),
            kinds: vec!["kick".into()],
            origins: vec!["rule:lurker:".into()],
            statuses: vec![ActionStatus::DryRun],
            since: Some(self.clock.now() - Duration::days(REPORT_DAYS)),
            limit: 10_000,
            ..ActionQuery::default()
        };
        Ok(self.store.query_actions(who.workspace, &query).await?)
    }

    /// Turns a group's dry-run lurker report into removals: one kick per reported member, keyed
    /// by the dry-run action it confirms, so confirming twice removes once.
    pub async fn confirm_lurker_removals(
        &self,
        who: &Actor,
        group_id: qunzhu_domain::GroupId,
    ) -> Result<Removals> {
        who.require(UserRole::Operator)?;
        let group = self.store.group(who.workspace, group_id).await?;
        let report = self.lurker_report(who, Some(&group.chat)).await?;
        if report.is_empty() {
            return Err(OpsError::NotFound("lurker report"));
        }
        let now = self.clock.now();
        let mut seen = std::collections::HashSet::new();
        let actions: Vec<NewAction> = report
            .iter()
            // The newest report naming a member wins; older days' reports name them again.
            .filter(|dry| match &dry.kind {
                ActionKind::Kick { member, .. } => seen.insert(member.clone()),
                _ => false,
            })
            .map(|dry| NewAction {
                workspace: who.workspace,
                platform: dry.platform,
                chat: dry.chat.clone(),
                key: qunzhu_domain::keys::confirmed(&dry.key),
                kind: dry.kind.clone(),
                created_at: now,
                not_before: now,
                expires_at: None,
                dry_run: false,
                origin: dry.origin.clone(),
                cause: Some(dry.key.clone()),
            })
            .collect();
        let reported = actions.len();
        let queued = self.store.enqueue(actions).await?;
        self.audit(
            who,
            "lurkers.confirm",
            &group.chat,
            json!({ "reported": reported, "queued": queued }),
        )
        .await?;
        Ok(Removals { reported, queued })
    }
}
