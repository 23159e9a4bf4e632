//! The SOP planner: materializes every plan's occurrences a horizon ahead into the outbox, one
//! action per group and occurrence, with tracked links — exactly once, even with a restart or a
//! second instance on the same database, because each action's key is the occurrence's key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration};
use qunzhu_domain::ActionStatus;
use qunzhu_domain::{ActionKind, Clock, Platform, WorkspaceId};
use qunzhu_sop::{materialize, parse_plan, Delivery, GroupFacts};
use qunzhu_storage::{ActionFilter, NewAuditEntry, NewLink, Store};
use tokio::sync::watch;

/// Kind of the SOP plan documents in the store.
pub const PLAN_KIND: &str = "sop_plan";

pub struct Planner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    /// Whether the platform posts by itself; if not, occurrences are tasks for a person.
    pub send_autonomously: bool,
    /// Short links point here: `{base_url}/l/{code}`.
    pub base_url: String,
    /// How far ahead occurrences are written.
    pub horizon: Duration,
    /// How far back a (re)start looks for occurrences it missed; those past their grace are
    /// written and skipped with the reason, those within it are sent late.
    pub look_back: Duration,
    pub every: StdDuration,
}

/// What one planning round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PlanRound {
    pub plans: usize,
    pub occurrences: usize,
    pub new_actions: usize,
    pub cancelled: usize,
}

impl Planner {
    /// Plans every document once. `versions` remembers which version of each plan was planned,
    /// so an edit cancels the old version's future posts before the new version's are written.
    pub async fn plan_once(
        &self,
        versions: &mut HashMap<String, i64>,
    ) -> qunzhu_storage::Result<PlanRound> {
        let now = self.clock.now();
        let mut round = PlanRound::default();
        let mut groups: Vec<GroupFacts> = self
            .store
            .groups(self.workspace)
            .await?
            .into_iter()
            .filter(|summary| summary.group.platform == self.platform)
            .map(|summary| {
                // Group creation is not recorded yet: the epoch keeps creation-relative steps
                // stable (they never fire) instead of shifting with every restart.
                let mut facts = GroupFacts::from_group(
                    &summary.group,
                    DateTime::UNIX_EPOCH,
                    self.send_autonomously,
                );
                facts.member_count = summary.members_present.try_into().unwrap_or(u32::MAX);
                facts
            })
            .collect();
        let documents = self.store.documents(self.workspace, PLAN_KIND).await?;
        if documents
            .iter()
            .any(|document| document.source.contains("{checkin_leaders}"))
        {
            let zone = self
                .store
                .workspace(self.workspace)
                .await?
                .time_zone
                .parse()
                .unwrap_or(chrono_tz::Asia::Shanghai);
            let mut leaders =
                crate::checkin::leaderboards(&*self.store, self.workspace, zone, now, 5).await?;
            for facts in &mut groups {
                facts.checkin_leaders = leaders.remove(&facts.chat).unwrap_or_default();
            }
        }
        for document in documents {
            let plan = match parse_plan(&document.source, &document.name) {
                Ok(plan) => plan,
                Err(problems) => {
                    for problem in &problems {
                        tracing::error!("{problem}");
                    }
                    continue;
                }
            };
            round.plans += 1;
            if versions.get(&document.name) != Some(&document.version) {
                for old in 1..document.version {
                    let prefix = format!("sop:{}@v{old}/", plan.id);
                    let reason = format!("plan edited: replaced by version {}", document.version);
                    round.cancelled += self
                        .store
                        .cancel_actions(self.workspace, &prefix, now, &reason)
                        .await?;
                }
                versions.insert(document.name.clone(), document.version);
            }
            let from = (now - self.look_back).max(document.updated_at);
            let occurrences = materialize(&plan, &groups, from, now + self.horizon);
            round.occurrences += occurrences.len();
            let mut actions = Vec::new();
            let mut links = Vec::new();
            for occurrence in occurrences {
                let mut action = occurrence.to_new_action(
                    self.workspace,
                    self.platform,
                    now,
                    occurrence.scheduled,
                );
                action.key = format!("{}#v{}", occurrence.key, document.version);
                action.origin =
                    format!("sop:{}@v{}/{}", plan.id, document.version, occurrence.step);
                let (tracked, pairs) = occurrence.tracked_text(&self.base_url);
                let text = match &occurrence.attachment {
                    Some(attachment) => format!("{tracked}\n{attachment}"),
                    None => tracked,
                };
                action.kind = match occurrence.delivery {
                    // A 朋友圈 post is always a person's job (WeCom follows it as a moment task).
                    _ if occurrence.moments.is_some() => {
                        action.expires_at = None;
                        ActionKind::MomentTask {
                            text,
                            staff: occurrence.moments.clone().unwrap_or_default(),
                        }
                    }
                    // The platform cannot post by itself: a person posts it and confirms; it
                    // does not expire, it waits (and is reminded) until confirmed.
                    Delivery::HumanTask => {
                        action.expires_at = None;
                        ActionKind::PersonTask { text }
                    }
                    Delivery::Bot => ActionKind::SendMessage {
                        text,
                        html: None,
                        mentions: Vec::new(),
                        reply_to: None,
                    },
                };
                links.extend(pairs.into_iter().map(|(code, url)| NewLink {
                    code,
                    workspace: self.workspace,
                    url,
                    push: action.key.clone(),
                    chat: occurrence.chat.clone(),
                    member: None,
                    created_at: now,
                }));
                actions.push(action);
            }
            self.store.put_links(links).await?;
            round.new_actions += self.store.enqueue(actions).await?;
        }
        Ok(round)
    }

    /// Reminds (in the log and the audit trail) of posts a person has not confirmed yet, at most
    /// once an hour each; `reminded` remembers when each was last reminded.
    pub async fn remind(
        &self,
        reminded: &mut HashMap<String, DateTime<chrono::Utc>>,
    ) -> qunzhu_storage::Result<usize> {
        let now = self.clock.now();
        let filter = ActionFilter {
            status: Some(ActionStatus::Pending),
            origin_prefix: Some("sop:".into()),
            limit: Some(10_000),
            ..ActionFilter::default()
        };
        let mut count = 0;
        for task in self.store.actions(self.workspace, &filter).await? {
            let ActionKind::PersonTask { text } = &task.kind else {
                continue;
            };
            let due = task.not_before <= now
                && reminded
                    .get(&task.key)
                    .is_none_or(|last| now - *last >= Duration::hours(1));
            if !due {
                continue;
            }
            reminded.insert(task.key.clone(), now);
            tracing::warn!(task = task.id, chat = %task.chat, "a scheduled post waits for a person to send and confirm it");
            let entry = NewAuditEntry {
                workspace: self.workspace,
                at: now,
                actor: "bot".into(),
                action: "sop.task_reminder".into(),
                subject: task.chat.clone(),
                detail: serde_json::json!({"action": task.id, "key": task.key, "text": text, "due": task.not_before}),
            };
            self.store.append_audit(entry).await?;
            count += 1;
        }
        Ok(count)
    }

    /// Plans every `every` until `stop`, and reminds of tasks waiting for a person.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut versions = HashMap::new();
        let mut reminded = HashMap::new();
        loop {
            match self.plan_once(&mut versions).await {
                Ok(round) if round.new_actions > 0 || round.cancelled > 0 => {
                    tracing::info!(?round, "SOP planned")
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "SOP planning failed"),
            }
            if let Err(error) = self.remind(&mut reminded).await {
                tracing::error!(%error, "cannot look at tasks waiting for a person");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
