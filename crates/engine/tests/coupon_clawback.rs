//! Coupon prizes of an invite task taken back on real stores with a fake clock: A and D each
//! reach the threshold and get a coupon; D redeems theirs at the shop; both invitees leave. A's
//! unredeemed coupon is revoked (kept, marked, no longer redeemable) and the prize reversed;
//! D's redeemed coupon stays theirs and the prize is kept in the review queue, saying why.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    Clock, CouponStatus, DocumentKind, Event, EventKind, FakeClock, InviteCode, JoinVia, LeaveHow,
    Platform, WorkspaceId,
};
use qunzhu_engine::{InviteTasks, LedgerWorker, LedgerWorkerConfig};
use qunzhu_growth::PrizeState;
use qunzhu_storage::{
    CouponRedemption, IngestBatch, NewEvent, NewWorkspace, PrizeFilter, RedeemCoupon, Store,
};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-02T09:00:00+08:00")
        .map(|at| at.to_utc())
        .unwrap()
}

const CAMPAIGN: &str = r#"title = "邀请有礼"
platform = "sandbox"
groups = ["g"]
starts = "2026-12-01T00:00:00Z"
ends = "2026-12-31T00:00:00Z"
stay_hours = 1
[[thresholds]]
invites = 1
coupon = { type = "amount_off", cents = 1000 }
valid_days = 30
"#;

async fn ingest(
    store: &dyn Store,
    workspace: WorkspaceId,
    key: &str,
    at: DateTime<Utc>,
    kind: EventKind,
) {
    let event = NewEvent {
        day: qunzhu_domain::local_day(at, chrono_tz::Asia::Shanghai),
        event: Event {
            workspace,
            platform: Platform::Sandbox,
            key: key.into(),
            chat: "g".into(),
            at,
            kind,
        },
    };
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
}

fn posted(member: &str) -> EventKind {
    EventKind::MessagePosted {
        member: member.into(),
        message_id: format!("m-{member}"),
        text: "大家好".into(),
        links: vec![],
        mentions: vec![],
        reply_to: None,
        message_kind: qunzhu_domain::MessageKind::Text,
        from_bot: false,
    }
}

async fn story(store: Arc<dyn Store>) {
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let clock = FakeClock::new(start());
    store
        .put_document(
            workspace,
            DocumentKind::Campaign,
            "spring",
            CAMPAIGN,
            "test",
            clock.now(),
        )
        .await
        .unwrap();
    for (code, member) in [("a1", "@a"), ("d1", "@d")] {
        let code = InviteCode {
            code: code.into(),
            platform: Platform::Sandbox,
            member: member.into(),
            campaign: Some("spring".into()),
        };
        store.put_invite_code(workspace, code).await.unwrap();
    }
    let tasks = InviteTasks {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace,
        batch: 100,
        every: std::time::Duration::from_millis(10),
    };
    let ledger = LedgerWorker {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        config: LedgerWorkerConfig {
            owner: "ledger-test".into(),
            ..Default::default()
        },
    };
    for (key, member, code) in [("e1", "@b", "a1"), ("e2", "@e", "d1")] {
        let kind = EventKind::MemberJoined {
            member: member.into(),
            display_name: None,
            via: JoinVia::Link { code: code.into() },
        };
        ingest(&*store, workspace, key, clock.now(), kind).await;
        ingest(
            &*store,
            workspace,
            &format!("{key}p"),
            clock.now(),
            posted(member),
        )
        .await;
    }
    tasks.run_once().await.unwrap();
    clock.advance(Duration::hours(1));
    tasks.run_once().await.unwrap();
    tasks.run_once().await.unwrap();
    ledger.run_once().await.unwrap();
    ledger.run_once().await.unwrap();
    let coupon_of = |member: &'static str| {
        let store = store.clone();
        async move {
            let coupons = store
                .member_coupons(workspace, Platform::Sandbox, member)
                .await
                .unwrap();
            assert_eq!(coupons.len(), 1, "{member}: {coupons:?}");
            coupons[0].clone()
        }
    };
    let a = coupon_of("@a").await;
    let d = coupon_of("@d").await;
    assert_eq!(a.issued.key, "task:spring:@a:1:0");
    let redeemed = store
        .redeem_coupon(
            workspace,
            RedeemCoupon {
                code: d.issued.code.clone(),
                platform: Platform::Sandbox,
                user: "@d".into(),
                request: "order-9".into(),
                at: clock.now(),
            },
        )
        .await
        .unwrap();
    assert!(matches!(redeemed, CouponRedemption::Redeemed { .. }));

    clock.advance(Duration::hours(1));
    for (key, member) in [("e3", "@b"), ("e4", "@e")] {
        let left = EventKind::MemberLeft {
            member: member.into(),
            how: LeaveHow::Left,
            by: None,
        };
        ingest(&*store, workspace, key, clock.now(), left).await;
    }
    tasks.run_once().await.unwrap();
    // A second round (a retry after a crash) changes nothing more.
    tasks.run_once().await.unwrap();

    let a = coupon_of("@a").await;
    assert_eq!(a.status(clock.now()), CouponStatus::Revoked);
    assert_eq!(a.revoked_at, Some(clock.now()));
    let refused = store
        .redeem_coupon(
            workspace,
            RedeemCoupon {
                code: a.issued.code.clone(),
                platform: Platform::Sandbox,
                user: "@a".into(),
                request: "order-10".into(),
                at: clock.now(),
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(refused, CouponRedemption::Refused { .. }),
        "{refused:?}"
    );
    let d = coupon_of("@d").await;
    assert_eq!(d.status(clock.now()), CouponStatus::Redeemed);

    let prizes = store
        .task_prizes(workspace, &PrizeFilter::default(), 10)
        .await
        .unwrap();
    let state = |inviter: &str| {
        prizes
            .iter()
            .find(|row| row.inviter == inviter)
            .map(|row| (row.state, row.note.clone()))
            .unwrap()
    };
    assert_eq!(state("@a").0, PrizeState::Reversed);
    let (kept, note) = state("@d");
    assert_eq!(kept, PrizeState::Kept);
    assert!(
        note.contains(&d.issued.code) && note.contains("not revoked"),
        "{note}"
    );
    let queue = store
        .task_prizes(
            workspace,
            &PrizeFilter {
                state: Some(PrizeState::Kept),
                ..Default::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(queue.len(), 1);

    // D's invitee comes back: the kept coupon is not paid a second time.
    ingest(
        &*store,
        workspace,
        "e5",
        clock.now(),
        EventKind::MemberJoined {
            member: "@f".into(),
            display_name: None,
            via: JoinVia::Link { code: "d1".into() },
        },
    )
    .await;
    ingest(&*store, workspace, "e5p", clock.now(), posted("@f")).await;
    tasks.run_once().await.unwrap();
    clock.advance(Duration::hours(2));
    tasks.run_once().await.unwrap();
    ledger.run_once().await.unwrap();
    assert_eq!(
        store
            .member_coupons(workspace, Platform::Sandbox, "@d")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupon_prizes_are_revoked_or_kept_on_sqlite() {
    story(Arc::new(
        qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupon_prizes_are_revoked_or_kept_on_postgres() {
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
