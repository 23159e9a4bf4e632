//! The ledger worker on real stores: grants written by check-ins (and before the worker existed)
//! are applied once, a crash between posting and marking done doubles nothing, a refused
//! deduction is dead with its reason, `积分` is answered in the group with the balance, and join
//! gifts are coupons for the newcomer and the inviter.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    Account, ActionKind, ActionStatus, ActionTarget, Clock, CouponOffer, Event, EventKind,
    FakeClock, JoinVia, MessageKind, NewAction, Platform, WorkspaceId,
};
use qunzhu_engine::{
    BalanceQuestions, Chain, Checkins, Decider, JoinCoupon, JoinCoupons, LedgerWorker,
    LedgerWorkerConfig,
};
use qunzhu_storage::{Claim, IngestBatch, NewEvent, NewWorkspace, Store};

fn seven_am() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T07:00:00+08:00")
        .map(|at| at.to_utc())
        .unwrap()
}

fn message(
    workspace: WorkspaceId,
    key: &str,
    member: &str,
    text: &str,
    at: DateTime<Utc>,
) -> Event {
    Event {
        workspace,
        platform: Platform::Sandbox,
        key: key.into(),
        chat: "g".into(),
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

async fn ingest(
    store: &dyn Store,
    decider: &mut dyn Decider,
    events: Vec<Event>,
    now: DateTime<Utc>,
) {
    let batch = IngestBatch {
        events: events
            .into_iter()
            .map(|event| NewEvent {
                day: qunzhu_domain::local_day(event.at, chrono_tz::Asia::Shanghai),
                event,
            })
            .collect(),
        cursor: None,
    };
    let mut decide = |event: &Event| decider.decide(event, now);
    store.ingest(batch, &mut decide).await.unwrap();
}

fn grant(
    workspace: WorkspaceId,
    key: &str,
    member: &str,
    points: i64,
    at: DateTime<Utc>,
) -> NewAction {
    NewAction {
        workspace,
        platform: Platform::Sandbox,
        chat: "g".into(),
        key: key.into(),
        kind: ActionKind::GrantReward {
            member: member.into(),
            points,
            reason: "test".into(),
        },
        created_at: at,
        not_before: at,
        expires_at: None,
        dry_run: false,
        origin: qunzhu_domain::ActionOrigin::Checkin,
        cause: None,
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
    let clock = FakeClock::new(seven_am());
    let now = clock.now();
    // A grant written before the ledger worker existed: pending, never claimed by a dispatcher.
    store
        .enqueue(vec![grant(
            workspace,
            "checkin:old",
            "@a",
            10,
            now - Duration::days(3),
        )])
        .await
        .unwrap();
    let worker = LedgerWorker {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        config: LedgerWorkerConfig {
            owner: "ledger-test".into(),
            ..LedgerWorkerConfig::default()
        },
    };
    let round = worker.run_once().await.unwrap();
    assert_eq!((round.claimed, round.applied), (1, 1), "{round:?}");
    let member = Account::member(Platform::Sandbox, "@a");
    assert_eq!(store.balance(workspace, &member).await.unwrap(), 10);
    let old = store.action_by_key(workspace, "checkin:old").await.unwrap();
    assert_eq!(old.status, ActionStatus::Done);
    assert!(old
        .receipt
        .as_deref()
        .is_some_and(|receipt| receipt.starts_with("ledger:")));
    assert_eq!(worker.run_once().await.unwrap().claimed, 0, "applied once");

    // A check-in and a balance question in one batch: the answer counts the new points.
    let mut decider = Chain(vec![
        Box::new(Checkins::new(
            workspace,
            Platform::Sandbox,
            chrono_tz::Asia::Shanghai,
        )),
        Box::new(BalanceQuestions {
            workspace,
            platform: Platform::Sandbox,
            keywords: vec!["积分".into()],
        }),
    ]);
    ingest(
        &*store,
        &mut decider,
        vec![
            message(workspace, "e1", "@a", "打卡", now),
            message(workspace, "e2", "@a", " 积分 ", now),
            message(workspace, "e3", "@a", "我有多少积分", now),
        ],
        now,
    )
    .await;
    let round = worker.run_once().await.unwrap();
    assert_eq!(
        (round.applied, round.balances_reported),
        (1, 1),
        "{round:?}"
    );
    assert_eq!(store.balance(workspace, &member).await.unwrap(), 20);
    let reply = store
        .action_by_key(workspace, "balance:e2:reply")
        .await
        .unwrap();
    let ActionKind::SendMessage { text, mentions, .. } = &reply.kind else {
        panic!("a message: {reply:?}")
    };
    assert_eq!(
        (text.as_str(), mentions.as_slice()),
        ("💰 当前积分 20", ["@a".to_string()].as_slice())
    );
    assert_eq!(
        reply.status,
        ActionStatus::Pending,
        "the platform dispatcher sends it"
    );

    // A worker dies after posting but before marking done: the next one posts nothing twice.
    store
        .enqueue(vec![grant(workspace, "checkin:crash", "@a", 5, now)])
        .await
        .unwrap();
    let taken = store
        .claim_actions(Claim {
            platform: Platform::Sandbox,
            target: ActionTarget::Ledger,
            now,
            limit: 10,
            owner: "dead-worker",
            lease_until: now + Duration::seconds(30),
        })
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let entry = qunzhu_domain::ledger::grant_entry(&taken[0]).unwrap();
    store.post_entries(workspace, vec![entry]).await.unwrap();
    assert_eq!(
        worker.run_once().await.unwrap().claimed,
        0,
        "leased to the dead worker"
    );
    clock.advance(Duration::seconds(31));
    let round = worker.run_once().await.unwrap();
    assert_eq!(
        (round.claimed, round.applied, round.duplicates),
        (1, 0, 1),
        "{round:?}"
    );
    assert_eq!(store.balance(workspace, &member).await.unwrap(), 25);

    // A deduction the member cannot cover is refused, and the action says why.
    store
        .enqueue(vec![grant(workspace, "penalty", "@a", -30, clock.now())])
        .await
        .unwrap();
    assert_eq!(worker.run_once().await.unwrap().refused, 1);
    let dead = store.action_by_key(workspace, "penalty").await.unwrap();
    assert_eq!(dead.status, ActionStatus::Dead);
    assert_eq!(
        dead.last_error.as_deref(),
        Some("entry `penalty`: `member:sandbox:@a` holds 25, cannot pay 30")
    );
    assert_eq!(store.balance(workspace, &member).await.unwrap(), 25);
    assert_eq!(
        store
            .ledger_entries(workspace, Some(&member), 100)
            .await
            .unwrap()
            .len(),
        3
    );

    // Join gifts as coupons, to the newcomer and the inviter; rejoining earns nothing more.
    let mut gifts = JoinCoupons {
        workspace,
        platform: Platform::Sandbox,
        gift: JoinCoupon {
            offer: CouponOffer::AmountOff { cents: 500 },
            valid_days: Some(30),
            inviter: true,
        },
    };
    let join = |key: &str, member: &str, by: &str| Event {
        kind: EventKind::MemberJoined {
            member: member.into(),
            display_name: None,
            via: JoinVia::Invited { by: by.into() },
        },
        ..message(workspace, key, member, "", clock.now())
    };
    ingest(
        &*store,
        &mut gifts,
        vec![
            join("j1", "@b", "@a"),
            join("j2", "@b", "@a"),
            join("j3", "@c", "@c"),
        ],
        clock.now(),
    )
    .await;
    let round = worker.run_once().await.unwrap();
    assert_eq!(
        round.coupons, 3,
        "newcomers @b and @c, inviter @a once; {round:?}"
    );
    let mine = |user: &'static str| {
        let store = store.clone();
        async move {
            store
                .member_coupons(workspace, Platform::Sandbox, user)
                .await
                .unwrap()
        }
    };
    let (b, a, c) = (mine("@b").await, mine("@a").await, mine("@c").await);
    assert_eq!(
        (b.len(), a.len(), c.len()),
        (1, 1, 1),
        "no coupon for inviting oneself"
    );
    assert_eq!(a[0].issued.memo, "邀请礼");
    assert_eq!(
        b[0].issued.expires_at,
        Some(clock.now() + Duration::days(30))
    );
    let notice = store
        .action_by_key(workspace, "coupon-gift:g:@b:notice")
        .await
        .unwrap();
    let ActionKind::SendMessage { text, .. } = &notice.kind else {
        panic!("a notice: {notice:?}")
    };
    assert!(
        text.contains("立减 ¥5.00") && text.contains(&b[0].issued.code),
        "{text}"
    );
    assert_eq!(worker.run_once().await.unwrap().coupons, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_worker_on_sqlite() {
    story(Arc::new(
        qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_worker_on_postgres() {
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
