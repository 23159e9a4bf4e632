//! Lurker pruning on the operator's schedule: once a local day, at the configured time, every
//! group whose profile has a lurker policy gets its report turned into the policy's warning and
//! removals (dry-run unless the policy says otherwise), through the outbox like any action.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use qunzhu_domain::{Clock, Platform, WorkspaceId};
use qunzhu_moderation::{lurker_decisions, lurker_report, RosterEntry};
use qunzhu_storage::{MemberQuery, NewAuditEntry, Store};
use tokio::sync::watch;

use crate::guard::RulesHandle;

#[derive(Clone)]
pub struct LurkerSweeper {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub rules: RulesHandle,
    pub zone: Tz,
    /// Local time of the daily sweep.
    pub at: NaiveTime,
}

impl LurkerSweeper {
    /// Sweeps every group once; returns how many actions were new in the outbox.
    pub async fn sweep(&self, now: DateTime<Utc>) -> qunzhu_storage::Result<usize> {
        let rules = self.rules.rules();
        let mut written = 0;
        for summary in self.store.groups(self.workspace).await? {
            let group = summary.group;
            if group.platform != self.platform {
                continue;
            }
            let Some(policy) = rules
                .profile_for(&group.chat, group.group_type)
                .and_then(|profile| profile.lurker.clone())
            else {
                continue;
            };
            let query = MemberQuery {
                group_id: Some(group.id),
                limit: Some(1_000_000),
                ..MemberQuery::default()
            };
            let roster: Vec<RosterEntry> = self
                .store
                .members(self.workspace, &query)
                .await?
                .into_iter()
                .filter_map(|summary| {
                    // A member whose arrival qunzhu never saw is never pruned.
                    Some(RosterEntry {
                        joined_at: summary.joined_at?,
                        member: summary.member.user.0,
                        display_name: summary.member.display_name,
                        role: summary.member.role,
                        tier: summary.member.tier,
                        last_spoke_at: summary.last_spoke_at,
                    })
                })
                .collect();
            let entries = lurker_report(&policy, &roster, now);
            let decisions = lurker_decisions(
                &policy,
                self.workspace,
                self.platform,
                &group.chat,
                &group.name,
                &entries,
                now,
            );
            let mut actions = Vec::new();
            for decision in decisions {
                let entry = NewAuditEntry {
                    workspace: self.workspace,
                    at: now,
                    actor: "bot".into(),
                    action: "guard.lurker".into(),
                    subject: decision
                        .audit
                        .member
                        .clone()
                        .unwrap_or_else(|| group.chat.clone()),
                    detail: serde_json::to_value(&decision.audit).unwrap_or_default(),
                };
                self.store.append_audit(entry).await?;
                if let Some(mut action) = decision.action {
                    action.dry_run |= decision.dry_run;
                    actions.push(action);
                }
            }
            written += self.store.enqueue(actions).await?;
        }
        Ok(written)
    }

    /// Sweeps once a local day at `at`, until `stop`.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut last: Option<NaiveDate> = None;
        loop {
            crate::health::beat();
            let now = self.clock.now();
            let local = now.with_timezone(&self.zone);
            if local.time() >= self.at && last != Some(local.date_naive()) {
                last = Some(local.date_naive());
                match self.sweep(now).await {
                    Ok(written) => tracing::info!(written, "lurker sweep done"),
                    Err(error) => tracing::error!(%error, "lurker sweep failed"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(StdDuration::from_secs(60)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
