//! The 晒单 recogniser: an incremental consumer of the log that marks a buyer's post as the
//! showcase of their order when it comes inside the order's window and carries an image or the
//! configured hashtag; its watermark moves with the marks, so a restart resumes where it stopped.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use qunzhu_domain::{EventKind, MessageKind, WorkspaceId};
use qunzhu_storage::{Order, ShowcasePost, Store, StoredEvent};
use tokio::sync::watch;

#[derive(Clone)]
pub struct Showcases {
    pub store: Arc<dyn Store>,
    pub workspace: WorkspaceId,
    /// A text post counts when it contains this (an image always counts).
    pub hashtag: String,
    /// Events read per batch.
    pub batch: usize,
    pub every: StdDuration,
}

/// The showcase posts among `events`: per open order, the buyer's first qualifying post in
/// its window (between the order and `showcase_until`), in the same platform.
pub fn recognise(events: &[StoredEvent], open: &[Order], hashtag: &str) -> Vec<ShowcasePost> {
    let mut posts: Vec<ShowcasePost> = Vec::new();
    for stored in events {
        let EventKind::MessagePosted {
            member,
            message_id,
            text,
            message_kind,
            from_bot,
            ..
        } = &stored.event.kind
        else {
            continue;
        };
        let qualifies =
            *message_kind == MessageKind::Image || (!hashtag.is_empty() && text.contains(hashtag));
        if *from_bot || !qualifies {
            continue;
        }
        let at = stored.event.at;
        let order = open.iter().find(|order| {
            order.member == *member
                && order.platform == stored.event.platform
                && order.at <= at
                && order.showcase_until.is_some_and(|until| at <= until)
                && !posts.iter().any(|post| post.order_id == order.order_id)
        });
        if let Some(order) = order {
            posts.push(ShowcasePost {
                order_id: order.order_id.clone(),
                message_id: message_id.clone(),
                at,
            });
        }
    }
    posts
}

impl Showcases {
    /// Applies every logged event after the watermark; returns how many events it read.
    pub async fn run_once(&self) -> qunzhu_storage::Result<usize> {
        let mut read = 0;
        loop {
            let after = self.store.showcase_watermark(self.workspace).await?;
            let events = self
                .store
                .events(self.workspace, after, self.batch.max(1))
                .await?;
            let (Some(first), Some(last)) = (events.first(), events.last()) else {
                return Ok(read);
            };
            let open = self
                .store
                .open_showcases(self.workspace, first.event.at)
                .await?;
            let posts = if open.is_empty() {
                Vec::new()
            } else {
                recognise(&events, &open, &self.hashtag)
            };
            let marked = posts.len();
            if !self
                .store
                .apply_showcases(self.workspace, posts, after, last.seq)
                .await?
            {
                // Another instance applied these events first; read on from where it left off.
                continue;
            }
            if marked > 0 {
                tracing::info!(marked, "晒单 posts recognised");
            }
            read += events.len();
            if events.len() < self.batch.max(1) {
                return Ok(read);
            }
        }
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.run_once().await {
                tracing::error!(%error, "showcase round failed; retrying");
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
    use chrono::{DateTime, Utc};
    use qunzhu_domain::{Event, Platform};
    use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace};

    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000 + minute * 60, 0).unwrap_or_default()
    }

    fn post(
        ws: WorkspaceId,
        key: &str,
        member: &str,
        minute: i64,
        kind: MessageKind,
        text: &str,
    ) -> NewEvent {
        NewEvent {
            day: at(minute).date_naive(),
            event: Event {
                workspace: ws,
                platform: Platform::Sandbox,
                key: key.into(),
                chat: "g".into(),
                at: at(minute),
                kind: EventKind::MessagePosted {
                    member: member.into(),
                    message_id: key.into(),
                    text: text.into(),
                    links: vec![],
                    mentions: vec![],
                    reply_to: None,
                    message_kind: kind,
                    from_bot: false,
                },
            },
        }
    }

    fn order(id: &str, member: &str, minute: i64, window: Option<i64>) -> Order {
        Order {
            order_id: id.into(),
            platform: Platform::Sandbox,
            member: member.into(),
            amount_cents: 100,
            currency: "CNY".into(),
            items: vec![],
            coupon: None,
            link_token: None,
            refund_of: None,
            at: at(minute),
            chat: Some("g".into()),
            push: None,
            campaign: None,
            live_code: None,
            inviter: None,
            showcase_until: window.map(|window| at(minute + window)),
            showcase_message: None,
            showcase_at: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn posts_in_the_window_with_an_image_or_the_hashtag_are_recognised_once() {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
        let ws = store
            .ensure_workspace(NewWorkspace {
                slug: "a".into(),
                name: "a".into(),
                time_zone: chrono_tz::UTC,
            })
            .await
            .expect("workspace")
            .id;
        for order in [
            order("o1", "@buyer", 10, Some(60)),
            order("o2", "@late", 10, Some(5)),
            order("o3", "@nope", 10, None),
        ] {
            store.record_order(ws, order).await.expect("order");
        }
        let events = vec![
            post(ws, "m0", "@buyer", 5, MessageKind::Image, ""), // before the order
            post(ws, "m1", "@buyer", 12, MessageKind::Text, "好喝"), // no image, no tag
            post(ws, "m2", "@other", 13, MessageKind::Image, ""), // not the buyer
            post(ws, "m3", "@buyer", 14, MessageKind::Text, "开箱 #晒单"), // counts
            post(ws, "m4", "@buyer", 15, MessageKind::Image, ""), // already shown
            post(ws, "m5", "@late", 20, MessageKind::Image, ""), // window over
            post(ws, "m6", "@nope", 20, MessageKind::Image, ""), // no window
        ];
        store
            .ingest(
                IngestBatch {
                    events,
                    cursor: None,
                },
                &mut |_| Vec::new(),
            )
            .await
            .expect("ingest");
        let showcases = Showcases {
            store: store.clone(),
            workspace: ws,
            hashtag: "#晒单".into(),
            batch: 3,
            every: StdDuration::from_secs(1),
        };
        assert_eq!(showcases.run_once().await.expect("round"), 7);
        let shown = store.order(ws, "o1").await.expect("o1");
        assert_eq!(
            (shown.showcase_message.as_deref(), shown.showcase_at),
            (Some("m3"), Some(at(14)))
        );
        for id in ["o2", "o3"] {
            assert_eq!(
                store.order(ws, id).await.expect("order").showcase_message,
                None,
                "{id}"
            );
        }
        assert_eq!(store.showcase_watermark(ws).await.expect("watermark"), 7);
        // Nothing new: nothing read, nothing changed.
        assert_eq!(showcases.run_once().await.expect("round"), 0);
    }
}
