//! Point drops (红包雨) in the group, decided in memory.
//!
//! Operators (console, API, CLI) and SOP steps schedule drops in the store; [`DropWatcher`] reads
//! the last day's drops every few seconds, with the shares already in the outbox, into a
//! [`DropsHandle`]. The [`Drops`] decider opens a drop at its start (announcing it), judges each
//! keyword answer with `qunzhu_growth::drop::Drop` (first N, once per member, inside the window)
//! and turns a share into a `GrantReward` or `IssueCoupon` keyed `drop:{id}:share:{member}`, so a
//! share decided twice is granted once; the shares read back after a restart keep the cap.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::{
    ActionId, ActionKind, Event, EventKind, Instant, NewAction, Platform, WorkspaceId,
};
use qunzhu_growth::drop::{Claim, Drop};
use qunzhu_growth::lottery::Prize;
use qunzhu_storage::{ActionFilter, Store, StoredDrop};
use tokio::sync::watch;

/// A scheduled drop with the members who already have a share (from the outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledDrop {
    pub workspace: WorkspaceId,
    pub stored: StoredDrop,
    pub claimed: Vec<String>,
}

/// The scheduled drops in force.
#[derive(Clone, Default)]
pub struct DropsHandle(Arc<RwLock<Arc<Vec<ScheduledDrop>>>>);

impl DropsHandle {
    pub fn replace(&self, drops: Vec<ScheduledDrop>) {
        let mut slot = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Arc::new(drops);
    }

    pub fn current(&self) -> Arc<Vec<ScheduledDrop>> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

fn origin(drop: i64) -> ActionOrigin {
    ActionOrigin::Drop(drop)
}

/// Keeps a [`DropsHandle`] current from the store.
#[derive(Clone)]
pub struct DropWatcher {
    pub store: Arc<dyn Store>,
    pub workspace: WorkspaceId,
    pub handle: DropsHandle,
    pub clock: Arc<dyn qunzhu_domain::Clock>,
    pub every: StdDuration,
}

impl DropWatcher {
    /// Reads the last day's drops (no drop is open longer) and their shares.
    pub async fn sync(&self) -> qunzhu_storage::Result<()> {
        let now = self.clock.now();
        let since = now.minus(Duration::minutes(qunzhu_growth::drop::MAX_WINDOW_MINUTES));
        let mut out = Vec::new();
        for stored in self.store.drops_since(self.workspace, since).await? {
            let filter = ActionFilter {
                origin_prefix: Some(origin(stored.id).to_string()),
                // A prefix also matches later ids (`drop:1` and `drop:12`); the key filter below sorts
                // them out, so the limit leaves room for them.
                limit: Some(100_000),
                ..ActionFilter::default()
            };
            let prefix = format!("drop:{}:share:", stored.id);
            let mut shares: Vec<(ActionId, String)> = self
                .store
                .actions(self.workspace, &filter)
                .await?
                .into_iter()
                .filter_map(|action| {
                    action
                        .key
                        .strip_prefix(&prefix)
                        .map(|member| (action.id, member.to_string()))
                })
                .collect();
            // The order they were decided in, which is the order of their outbox ids.
            shares.sort();
            out.push(ScheduledDrop {
                workspace: self.workspace,
                claimed: shares.into_iter().map(|(_, member)| member).collect(),
                stored,
            });
        }
        self.handle.replace(out);
        Ok(())
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if let Err(error) = self.sync().await {
                tracing::error!(%error, "cannot read scheduled point drops");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// The drops decider of one connector: pure, in memory.
pub struct Drops {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    handle: DropsHandle,
    /// Drops already opened (or found over), by id.
    seen: HashSet<i64>,
    running: HashMap<i64, (String, Drop)>,
}

/// Where a drop's actions go.
struct Place<'a> {
    workspace: WorkspaceId,
    platform: Platform,
    chat: &'a str,
    drop: i64,
}

impl Place<'_> {
    fn action(
        &self,
        key: String,
        kind: ActionKind,
        now: DateTime<Utc>,
        cause: Option<String>,
    ) -> NewAction {
        NewAction {
            workspace: self.workspace,
            platform: self.platform,
            chat: self.chat.to_string(),
            key,
            kind,
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: origin(self.drop),
            cause,
        }
    }

    /// One member's share: points for the ledger or a coupon the ledger worker issues.
    fn share(
        &self,
        drop: &Drop,
        member: &str,
        rank: u32,
        now: DateTime<Utc>,
        cause: &str,
    ) -> NewAction {
        let memo = format!("红包雨第 {rank} 份");
        let kind = match &drop.spec.prize {
            Prize::Points { points } => ActionKind::GrantReward {
                member: member.to_string(),
                points: *points,
                reason: memo,
            },
            Prize::Coupon { offer, valid_days } => ActionKind::IssueCoupon {
                member: member.to_string(),
                offer: offer.clone(),
                valid_days: *valid_days,
                memo,
            },
        };
        self.action(
            qunzhu_domain::keys::drop_share(self.drop, member),
            kind,
            now,
            Some(cause.to_string()),
        )
    }

    fn summary(&self, drop: &Drop, now: DateTime<Utc>) -> NewAction {
        self.action(
            qunzhu_domain::keys::drop_end(self.drop),
            say(drop.summary(), drop.winners.clone()),
            now,
            None,
        )
    }
}

fn say(text: String, mentions: Vec<String>) -> ActionKind {
    ActionKind::SendMessage {
        text,
        html: None,
        mentions,
        reply_to: None,
    }
}

impl Drops {
    pub fn new(workspace: WorkspaceId, platform: Platform, handle: DropsHandle) -> Drops {
        Drops {
            workspace,
            platform,
            handle,
            seen: HashSet::new(),
            running: HashMap::new(),
        }
    }

    fn place<'a>(&self, chat: &'a str, drop: i64) -> Place<'a> {
        Place {
            workspace: self.workspace,
            platform: self.platform,
            chat,
            drop,
        }
    }

    /// Opens the scheduled drops whose time has come; a drop found already over opens nothing.
    fn open_due(&mut self, now: DateTime<Utc>) -> Vec<NewAction> {
        let mut out = Vec::new();
        for scheduled in self.handle.current().iter() {
            let stored = &scheduled.stored;
            if scheduled.workspace != self.workspace
                || stored.drop.platform != self.platform
                || stored.drop.starts_at > now
                || self.seen.contains(&stored.id)
            {
                continue;
            }
            self.seen.insert(stored.id);
            let Ok(mut drop) = Drop::open(
                stored.id.to_string(),
                stored.drop.spec.clone(),
                stored.drop.starts_at,
            ) else {
                tracing::warn!(
                    drop = stored.id,
                    "a stored drop is not valid; it does not open"
                );
                continue;
            };
            if drop.is_over(now) {
                continue;
            }
            for member in &scheduled.claimed {
                drop.restore(member);
            }
            if drop.is_over(now) {
                continue;
            }
            let place = self.place(&stored.drop.chat, stored.id);
            out.push(place.action(
                qunzhu_domain::keys::drop_start(stored.id),
                say(drop.announcement(), vec![]),
                now,
                None,
            ));
            self.running
                .insert(stored.id, (stored.drop.chat.clone(), drop));
        }
        out
    }
}

impl crate::Decider for Drops {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        let EventKind::MessagePosted {
            member,
            text,
            from_bot: false,
            ..
        } = &event.kind
        else {
            return Vec::new();
        };
        if event.workspace != self.workspace || event.platform != self.platform {
            return Vec::new();
        }
        let mut out = self.open_due(now);
        let mut ended = Vec::new();
        for (id, (chat, drop)) in self.running.iter_mut() {
            if *chat != event.chat {
                continue;
            }
            // Judged at the message's own time: an answer that arrives late from history
            // still counts only if it was sent inside the window.
            if let Claim::Won { rank } = drop.answer(member.as_str(), text, event.at) {
                let place = Place {
                    workspace: self.workspace,
                    platform: self.platform,
                    chat,
                    drop: *id,
                };
                out.push(place.share(drop, member.as_str(), rank, now, &event.key));
                if drop.is_full() {
                    ended.push(*id);
                }
            }
        }
        for id in ended {
            if let Some((chat, drop)) = self.running.remove(&id) {
                out.push(self.place(&chat, id).summary(&drop, now));
            }
        }
        out
    }

    fn tick(&mut self, now: DateTime<Utc>) -> Vec<NewAction> {
        let mut out = self.open_due(now);
        let over: Vec<i64> = self
            .running
            .iter()
            .filter(|(_, (_, drop))| drop.is_over(now))
            .map(|(id, _)| *id)
            .collect();
        for id in over {
            if let Some((chat, drop)) = self.running.remove(&id) {
                out.push(self.place(&chat, id).summary(&drop, now));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decider;
    use qunzhu_domain::{Clock, FakeClock, MessageKind};
    use qunzhu_growth::drop::DropSpec;
    use qunzhu_storage::NewDrop;

    const WS: WorkspaceId = WorkspaceId(1);

    fn scheduled(
        id: i64,
        starts_at: DateTime<Utc>,
        shares: u32,
        claimed: &[&str],
    ) -> ScheduledDrop {
        ScheduledDrop {
            workspace: WS,
            stored: StoredDrop {
                id,
                drop: NewDrop {
                    key: format!("k{id}"),
                    platform: Platform::Matrix,
                    chat: "!room".into(),
                    spec: DropSpec {
                        keyword: "红包".into(),
                        shares,
                        prize: Prize::Points { points: 5 },
                        minutes: 10,
                    },
                    starts_at,
                    origin: qunzhu_domain::ActionOrigin::Operator(qunzhu_domain::ActorName::User(
                        "ops".into(),
                    )),
                },
            },
            claimed: claimed.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn said(key: &str, member: &str, text: &str, at: DateTime<Utc>) -> Event {
        Event {
            workspace: WS,
            platform: Platform::Matrix,
            key: key.into(),
            chat: "!room".into(),
            at,
            kind: EventKind::MessagePosted {
                member: member.into(),
                message_id: key.into(),
                text: text.into(),
                links: vec![],
                mentions: vec![],
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: false,
            },
        }
    }

    fn keys(actions: &[NewAction]) -> Vec<String> {
        actions.iter().map(|a| a.key.clone()).collect()
    }

    #[test]
    fn a_drop_opens_on_time_pays_the_first_n_once_and_ends_when_all_are_gone() {
        let clock = FakeClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let handle = DropsHandle::default();
        let start = clock.now() + Duration::minutes(1);
        handle.replace(vec![scheduled(7, start, 2, &[])]);
        let mut drops = Drops::new(WS, Platform::Matrix, handle);
        assert!(drops.tick(clock.now()).is_empty(), "not yet");
        assert!(
            drops
                .decide(&said("e0", "@a", "红包", clock.now()), clock.now())
                .is_empty(),
            "too early"
        );
        clock.advance(Duration::minutes(1));
        let opened = drops.tick(clock.now());
        assert_eq!(keys(&opened), ["drop:7:start"]);
        assert!(drops.tick(clock.now()).is_empty(), "opens once");
        let mut all = Vec::new();
        for (key, member, text) in [
            ("e1", "@a", "红包"),
            ("e2", "@a", "红包"),
            ("e3", "@b", "hi"),
            ("e4", "@b", "红包"),
            ("e5", "@c", "红包"),
        ] {
            clock.advance(Duration::seconds(5));
            all.extend(drops.decide(&said(key, member, text, clock.now()), clock.now()));
        }
        assert_eq!(
            keys(&all),
            ["drop:7:share:@a", "drop:7:share:@b", "drop:7:end"]
        );
        assert!(
            matches!(&all[0].kind, ActionKind::GrantReward { member, points: 5, .. } if member == "@a")
        );
        assert_eq!(all[0].origin, "drop:7");
        assert_eq!(
            qunzhu_domain::ledger::reason_of_origin(&all[0].origin),
            qunzhu_domain::Reason::Drop
        );
        assert!(
            drops.tick(clock.now() + Duration::hours(1)).is_empty(),
            "ended once"
        );
    }

    #[test]
    fn shares_from_before_a_restart_keep_the_cap_and_the_window_closes_it() {
        let clock = FakeClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let handle = DropsHandle::default();
        handle.replace(vec![scheduled(3, clock.now(), 3, &["@a", "@b"])]);
        let mut drops = Drops::new(WS, Platform::Matrix, handle.clone());
        clock.advance(Duration::minutes(2));
        assert_eq!(
            keys(&drops.tick(clock.now())),
            ["drop:3:start"],
            "announced again, keyed the same"
        );
        let again = drops.decide(&said("x", "@a", "红包", clock.now()), clock.now());
        assert!(again.is_empty(), "@a had a share before the restart");
        clock.advance(Duration::minutes(9));
        let late = drops.decide(&said("y", "@c", "红包", clock.now()), clock.now());
        assert!(late.is_empty(), "after the window");
        let ended = drops.tick(clock.now());
        assert_eq!(keys(&ended), ["drop:3:end"]);
        // A drop whose window passed while the engine was down opens nothing.
        handle.replace(vec![scheduled(
            4,
            clock.now() - Duration::minutes(30),
            3,
            &[],
        )]);
        let mut fresh = Drops::new(WS, Platform::Matrix, handle);
        assert!(fresh.tick(clock.now()).is_empty());
    }
}
