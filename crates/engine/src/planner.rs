//! The SOP planner: materializes every plan's occurrences a horizon ahead into the outbox, one
//! action per group and occurrence, with tracked links — exactly once, even with a restart or a
//! second instance on the same database, because each action's key is the occurrence's key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration};

use crate::live::LiveRenderer;
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::ActionStatus;
use qunzhu_domain::{ActionKind, Clock, DocumentKind, Instant, Platform, WorkspaceId};
use qunzhu_sop::{materialize, parse_plan_in, Activity, Delivery, GroupFacts, Plan};
use qunzhu_storage::{ActionFilter, GroupSeen, NewAuditEntry, NewLink, Store};
use tokio::sync::watch;

#[derive(Clone)]
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
        self.plan_once_keeping(versions, &mut HashMap::new()).await
    }

    /// [`Planner::plan_once`], remembering in `good` the last version of each plan that parsed:
    /// when a saved version is rejected, that one stays in force (its keys, so nothing is
    /// written twice) instead of the plan going quiet.
    pub async fn plan_once_keeping(
        &self,
        versions: &mut HashMap<String, i64>,
        good: &mut HashMap<String, (i64, Plan)>,
    ) -> qunzhu_storage::Result<PlanRound> {
        let now = self.clock.now();
        let mut round = PlanRound::default();
        let mut seen: HashMap<String, DateTime<chrono::Utc>> = self
            .store
            .groups_seen(self.workspace)
            .await?
            .into_iter()
            .filter(|seen| seen.platform == self.platform)
            .map(|seen| (seen.chat, seen.at))
            .collect();
        let summaries: Vec<_> = self
            .store
            .groups(self.workspace)
            .await?
            .into_iter()
            .filter(|summary| summary.group.platform == self.platform)
            .collect();
        let mut groups = Vec::with_capacity(summaries.len());
        for summary in summaries {
            // A group registered before any of its events is created now; its first event, if
            // older, moves the time back (the consumer keeps the minimum).
            let created_at = match seen.remove(&summary.group.chat) {
                Some(at) => at,
                None => {
                    let registered = GroupSeen {
                        platform: self.platform,
                        chat: summary.group.chat.clone(),
                        at: now,
                    };
                    self.store
                        .note_group_seen(self.workspace, registered)
                        .await?;
                    now
                }
            };
            // Type, tags and status are read each round: an edit in the console counts at once.
            let mut facts =
                GroupFacts::from_group(&summary.group, created_at, self.send_autonomously);
            facts.member_count = summary.members_present.try_into().unwrap_or(u32::MAX);
            groups.push(facts);
        }
        let documents = self
            .store
            .documents(self.workspace, DocumentKind::SopPlan)
            .await?;
        // Read each round, like the groups: a plan without its own zone runs in the workspace's.
        let zone = self.store.workspace(self.workspace).await?.time_zone;
        for document in documents {
            // A rejected plan is reported; its last good version stays in force.
            let (plan, version) = match parse_plan_in(&document.source, &document.name, zone) {
                Ok(plan) => {
                    crate::health::document(
                        DocumentKind::SopPlan.as_str(),
                        &document.name,
                        document.version,
                        Vec::new(),
                    );
                    good.insert(document.name.clone(), (document.version, plan.clone()));
                    (plan, document.version)
                }
                Err(problems) => {
                    for problem in &problems {
                        tracing::error!("{problem}");
                    }
                    let problems = problems.iter().map(ToString::to_string).collect();
                    crate::health::document(
                        DocumentKind::SopPlan.as_str(),
                        &document.name,
                        document.version,
                        problems,
                    );
                    match good.get(&document.name) {
                        Some((version, plan)) => (plan.clone(), *version),
                        None => continue,
                    }
                }
            };
            round.plans += 1;
            if versions.get(&document.name) != Some(&version) {
                for old in 1..version {
                    let prefix = ActionOrigin::sop_version_prefix(&plan.id, old);
                    let reason = format!("plan edited: replaced by version {version}");
                    round.cancelled += self
                        .store
                        .cancel_actions(self.workspace, &prefix, now, &reason)
                        .await?;
                }
                versions.insert(document.name.clone(), version);
            }
            let from = now.minus(self.look_back).max(document.updated_at);
            let occurrences = materialize(&plan, &groups, from, now.plus(self.horizon));
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
                action.key = qunzhu_domain::keys::occurrence_at_version(&occurrence.key, version);
                action.origin = ActionOrigin::Sop {
                    plan: plan.id.clone(),
                    version: Some(version),
                    step: occurrence.step.clone(),
                };
                let (tracked, pairs) = occurrence.tracked_text(&self.base_url);
                let text = match &occurrence.attachment {
                    Some(attachment) => format!("{tracked}\n{attachment}"),
                    None => tracked,
                };
                action.kind = match (&occurrence.activity, occurrence.delivery) {
                    // A game is the engine's to run in the group at the step's time; the tick loop
                    // starts it, not the dispatcher, so its announcement is filled now.
                    (Some(Activity::Game(game)), _) => ActionKind::StartGame {
                        game: game.clone(),
                        intro: occurrence.text.clone(),
                    },
                    // A drop is the engine's too: the tick loop schedules it, keyed by this action.
                    (Some(Activity::Drop(drop)), _) => ActionKind::StartDrop {
                        drop: drop.clone(),
                        intro: occurrence.text.clone(),
                    },
                    // A survey: its text is the question, each option may tag who chooses it.
                    (Some(Activity::Poll { options }), _) => ActionKind::SendPoll {
                        question: text,
                        options: options.iter().map(|option| option.text.clone()).collect(),
                        correct_option: None,
                        explanation: None,
                        open_period: None,
                        anonymous: false,
                        tags: if options.iter().any(|option| option.tag.is_some()) {
                            options.iter().map(|option| option.tag.clone()).collect()
                        } else {
                            Vec::new()
                        },
                    },
                    (None, delivery) => match delivery {
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
            origin_prefix: Some(ActionOrigin::SOP_PREFIX.into()),
            limit: Some(10_000),
            ..ActionFilter::default()
        };
        let mut count = 0;
        let renderer = LiveRenderer::new(self.store.clone());
        for task in self.store.actions(self.workspace, &filter).await? {
            if !matches!(task.kind, ActionKind::PersonTask { .. }) {
                continue;
            }
            let due = task.not_before <= now
                && reminded
                    .get(&task.key)
                    .is_none_or(|last| now - *last >= Duration::hours(1));
            if !due {
                continue;
            }
            reminded.insert(task.key.clone(), now);
            // The person sends what is true now, filled like a bot post at its send time.
            let rendered = renderer.render(&task, now).await?;
            let Some(ActionKind::PersonTask { text }) = rendered.as_ref().map(|task| &task.kind)
            else {
                continue;
            };
            tracing::warn!(task = task.id.0, chat = %task.chat, "a scheduled post waits for a person to send and confirm it");
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
        let mut good = HashMap::new();
        let mut reminded = HashMap::new();
        loop {
            crate::health::beat();
            match self.plan_once_keeping(&mut versions, &mut good).await {
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
