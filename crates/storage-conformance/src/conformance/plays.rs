//! Conformance: growth-play runs are stored whole and read back the same, listed newest first
//! and filtered by play and state, and the watermark moves compare-and-set with them.

use qunzhu_growth::play::RunState;
use qunzhu_growth::run::{Participant, Run};

use super::*;

fn run(play: &str, number: u32, state: RunState, minute: i64) -> Run {
    Run {
        play: play.into(),
        number,
        kind: "bargain".into(),
        platform: Platform::Matrix,
        chat: "!g:hs".into(),
        starter: "@a".into(),
        started_at: at(minute),
        deadline: at(minute + 60),
        state,
        participants: vec![Participant {
            member: "@b".into(),
            at: at(minute + 1),
            cents: 4800,
        }],
        price_cents: 5200,
        closed_at: (state != RunState::Open).then(|| at(minute + 2)),
    }
}

pub async fn play_runs_are_kept_whole_listed_and_guard_the_watermark(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    assert_eq!(store.play_watermark(ws).await.expect("watermark"), 0);
    let first = run("cup", 1, RunState::Open, 0);
    let second = run("cup", 2, RunState::Open, 5);
    let team = Run {
        kind: "group_buy".into(),
        ..run("beans", 1, RunState::Failed, 3)
    };
    assert!(store
        .apply_plays(ws, 0, 7, vec![first.clone(), second.clone(), team.clone()])
        .await
        .expect("apply"));
    assert_eq!(store.play_watermark(ws).await.expect("watermark"), 7);
    assert_eq!(
        store.play_runs(ws, "cup").await.expect("runs"),
        vec![first.clone(), second.clone()]
    );
    // A round that started from an old watermark writes nothing.
    let mut done = first.clone();
    done.state = RunState::Done;
    done.price_cents = 1000;
    done.closed_at = Some(at(9));
    done.participants.push(Participant {
        member: "@c".into(),
        at: at(9),
        cents: 4200,
    });
    assert!(!store
        .apply_plays(ws, 0, 9, vec![done.clone()])
        .await
        .expect("stale"));
    assert_eq!(store.play_runs(ws, "cup").await.expect("runs")[0], first);
    assert!(store
        .apply_plays(ws, 7, 9, vec![done.clone()])
        .await
        .expect("apply"));
    assert_eq!(store.play_runs(ws, "cup").await.expect("runs")[0], done);
    // Newest first, narrowed by play and state; another workspace sees none.
    let all = store
        .runs(ws, &RunFilter::default(), 10)
        .await
        .expect("list");
    let shown: Vec<(String, u32)> = all.iter().map(|r| (r.play.clone(), r.number)).collect();
    assert_eq!(
        shown,
        [("cup".into(), 2), ("beans".into(), 1), ("cup".into(), 1)]
    );
    let open = RunFilter {
        state: Some(RunState::Open),
        ..RunFilter::default()
    };
    assert_eq!(store.runs(ws, &open, 10).await.expect("open"), vec![second]);
    let beans = RunFilter {
        play: Some("beans".into()),
        ..RunFilter::default()
    };
    assert_eq!(store.runs(ws, &beans, 10).await.expect("beans"), vec![team]);
    assert_eq!(
        store
            .runs(ws, &RunFilter::default(), 1)
            .await
            .expect("limit")
            .len(),
        1
    );
    assert!(store
        .runs(other, &RunFilter::default(), 10)
        .await
        .expect("other")
        .is_empty());
    assert_eq!(store.play_watermark(other).await.expect("watermark"), 0);
}
