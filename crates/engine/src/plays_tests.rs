//! The play consumer on a real (in-memory SQLite) store: messages in the log become one answer,
//! one "成团" and one coupon per member however often a round runs, and a gift moves points only
//! when the giver has them.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::ledger::{Account, NewEntry, Reason};
use qunzhu_domain::{
    ActionKind, DocumentKind, Event, EventKind, FakeClock, MessageKind, Platform, WorkspaceId,
};
use qunzhu_storage::{ActionFilter, IngestBatch, NewEvent, NewWorkspace, Store};

use super::*;

const TEAM: &str = r#"kind = "group_buy"
title = "拼咖啡豆"
platform = "sandbox"
groups = ["g"]
starts = "2026-12-01T00:00:00Z"
ends = "2026-12-31T00:00:00Z"

[group_buy]
item = "咖啡豆"
team_size = 3
hours = 24
price_cents = 9900
team_price_cents = 5900
"#;

const GIFT: &str = r#"kind = "gift"
title = "送积分"
platform = "sandbox"
groups = ["g"]
starts = "2026-12-01T00:00:00Z"
ends = "2026-12-31T00:00:00Z"

[gift]
max_points = 100
"#;

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minute)
}

fn said(
    ws: WorkspaceId,
    key: &str,
    member: &str,
    minute: i64,
    text: &str,
    mentions: &[&str],
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
                mentions: mentions.iter().map(|m| m.to_string()).collect(),
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: false,
            },
        },
    }
}

async fn setup(documents: &[(&str, &str)]) -> (Arc<dyn Store>, WorkspaceId, Plays) {
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
    for (name, source) in documents {
        store
            .put_document(ws, DocumentKind::Play, name, source, "test", at(0))
            .await
            .expect("document");
    }
    let plays = Plays {
        store: store.clone(),
        clock: Arc::new(FakeClock::new(at(30))),
        workspace: ws,
        batch: 100,
        every: StdDuration::from_secs(1),
    };
    (store, ws, plays)
}

async fn ingest(store: &dyn Store, events: Vec<NewEvent>) {
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
}

async fn keys(store: &dyn Store, ws: WorkspaceId) -> Vec<String> {
    let mut keys: Vec<String> = store
        .actions(ws, &ActionFilter::default())
        .await
        .expect("actions")
        .into_iter()
        .map(|action| action.key)
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_formed_in_the_log_is_announced_and_paid_once() {
    let (store, ws, plays) = setup(&[("beans", TEAM)]).await;
    ingest(
        &*store,
        vec![
            said(ws, "e1", "@a", 1, "开团", &[]),
            said(ws, "e2", "@b", 2, "参团 1", &[]),
            said(ws, "e3", "@b", 3, "参团 1", &[]),
            said(ws, "e4", "@c", 4, "参团", &[]),
            said(ws, "e5", "@d", 5, "参团 1", &[]),
        ],
    )
    .await;
    let round = plays.run_once().await.expect("round");
    assert_eq!(
        (round.events, round.actions, round.lost_race),
        (5, 8, false)
    );
    let expected = [
        "play:beans:1:coupon:@a",
        "play:beans:1:coupon:@b",
        "play:beans:1:coupon:@c",
        "play:beans:1:done",
        "play:beans:1:join:@b",
        "play:beans:1:start",
        "play:beans:answer:e3",
        "play:beans:answer:e5",
    ];
    assert_eq!(keys(&*store, ws).await, expected);
    let coupon = store
        .action_by_key(ws, "play:beans:1:coupon:@b")
        .await
        .expect("coupon");
    assert!(matches!(
        coupon.kind,
        ActionKind::IssueCoupon { ref member, offer: qunzhu_domain::CouponOffer::AmountOff { cents: 4000 }, .. } if member == "@b"
    ));
    // The same round redone (a crash before the watermark moved) writes the same keys: no-ops.
    assert!(store.apply_plays(ws, 5, 5, vec![]).await.expect("stay"));
    assert_eq!(plays.run_once().await.expect("again").events, 0);
    assert_eq!(keys(&*store, ws).await, expected);
    let runs = store.play_runs(ws, "beans").await.expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, qunzhu_growth::play::RunState::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_of_one_event_each_rebuild_the_board_from_storage_and_end_the_same() {
    let script = [
        ("e1", "@a", "开团"),
        ("e2", "@b", "参团"),
        ("e3", "@b", "参团"),
        ("e4", "@c", "参团 1"),
        ("e5", "@d", "参团 1"),
    ];
    let mut finals = Vec::new();
    for batch in [100, 1] {
        let (store, ws, plays) = setup(&[("beans", TEAM)]).await;
        let events = script
            .iter()
            .enumerate()
            .map(|(minute, (key, member, text))| {
                said(ws, key, member, minute as i64 + 1, text, &[])
            })
            .collect();
        ingest(&*store, events).await;
        let plays = Plays { batch, ..plays };
        let mut rounds = 0;
        while plays.run_once().await.expect("round").events > 0 {
            rounds += 1;
        }
        assert_eq!(rounds, if batch == 1 { 5 } else { 1 });
        finals.push((
            keys(&*store, ws).await,
            store.play_runs(ws, "beans").await.expect("runs"),
        ));
    }
    assert_eq!(finals[0], finals[1]);
    assert_eq!(finals[0].0.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gift_moves_points_only_when_the_giver_has_them() {
    let (store, ws, plays) = setup(&[("give", GIFT)]).await;
    ingest(
        &*store,
        vec![said(ws, "e1", "@a", 1, "送积分 30 @b", &["@b"])],
    )
    .await;
    plays.run_once().await.expect("round");
    let refused = store
        .action_by_key(ws, "play:give:gift:e1:said")
        .await
        .expect("answer");
    assert!(
        matches!(&refused.kind, ActionKind::SendMessage { text, .. } if text.contains("积分不足"))
    );
    let grant = NewEntry {
        key: "seed".into(),
        reason: Reason::Manual,
        cause: None,
        from: Account::Issuance,
        to: Account::member(Platform::Sandbox, "@a"),
        amount: 50,
        at: at(2),
        memo: String::new(),
        reverses: None,
    };
    store.post_entries(ws, vec![grant]).await.expect("seed");
    ingest(
        &*store,
        vec![said(ws, "e2", "@a", 3, "送积分 30 @b", &["@b"])],
    )
    .await;
    assert_eq!(plays.run_once().await.expect("round").transfers, 1);
    let done = store
        .action_by_key(ws, "play:give:gift:e2:said")
        .await
        .expect("answer");
    assert!(
        matches!(&done.kind, ActionKind::SendMessage { text, .. } if text.contains("送给 @b 30 积分"))
    );
    let balance = |user: &'static str| {
        let store = store.clone();
        async move {
            store
                .balance(ws, &Account::member(Platform::Sandbox, user))
                .await
                .expect("balance")
        }
    };
    assert_eq!((balance("@a").await, balance("@b").await), (20, 30));
}
