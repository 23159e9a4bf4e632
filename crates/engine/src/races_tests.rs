//! The race keeper over a real (in-memory SQLite) store and a fake clock: opened with the
//! balances then as baseline, the live board once per slot in each group, the result and the
//! prizes once at the end — with a fresh keeper (a restart) and a second one every round.

use chrono::TimeZone;
use qunzhu_domain::{Account, DocumentKind, FakeClock, NewEntry, Reason};
use qunzhu_storage::{ActionFilter, NewWorkspace};

use super::*;

const RACE: &str = r#"
title = "积分冲榜"
platform = "sandbox"
groups = ["g1", "g2"]
metric = "points"
opens = "2026-12-10 10:00"
closes = "2026-12-10 12:00"
post_every_minutes = 60
shown = 5

[[prizes]]
from = 1
points = 100

[[prizes]]
from = 2
to = 3
coupon = { offer = { type = "amount_off", cents = 500 }, valid_days = 7 }
"#;

/// 10:00 Shanghai, when the race opens.
fn opening() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 10, 2, 0, 0).unwrap()
}

async fn setup() -> (Arc<dyn Store>, Arc<FakeClock>, WorkspaceId) {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"));
    let clock = Arc::new(FakeClock::new(opening() - Duration::minutes(10)));
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
        .put_document(
            workspace,
            DocumentKind::Race,
            "dec",
            RACE,
            "cli",
            clock.now(),
        )
        .await
        .unwrap();
    (store, clock, workspace)
}

fn keeper(store: &Arc<dyn Store>, clock: &Arc<FakeClock>, workspace: WorkspaceId) -> RaceKeeper {
    RaceKeeper {
        store: store.clone(),
        clock: clock.clone(),
        workspace,
        platform: Platform::Sandbox,
        every: StdDuration::from_secs(1),
    }
}

async fn earn(
    store: &Arc<dyn Store>,
    workspace: WorkspaceId,
    at: DateTime<Utc>,
    member: &str,
    points: i64,
) {
    let entry = NewEntry {
        key: format!("test:{member}:{}", at.timestamp()),
        reason: Reason::Manual,
        cause: None,
        from: Account::Issuance,
        to: Account::member(Platform::Sandbox, member),
        amount: points,
        at,
        memo: String::new(),
        reverses: None,
    };
    store.post_entries(workspace, vec![entry]).await.unwrap();
}

async fn keys_of(store: &Arc<dyn Store>, workspace: WorkspaceId) -> Vec<String> {
    let mut all: Vec<String> = store
        .actions(workspace, &ActionFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|action| action.key)
        .collect();
    all.sort();
    all
}

/// Minutes after the opening, points earned just before the round, keys the round adds.
type Row = (i64, Vec<(&'static str, i64)>, Vec<String>);

#[tokio::test]
async fn a_race_opens_posts_live_settles_and_pays_once_across_restarts() {
    let (store, clock, workspace) = setup().await;
    let slot = |minute: i64| (opening() + Duration::minutes(minute)).timestamp();
    // (minutes after the opening, points earned just before the round, keys the round adds)
    let rows: Vec<Row> = vec![
        (-10, vec![("@a", 50)], vec![]),
        (
            0,
            vec![],
            vec![
                format!("race:dec:board:{}:g1", slot(0)),
                format!("race:dec:board:{}:g2", slot(0)),
            ],
        ),
        (1, vec![("@b", 20), ("@a", 5)], vec![]),
        (59, vec![("@c", 7)], vec![]),
        (
            61,
            vec![],
            vec![
                format!("race:dec:board:{}:g1", slot(60)),
                format!("race:dec:board:{}:g2", slot(60)),
            ],
        ),
        (119, vec![], vec![]),
        (
            120,
            vec![],
            vec![
                "race:dec:prize:@a".into(),
                "race:dec:prize:@b".into(),
                "race:dec:prize:@c".into(),
                "race:dec:result:g1".into(),
                "race:dec:result:g2".into(),
            ],
        ),
        // Points earned after the end change nothing; nothing is paid again.
        (121, vec![("@d", 500)], vec![]),
        (60 * 24, vec![], vec![]),
    ];
    let mut written: Vec<String> = Vec::new();
    for (minute, earned, added) in rows {
        clock.set(opening() + Duration::minutes(minute));
        for (member, points) in earned {
            earn(&store, workspace, clock.now(), member, points).await;
        }
        // Every round by a fresh keeper and then another: a restart and a second instance.
        keeper(&store, &clock, workspace).run_once().await.unwrap();
        let again = keeper(&store, &clock, workspace).run_once().await.unwrap();
        assert_eq!(
            again.boards + again.opened + again.settled + again.paid,
            0,
            "minute {minute}: the second keeper writes nothing"
        );
        written.extend(added);
        written.sort();
        assert_eq!(keys_of(&store, workspace).await, written, "minute {minute}");
    }

    let stored = store.race(workspace, "dec").await.unwrap().unwrap();
    assert_eq!(stored.state, RaceState::Paid);
    assert_eq!(
        stored.baseline.get("@a"),
        Some(&50),
        "the balance when it opened"
    );
    let awards: Vec<_> = stored
        .awards
        .iter()
        .map(|award| (award.member.as_str(), award.rank, award.score))
        .collect();
    assert_eq!(
        awards,
        [("@b", 1, 20), ("@c", 2, 7), ("@a", 3, 5)],
        "points earned inside the window"
    );

    let first = store
        .action_by_key(workspace, "race:dec:prize:@b")
        .await
        .unwrap();
    assert!(
        matches!(&first.kind, ActionKind::GrantReward { member, points: 100, .. } if member == "@b"),
        "{:?}",
        first.kind
    );
    assert_eq!(first.origin, "race:dec");
    let second = store
        .action_by_key(workspace, "race:dec:prize:@c")
        .await
        .unwrap();
    assert!(
        matches!(
            &second.kind,
            ActionKind::IssueCoupon {
                valid_days: Some(7),
                ..
            }
        ),
        "{:?}",
        second.kind
    );
    let board = store
        .action_by_key(workspace, &format!("race:dec:board:{}:g2", slot(60)))
        .await
        .unwrap();
    let ActionKind::SendMessage { text, .. } = &board.kind else {
        panic!("a message: {:?}", board.kind);
    };
    assert!(text.contains("积分冲榜") && text.contains("@b"), "{text}");
    assert_eq!(
        board.expires_at,
        Some(opening() + Duration::minutes(120)),
        "stale after its slot"
    );
    let result = store
        .action_by_key(workspace, "race:dec:result:g1")
        .await
        .unwrap();
    let ActionKind::SendMessage { text, mentions, .. } = &result.kind else {
        panic!("a message: {:?}", result.kind);
    };
    assert!(text.contains("第 1 名 @b（20）：100 积分"), "{text}");
    assert_eq!(mentions, &["@b", "@c", "@a"], "the winners are mentioned");
}

#[tokio::test]
async fn two_keepers_settling_at_once_pay_once_and_a_settled_race_is_finished_after_a_crash() {
    let (store, clock, workspace) = setup().await;
    clock.set(opening());
    keeper(&store, &clock, workspace).run_once().await.unwrap();
    earn(&store, workspace, clock.now(), "@a", 3).await;
    clock.set(opening() + Duration::minutes(125));
    let (first, second) = (
        keeper(&store, &clock, workspace),
        keeper(&store, &clock, workspace),
    );
    let (one, two) = tokio::join!(first.run_once(), second.run_once());
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.settled + two.settled, 1, "one settlement recorded");
    assert_eq!(one.paid + two.paid, 1, "marked paid once");
    let prizes: Vec<_> = keys_of(&store, workspace)
        .await
        .into_iter()
        .filter(|key| key.contains(":prize:"))
        .collect();
    assert_eq!(prizes, ["race:dec:prize:@a"]);

    // A race whose settlement was recorded but whose effects were never written (a crash in
    // between) is finished by the next round from the recorded awards.
    store
        .put_document(
            workspace,
            DocumentKind::Race,
            "jan",
            &RACE.replace("g1", "g3"),
            "cli",
            clock.now(),
        )
        .await
        .unwrap();
    store
        .open_race(
            workspace,
            NewRace {
                name: "jan".into(),
                platform: Platform::Sandbox,
                metric: "points".into(),
                opened_at: opening(),
                baseline: BTreeMap::new(),
            },
        )
        .await
        .unwrap();
    let recorded = vec![Award {
        member: "@z".into(),
        rank: 1,
        score: 9,
        prize: Prize::Points { points: 100 },
    }];
    store
        .settle_race(workspace, "jan", clock.now(), recorded)
        .await
        .unwrap();
    let round = keeper(&store, &clock, workspace).run_once().await.unwrap();
    assert_eq!((round.settled, round.paid), (0, 1));
    let after = keys_of(&store, workspace).await;
    assert!(
        after.contains(&"race:jan:prize:@z".to_string()),
        "{after:?}"
    );
    assert!(
        !after.contains(&"race:jan:prize:@a".to_string()),
        "the recorded awards, not new ones"
    );
}
