//! Conformance: leaderboard races — opened once per name (a second opening keeps the first
//! baseline), settled once (a second settlement records nothing and answers the first one's
//! awards), marked paid once, and scoped by workspace.

use std::collections::BTreeMap;

use qunzhu_growth::lottery::Prize;
use qunzhu_growth::race::Award;

use super::*;

fn new_race(name: &str, baseline: &[(&str, i64)]) -> NewRace {
    NewRace {
        name: name.into(),
        platform: Platform::Sandbox,
        metric: "invites".into(),
        opened_at: at(0),
        baseline: baseline
            .iter()
            .map(|(member, value)| (member.to_string(), *value))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn award(member: &str, rank: u32, points: i64) -> Award {
    Award {
        member: member.into(),
        rank,
        score: 10 - i64::from(rank),
        prize: Prize::Points { points },
    }
}

pub async fn races_open_and_settle_once(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    assert_eq!(store.race(ws, "dec").await.expect("read"), None);
    assert!(matches!(
        store.settle_race(ws, "dec", at(5), vec![]).await,
        Err(StoreError::NotFound { .. })
    ));

    let (opened, fresh) = store
        .open_race(ws, new_race("dec", &[("@a", 3), ("@b", 1)]))
        .await
        .expect("open");
    assert!(fresh);
    assert_eq!(opened.state, RaceState::Open);
    assert_eq!(opened.baseline.get("@a"), Some(&3));
    assert_eq!(opened.opened_at, at(0));
    assert_eq!(opened.awards, vec![]);

    // A second instance opening the same race later keeps the first baseline.
    let mut again = new_race("dec", &[("@a", 9)]);
    again.opened_at = at(1);
    let (stored, fresh) = store.open_race(ws, again).await.expect("open again");
    assert!(!fresh);
    assert_eq!(stored, opened);

    // Another workspace's race of the same name is its own.
    let (theirs, fresh) = store
        .open_race(other, new_race("dec", &[]))
        .await
        .expect("open in b");
    assert!(fresh && theirs.baseline.is_empty());
    store
        .open_race(ws, new_race("jan", &[]))
        .await
        .expect("open jan");
    let names: Vec<_> = store
        .races(ws)
        .await
        .expect("list")
        .into_iter()
        .map(|race| race.name)
        .collect();
    assert_eq!(names, ["dec", "jan"]);

    assert!(
        !store.mark_race_paid(ws, "dec").await.expect("paid"),
        "an open race is not paid"
    );
    let first = vec![award("@a", 1, 100), award("@b", 2, 30)];
    let (settled, recorded) = store
        .settle_race(ws, "dec", at(10), first.clone())
        .await
        .expect("settle");
    assert!(recorded);
    assert_eq!(settled.state, RaceState::Settled);
    assert_eq!(settled.settled_at, Some(at(10)));
    assert_eq!(settled.awards, first);

    // The second settlement (another instance, other scores) records nothing.
    let (stored, recorded) = store
        .settle_race(ws, "dec", at(11), vec![award("@c", 1, 100)])
        .await
        .expect("settle again");
    assert!(!recorded);
    assert_eq!(stored.awards, first);
    assert_eq!(stored.settled_at, Some(at(10)));

    assert!(store.mark_race_paid(ws, "dec").await.expect("paid"));
    assert!(!store.mark_race_paid(ws, "dec").await.expect("paid again"));
    let read = store.race(ws, "dec").await.expect("read").expect("stored");
    assert_eq!(read.state, RaceState::Paid);
    assert_eq!(read.awards, first);
    assert_eq!(read.baseline.get("@b"), Some(&1));

    let theirs = store.race(other, "dec").await.expect("read b").expect("b");
    assert_eq!(theirs.state, RaceState::Open, "workspace b is untouched");
    assert_eq!(store.races(other).await.expect("list b").len(), 1);
}
