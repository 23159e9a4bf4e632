//! Conformance: the aggregate analytics read models — the workspace funnel counters the
//! consumer keeps equal the counters of the reducer's members folded over the whole log, and a
//! workspace whose members were folded before the counters existed is seeded on the next step.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use qunzhu_domain::funnel::FunnelConfig;
use qunzhu_domain::funnel_counts::FunnelCounts;
use qunzhu_domain::rollup::{MemberFacts, MemberRef, RollupState};
use qunzhu_domain::InviteChannel;

use super::*;
use qunzhu_storage::rollups::{fold_new_events, FoldStep};

/// The stored counters are those of `members` (the reducer's, over the whole log).
pub async fn funnel_counts_match_the_reducer(
    store: &dyn Store,
    ws: WorkspaceId,
    members: &BTreeMap<MemberRef, MemberFacts>,
    zone: Tz,
) {
    assert_eq!(
        store.funnel_counts(ws).await.expect("counts"),
        Some(FunnelCounts::of(members.values(), zone))
    );
}

pub async fn funnel_counts_are_seeded_for_a_workspace_folded_before_them(store: &dyn Store) {
    let zone = chrono_tz::Asia::Shanghai;
    let ws = workspace(store, "seed").await;
    // Rows as a consumer without counters left them: two members, watermark past one event.
    let mut old = RollupState::default();
    for (n, member) in ["@a", "@b"].into_iter().enumerate() {
        old.members.insert(
            (Platform::Sandbox, "g".into(), member.into()),
            MemberFacts {
                joined_at: Some(at(n as i64)),
                channel: Some(InviteChannel::Direct),
                present: true,
                first_active_at: Some(at(60)),
                active_weeks: 1,
                ..MemberFacts::default()
            },
        );
    }
    ingest(
        store,
        vec![event(ws, "s0", "g", 0, joined("@a", "A"))],
        None,
    )
    .await;
    assert!(store.apply_rollup(ws, &old, 0, 1).await.expect("old rows"));
    assert!(!store.funnel_counted(ws).await.expect("counted"));
    assert_eq!(store.funnel_counts(ws).await.expect("counts"), None);

    ingest(
        store,
        vec![
            event(ws, "s1", "g", 10, joined("@c", "C")),
            event(ws, "s2", "g", 11, message("@c", "hi")),
            event(ws, "s3", "h", 12, joined("@d", "D")),
        ],
        None,
    )
    .await;
    loop {
        match fold_new_events(store, ws, zone, 2, &|_: &Event| false)
            .await
            .expect("fold")
        {
            FoldStep::Folded(0) => break,
            FoldStep::Folded(_) => {}
            FoldStep::Lost => panic!("nobody else folds here"),
        }
    }
    let rows = store
        .member_facts(ws, &FactsQuery::default())
        .await
        .expect("facts");
    assert_eq!(rows.len(), 4, "the old members and the two new ones");
    let counts = store
        .funnel_counts(ws)
        .await
        .expect("counts")
        .expect("seeded");
    assert_eq!(
        counts,
        FunnelCounts::of(rows.iter().map(|row| &row.facts), zone)
    );
    let config = FunnelConfig::default();
    let funnel = config.funnel_of_counts(&counts, None);
    assert_eq!(funnel, config.funnel(rows.iter().map(|row| &row.facts)));
    assert_eq!((funnel.acquired, funnel.activated), (4, 3));
}

pub async fn platform_counts_are_kept_per_day_and_replaced(store: &dyn Store) {
    let ws = workspace(store, "pc").await;
    let other = workspace(store, "pc2").await;
    let day = |n: u32| NaiveDate::from_ymd_opt(2026, 11, n).expect("day");
    let row = |on: u32, platform_joins: i64, qunzhu_joins: i64| PlatformCountDay {
        platform: Platform::WeCom,
        day: day(on),
        platform_joins,
        qunzhu_joins,
        checked_at: at(i64::from(on)),
    };
    store
        .record_platform_counts(ws, &[row(1, 5, 5), row(2, 3, 1), row(3, 0, 2)])
        .await
        .expect("record");
    // A later comparison of the same day replaces it (a late callback was folded meanwhile).
    store
        .record_platform_counts(ws, &[row(2, 3, 3)])
        .await
        .expect("again");
    let kept = store
        .platform_counts(ws, day(2), day(3))
        .await
        .expect("read");
    assert_eq!(kept, vec![row(2, 3, 3), row(3, 0, 2)]);
    assert_eq!(kept[1].difference(), -2);
    assert!(store
        .platform_counts(other, day(1), day(30))
        .await
        .expect("other")
        .is_empty());
}
