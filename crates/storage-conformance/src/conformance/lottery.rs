//! Conformance: lotteries — created once per key, purchases once per key and never after the
//! draw, the draw recorded once (compare-and-set), workspaces apart.

use qunzhu_growth::lottery::{ChanceRule, Entry, Prize, PrizeTier};

use super::*;

fn new_lottery(key: &str, name: &str) -> NewLottery {
    NewLottery {
        key: key.into(),
        name: name.into(),
        platform: Platform::Sandbox,
        chat: "room".into(),
        campaign: Some("spring".into()),
        rules: vec![
            ChanceRule::Invite { chances: 1 },
            ChanceRule::Points { points: 50 },
        ],
        prizes: vec![PrizeTier {
            name: "一等奖".into(),
            count: 1,
            prize: Prize::Points { points: 100 },
        }],
        pool: Some("spring".into()),
        seed: "ab".repeat(32),
        commitment: "cd".repeat(32),
        opens_at: at(0),
        closes_at: at(60),
        baseline: vec![Baseline {
            member: "@a".into(),
            invites: 2,
            check_ins: 5,
        }],
    }
}

fn purchase(lottery: i64, key: &str, member: &str, points: i64) -> Purchase {
    Purchase {
        lottery,
        key: key.into(),
        member: member.into(),
        points,
        at: at(10),
    }
}

pub async fn lotteries_are_stored_bought_into_and_drawn_once(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    let created = store
        .create_lottery(ws, new_lottery("req-1", "春季抽奖"))
        .await
        .expect("create");
    let again = store
        .create_lottery(ws, new_lottery("req-1", "another name"))
        .await
        .expect("create again");
    assert_eq!(again, created, "a key creates once");
    assert_eq!(created.body, new_lottery("req-1", "春季抽奖"), "round trip");
    assert_eq!(created.drawn, None);
    assert_eq!(created.revealed_seed(), None, "secret until drawn");
    assert_eq!(created.baseline_of("@a").invites, 2);
    assert_eq!(created.baseline_of("@new").invites, 0);
    let second = store
        .create_lottery(ws, new_lottery("req-2", "第二期"))
        .await
        .expect("second");
    let listed: Vec<i64> = store
        .lotteries(ws, 10)
        .await
        .expect("list")
        .iter()
        .map(|lottery| lottery.id)
        .collect();
    assert_eq!(listed, vec![second.id, created.id], "newest first");
    assert!(store.lotteries(other, 10).await.expect("other").is_empty());
    assert!(matches!(
        store.lottery(other, created.id).await,
        Err(StoreError::NotFound { .. })
    ));

    for (key, member, points) in [
        ("buy:1", "@a", 100),
        ("buy:1", "@a", 100),
        ("buy:2", "@b", 50),
        ("buy:3", "@a", 50),
    ] {
        store
            .record_purchase(ws, purchase(created.id, key, member, points))
            .await
            .expect("purchase");
    }
    assert_eq!(
        store.points_spent(ws, created.id).await.expect("spent"),
        vec![("@a".to_string(), 150), ("@b".to_string(), 50)],
        "a retried purchase counts once"
    );
    assert!(store
        .points_spent(ws, second.id)
        .await
        .expect("spent")
        .is_empty());

    let drawn = Drawn {
        at: at(61),
        entries: vec![
            Entry {
                member: "@a".into(),
                chances: 3,
            },
            Entry {
                member: "@b".into(),
                chances: 1,
            },
        ],
        winners: vec!["@b".into()],
    };
    let (stored, fresh) = store
        .record_draw(ws, created.id, drawn.clone())
        .await
        .expect("draw");
    assert!(fresh);
    assert_eq!(stored.drawn.as_ref(), Some(&drawn));
    assert_eq!(stored.revealed_seed(), Some("ab".repeat(32).as_str()));
    let mut late = drawn.clone();
    late.winners = vec!["@a".into()];
    let (kept, fresh) = store
        .record_draw(ws, created.id, late)
        .await
        .expect("redraw");
    assert!(!fresh, "a second draw is not recorded");
    assert_eq!(kept.drawn, Some(drawn), "the first draw stands");
    assert!(
        matches!(
            store
                .record_purchase(ws, purchase(created.id, "buy:4", "@c", 50))
                .await,
            Err(StoreError::Invalid { .. })
        ),
        "no chances bought after the draw"
    );
    store
        .record_purchase(ws, purchase(created.id, "buy:1", "@a", 100))
        .await
        .expect("a retry of an earlier purchase still answers");
    assert!(matches!(
        store
            .record_draw(
                other,
                created.id,
                Drawn {
                    at: at(62),
                    entries: vec![],
                    winners: vec![]
                }
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));
}
