//! The SOP read models' consumer: reads the log after its persisted watermark, in bounded
//! batches, and keeps check-in streaks, groups' first-seen times and push replies up to date.
//!
//! Its cost follows new events, not history: a start resumes from the watermark and the books
//! are restored from the streak table. With several instances on one database, each update is
//! applied only if the watermark has not moved; the loser reloads and tries again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use qunzhu_domain::{ActionId, Clock, EventKind, Instant, Platform, WorkspaceId};
use qunzhu_sop::{CheckinBook, CheckinConfig, CheckinEvent, MemberStreak};
use qunzhu_storage::{
    CheckinRow, CheckinSnapshot, GroupSeen, MorningPost, SopFactsUpdate, Store, StoredEvent,
};
use tokio::sync::watch;

/// How far back morning posts stay open for check-in reactions after a restart.
pub const MORNING_POSTS_OPEN_DAYS: i64 = 7;
/// Replies count for this long after a push went out.
const REPLY_WINDOW_MINUTES: i64 = 60;

type ChatKey = (Platform, String);

/// Check-in books per group, restored from a snapshot.
pub(crate) fn books_from(snapshot: &CheckinSnapshot, zone: Tz) -> HashMap<ChatKey, CheckinBook> {
    let mut members: HashMap<ChatKey, Vec<(String, MemberStreak)>> = HashMap::new();
    for row in &snapshot.members {
        members
            .entry((row.platform, row.chat.clone()))
            .or_default()
            .push((
                row.member.clone(),
                MemberStreak {
                    last_day: row.last_day,
                    streak: row.streak,
                    total: row.total,
                },
            ));
    }
    let mut posts: HashMap<ChatKey, Vec<String>> = HashMap::new();
    for post in &snapshot.morning_posts {
        posts
            .entry((post.platform, post.chat.clone()))
            .or_default()
            .push(post.message_id.clone());
    }
    let chats: BTreeSet<ChatKey> = members.keys().chain(posts.keys()).cloned().collect();
    chats
        .into_iter()
        .map(|key| {
            let book = CheckinBook::restore(
                config_for(&key.1, zone),
                members.remove(&key).unwrap_or_default(),
                posts.remove(&key).unwrap_or_default(),
            );
            (key, book)
        })
        .collect()
}

pub(crate) fn config_for(chat: &str, zone: Tz) -> CheckinConfig {
    let mut config = CheckinConfig::new(chat);
    config.timezone = zone;
    config
}

/// The consumer of one workspace.
#[derive(Clone)]
pub struct SopFacts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub zone: Tz,
    /// Events read per step.
    pub batch: usize,
    pub every: StdDuration,
}

/// Books in memory and the watermark they stand at.
struct State {
    watermark: i64,
    books: HashMap<ChatKey, CheckinBook>,
}

impl SopFacts {
    async fn load(&self) -> qunzhu_storage::Result<State> {
        let since = self
            .clock
            .now()
            .minus(Duration::days(MORNING_POSTS_OPEN_DAYS));
        let snapshot = self.store.checkin_snapshot(self.workspace, since).await?;
        Ok(State {
            watermark: snapshot.watermark,
            books: books_from(&snapshot, self.zone),
        })
    }

    /// Applies everything logged so far; returns how many events it read.
    pub async fn catch_up(&self) -> qunzhu_storage::Result<usize> {
        let mut state = self.load().await?;
        let mut read = 0;
        loop {
            match self.step(&mut state).await? {
                0 => return Ok(read),
                count => read += count,
            }
        }
    }

    /// One bounded batch; 0 when the log has nothing new.
    async fn step(&self, state: &mut State) -> qunzhu_storage::Result<usize> {
        let events = self
            .store
            .events(self.workspace, state.watermark, self.batch)
            .await?;
        let Some(last) = events.last().map(|stored| stored.seq) else {
            return Ok(0);
        };
        let update = self.update_for(state, &events, last).await?;
        if self.store.apply_sop_facts(self.workspace, update).await? {
            state.watermark = last;
        } else {
            // Another instance applied these events: resume from what it wrote.
            *state = self.load().await?;
        }
        Ok(events.len())
    }

    async fn update_for(
        &self,
        state: &mut State,
        events: &[StoredEvent],
        last: i64,
    ) -> qunzhu_storage::Result<SopFactsUpdate> {
        let mut update = SopFactsUpdate {
            from_seq: state.watermark,
            to_seq: last,
            ..SopFactsUpdate::default()
        };
        let earliest = events
            .iter()
            .map(|stored| stored.event.at)
            .min()
            .unwrap_or_else(|| self.clock.now());
        let pushes = self
            .store
            .pushes_since(
                self.workspace,
                earliest.minus(Duration::minutes(REPLY_WINDOW_MINUTES)),
            )
            .await?;
        let mut first_seen: BTreeMap<ChatKey, DateTime<Utc>> = BTreeMap::new();
        let mut touched: BTreeSet<(ChatKey, String)> = BTreeSet::new();
        let mut replies: BTreeMap<ActionId, u64> = BTreeMap::new();
        for stored in events {
            let event = &stored.event;
            let key: ChatKey = (event.platform, event.chat.clone());
            first_seen
                .entry(key.clone())
                .and_modify(|at| *at = (*at).min(event.at))
                .or_insert(event.at);
            let zone = self.zone;
            let book = state
                .books
                .entry(key.clone())
                .or_insert_with(|| CheckinBook::new(config_for(&event.chat, zone)));
            let (member, checkin) = match &event.kind {
                EventKind::MessagePosted {
                    text,
                    message_id,
                    from_bot: true,
                    ..
                } => {
                    if book.is_checkin_text(text) {
                        book.apply(&CheckinEvent::MorningPost {
                            message_id: message_id.clone(),
                        });
                        update.morning_posts.push(MorningPost {
                            platform: event.platform,
                            chat: event.chat.clone(),
                            message_id: message_id.clone(),
                            at: event.at,
                        });
                    }
                    continue;
                }
                EventKind::MessagePosted { member, text, .. } => {
                    let window = Duration::minutes(REPLY_WINDOW_MINUTES);
                    for push in pushes.iter().filter(|push| {
                        push.chat == event.chat
                            && push.rendered_at <= event.at
                            && event.at <= push.rendered_at.plus(window)
                    }) {
                        *replies.entry(push.action).or_default() += 1;
                    }
                    (
                        member,
                        CheckinEvent::Message {
                            member: member.0.clone(),
                            text: text.clone(),
                            at: event.at,
                        },
                    )
                }
                EventKind::Reaction { member, target, .. } => (
                    member,
                    CheckinEvent::Reaction {
                        member: member.0.clone(),
                        message_id: target.clone(),
                        at: event.at,
                    },
                ),
                _ => continue,
            };
            if book.apply(&checkin).is_some() {
                touched.insert((key, member.0.clone()));
            }
        }
        update.groups_seen = first_seen
            .into_iter()
            .map(|((platform, chat), at)| GroupSeen { platform, chat, at })
            .collect();
        update.replies = replies.into_iter().collect();
        for ((platform, chat), member) in touched {
            let record = state
                .books
                .get(&(platform, chat.clone()))
                .and_then(|book| book.record(&member));
            if let Some(record) = record {
                update.checkins.push(CheckinRow {
                    platform,
                    chat,
                    member,
                    last_day: record.last_day,
                    streak: record.streak,
                    total: record.total,
                });
            }
        }
        Ok(update)
    }

    /// Follows the log until `stop`.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut state = None;
        loop {
            // Tells the supervisor this loop is alive (a no-op outside one).
            crate::health::beat();
            if state.is_none() {
                match self.load().await {
                    Ok(loaded) => state = Some(loaded),
                    Err(error) => tracing::error!(%error, "cannot load the SOP read models"),
                }
            }
            let mut busy = false;
            if let Some(current) = state.as_mut() {
                match self.step(current).await {
                    Ok(read) => busy = read > 0,
                    Err(error) => {
                        tracing::error!(%error, "SOP read models could not follow the log");
                        // The books may be ahead of the tables: reload before the next step.
                        state = None;
                    }
                }
            }
            if busy && !*stop.borrow() {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
