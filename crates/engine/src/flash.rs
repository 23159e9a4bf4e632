//! The flash-group keeper 快闪群: per platform, every few seconds, it reads the workspace's flash
//! plans (documents of kind [`qunzhu_domain::DocumentKind::Flash`]), asks the pure lifecycle
//! ([`qunzhu_growth::flash::decide`]) what is due, and carries it out — the create, the closing
//! message, the rename, the posting lock and (`end = "dissolve"`) one removal per remaining
//! member through the outbox, the flash type, tags and the archived or dissolved status in the
//! directory. The members to remove are read from the memberships read model.
//!
//! Nothing is remembered between rounds but the outbox and the directory: every step's action is
//! looked up by its key (`keys::flash_*`) and written with it, so a second round, a second
//! instance or a restart after a crash finds the step already written and writes nothing again.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use qunzhu_domain::action::NEW_GROUP_CHAT;
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::{
    keys, ActionKind, ActionStatus, Clock, DocumentKind, Group, GroupStatus, GroupType, NewAction,
    Platform, WorkspaceId,
};
use qunzhu_growth::flash::{
    archived_name, chat_of, closing_text, create_action, decide, parse_flash, Can, Do, End, Facts,
    FlashPlan, Stage, StepState,
};
use qunzhu_growth::flash_end::{dissolve_task_text, kick_action, removable};
use qunzhu_storage::{GroupUpdate, MemberQuery, Store, StoreError};
use tokio::sync::watch;

/// Where one flash group stood after a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashStatus {
    pub name: String,
    pub title: String,
    pub stage: Stage,
    pub chat: Option<String>,
    pub opens_at: chrono::DateTime<chrono::Utc>,
    pub closes_at: chrono::DateTime<chrono::Utc>,
}

async fn step(
    store: &dyn Store,
    workspace: WorkspaceId,
    key: &str,
) -> qunzhu_storage::Result<StepState> {
    match store.action_by_key(workspace, key).await {
        Ok(action) => Ok(match action.status {
            ActionStatus::Done => StepState::Done(action.receipt),
            ActionStatus::Dead | ActionStatus::Skipped => {
                StepState::Failed(action.last_error.unwrap_or_else(|| "skipped".into()))
            }
            ActionStatus::Pending | ActionStatus::InFlight | ActionStatus::DryRun => {
                StepState::Waiting
            }
        }),
        Err(StoreError::NotFound { .. }) => Ok(StepState::Absent),
        Err(error) => Err(error),
    }
}

/// What the outbox (each step by its key) and the directory (the group's type, tags and
/// status) know of one flash plan; the keeper decides from it and the console shows it.
pub async fn flash_facts(
    store: &dyn Store,
    workspace: WorkspaceId,
    plan: &FlashPlan,
) -> qunzhu_storage::Result<Facts> {
    let name = &plan.name;
    let mut facts = Facts {
        create: step(store, workspace, &keys::flash_create(name)).await?,
        close: step(store, workspace, &keys::flash_close(name)).await?,
        rename: step(store, workspace, &keys::flash_rename(name)).await?,
        lock: step(store, workspace, &keys::flash_lock(name)).await?,
        ..Facts::default()
    };
    if let Some(group) = flash_group(store, workspace, plan, &facts).await? {
        facts.recorded = group.group_type == GroupType::Flash
            && plan.tags.iter().all(|tag| group.tags.contains(tag));
        facts.archived = group.status != GroupStatus::Active;
        facts.dissolved = group.status == GroupStatus::Dissolved;
    }
    Ok(facts)
}

/// The flash group in the directory, once its chat is known and recorded.
async fn flash_group(
    store: &dyn Store,
    workspace: WorkspaceId,
    plan: &FlashPlan,
    facts: &Facts,
) -> qunzhu_storage::Result<Option<Group>> {
    let Some(chat) = chat_of(plan, facts) else {
        return Ok(None);
    };
    let groups = store.groups(workspace).await?;
    Ok(groups
        .into_iter()
        .map(|summary| summary.group)
        .find(|group| group.chat == chat && group.platform == plan.platform))
}

/// The most members a dissolve reads from the memberships read model: above the biggest group
/// any platform allows (a Telegram supergroup's 200,000), so no member is left out.
const MEMBERS_READ_LIMIT: usize = 250_000;

#[derive(Clone)]
pub struct FlashKeeper {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    /// From the connector's `Capabilities`.
    pub can: Can,
    /// The server's public address, for a live code's `/j/{code}` in the closing message.
    pub base_url: String,
    /// The bot's own user on this platform, never removed by a dissolve.
    pub bot: Option<String>,
    pub every: StdDuration,
    /// Alerts already logged by this process (flash, kind): a stuck plan is said once, not
    /// every round.
    pub alerted: Arc<Mutex<BTreeSet<(String, String)>>>,
}

impl FlashKeeper {
    /// One pass over the workspace's flash plans of this platform; returns where each stands.
    pub async fn run_once(&self) -> qunzhu_storage::Result<Vec<FlashStatus>> {
        let tz = self.store.workspace(self.workspace).await?.time_zone;
        let mut statuses = Vec::new();
        for document in self
            .store
            .documents(self.workspace, DocumentKind::Flash)
            .await?
        {
            let plan = match parse_flash(&document.name, &document.source, tz) {
                Ok(plan) => plan,
                Err(errors) => {
                    // Saved plans were checked; one that no longer parses waits for a fix.
                    tracing::warn!(flash = %document.name, problems = errors.len(), "flash plan does not parse; skipped");
                    continue;
                }
            };
            if plan.platform != self.platform {
                continue;
            }
            statuses.push(self.keep(&plan).await?);
        }
        Ok(statuses)
    }

    async fn facts(
        &self,
        plan: &FlashPlan,
        now: chrono::DateTime<chrono::Utc>,
    ) -> qunzhu_storage::Result<Facts> {
        let mut facts = flash_facts(&*self.store, self.workspace, plan).await?;
        // The members are read only when a dissolve is due: the read model is asked once per
        // round while the group empties, never before.
        let due = plan.end == End::Dissolve
            && facts.archived
            && !facts.dissolved
            && now >= plan.dissolves_at();
        if !due {
            return Ok(facts);
        }
        let Some(group) = flash_group(&*self.store, self.workspace, plan, &facts).await? else {
            return Ok(facts);
        };
        let query = MemberQuery {
            group_id: Some(group.id),
            limit: Some(MEMBERS_READ_LIMIT),
            ..MemberQuery::default()
        };
        let present = self.store.members(self.workspace, &query).await?;
        for summary in present {
            let member = &summary.member;
            if !removable(plan, self.bot.as_deref(), member.user.as_str(), member.role) {
                continue;
            }
            let key = keys::flash_kick(&plan.name, member.user.as_str());
            let state = step(&*self.store, self.workspace, &key).await?;
            facts.kicks.push((member.user.0.clone(), state));
        }
        facts.dissolve = step(
            &*self.store,
            self.workspace,
            &keys::flash_dissolve(&plan.name),
        )
        .await?;
        Ok(facts)
    }

    async fn keep(&self, plan: &FlashPlan) -> qunzhu_storage::Result<FlashStatus> {
        let now = self.clock.now();
        let facts = self.facts(plan, now).await?;
        let (_, todo) = decide(plan, &facts, self.can, now);
        for step in todo {
            match step {
                Do::Create => {
                    let (key, kind) = create_action(self.workspace, plan);
                    self.write(plan, NEW_GROUP_CHAT, key, kind, now).await?;
                }
                Do::Record { chat } => {
                    let group = self
                        .store
                        .ensure_group(self.workspace, plan.platform, &chat)
                        .await?;
                    let mut tags = group.tags.clone();
                    for tag in &plan.tags {
                        if !tags.contains(tag) {
                            tags.push(tag.clone());
                        }
                    }
                    // A group qunzhu made takes the plan's name; one named in the plan keeps its
                    // own unless the directory knows none yet.
                    let unnamed = group.name.trim().is_empty() || group.name == chat;
                    let update = GroupUpdate {
                        name: (plan.chat.is_none() || unnamed).then(|| plan.group_name.clone()),
                        group_type: Some(GroupType::Flash),
                        tags: Some(tags),
                        ..GroupUpdate::default()
                    };
                    self.store
                        .update_group(self.workspace, group.id, update)
                        .await?;
                }
                Do::Close { chat } => {
                    let text = closing_text(plan, &self.base_url);
                    let kind = if self.can.send {
                        ActionKind::SendMessage {
                            text,
                            html: None,
                            mentions: Vec::new(),
                            reply_to: None,
                        }
                    } else {
                        ActionKind::PersonTask { text }
                    };
                    let mut action =
                        self.action(plan, &chat, keys::flash_close(&plan.name), kind, now);
                    // Due at the end of the sale even when the keeper decides it late.
                    action.not_before = plan.closes_at.min(now);
                    self.store.enqueue(vec![action]).await?;
                }
                Do::Archive { chat } => {
                    let mut actions = Vec::new();
                    if self.can.rename && facts.rename == StepState::Absent {
                        let group = self
                            .store
                            .ensure_group(self.workspace, plan.platform, &chat)
                            .await?;
                        let current = if group.name.trim().is_empty() {
                            plan.group_name.clone()
                        } else {
                            group.name
                        };
                        let kind = ActionKind::SetGroupName {
                            name: archived_name(&current, &plan.suffix),
                        };
                        actions.push(self.action(
                            plan,
                            &chat,
                            keys::flash_rename(&plan.name),
                            kind,
                            now,
                        ));
                    }
                    if self.can.set_posting_level && facts.lock == StepState::Absent {
                        let kind = ActionKind::SetPostingLevel {
                            level: plan.posting_level,
                        };
                        actions.push(self.action(
                            plan,
                            &chat,
                            keys::flash_lock(&plan.name),
                            kind,
                            now,
                        ));
                    }
                    self.store.enqueue(actions).await?;
                }
                Do::Finish { chat } => {
                    let group = self
                        .store
                        .ensure_group(self.workspace, plan.platform, &chat)
                        .await?;
                    let update = GroupUpdate {
                        status: Some(GroupStatus::Archived),
                        ..GroupUpdate::default()
                    };
                    self.store
                        .update_group(self.workspace, group.id, update)
                        .await?;
                }
                Do::Kick { chat, members } => {
                    let actions: Vec<NewAction> = members
                        .iter()
                        .map(|member| {
                            self.action(
                                plan,
                                &chat,
                                keys::flash_kick(&plan.name, member),
                                kick_action(plan, member),
                                now,
                            )
                        })
                        .collect();
                    self.store.enqueue(actions).await?;
                }
                Do::DissolveTask { chat, members } => {
                    let kind = ActionKind::PersonTask {
                        text: dissolve_task_text(plan, members),
                    };
                    self.write(plan, &chat, keys::flash_dissolve(&plan.name), kind, now)
                        .await?;
                }
                Do::MarkDissolved { chat } => {
                    let group = self
                        .store
                        .ensure_group(self.workspace, plan.platform, &chat)
                        .await?;
                    let update = GroupUpdate {
                        status: Some(GroupStatus::Dissolved),
                        ..GroupUpdate::default()
                    };
                    self.store
                        .update_group(self.workspace, group.id, update)
                        .await?;
                }
                Do::Alert { kind, message } => {
                    let fresh = self
                        .alerted
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .insert((plan.name.clone(), kind.to_string()));
                    if fresh {
                        tracing::warn!(flash = %plan.name, kind, "{message}");
                    }
                }
            }
        }
        // Where it stands after this round's steps.
        let facts = self.facts(plan, now).await?;
        let (stage, _) = decide(plan, &facts, self.can, now);
        Ok(FlashStatus {
            name: plan.name.clone(),
            title: plan.title.clone(),
            stage,
            chat: chat_of(plan, &facts),
            opens_at: plan.opens_at,
            closes_at: plan.closes_at,
        })
    }

    fn action(
        &self,
        plan: &FlashPlan,
        chat: &str,
        key: String,
        kind: ActionKind,
        now: chrono::DateTime<chrono::Utc>,
    ) -> NewAction {
        NewAction {
            workspace: self.workspace,
            platform: plan.platform,
            chat: chat.into(),
            key,
            kind,
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: ActionOrigin::Flash(plan.name.clone()),
            cause: None,
        }
    }

    async fn write(
        &self,
        plan: &FlashPlan,
        chat: &str,
        key: String,
        kind: ActionKind,
        now: chrono::DateTime<chrono::Utc>,
    ) -> qunzhu_storage::Result<()> {
        let action = self.action(plan, chat, key, kind, now);
        self.store.enqueue(vec![action]).await.map(|_| ())
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.run_once().await {
                tracing::error!(%error, "flash-group round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "flash_tests.rs"]
mod tests;
