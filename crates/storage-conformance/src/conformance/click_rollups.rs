//! Conformance: tracked-link clicks in the rollups — folded in batches of any size while more
//! clicks arrive, the stored counts equal the domain reducer over every click; the read joins
//! them to the event days (a click-only day keeps the group's size); the watermark guards
//! against a second instance; another workspace's clicks and links in unknown chats never count.

use qunzhu_domain::click_rollup::{fold_clicks, with_clicks, ClickDays, ClickInput};

use super::*;
use qunzhu_storage::click_rollups::{fold_new_clicks, rollup_days_with_clicks};
use qunzhu_storage::rollups::FoldStep;

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// One step of a random click script: (link, minutes later, fold after it in batches of this
/// size, 0 for no fold).
pub type ClickScript = Vec<(usize, i64, usize)>;

pub fn click_script() -> impl Strategy<Value = ClickScript> {
    proptest::collection::vec((0usize..4, 0i64..1500, 0usize..4), 1..40)
}

/// The links of the script: two groups of the workspace, a chat that is no group, and a link
/// of another workspace.
const LINKS: [&str; 4] = ["lg", "lh", "lx", "lo"];

async fn click_links(store: &dyn Store, ws: WorkspaceId, other: WorkspaceId) {
    for chat in ["g", "h"] {
        store
            .ensure_group(ws, Platform::Sandbox, chat)
            .await
            .expect("group");
    }
    store
        .ensure_group(other, Platform::Sandbox, "o")
        .await
        .expect("group");
    let link = |code: &str, workspace, chat: &str| NewLink {
        code: code.into(),
        workspace,
        url: "https://shop.example/".into(),
        push: format!("push-{code}"),
        chat: chat.into(),
        member: None,
        created_at: at(0),
    };
    store
        .put_links(vec![
            link("lg", ws, "g"),
            link("lh", ws, "h"),
            link("lx", ws, "nowhere"),
            link("lo", other, "o"),
        ])
        .await
        .expect("links");
}

async fn fold_clicks_all(store: &dyn Store, ws: WorkspaceId, batch: usize) {
    loop {
        match fold_new_clicks(store, ws, ZONE, batch)
            .await
            .expect("fold clicks")
        {
            FoldStep::Folded(0) => return,
            FoldStep::Folded(_) => {}
            FoldStep::Lost => panic!("nobody else folds here"),
        }
    }
}

fn everything() -> RollupDayQuery {
    RollupDayQuery {
        group: None,
        from: NaiveDate::from_ymd_opt(2000, 1, 1).expect("day"),
        to: NaiveDate::from_ymd_opt(2100, 1, 1).expect("day"),
    }
}

/// Clicks recorded and folded in between, in batches of any size, equal the reducer's counts.
pub async fn click_rollups_match_the_reducer(store: &dyn Store, script: ClickScript) {
    let ws = workspace(store, "c").await;
    let other = workspace(store, "o").await;
    click_links(store, ws, other).await;
    let mut minute = 0;
    let mut counted = Vec::new();
    for (link, later, fold_batch) in script {
        minute += later;
        store
            .record_click(LinkClick {
                code: LINKS[link].into(),
                at: at(minute),
                visitor: format!("v{minute}"),
            })
            .await
            .expect("click");
        if link < 2 {
            counted.push(ClickInput {
                platform: Platform::Sandbox,
                chat: ["g", "h"][link].into(),
                at: at(minute),
            });
        }
        if fold_batch > 0 {
            fold_clicks_all(store, ws, fold_batch).await;
        }
    }
    fold_clicks_all(store, ws, 3).await;
    let spec = fold_clicks(&counted, ZONE);
    assert_eq!(
        store.click_days_in(ws, &everything()).await.expect("days"),
        spec
    );
    // The other workspace folds its own click and nothing of ours.
    fold_clicks_all(store, other, 2).await;
    let theirs = store
        .click_days_in(other, &everything())
        .await
        .expect("days");
    assert!(theirs.keys().all(|key| key.1 == "o"), "{theirs:?}");
}

pub async fn clicks_join_the_rollup_days_and_guard_the_watermark(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    click_links(store, ws, other).await;
    // Day 0: two join g; day 2: a message. Clicks on days 0, 1 (no events) and 2.
    ingest(
        store,
        vec![
            event(ws, "1", "g", 0, joined("@a", "A")),
            event(ws, "2", "g", 1, joined("@b", "B")),
            event(ws, "3", "g", 2 * 1440, message("@a", "hi")),
        ],
        None,
    )
    .await;
    qunzhu_storage::rollups::fold_new_events(store, ws, ZONE, 100, &|_| false)
        .await
        .expect("fold events");
    for minute in [5, 6, 1440 + 5, 2 * 1440 + 5] {
        store
            .record_click(LinkClick {
                code: "lg".into(),
                at: at(minute),
                visitor: "v".into(),
            })
            .await
            .expect("click");
    }
    assert_eq!(store.click_watermark(ws).await.expect("mark"), 0);
    fold_clicks_all(store, ws, 2).await;
    let mark = store.click_watermark(ws).await.expect("mark");
    assert!(mark > 0);
    // A second instance that read watermark 0 and lost the race writes nothing.
    assert!(!store
        .apply_clicks(ws, &ClickDays::new(), 0, mark + 5)
        .await
        .expect("apply"));
    assert_eq!(store.click_watermark(ws).await.expect("same"), mark);

    let day0 = local_day(at(0), ZONE);
    let days: Vec<_> = rollup_days_with_clicks(store, ws, &everything())
        .await
        .expect("days")
        .into_iter()
        .map(|row| {
            (
                (row.day - day0).num_days(),
                row.counts.members_end,
                row.counts.messages,
                row.clicks,
            )
        })
        .collect();
    assert_eq!(days, vec![(0, 2, 0, 2), (1, 2, 0, 1), (2, 2, 1, 1)]);
    // A range starting on the click-only day asks the store for the size before it.
    let from_day1 = RollupDayQuery {
        group: Some((Platform::Sandbox, "g".into())),
        from: day0 + chrono::Duration::days(1),
        to: day0 + chrono::Duration::days(1),
    };
    let only: Vec<_> = rollup_days_with_clicks(store, ws, &from_day1)
        .await
        .expect("days")
        .into_iter()
        .map(|row| (row.counts.members_end, row.clicks))
        .collect();
    assert_eq!(only, vec![(2, 1)]);
    // The join is the reducer's, over what the store holds.
    let stored: std::collections::BTreeMap<_, _> = store
        .rollup_days(ws, &everything())
        .await
        .expect("days")
        .into_iter()
        .map(|row| ((row.platform, row.chat, row.day), row.counts))
        .collect();
    let clicks = store
        .click_days_in(ws, &everything())
        .await
        .expect("clicks");
    assert_eq!(with_clicks(stored, &clicks, &|_| None).len(), 3);
    assert!(rollup_days_with_clicks(store, other, &everything())
        .await
        .expect("theirs")
        .iter()
        .all(|row| row.chat == "o"));
}
