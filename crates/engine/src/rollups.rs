//! The analytics consumer: folds the log after its persisted watermark into the daily
//! rollups and member facts, in bounded batches, and sends each group's daily digest once the
//! day it reports on is folded.
//!
//! Nothing here rescans the log: a start resumes from the watermark, and with several
//! instances on one database a batch another instance folded first is simply dropped.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use qunzhu_domain::digest::{digest_text_in, DigestConfig, DigestFacts};
use qunzhu_domain::tier::TierRules;
use qunzhu_domain::{keys, ActionKind, Clock, Event, EventKind, NewAction, WorkspaceId};
use qunzhu_sop::CheckinConfig;
use qunzhu_storage::click_rollups::fold_new_clicks;
use qunzhu_storage::rollups::{fold_new_events, FoldStep};
use qunzhu_storage::tiers::{keep_tiers, TierStep};
use qunzhu_storage::{LeaderBy, RollupDayQuery, Store};
use tokio::sync::watch;

/// Whether a message checks its sender in, by the same keywords the check-in book uses.
pub fn is_checkin(event: &Event) -> bool {
    let EventKind::MessagePosted { text, .. } = &event.kind else {
        return false;
    };
    let text = text.to_lowercase();
    CheckinConfig::new(event.chat.as_str())
        .keywords
        .iter()
        .any(|word| text.contains(&word.to_lowercase()))
}

#[derive(Clone)]
pub struct Rollups {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub zone: Tz,
    /// Events folded per step.
    pub batch: usize,
    pub every: StdDuration,
    pub digest: DigestConfig,
    /// Member tiers from behaviour, decided after each fold ([`qunzhu_storage::tiers`]).
    pub tiers: TierRules,
    /// The last day this instance wrote digests for, so a round after the send time does not
    /// render them again (after a restart the keys make a second write a no-op).
    pub sent: Arc<std::sync::Mutex<Option<NaiveDate>>>,
}

impl Rollups {
    /// Folds everything logged so far, then every tracked-link click recorded so far; returns
    /// how many events and click batches it folded.
    pub async fn run_once(&self) -> qunzhu_storage::Result<usize> {
        let mut folded = self.fold_events().await?;
        loop {
            crate::health::beat();
            match fold_new_clicks(&*self.store, self.workspace, self.zone, self.batch).await? {
                FoldStep::Folded(0) => return Ok(folded),
                FoldStep::Folded(count) => folded += count,
                FoldStep::Lost => {}
            }
        }
    }

    async fn fold_events(&self) -> qunzhu_storage::Result<usize> {
        let mut folded = 0;
        loop {
            // A long backlog is many steps; each one tells the supervisor the loop is alive.
            crate::health::beat();
            match fold_new_events(
                &*self.store,
                self.workspace,
                self.zone,
                self.batch,
                &is_checkin,
            )
            .await?
            {
                FoldStep::Folded(0) => return Ok(folded),
                FoldStep::Folded(count) => folded += count,
                // Another instance folded these first; read the watermark again.
                FoldStep::Lost => {}
            }
        }
    }

    /// Writes the digests of `day` for every group that had anything that day, keyed per
    /// group, day and destination (a second call writes nothing new). Returns how many were new.
    pub async fn send_digests(&self, day: NaiveDate) -> qunzhu_storage::Result<usize> {
        let rows = self
            .store
            .rollup_days(
                self.workspace,
                &RollupDayQuery {
                    group: None,
                    from: day,
                    to: day,
                },
            )
            .await?;
        let groups = self.store.groups(self.workspace).await?;
        let now = self.clock.now();
        let mut actions = Vec::new();
        for row in rows {
            let name = groups
                .iter()
                .find(|g| g.group.platform == row.platform && g.group.chat == row.chat)
                .map_or(row.chat.clone(), |g| g.group.name.clone());
            let leaders = |by| {
                let store = self.store.clone();
                let chat = row.chat.clone();
                let platform = row.platform;
                let limit = self.digest.leaders;
                let workspace = self.workspace;
                async move {
                    store
                        .day_leaders(workspace, (platform, &chat), day, by, limit)
                        .await
                        .map(|rows| {
                            rows.into_iter()
                                .map(|leader| (leader.member, leader.count))
                                .collect::<Vec<_>>()
                        })
                }
            };
            let speakers = leaders(LeaderBy::Messages).await?;
            let checkins = leaders(LeaderBy::Checkins).await?;
            let facts = DigestFacts {
                group_name: &name,
                day,
                rollup: row.counts,
                top_speakers: &speakers,
                checkin_leaders: &checkins,
            };
            // Each destination reads the digest in its own language: the back-room's may differ
            // from the group's.
            let destinations = self
                .digest
                .back_room
                .iter()
                .map(|room| (room.clone(), self.digest.back_room_language()))
                .chain(
                    self.digest
                        .to_group
                        .then(|| (row.chat.clone(), self.digest.language)),
                );
            for (destination, language) in destinations {
                let text = digest_text_in(&facts, language);
                actions.push(NewAction {
                    workspace: self.workspace,
                    platform: row.platform,
                    chat: destination.clone(),
                    key: keys::digest(&row.chat, day, &destination),
                    kind: ActionKind::SendMessage {
                        text,
                        html: None,
                        mentions: vec![],
                        reply_to: None,
                    },
                    created_at: now,
                    not_before: now,
                    // A digest a day late is noise.
                    expires_at: Some(now + Duration::hours(24)),
                    dry_run: false,
                    origin: qunzhu_domain::ActionOrigin::Digest,
                    cause: None,
                });
            }
        }
        if actions.is_empty() {
            return Ok(0);
        }
        self.store.enqueue(actions).await
    }

    /// Decides the tiers of every member the folded events, the ledger or the window name;
    /// returns how many were decided.
    pub async fn keep_tiers(&self) -> qunzhu_storage::Result<usize> {
        let mut decided = 0;
        if !self.tiers.enabled {
            return Ok(0);
        }
        let now = self.clock.now();
        loop {
            crate::health::beat();
            match keep_tiers(
                &*self.store,
                self.workspace,
                self.zone,
                &self.tiers,
                now,
                self.batch,
            )
            .await?
            {
                TierStep::Decided(0) => return Ok(decided),
                TierStep::Decided(count) => decided += count,
                // Another instance decided these first; read the marks again.
                TierStep::Lost => {}
            }
        }
    }

    /// One round: fold, keep the tiers, then the digest if it is due and the day it reports is
    /// fully folded.
    pub async fn round(&self) -> qunzhu_storage::Result<()> {
        self.run_once().await?;
        self.keep_tiers().await?;
        if !self.digest.enabled {
            return Ok(());
        }
        let Some(day) = self.digest.due_day(self.clock.now(), self.zone) else {
            return Ok(());
        };
        let already = *self
            .sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if already == Some(day) {
            return Ok(());
        }
        self.send_digests(day).await?;
        *self
            .sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(day);
        Ok(())
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.round().await {
                tracing::error!(%error, "analytics round failed; retrying");
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
    use chrono::{TimeZone, Utc};
    use qunzhu_domain::{FakeClock, JoinVia, Platform};
    use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn yesterday_is_folded_and_digested_once_per_group_and_destination() {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "w".into(),
                name: "W".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .expect("workspace");
        let zone = chrono_tz::Asia::Shanghai;
        // 1 March, 20:00 in Shanghai.
        let evening = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let kinds = [
            EventKind::MemberJoined {
                member: "@a".into(),
                display_name: None,
                via: JoinVia::Direct,
            },
            EventKind::MessagePosted {
                member: "@a".into(),
                message_id: "m1".into(),
                text: "打卡".into(),
                links: vec![],
                mentions: vec![],
                reply_to: None,
                message_kind: qunzhu_domain::MessageKind::Text,
                from_bot: false,
            },
        ];
        let events = kinds
            .into_iter()
            .enumerate()
            .map(|(n, kind)| {
                let event = Event {
                    workspace: workspace.id,
                    platform: Platform::Sandbox,
                    key: format!("e{n}"),
                    chat: "g".into(),
                    at: evening,
                    kind,
                };
                NewEvent {
                    day: qunzhu_domain::local_day(event.at, zone),
                    event,
                }
            })
            .collect();
        store
            .ingest(
                IngestBatch {
                    events,
                    cursor: None,
                },
                &mut |_| vec![],
            )
            .await
            .expect("ingest");
        let clock = Arc::new(FakeClock::new(evening));
        let rollups = Rollups {
            store: store.clone(),
            clock: clock.clone(),
            workspace: workspace.id,
            zone,
            batch: 1,
            every: StdDuration::from_secs(1),
            digest: DigestConfig {
                enabled: true,
                back_room: Some("admins".into()),
                to_group: true,
                back_room_language: Some(qunzhu_domain::digest::DigestLanguage::En),
                ..DigestConfig::default()
            },
            tiers: TierRules::default(),
            sent: Default::default(),
        };
        rollups.round().await.expect("round");
        assert_eq!(
            store
                .rollup_watermark(workspace.id)
                .await
                .expect("watermark"),
            2
        );
        assert_eq!(
            store
                .action_counts(workspace.id)
                .await
                .expect("counts")
                .pending,
            0,
            "not due yet"
        );
        // 2 March 09:30 local: the digest of 1 March is due.
        clock.set(Utc.with_ymd_and_hms(2026, 3, 2, 1, 30, 0).unwrap());
        rollups.round().await.expect("round");
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("day");
        // A second instance deciding the same digests writes nothing new.
        assert_eq!(rollups.send_digests(day).await.expect("again"), 0);
        let admins = store
            .action_by_key(workspace.id, &keys::digest("g", day, "admins"))
            .await
            .expect("back room");
        let ActionKind::SendMessage { text, .. } = admins.kind else {
            panic!("a message")
        };
        assert!(
            text.contains("New members 1") && text.contains("Check-ins 1"),
            "the back-room reads English: {text}"
        );
        let group = store
            .action_by_key(workspace.id, &keys::digest("g", day, "g"))
            .await
            .expect("the group itself");
        let ActionKind::SendMessage { text, .. } = group.kind else {
            panic!("a message")
        };
        assert!(
            text.contains("新成员 1 人") && text.contains("打卡 1 人"),
            "the group reads Chinese: {text}"
        );
        assert_eq!(
            store
                .action_counts(workspace.id)
                .await
                .expect("counts")
                .pending,
            2
        );
    }
}
