//! 秒杀 claims from chat on real stores: keyword messages in the offer's group are judged at
//! their own time (too early, won, again, cannot pay, sold out), each answered once in the group
//! with the stock left, paid through the ledger with a coupon queued, and a second round after
//! the watermark judges nothing again. Runs on SQLite, and on PostgreSQL when one is configured.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    keys, Account, ActionKind, Event, EventKind, FakeClock, MessageKind, NewEntry, Platform,
    Reason, WorkspaceId,
};
use qunzhu_engine::offers::{offer_account, offer_posts};
use qunzhu_engine::OfferClaims;
use qunzhu_growth::flash_sale::parse_offer;
use qunzhu_storage::{IngestBatch, NewEvent, NewOffer, NewWorkspace, Store};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T20:00:00+08:00")
        .map(|at| at.to_utc())
        .unwrap()
}

const OFFER: &str = r#"title = "保温杯"
platform = "sandbox"
group = "g"
keyword = "抢"
stock = 2
starts = "2026-11-24 20:10"
ends = "2026-11-24 20:40"
countdown_minutes = 5
points = 10
coupon = { offer = { type = "amount_off", cents = 500 }, valid_days = 7 }
"#;

fn said(workspace: WorkspaceId, key: &str, minute: i64, member: &str, text: &str) -> NewEvent {
    let at = start() + Duration::minutes(minute);
    NewEvent {
        day: qunzhu_domain::local_day(at, chrono_tz::Asia::Shanghai),
        event: Event {
            workspace,
            platform: Platform::Sandbox,
            key: key.into(),
            chat: "g".into(),
            at,
            kind: EventKind::MessagePosted {
                member: member.into(),
                message_id: format!("${key}"),
                text: text.into(),
                links: Vec::new(),
                mentions: Vec::new(),
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: false,
            },
        },
    }
}

fn text_of(kind: &ActionKind) -> String {
    match kind {
        ActionKind::SendMessage { text, .. } => text.clone(),
        other => panic!("not a message: {other:?}"),
    }
}

async fn story(store: Arc<dyn Store>) {
    let tz = chrono_tz::Asia::Shanghai;
    let ws = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: tz,
        })
        .await
        .unwrap()
        .id;
    let member = |user: &str| Account::member(Platform::Sandbox, user);
    let grants = [("@a", 50), ("@b", 50), ("@c", 5), ("@d", 50)]
        .into_iter()
        .map(|(user, amount)| NewEntry {
            key: format!("seed:{user}"),
            reason: Reason::Manual,
            cause: None,
            from: Account::Issuance,
            to: member(user),
            amount,
            at: start(),
            memo: String::new(),
            reverses: None,
        })
        .collect();
    store.post_entries(ws, grants).await.unwrap();
    let spec = parse_offer(OFFER, tz).unwrap();
    let offer = store
        .create_offer(
            ws,
            NewOffer {
                key: "offer:r1".into(),
                spec,
                source: OFFER.into(),
                origin: qunzhu_domain::ActionOrigin::Operator(qunzhu_domain::ActorName::User(
                    "ops".into(),
                )),
                created_at: start(),
            },
        )
        .await
        .unwrap();
    // The countdown five minutes before, the opening at 20:10, both in the outbox at their time.
    let posts = offer_posts(ws, &offer, tz, start());
    let times: Vec<_> = posts
        .iter()
        .map(|post| (post.key.clone(), post.not_before))
        .collect();
    assert_eq!(
        times,
        [
            (
                keys::offer_post(offer.id, "countdown"),
                start() + Duration::minutes(5)
            ),
            (
                keys::offer_post(offer.id, "open"),
                start() + Duration::minutes(10)
            ),
        ]
    );
    assert!(text_of(&posts[1].kind).ends_with("剩余 2 件。"));
    let events = vec![
        said(ws, "e1", 6, "@a", "抢"),
        said(ws, "e2", 11, "@a", "抢"),
        said(ws, "e3", 12, "@a", "抢"),
        said(ws, "e4", 12, "@c", "抢"),
        said(ws, "e5", 13, "@b", "抢！"),
        said(ws, "e6", 14, "@d", "抢"),
        said(ws, "e7", 14, "@d", "今天抢什么"),
        said(ws, "e8", 41, "@d", "抢"),
    ];
    // Each message is read a minute after it was sent, as a running consumer would.
    let clock = Arc::new(FakeClock::new(start()));
    let claims = OfferClaims {
        store: store.clone(),
        workspace: ws,
        tz,
        clock: clock.clone(),
        batch: 3,
        every: std::time::Duration::from_millis(10),
    };
    let mut judged = 0;
    for event in events {
        clock.set(event.event.at + Duration::minutes(1));
        store
            .ingest(
                IngestBatch {
                    events: vec![event],
                    cursor: None,
                },
                &mut |_| Vec::new(),
            )
            .await
            .unwrap();
        judged += claims.run_once().await.unwrap();
    }
    assert_eq!(judged, 7, "every keyword message is judged once");
    let reply = |event: &str| {
        let store = store.clone();
        let key = keys::offer_reply(offer.id, event);
        async move { text_of(&store.action_by_key(ws, &key).await.unwrap().kind) }
    };
    assert_eq!(reply("e1").await, "秒杀还没开始，11-24 20:10 准时开抢。");
    assert_eq!(
        reply("e2").await,
        "抢到了！「保温杯」已为你保留（10 积分兑换，送立减 ¥5.00），剩余 1 件。"
    );
    assert_eq!(reply("e3").await, "你已经抢到过了，每人限一件。");
    assert_eq!(reply("e4").await, "积分不足，这件需要 10 积分。");
    assert_eq!(
        reply("e5").await,
        "抢到了！「保温杯」已为你保留（10 积分兑换，送立减 ¥5.00），剩余 0 件。"
    );
    assert_eq!(reply("e6").await, "已抢光，下次早点来！");
    assert_eq!(reply("e8").await, "秒杀已于 11-24 20:40 结束。");
    assert!(store
        .action_by_key(ws, &keys::offer_reply(offer.id, "e7"))
        .await
        .is_err());
    let sold_out = store
        .action_by_key(ws, &keys::offer_post(offer.id, "sold_out"))
        .await
        .unwrap();
    assert_eq!(
        text_of(&sold_out.kind),
        "「保温杯」2 件已全部抢光，感谢参与！"
    );
    // Paid through the ledger, a coupon queued for each winner, nothing for the others.
    for (user, balance) in [("@a", 40), ("@b", 40), ("@c", 5), ("@d", 50)] {
        assert_eq!(
            store.balance(ws, &member(user)).await.unwrap(),
            balance,
            "{user}"
        );
    }
    assert_eq!(
        store.balance(ws, &offer_account(offer.id)).await.unwrap(),
        20
    );
    for user in ["@a", "@b"] {
        let coupon = store
            .action_by_key(ws, &keys::offer_coupon(offer.id, user))
            .await
            .unwrap();
        assert!(matches!(coupon.kind, ActionKind::IssueCoupon { .. }));
    }
    assert!(store
        .action_by_key(ws, &keys::offer_coupon(offer.id, "@c"))
        .await
        .is_err());
    assert_eq!(store.offer(ws, offer.id).await.unwrap().remaining, 0);
    // The watermark kept: a second round (a restart) judges nothing.
    assert_eq!(claims.run_once().await.unwrap(), 0);
    // History is not answered: a message read an hour late gets no reply.
    store
        .ingest(
            IngestBatch {
                events: vec![said(ws, "late", 20, "@e", "抢")],
                cursor: None,
            },
            &mut |_| Vec::new(),
        )
        .await
        .unwrap();
    clock.set(start() + Duration::minutes(90));
    assert_eq!(claims.run_once().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_claims_on_sqlite() {
    story(Arc::new(
        qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_claims_on_postgres() {
    let Some(base) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let (url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .unwrap();
    story(Arc::new(
        qunzhu_storage_postgres::PostgresStore::connect(&url)
            .await
            .unwrap(),
    ))
    .await;
}
