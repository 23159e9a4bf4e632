//! The task follower: turns WeCom person tasks in the outbox into WeCom's own tasks and follows
//! them to the end, writing where each stands on its outbox row for the 今日 page.
//!
//! A scheduled post (`PersonTask`, planned because WeCom cannot send by itself) becomes an
//! `add_msg_template` task for the group's owner; the row's `last_error` says which task and how
//! many reminders went out, and once `get_groupmsg_send_result` says sent the row is done with the
//! task id and send time as its receipt. A `MomentTask` becomes an `add_moment_task` followed to
//! its `moment_id`. Welcome and warning messages the guard decided (`SendMessage`, which WeCom
//! cannot carry out) become person tasks instead of staying dead letters.
//!
//! This is the one WeCom part that reads the outbox: the connector itself never touches storage.
//! Which task a row became is kept in a small file of its own, so a restart neither loses a task
//! nor creates it twice.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Utc};
use qunzhu_connector::ConnectorError;
use qunzhu_domain::{
    ActionKind, ActionRecord, ActionStatus, Clock, NewAction, Platform, WorkspaceId,
};
use qunzhu_storage::{ActionFilter, ActionOutcome, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::sends::{may_remind, monthly_cap, MomentState, SendState};
use crate::WecomConnector;

/// What an outbox row became on WeCom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Followed {
    /// `add_msg_template` was called and its answer not yet recorded (a crash in between is
    /// resolved through `get_groupmsg_list_v2`, never by creating a second task).
    Creating {
        since: DateTime<Utc>,
    },
    GroupSend {
        msgid: String,
        owner: String,
        created_at: DateTime<Utc>,
        reminded: Vec<DateTime<Utc>>,
    },
    Moment {
        jobid: String,
        staff: Vec<String>,
    },
}

/// The follower's own durable file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskBook {
    /// Outbox row key → its WeCom task.
    pub tasks: BTreeMap<String, Followed>,
    /// `chat@YYYY-MM` → group sends delivered that month (the receive cap).
    pub delivered: BTreeMap<String, u32>,
}

impl TaskBook {
    fn load(path: &std::path::Path) -> Result<TaskBook, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(TaskBook::default()),
            Err(error) => Err(format!("{}: {error}", path.display())),
        }
    }

    fn save(&self, path: &std::path::Path) -> Result<(), String> {
        use std::io::Write;
        let text = serde_json::to_string(self).map_err(|error| error.to_string())?;
        let temporary = path.with_extension("saving");
        let fail = |error: std::io::Error| format!("{}: {error}", path.display());
        let mut file = std::fs::File::create(&temporary).map_err(fail)?;
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&temporary, path).map_err(fail)
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowRound {
    pub created: usize,
    pub reminded: usize,
    pub sent: usize,
    pub failed: usize,
    pub waiting: usize,
    pub rescued: usize,
}

fn month_key(chat: &str, at: DateTime<Utc>) -> String {
    format!("{chat}@{:04}-{:02}", at.year(), at.month())
}

fn next_month(at: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if at.month() == 12 {
        (at.year() + 1, 1)
    } else {
        (at.year(), at.month() + 1)
    };
    chrono::NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|start| start.and_utc())
        .unwrap_or(at + Duration::days(31))
}

/// Follows one workspace's WeCom tasks.
pub struct TaskFollower {
    store: Arc<dyn Store>,
    connector: Arc<WecomConnector>,
    clock: Arc<dyn Clock>,
    workspace: WorkspaceId,
    path: PathBuf,
    book: Mutex<TaskBook>,
}

impl TaskFollower {
    pub fn open(
        store: Arc<dyn Store>,
        connector: Arc<WecomConnector>,
        clock: Arc<dyn Clock>,
        workspace: WorkspaceId,
    ) -> Result<TaskFollower, String> {
        let path = PathBuf::from(&connector.config().state_dir)
            .join(format!("{}-tasks.json", connector.config().account));
        let book = TaskBook::load(&path)?;
        Ok(TaskFollower {
            store,
            connector,
            clock,
            workspace,
            path,
            book: Mutex::new(book),
        })
    }

    /// A copy of the book (tests, the console).
    pub async fn book(&self) -> TaskBook {
        self.book.lock().await.clone()
    }

    fn follow_every(&self) -> Duration {
        Duration::minutes(self.connector.config().follow_minutes.max(1) as i64)
    }

    async fn note(
        &self,
        action: &ActionRecord,
        at: DateTime<Utc>,
        state: String,
    ) -> qunzhu_storage::Result<()> {
        self.store
            .finish_action(
                action.id,
                ActionOutcome::Retry { at, error: state },
                self.clock.now(),
            )
            .await
    }

    /// Looks at every due WeCom task once.
    pub async fn run_once(&self) -> qunzhu_storage::Result<FollowRound> {
        let mut round = FollowRound {
            rescued: self.rescue_dead_sends().await?,
            ..FollowRound::default()
        };
        let now = self.clock.now();
        let pending = self
            .store
            .actions(
                self.workspace,
                &ActionFilter {
                    status: Some(ActionStatus::Pending),
                    limit: Some(10_000),
                    ..ActionFilter::default()
                },
            )
            .await?;
        for action in pending {
            if action.platform != Platform::WeCom
                || action.not_before > now
                || action.next_attempt_at > now
            {
                continue;
            }
            match &action.kind {
                ActionKind::PersonTask { text } => {
                    self.follow_group_send(&action, text, &mut round).await?
                }
                ActionKind::MomentTask { text, staff } => {
                    self.follow_moment(&action, text, staff, &mut round).await?
                }
                _ => {}
            }
        }
        Ok(round)
    }

    async fn save(&self, book: &TaskBook) {
        if let Err(error) = book.save(&self.path) {
            tracing::error!(%error, "cannot save the WeCom task book");
        }
    }

    async fn follow_group_send(
        &self,
        action: &ActionRecord,
        text: &str,
        round: &mut FollowRound,
    ) -> qunzhu_storage::Result<()> {
        let now = self.clock.now();
        let config = self.connector.config();
        let mut followed = self.book.lock().await.tasks.get(&action.key).cloned();
        if let Some(Followed::Creating { since }) = &followed {
            followed = self.adopt(action, text, *since).await;
        }
        if matches!(followed, Some(Followed::Creating { .. })) {
            // WeCom could not be asked whether it exists: never create blind, ask again later.
            return self
                .note(
                    action,
                    now + self.follow_every(),
                    "a WeCom group-send task may exist from before a restart; checking again"
                        .into(),
                )
                .await;
        }
        let Some(Followed::GroupSend {
            msgid,
            owner,
            created_at,
            mut reminded,
        }) = followed
        else {
            let cap = monthly_cap(config.monthly_receive_cap, now);
            let delivered = self
                .book
                .lock()
                .await
                .delivered
                .get(&month_key(&action.chat, now))
                .copied()
                .unwrap_or(0);
            if delivered >= cap {
                let until = next_month(now);
                round.waiting += 1;
                return self
                    .note(action, until, format!("this group received its {cap} group sends for the month (WeCom's receive cap); waiting until {until}"))
                    .await;
            }
            {
                let mut book = self.book.lock().await;
                book.tasks
                    .insert(action.key.clone(), Followed::Creating { since: now });
                self.save(&book).await;
            }
            return match self.connector.create_group_send(&action.chat, text).await {
                Ok((msgid, owner)) => {
                    let mut book = self.book.lock().await;
                    book.tasks.insert(
                        action.key.clone(),
                        Followed::GroupSend {
                            msgid: msgid.clone(),
                            owner: owner.clone(),
                            created_at: now,
                            reminded: Vec::new(),
                        },
                    );
                    self.save(&book).await;
                    drop(book);
                    round.created += 1;
                    tracing::info!(action = action.id.0, %msgid, %owner, "WeCom group-send task created");
                    self.note(action, now + self.follow_every(), format!("wecom group-send task {msgid} for owner {owner}: waiting for them to send it in the WeCom client")).await
                }
                Err(ConnectorError::RateLimited { retry_after }) => {
                    self.forget(&action.key).await;
                    let at = now + Duration::from_std(retry_after).unwrap_or(Duration::minutes(1));
                    self.note(
                        action,
                        at,
                        "WeCom rate limit; the group-send task will be created later".into(),
                    )
                    .await
                }
                // No answer: it may exist; the next round looks before creating again.
                Err(ConnectorError::Transient(error)) => {
                    self.note(
                        action,
                        now + self.follow_every(),
                        format!("creating the WeCom group-send task: {error}; checking again"),
                    )
                    .await
                }
                Err(error) => {
                    self.forget(&action.key).await;
                    round.failed += 1;
                    self.note(action, now + self.follow_every() * 6, format!("could not create the WeCom group-send task: {error}; send it by hand and confirm")).await
                }
            };
        };
        let state = self
            .connector
            .group_send_state(&msgid, &owner, &action.chat)
            .await;
        match state {
            Ok(SendState::Sent { at }) => {
                let mut book = self.book.lock().await;
                book.tasks.remove(&action.key);
                *book
                    .delivered
                    .entry(month_key(&action.chat, now))
                    .or_default() += 1;
                self.save(&book).await;
                drop(book);
                round.sent += 1;
                let receipt = format!("wecom:msgid={msgid};owner={owner};sent_at={at}");
                self.store
                    .finish_action(
                        action.id,
                        ActionOutcome::Done {
                            receipt: Some(receipt),
                        },
                        now,
                    )
                    .await
            }
            Ok(SendState::Failed { reason }) => {
                let mut book = self.book.lock().await;
                book.tasks.remove(&action.key);
                self.save(&book).await;
                drop(book);
                round.failed += 1;
                self.store
                    .finish_action(
                        action.id,
                        ActionOutcome::Dead {
                            error: format!("wecom group-send task {msgid}: {reason}"),
                        },
                        now,
                    )
                    .await
            }
            Ok(SendState::Waiting) => {
                let waited = now - created_at >= self.follow_every();
                if waited && may_remind(&reminded, now, config.reminders_per_day) {
                    match self.connector.remind_group_send(&msgid).await {
                        Ok(()) => {
                            reminded.push(now);
                            round.reminded += 1;
                        }
                        Err(error) => tracing::warn!(%msgid, %error, "WeCom refused a reminder"),
                    }
                    let mut book = self.book.lock().await;
                    book.tasks.insert(
                        action.key.clone(),
                        Followed::GroupSend {
                            msgid: msgid.clone(),
                            owner: owner.clone(),
                            created_at,
                            reminded: reminded.clone(),
                        },
                    );
                    self.save(&book).await;
                }
                round.waiting += 1;
                let recent = reminded
                    .iter()
                    .filter(|at| now - **at < Duration::hours(24))
                    .count();
                self.note(action, now + self.follow_every(), format!("wecom group-send task {msgid} for owner {owner}: not sent yet; reminded {recent}× in the last 24 h")).await
            }
            Err(error) => {
                self.note(
                    action,
                    now + self.follow_every(),
                    format!("wecom group-send task {msgid}: cannot read its state: {error}"),
                )
                .await
            }
        }
    }

    async fn forget(&self, key: &str) {
        let mut book = self.book.lock().await;
        book.tasks.remove(key);
        self.save(&book).await;
    }

    /// A creation whose answer was never recorded: the task WeCom has for it, `None` when WeCom
    /// has none (create it now), still `Creating` when WeCom could not be asked.
    async fn adopt(
        &self,
        action: &ActionRecord,
        text: &str,
        since: DateTime<Utc>,
    ) -> Option<Followed> {
        let looked = match self.connector.owner_of(&action.chat).await {
            Ok(owner) => {
                let lookback = (since - Duration::minutes(5)).timestamp();
                self.connector
                    .find_group_send(&owner, text, lookback, self.clock.now().timestamp() + 60)
                    .await
                    .map(|found| found.map(|msgid| (msgid, owner)))
            }
            Err(error) => Err(error),
        };
        match looked {
            Ok(Some((msgid, owner))) => {
                tracing::info!(action = action.id.0, %msgid, "found the WeCom group-send task created before a restart");
                let followed = Followed::GroupSend {
                    msgid,
                    owner,
                    created_at: since,
                    reminded: Vec::new(),
                };
                let mut book = self.book.lock().await;
                book.tasks.insert(action.key.clone(), followed.clone());
                self.save(&book).await;
                Some(followed)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(action = action.id.0, %error, "cannot look for a WeCom task created before a restart");
                Some(Followed::Creating { since })
            }
        }
    }

    async fn follow_moment(
        &self,
        action: &ActionRecord,
        text: &str,
        staff: &[String],
        round: &mut FollowRound,
    ) -> qunzhu_storage::Result<()> {
        let now = self.clock.now();
        let staff: Vec<String> = if staff.is_empty() {
            self.connector.config().moment_staff.clone()
        } else {
            staff.to_vec()
        };
        let followed = self.book.lock().await.tasks.get(&action.key).cloned();
        if let Some(Followed::Creating { since }) = followed {
            // WeCom offers no lookup of a moment task by its text: rather than post twice, a
            // person checks 客户朋友圈 and confirms.
            self.forget(&action.key).await;
            round.failed += 1;
            return self
                .store
                .finish_action(action.id, ActionOutcome::Dead { error: format!("a WeCom moment task may have been created at {since} just before a restart; check 客户朋友圈 in the admin console and confirm it by hand") }, now)
                .await;
        }
        let Some(Followed::Moment { jobid, .. }) = followed else {
            {
                let mut book = self.book.lock().await;
                book.tasks
                    .insert(action.key.clone(), Followed::Creating { since: now });
                self.save(&book).await;
            }
            return match self.connector.create_moment_task(text, &staff).await {
                Ok(jobid) => {
                    let mut book = self.book.lock().await;
                    book.tasks.insert(
                        action.key.clone(),
                        Followed::Moment {
                            jobid: jobid.clone(),
                            staff: staff.clone(),
                        },
                    );
                    self.save(&book).await;
                    drop(book);
                    round.created += 1;
                    self.note(
                        action,
                        now + self.follow_every(),
                        format!(
                            "wecom moment task {jobid} for {}: waiting for staff to post it",
                            staff.join(", ")
                        ),
                    )
                    .await
                }
                // No answer: it may exist; the next round says so instead of posting twice.
                Err(ConnectorError::Transient(error)) => {
                    self.note(
                        action,
                        now + self.follow_every(),
                        format!("creating the WeCom moment task: {error}"),
                    )
                    .await
                }
                Err(error) => {
                    self.forget(&action.key).await;
                    round.failed += 1;
                    self.note(action, now + self.follow_every() * 6, format!("could not create the WeCom moment task: {error}; post it by hand and confirm")).await
                }
            };
        };
        match self.connector.moment_task_state(&jobid).await {
            Ok(MomentState::Created { moment_id }) => {
                self.book.lock().await.tasks.remove(&action.key);
                self.save(&*self.book.lock().await).await;
                round.sent += 1;
                self.store
                    .finish_action(
                        action.id,
                        ActionOutcome::Done {
                            receipt: Some(format!("wecom:jobid={jobid};moment_id={moment_id}")),
                        },
                        now,
                    )
                    .await
            }
            Ok(MomentState::Failed { reason }) => {
                self.book.lock().await.tasks.remove(&action.key);
                self.save(&*self.book.lock().await).await;
                round.failed += 1;
                self.store
                    .finish_action(
                        action.id,
                        ActionOutcome::Dead {
                            error: format!("wecom moment task {jobid}: {reason}"),
                        },
                        now,
                    )
                    .await
            }
            Ok(MomentState::Creating) => {
                round.waiting += 1;
                self.note(
                    action,
                    now + self.follow_every(),
                    format!("wecom moment task {jobid}: waiting for staff to post it"),
                )
                .await
            }
            Err(error) => {
                self.note(
                    action,
                    now + self.follow_every(),
                    format!("wecom moment task {jobid}: {error}"),
                )
                .await
            }
        }
    }

    /// A welcome or warning the guard decided (a `SendMessage`) is dead on WeCom for want of the
    /// capability; it becomes a person task with the same cause instead.
    async fn rescue_dead_sends(&self) -> qunzhu_storage::Result<usize> {
        let dead = self
            .store
            .actions(
                self.workspace,
                &ActionFilter {
                    status: Some(ActionStatus::Dead),
                    limit: Some(1000),
                    ..ActionFilter::default()
                },
            )
            .await?;
        let now = self.clock.now();
        let tasks: Vec<NewAction> = dead
            .into_iter()
            .filter(|action| action.platform == Platform::WeCom)
            .filter(|action| {
                action
                    .last_error
                    .as_deref()
                    .is_some_and(|error| error.contains("capability missing"))
            })
            .filter_map(|action| match action.kind {
                ActionKind::SendMessage { text, .. } => Some(NewAction {
                    workspace: action.workspace,
                    platform: action.platform,
                    chat: action.chat,
                    key: qunzhu_domain::keys::person_task(&action.key),
                    kind: ActionKind::PersonTask { text },
                    created_at: now,
                    not_before: now,
                    expires_at: None,
                    dry_run: false,
                    origin: action.origin,
                    cause: action.cause,
                }),
                _ => None,
            })
            .collect();
        if tasks.is_empty() {
            return Ok(0);
        }
        self.store.enqueue(tasks).await
    }

    /// Rounds every `every` until `stop`.
    pub async fn run(
        self,
        every: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            match self.run_once().await {
                Ok(round) if round != FollowRound::default() => {
                    tracing::info!(?round, "WeCom tasks followed")
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "WeCom task follower cannot reach the store"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
