//! Conformance: member tiers are decided from the read models (spend, points, active days) and
//! written back to the member record only when the decision changes; the keeper follows the
//! log and the ledger after its marks and looks again when the window forgets a day; the KOL
//! and lurker views page the rollup member rows.

use qunzhu_domain::tier::TierRules;
use qunzhu_domain::{Account, MemberTier, NewEntry, Reason};

use super::*;
use qunzhu_storage::rollups::{fold_new_events, FoldStep};
use qunzhu_storage::tiers::{keep_tiers, TierStep};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
const DAY: i64 = 1440;

async fn settle(store: &dyn Store, ws: WorkspaceId, now: DateTime<Utc>) -> usize {
    while let FoldStep::Folded(n) = fold_new_events(store, ws, ZONE, 50, &|_| false)
        .await
        .expect("fold")
    {
        if n == 0 {
            break;
        }
    }
    let rules = TierRules::default();
    let mut decided = 0;
    loop {
        match keep_tiers(store, ws, ZONE, &rules, now, 3)
            .await
            .expect("keep")
        {
            TierStep::Decided(0) => return decided,
            TierStep::Decided(n) => decided += n,
            TierStep::Lost => panic!("nobody else keeps tiers here"),
        }
    }
}

async fn tier_of(store: &dyn Store, ws: WorkspaceId, member: &str) -> (MemberTier, MemberTier) {
    let record = store
        .member(ws, Platform::Sandbox, &member.into())
        .await
        .expect("member")
        .tier;
    let (_, rows) = store
        .member_tiers(
            ws,
            &TierQuery {
                limit: 100,
                ..TierQuery::default()
            },
        )
        .await
        .expect("tiers");
    let stored = rows
        .iter()
        .find(|row| row.member == member)
        .map(|row| row.tier)
        .expect("a stored tier");
    (record, stored)
}

pub async fn tiers_follow_behaviour_and_views_page_kols_and_lurkers(store: &dyn Store) {
    let ws = workspace(store, "t").await;
    let mut events = vec![
        event(ws, "j1", "g", 0, joined("@talker", "T")),
        event(ws, "j2", "g", 0, joined("@buyer", "B")),
        event(ws, "j3", "g", 0, joined("@saver", "S")),
        event(ws, "j4", "g", 0, joined("@quiet", "Q")),
        event(
            ws,
            "j5",
            "g",
            1,
            EventKind::MemberJoined {
                member: "@friend".into(),
                display_name: None,
                via: JoinVia::Invited {
                    by: "@talker".into(),
                },
            },
        ),
        event(
            ws,
            "o1",
            "g",
            2,
            EventKind::OrderPlaced {
                order_id: "o1".into(),
                member: "@buyer".into(),
                amount_cents: 150_000,
                currency: "CNY".into(),
                items: vec![],
                coupon: None,
                link_token: None,
                refund_of: None,
            },
        ),
    ];
    // Active on four local days: a regular by the default rules.
    for d in 0..4 {
        events.push(event(
            ws,
            &format!("m{d}"),
            "g",
            d * DAY + 60,
            message("@talker", &format!("hi {d}")),
        ));
    }
    ingest(store, events, None).await;
    store
        .post_entries(
            ws,
            vec![NewEntry {
                key: "grant-saver".into(),
                reason: Reason::Manual,
                cause: None,
                from: Account::Issuance,
                to: Account::member(Platform::Sandbox, "@saver"),
                amount: 6_000,
                at: at(3),
                memo: "gift".into(),
                reverses: None,
            }],
        )
        .await
        .expect("post");
    let now = at(4 * DAY);
    assert!(settle(store, ws, now).await > 0);
    let cases = [
        ("@buyer", MemberTier::Vip),
        ("@saver", MemberTier::Vip),
        ("@talker", MemberTier::Regular),
        ("@quiet", MemberTier::Prospect),
    ];
    for (member, tier) in cases {
        assert_eq!(tier_of(store, ws, member).await, (tier, tier), "{member}");
    }
    let (vips, rows) = store
        .member_tiers(
            ws,
            &TierQuery {
                tier: Some(MemberTier::Vip),
                offset: 0,
                limit: 1,
            },
        )
        .await
        .expect("vips");
    assert_eq!(
        (vips, rows[0].member.as_str(), rows[0].inputs.spend_cents),
        (2, "@buyer", 150_000),
        "most spend first, paged"
    );

    // An operator's hand edit stands while nothing changes.
    store
        .update_member(
            ws,
            Platform::Sandbox,
            &"@quiet".into(),
            MemberUpdate {
                tier: Some(MemberTier::Vip),
                ..MemberUpdate::default()
            },
        )
        .await
        .expect("edit");
    assert_eq!(settle(store, ws, now).await, 0, "nothing new, nobody due");
    assert_eq!(
        tier_of(store, ws, "@quiet").await,
        (MemberTier::Vip, MemberTier::Prospect)
    );
    // A lost race writes nothing.
    let marks = store.tier_marks(ws).await.expect("marks");
    assert!(!store
        .apply_tiers(ws, &[], &[], TierMarks::default(), marks)
        .await
        .expect("apply"));

    // 30 days after the first active day the window forgets it: three days are not weekly.
    let later = at(31 * DAY);
    assert!(settle(store, ws, later).await > 0);
    assert_eq!(
        tier_of(store, ws, "@talker").await,
        (MemberTier::Prospect, MemberTier::Prospect)
    );

    let (kols, rows) = store
        .kols(
            ws,
            &KolQuery {
                min_referrals: 1,
                limit: 10,
                ..KolQuery::default()
            },
        )
        .await
        .expect("kols");
    assert_eq!(
        (kols, rows[0].member.as_str(), rows[0].referrals_stayed),
        (1, "@talker", 1)
    );
    let lurk = |max_messages, offset| LurkerQuery {
        group: Some((Platform::Sandbox, "g".into())),
        max_messages,
        joined_before: now,
        offset,
        limit: 2,
    };
    let (lurkers, page) = store.lurkers(ws, &lurk(0, 0)).await.expect("lurkers");
    assert_eq!(lurkers, 4, "everyone but the talker: {page:?}");
    assert_eq!(page.len(), 2);
    let (_, rest) = store.lurkers(ws, &lurk(0, 2)).await.expect("page 2");
    assert!(rest.iter().all(|row| !page.contains(row)) && rest.len() == 2);
    let (with_talker, _) = store.lurkers(ws, &lurk(10, 0)).await.expect("rarely");
    assert_eq!(with_talker, 5);
    let other = workspace(store, "u").await;
    assert_eq!(
        store
            .member_tiers(
                other,
                &TierQuery {
                    limit: 10,
                    ..TierQuery::default()
                }
            )
            .await
            .expect("theirs")
            .0,
        0
    );
}
