//! The live-code keeper: per platform, every few seconds, it looks at each live code's set and
//! makes the spare group before the set is full — a `CreateGroup` through the outbox where the
//! platform's [`Capabilities`](qunzhu_connector::Capabilities) say it can, an operator alert
//! where it cannot — and adopts a created group into the set once the platform named it.
//!
//! Planning is keyed by code and sequence (`keys::livecode_spare`), so any number of rounds and
//! instances make one group per place in the set.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use qunzhu_domain::action::NEW_GROUP_CHAT;
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::{ActionStatus, Clock, NewAction, Platform, WorkspaceId};
use qunzhu_growth::livecode::{next_step, parse_livecode, spare_action, Fill, LiveCode, Next};
use qunzhu_storage::{GroupUpdate, LiveCodeAlert, LiveCodeRecord, SpareGroup, Store, StoreError};
use tokio::sync::watch;

/// What one round did, for tests and logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeeperRound {
    /// Spare groups planned (code, sequence).
    pub planned: Vec<(String, u32)>,
    /// Spare groups adopted into their set (code, chat).
    pub adopted: Vec<(String, String)>,
    /// Alerts newly raised (code, kind).
    pub alerts: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct LiveCodeKeeper {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    /// The connector's `Capabilities::create_groups`.
    pub create_groups: bool,
    pub every: StdDuration,
}

/// A live code's groups in routing order: its named groups, then the spares made so far.
pub fn set_of(code: &LiveCode, spares: &[SpareGroup]) -> Vec<String> {
    let mut set = code.groups.clone();
    for chat in spares.iter().filter_map(|spare| spare.chat.clone()) {
        if !set.contains(&chat) {
            set.push(chat);
        }
    }
    set
}

impl LiveCodeKeeper {
    /// One pass over the workspace's live codes of this platform.
    pub async fn run_once(&self) -> qunzhu_storage::Result<KeeperRound> {
        let mut round = KeeperRound::default();
        for record in self.store.livecodes(self.workspace).await? {
            if record.platform != self.platform {
                continue;
            }
            let code = match parse_livecode(&record.code, &record.source) {
                Ok(code) => code,
                Err(errors) => {
                    // Saved codes were checked; one that no longer parses waits for a fix.
                    tracing::warn!(code = %record.code, problems = errors.len(), "live code does not parse; skipped");
                    continue;
                }
            };
            self.keep(&record, &code, &mut round).await?;
        }
        Ok(round)
    }

    async fn keep(
        &self,
        record: &LiveCodeRecord,
        code: &LiveCode,
        round: &mut KeeperRound,
    ) -> qunzhu_storage::Result<()> {
        let now = self.clock.now();
        let mut spares = self.store.spares(self.workspace, &code.code).await?;
        let mut waiting = false;
        for spare in spares.iter_mut().filter(|spare| spare.chat.is_none()) {
            let action = match self.store.action_by_key(self.workspace, &spare.key).await {
                Ok(action) => action,
                Err(StoreError::NotFound { .. }) => {
                    waiting = true;
                    continue;
                }
                Err(error) => return Err(error),
            };
            match (action.status, action.receipt) {
                (ActionStatus::Done, Some(chat)) => {
                    self.adopt(code, spare.sequence, &chat).await?;
                    spare.chat = Some(chat.clone());
                    round.adopted.push((code.code.clone(), chat));
                }
                (ActionStatus::Dead | ActionStatus::Skipped, _) => {
                    let message = format!(
                        "spare group {} of live code `{}` could not be created ({}); create it by hand and add it to the code's groups",
                        spare.sequence,
                        code.code,
                        action.last_error.unwrap_or_default()
                    );
                    self.alert(code, "spare_failed", spare.sequence, message, round)
                        .await?;
                }
                _ => waiting = true,
            }
        }
        if waiting {
            // A spare is on its way: the set grows by one at a time.
            return Ok(());
        }
        let set = set_of(code, &spares);
        let used = self
            .store
            .seats_used(self.workspace, code.platform, &set, now)
            .await?;
        let fills: Vec<Fill> = used
            .into_iter()
            .map(|used| Fill {
                used,
                cap: code.cap,
            })
            .collect();
        match next_step(code, &fills, self.create_groups) {
            Next::Nothing => {}
            Next::Create { sequence } => {
                let Some(spare) = &code.spare else {
                    return Ok(());
                };
                let (key, kind) = spare_action(self.workspace, code, spare, sequence);
                let action = NewAction {
                    workspace: self.workspace,
                    platform: code.platform,
                    chat: NEW_GROUP_CHAT.into(),
                    key: key.clone(),
                    kind,
                    created_at: now,
                    not_before: now,
                    expires_at: None,
                    dry_run: false,
                    origin: ActionOrigin::LiveCode(code.code.clone()),
                    cause: None,
                };
                self.store.enqueue(vec![action]).await?;
                let planned = SpareGroup {
                    sequence,
                    key,
                    chat: None,
                    planned_at: now,
                };
                if self
                    .store
                    .plan_spare(self.workspace, &record.code, planned)
                    .await?
                {
                    round.planned.push((code.code.clone(), sequence));
                }
            }
            Next::Alert { sequence } => {
                let full = fills.iter().all(|fill| fill.used >= fill.cap);
                let message = format!(
                    "live code `{}`: the last of its {} groups is {} % full and qunzhu cannot create group {sequence} here; create it and add it to the code's groups{}",
                    code.code,
                    fills.len(),
                    fills.last().map_or(100, |fill| u64::from(fill.used) * 100 / u64::from(fill.cap.max(1))),
                    if full { " — visitors are being turned away now" } else { "" }
                );
                self.alert(code, "spare_needed", sequence, message, round)
                    .await?;
            }
        }
        Ok(())
    }

    /// Records the created group in the directory with the template's type and tags, so the
    /// rules and SOP plans that target them apply to it, then into the set.
    async fn adopt(
        &self,
        code: &LiveCode,
        sequence: u32,
        chat: &str,
    ) -> qunzhu_storage::Result<()> {
        let group = self
            .store
            .ensure_group(self.workspace, code.platform, chat)
            .await?;
        if let Some(spare) = &code.spare {
            let update = GroupUpdate {
                name: Some(spare.name.replace("{n}", &sequence.to_string())),
                group_type: Some(spare.group_type),
                tags: Some(spare.tags.clone()),
                capacity: Some(code.cap),
                ..GroupUpdate::default()
            };
            self.store
                .update_group(self.workspace, group.id, update)
                .await?;
        }
        self.store
            .adopt_spare(self.workspace, &code.code, sequence, chat)
            .await
    }

    async fn alert(
        &self,
        code: &LiveCode,
        kind: &str,
        sequence: u32,
        message: String,
        round: &mut KeeperRound,
    ) -> qunzhu_storage::Result<()> {
        let alert = LiveCodeAlert {
            code: code.code.clone(),
            kind: kind.into(),
            sequence,
            message: message.clone(),
            at: self.clock.now(),
        };
        if self
            .store
            .raise_livecode_alert(self.workspace, alert)
            .await?
        {
            tracing::warn!(code = %code.code, kind, "{message}");
            round.alerts.push((code.code.clone(), kind.into()));
        }
        Ok(())
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.run_once().await {
                tracing::error!(%error, "live-code round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use qunzhu_domain::{ActionKind, Event, EventKind, FakeClock, JoinVia};
    use qunzhu_storage::{
        ActionOutcome, Candidate, Claim, IngestBatch, NewEvent, NewWorkspace, SeatRequest,
    };

    use super::*;

    const SOURCE: &str = r#"
title = "Spring"
platform = "sandbox"
groups = ["g1", "g2"]
cap = 2

[spare]
name = "Spring {n}"
tags = ["spring"]
"#;

    async fn setup(create_groups: bool) -> (LiveCodeKeeper, Arc<FakeClock>) {
        let store: Arc<dyn Store> = Arc::new(
            qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"),
        );
        let clock = Arc::new(FakeClock::new(
            chrono::Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap(),
        ));
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "w".into(),
                name: "w".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        store
            .put_livecode(LiveCodeRecord {
                workspace,
                code: "spring".into(),
                platform: Platform::Sandbox,
                source: SOURCE.into(),
                updated_by: "cli".into(),
                updated_at: clock.now(),
            })
            .await
            .unwrap();
        let keeper = LiveCodeKeeper {
            store,
            clock: clock.clone(),
            workspace,
            platform: Platform::Sandbox,
            create_groups,
            every: StdDuration::from_secs(1),
        };
        (keeper, clock)
    }

    async fn seat(keeper: &LiveCodeKeeper, visitor: &str, set: &[&str]) -> Option<String> {
        let now = keeper.clock.now();
        keeper
            .store
            .take_seat(
                keeper.workspace,
                SeatRequest {
                    code: "spring".into(),
                    platform: Platform::Sandbox,
                    visitor: visitor.into(),
                    channel: "direct".into(),
                    candidates: set
                        .iter()
                        .map(|chat| Candidate {
                            chat: chat.to_string(),
                            cap: 2,
                        })
                        .collect(),
                    at: now,
                    hold_until: now + chrono::Duration::minutes(30),
                },
            )
            .await
            .unwrap()
            .map(|seat| seat.chat)
    }

    #[tokio::test]
    async fn a_spare_is_planned_once_when_the_last_group_fills_then_adopted() {
        let (keeper, clock) = setup(true).await;
        assert_eq!(keeper.run_once().await.unwrap(), KeeperRound::default());
        for visitor in ["@a", "@b", "@c"] {
            seat(&keeper, visitor, &["g1", "g2"]).await.unwrap();
        }
        assert_eq!(
            keeper.run_once().await.unwrap(),
            KeeperRound::default(),
            "g2 is half full"
        );
        seat(&keeper, "@d", &["g1", "g2"]).await.unwrap();
        let round = keeper.run_once().await.unwrap();
        assert_eq!(round.planned, [("spring".to_string(), 3)]);
        assert_eq!(
            keeper.run_once().await.unwrap(),
            KeeperRound::default(),
            "planned once"
        );
        let action = keeper
            .store
            .action_by_key(keeper.workspace, "livecode:spring:spare:3")
            .await
            .unwrap();
        let ActionKind::CreateGroup { name, .. } = &action.kind else {
            panic!("a create: {:?}", action.kind);
        };
        assert_eq!(name, "Spring 3");
        // The platform made it: the dispatcher records the new group's id as the receipt.
        let claimed = keeper
            .store
            .claim_actions(Claim {
                platform: Platform::Sandbox,
                target: qunzhu_domain::ActionTarget::Platform,
                now: clock.now(),
                limit: 10,
                owner: "t",
                lease_until: clock.now() + chrono::Duration::minutes(1),
            })
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        keeper
            .store
            .finish_action(
                claimed[0].id,
                ActionOutcome::Done {
                    receipt: Some("g3".into()),
                },
                clock.now(),
            )
            .await
            .unwrap();
        let round = keeper.run_once().await.unwrap();
        assert_eq!(round.adopted, [("spring".to_string(), "g3".to_string())]);
        let groups = keeper.store.groups(keeper.workspace).await.unwrap();
        let made = groups
            .iter()
            .find(|group| group.group.chat == "g3")
            .unwrap();
        assert_eq!(made.group.tags, ["spring"]);
        assert_eq!(
            seat(&keeper, "@e", &["g1", "g2", "g3"]).await.as_deref(),
            Some("g3")
        );
        // A join is seen through the log; the keeper stays quiet while g3 has room.
        let join = Event {
            workspace: keeper.workspace,
            platform: Platform::Sandbox,
            key: "$j".into(),
            chat: "g3".into(),
            at: clock.now(),
            kind: EventKind::MemberJoined {
                member: "@e".into(),
                display_name: None,
                via: JoinVia::Direct,
            },
        };
        let batch = IngestBatch {
            events: vec![NewEvent {
                day: clock.now().date_naive(),
                event: join,
            }],
            cursor: None,
        };
        keeper
            .store
            .ingest(batch, &mut |_: &Event| Vec::new())
            .await
            .unwrap();
        assert_eq!(keeper.run_once().await.unwrap(), KeeperRound::default());
    }

    #[tokio::test]
    async fn where_groups_cannot_be_created_the_operator_is_alerted_once() {
        let (keeper, _clock) = setup(false).await;
        for visitor in ["@a", "@b", "@c", "@d"] {
            seat(&keeper, visitor, &["g1", "g2"]).await.unwrap();
        }
        let round = keeper.run_once().await.unwrap();
        assert_eq!(
            round.alerts,
            [("spring".to_string(), "spare_needed".to_string())]
        );
        assert!(round.planned.is_empty());
        assert_eq!(
            keeper.run_once().await.unwrap(),
            KeeperRound::default(),
            "alerted once"
        );
        let alerts = keeper
            .store
            .livecode_alerts(keeper.workspace)
            .await
            .unwrap();
        assert!(
            alerts[0].message.contains("cannot create group 3"),
            "{}",
            alerts[0].message
        );
        assert!(keeper
            .store
            .action_by_key(keeper.workspace, "livecode:spring:spare:3")
            .await
            .is_err());
    }
}
