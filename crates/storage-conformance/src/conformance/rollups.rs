//! Conformance: the analytics rollups — folded incrementally in batches of any size they equal
//! the domain reducer folded over the whole log, the watermark guards against a second
//! instance, and the reads filter by group, channel, campaign and day.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use qunzhu_domain::invite::invite_change;
use qunzhu_domain::rollup::{fold, DayRollup, MemberFacts, RollupInput, RollupKeys};
use qunzhu_domain::InviteChannel;

use super::*;
use qunzhu_storage::rollups::{fold_new_events, FoldStep};

const ZONE: Tz = chrono_tz::Asia::Shanghai;

fn is_checkin(event: &Event) -> bool {
    matches!(&event.kind, EventKind::MessagePosted { text, .. } if text.contains("打卡"))
}

/// One step of a random script: (what, member, group, minutes later).
pub type RollupScript = Vec<(u8, usize, usize, i64)>;

pub fn rollup_script() -> impl Strategy<Value = RollupScript> {
    proptest::collection::vec((0u8..7, 0usize..5, 0usize..2, 0i64..3000), 1..60)
}

fn script_events(ws: WorkspaceId, script: &RollupScript) -> Vec<Event> {
    let members = ["@a", "@b", "@c", "@d", "@e"];
    let mut minute = 0;
    script
        .iter()
        .enumerate()
        .map(|(n, (what, who, chat, later))| {
            minute += later;
            let member = members[*who].to_string();
            let by = members[(*who + 1) % members.len()].to_string();
            let kind = match what {
                0 => joined(&member, &member),
                1 => EventKind::MemberJoined {
                    member: member.into(),
                    display_name: None,
                    via: JoinVia::Invited { by },
                },
                2 => EventKind::MemberLeft {
                    member: member.into(),
                    how: if n % 2 == 0 {
                        LeaveHow::Left
                    } else {
                        LeaveHow::Kicked
                    },
                    by: None,
                },
                3 => message(&member, &format!("hello {n}")),
                4 => message(&member, &format!("打卡 {n}")),
                5 => EventKind::OrderPlaced {
                    order_id: format!("o{n}"),
                    member: member.into(),
                    amount_cents: if n % 3 == 0 { -500 } else { 1_200 },
                    currency: "CNY".into(),
                    items: vec![],
                    coupon: None,
                    link_token: None,
                    refund_of: None,
                },
                _ => EventKind::MemberPresent {
                    member: member.into(),
                    display_name: None,
                },
            };
            event(ws, &format!("r{n}"), ["g", "h"][*chat], minute, kind)
        })
        .collect()
}

fn specification(events: &[Event]) -> qunzhu_domain::rollup::RollupState {
    let changes: Vec<_> = events
        .iter()
        .map(|event| invite_change(event, &Default::default()))
        .collect();
    let inputs: Vec<_> = events
        .iter()
        .zip(&changes)
        .map(|(event, change)| RollupInput {
            event,
            attribution: change.as_ref(),
            checkin: is_checkin(event),
        })
        .collect();
    fold(&inputs, ZONE)
}

async fn fold_all(store: &dyn Store, ws: WorkspaceId, batch: usize) {
    loop {
        match fold_new_events(store, ws, ZONE, batch, &is_checkin)
            .await
            .expect("fold")
        {
            FoldStep::Folded(0) => return,
            FoldStep::Folded(_) => {}
            FoldStep::Lost => panic!("nobody else folds here"),
        }
    }
}

type Stored = (
    BTreeMap<(Platform, String, NaiveDate), DayRollup>,
    BTreeMap<(Platform, String, String), MemberFacts>,
);

async fn stored(store: &dyn Store, ws: WorkspaceId) -> Stored {
    let days = store
        .rollup_days(
            ws,
            &RollupDayQuery {
                group: None,
                from: NaiveDate::from_ymd_opt(2000, 1, 1).expect("day"),
                to: NaiveDate::from_ymd_opt(2100, 1, 1).expect("day"),
            },
        )
        .await
        .expect("days")
        .into_iter()
        .map(|row| ((row.platform, row.chat, row.day), row.counts))
        .collect();
    let members = store
        .member_facts(ws, &FactsQuery::default())
        .await
        .expect("facts")
        .into_iter()
        .map(|row| ((row.platform, row.chat, row.member), row.facts))
        .collect();
    (days, members)
}

/// The script ingested and folded in batches of `batch` gives the reducer's rows.
pub async fn rollups_match_the_reducer(store: &dyn Store, script: RollupScript, batch: usize) {
    let ws = workspace(store, "r").await;
    let events = script_events(ws, &script);
    ingest(store, events.clone(), None).await;
    fold_all(store, ws, batch).await;
    let spec = specification(&events);
    let acquired: BTreeMap<_, _> = spec
        .members
        .iter()
        .filter(|(_, facts)| facts.joined_at.is_some())
        .map(|(key, facts)| (key.clone(), facts.clone()))
        .collect();
    assert_eq!(stored(store, ws).await, (spec.days.clone(), acquired));
    super::funnel_counts_match_the_reducer(store, ws, &spec.members, ZONE).await;
    let keys = RollupKeys {
        groups: spec.groups.keys().cloned().collect(),
        member_days: spec.member_days.keys().cloned().collect(),
        ..RollupKeys::default()
    };
    let rows = store.rollup_rows(ws, &keys).await.expect("rows");
    assert_eq!(
        (rows.groups, rows.member_days),
        (spec.groups, spec.member_days)
    );
}

pub async fn rollups_fold_filter_and_guard_the_watermark(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    store
        .put_invite_code(
            ws,
            qunzhu_domain::InviteCode {
                code: "k1".into(),
                platform: Platform::Sandbox,
                member: "@a".into(),
                campaign: Some("spring".into()),
            },
        )
        .await
        .expect("code");
    let events = vec![
        event(ws, "1", "g", 0, joined("@a", "A")),
        event(
            ws,
            "2",
            "g",
            1,
            EventKind::MemberJoined {
                member: "@b".into(),
                display_name: None,
                via: JoinVia::Link { code: "k1".into() },
            },
        ),
        event(ws, "3", "g", 2, message("@b", "早上好 打卡")),
        event(ws, "4", "g", 3, message("@b", "again")),
        event(ws, "5", "g", 4, message("@a", "hi")),
        event(ws, "6", "h", 5, joined("@c", "C")),
    ];
    ingest(store, events, None).await;
    assert_eq!(store.rollup_watermark(ws).await.expect("watermark"), 0);
    // A second instance that read watermark 0 and lost the race writes nothing.
    fold_all(store, ws, 4).await;
    let watermark = store.rollup_watermark(ws).await.expect("watermark");
    assert!(watermark > 0);
    assert!(!store
        .apply_rollup(ws, &Default::default(), 0, watermark + 5)
        .await
        .expect("apply"));
    assert_eq!(store.rollup_watermark(ws).await.expect("same"), watermark);

    let today = local_day(at(0), ZONE);
    let g = store
        .rollup_days(
            ws,
            &RollupDayQuery {
                group: Some((Platform::Sandbox, "g".into())),
                from: today,
                to: today,
            },
        )
        .await
        .expect("days");
    assert_eq!(g.len(), 1);
    let day = g[0].counts;
    assert_eq!(
        (
            day.members_end,
            day.joins_direct,
            day.joins_link,
            day.invites,
            day.messages,
            day.speakers,
            day.checkins
        ),
        (2, 1, 1, 1, 3, 2, 1)
    );
    let spring = store
        .member_facts(
            ws,
            &FactsQuery {
                campaign: Some("spring".into()),
                ..FactsQuery::default()
            },
        )
        .await
        .expect("facts");
    assert_eq!(
        spring
            .iter()
            .map(|row| (row.member.as_str(), row.facts.channel))
            .collect::<Vec<_>>(),
        vec![("@b", Some(InviteChannel::Link))]
    );
    let inviter = store
        .member_facts(
            ws,
            &FactsQuery {
                group: Some((Platform::Sandbox, "g".into())),
                channel: Some(InviteChannel::Direct),
                ..FactsQuery::default()
            },
        )
        .await
        .expect("facts");
    assert_eq!(inviter.len(), 1);
    assert_eq!(inviter[0].facts.referrals_stayed, 1);
    let leaders = store
        .day_leaders(ws, (Platform::Sandbox, "g"), today, LeaderBy::Messages, 5)
        .await
        .expect("leaders");
    assert_eq!(
        leaders
            .iter()
            .map(|l| (l.member.as_str(), l.count))
            .collect::<Vec<_>>(),
        vec![("@b", 2), ("@a", 1)]
    );
    let other = workspace(store, "b").await;
    assert!(store
        .member_facts(other, &FactsQuery::default())
        .await
        .expect("facts")
        .is_empty());
}
