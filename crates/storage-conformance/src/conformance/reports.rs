//! Conformance: the console's report queries (day rows, distinct speakers, member history and
//! pages, filtered actions).

use super::*;

fn span(day: NaiveDate) -> DaySpan {
    let zone = chrono_tz::Asia::Shanghai;
    let start = day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(zone).single())
        .map(|t| t.to_utc())
        .unwrap_or_default();
    DaySpan {
        day,
        start,
        end: start + Duration::days(1),
    }
}

fn left(member: &str, how: LeaveHow) -> EventKind {
    EventKind::MemberLeft {
        member: member.into(),
        how,
        by: None,
    }
}

fn checkin(ws: WorkspaceId, chat: &str, member: &str, minute: i64) -> NewAction {
    NewAction {
        kind: ActionKind::GrantReward {
            member: member.into(),
            points: 1,
            reason: "check-in".into(),
        },
        origin: qunzhu_domain::ActionOrigin::parse("checkin"),
        ..send(
            ws,
            &format!("checkin:{chat}:{member}:{minute}"),
            chat,
            minute,
        )
    }
}

pub async fn reports_count_days_speakers_members_and_actions(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    let bot_post = EventKind::MessagePosted {
        member: "@bot".into(),
        message_id: "m-bot".into(),
        text: "欢迎".into(),
        links: vec![],
        mentions: vec![],
        reply_to: None,
        message_kind: MessageKind::Text,
        from_bot: true,
    };
    // Day one (minute 0..) and day two (a day later) in g1; g2 has one speaker on day two.
    let day2 = 24 * 60;
    ingest(
        store,
        vec![
            event(ws, "1", "g1", 0, joined("@a", "小王")),
            event(ws, "2", "g1", 1, joined("@b", "小李")),
            event(ws, "3", "g1", 2, joined("@c", "小张")),
            event(ws, "4", "g1", 3, message("@a", "早")),
            event(ws, "5", "g1", 4, message("@b", "好")),
            event(ws, "6", "g1", 5, bot_post),
            event(ws, "7", "g1", 6, left("@b", LeaveHow::Left)),
            event(ws, "8", "g1", day2, message("@a", "又早")),
            event(ws, "9", "g1", day2 + 1, left("@c", LeaveHow::Kicked)),
            event(ws, "10", "g2", day2 + 2, joined("@a", "小王")),
            event(ws, "11", "g2", day2 + 3, message("@a", "g2")),
            event(other, "1", "g1", 0, joined("@z", "别家")),
            event(other, "2", "g1", 1, message("@z", "别家")),
        ],
        None,
    )
    .await;
    store
        .enqueue(vec![
            checkin(ws, "g1", "@a", 10),
            checkin(ws, "g1", "@a", day2 + 10),
            checkin(other, "g1", "@z", 10),
        ])
        .await
        .expect("check-ins");
    store
        .put_links(vec![NewLink {
            code: "k1".into(),
            workspace: ws,
            url: "https://example.com/".into(),
            push: "sop:p".into(),
            chat: "g1".into(),
            member: Some("@a".into()),
            created_at: at(0),
        }])
        .await
        .expect("link");
    for (minute, visitor) in [(20, "v1"), (21, "v2"), (day2 + 20, "v1")] {
        store
            .record_click(LinkClick {
                code: "k1".into(),
                at: at(minute),
                visitor: visitor.into(),
            })
            .await
            .expect("click");
    }
    let groups = store.groups(ws).await.expect("groups");
    let id = |chat: &str| {
        groups
            .iter()
            .find(|g| g.group.chat == chat)
            .map(|g| g.group.id)
            .expect("group")
    };
    let (g1, g2) = (id("g1"), id("g2"));
    // Silent members per group in one query agree with the member list's count, group by group.
    for (since, expected) in [(at(day2), vec![]), (at(day2 + 10), vec![(g1, 1), (g2, 1)])] {
        let per_group = store.silent_per_group(ws, since).await.expect("silent");
        let mut sorted = expected.clone();
        sorted.sort();
        assert_eq!(
            per_group.into_iter().collect::<Vec<_>>(),
            sorted,
            "since {since}"
        );
        for (group_id, count) in expected {
            let page = store
                .member_page(
                    ws,
                    &MemberPageQuery {
                        group_id: Some(group_id),
                        silent_since: Some(since),
                        limit: 1,
                        ..MemberPageQuery::default()
                    },
                )
                .await
                .expect("page");
            assert_eq!(page.total, count, "the member list counts the same");
        }
    }
    let first = local_day(at(0), chrono_tz::Asia::Shanghai);
    let second = first.succ_opt().expect("next day");

    let rows = store
        .group_day_report(ws, &[span(first), span(second)])
        .await
        .expect("report");
    let row = |group_id: GroupId, day: NaiveDate| {
        rows.iter()
            .find(|r| r.group_id == group_id && r.day == day)
            .copied()
            .unwrap_or(GroupDayReport::empty(group_id, day))
    };
    let d1 = row(g1, first);
    assert_eq!(
        (d1.joins, d1.left, d1.removed, d1.messages, d1.speakers),
        (3, 1, 0, 3, 3),
        "{d1:?}"
    );
    assert_eq!((d1.checkins, d1.link_clicks), (1, 2), "{d1:?}");
    let d2 = row(g1, second);
    assert_eq!(
        (d2.joins, d2.left, d2.removed, d2.checkins, d2.link_clicks),
        (0, 0, 1, 1, 1),
        "{d2:?}"
    );
    assert_eq!(row(g2, second).speakers, 1);
    assert!(
        store
            .group_day_report(ws, &[span(first)])
            .await
            .expect("one day")
            .iter()
            .all(|r| r.day == first),
        "only the days asked for"
    );

    let speakers = store
        .distinct_speakers(ws, first, second)
        .await
        .expect("speakers");
    // @a and @b, not the bot; @a counted once though it spoke on two days and in two groups.
    assert_eq!(speakers.total, 2);
    assert_eq!(speakers.per_group.get(&g1), Some(&2));
    assert_eq!(speakers.per_group.get(&g2), Some(&1));
    // Windows that end now, from the speaker days, agree with member_days: g1 had @a
    // and @b (and the bot, left out) since day one, only @a on day two.
    let since = store
        .speakers_since(ws, &[first, second])
        .await
        .expect("speakers since");
    assert_eq!(
        since,
        std::collections::BTreeMap::from([(g1, vec![2, 1]), (g2, vec![1, 1])]),
        "per group, one count per window"
    );
    for day in [first, second] {
        let kept = store
            .distinct_speakers(ws, day, second)
            .await
            .expect("speakers");
        let window = store
            .speakers_since(ws, &[day])
            .await
            .expect("speakers since");
        for (group, count) in kept.per_group {
            assert_eq!(
                window.get(&group),
                Some(&vec![count]),
                "group {group} from {day}"
            );
        }
    }

    let history = store
        .member_events(ws, Platform::Sandbox, &"@a".into(), 10)
        .await
        .expect("history");
    assert_eq!(
        history
            .iter()
            .map(|e| e.event.key.as_str())
            .collect::<Vec<_>>(),
        ["11", "10", "8", "4", "1"],
        "newest first, every group"
    );

    let page = |sort: MemberSort, include: bool| MemberPageQuery {
        sort,
        include_bots: include,
        include_gone: include,
        limit: 10,
        ..MemberPageQuery::default()
    };
    let visible = store
        .member_page(ws, &page(MemberSort::Messages, false))
        .await
        .expect("members");
    assert_eq!(visible.total, 1, "the bot and the two who left are hidden");
    let a = &visible.rows[0];
    assert_eq!(
        (
            a.summary.member.user.as_str(),
            a.summary.messages,
            a.present_in,
            a.checkins,
            a.clicks,
            a.bot
        ),
        ("@a", 3, 2, 2, 3, false)
    );
    let everyone = store
        .member_page(ws, &page(MemberSort::Messages, true))
        .await
        .expect("everyone");
    assert_eq!(everyone.total, 4);
    assert!(everyone
        .rows
        .iter()
        .any(|r| r.summary.member.user == "@bot" && r.bot));
    let second_page = store
        .member_page(
            ws,
            &MemberPageQuery {
                offset: 3,
                ..page(MemberSort::LastSpoke, true)
            },
        )
        .await
        .expect("page two");
    assert_eq!((second_page.total, second_page.rows.len()), (4, 1));

    let checkins = store
        .query_actions(
            ws,
            &ActionQuery {
                origins: vec!["checkin".into()],
                kinds: vec!["grant_reward".into()],
                since: Some(at(day2)),
                limit: 10,
                ..ActionQuery::default()
            },
        )
        .await
        .expect("actions");
    assert_eq!(
        checkins.len(),
        1,
        "time and kind narrow, other workspace unseen"
    );
    assert!(store
        .query_actions(
            ws,
            &ActionQuery {
                chat: Some("g2".into()),
                limit: 10,
                ..ActionQuery::default()
            },
        )
        .await
        .expect("by group")
        .is_empty());
    for (minute, actor, action) in [
        (0, "user:ops", "rule.save"),
        (1, "user:ops", "join_request.approve"),
        (day2, "cli", "sop.task_confirm"),
    ] {
        store
            .append_audit(NewAuditEntry {
                workspace: ws,
                at: at(minute),
                actor: actor.into(),
                action: action.into(),
                subject: "g1".into(),
                detail: serde_json::json!({}),
            })
            .await
            .expect("audit");
    }
    let audit = |query: AuditQuery| async move {
        store
            .audit_entries(ws, &AuditQuery { limit: 10, ..query })
            .await
            .expect("audit entries")
            .into_iter()
            .map(|e| e.action)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        audit(AuditQuery {
            actor: Some("user:ops".into()),
            ..AuditQuery::default()
        })
        .await,
        ["join_request.approve", "rule.save"]
    );
    assert_eq!(
        audit(AuditQuery {
            action: Some("sop.".into()),
            ..AuditQuery::default()
        })
        .await,
        ["sop.task_confirm"]
    );
    assert_eq!(
        audit(AuditQuery {
            since: Some(at(1)),
            until: Some(at(day2)),
            ..AuditQuery::default()
        })
        .await,
        ["join_request.approve"]
    );
    assert!(store
        .audit_entries(
            other,
            &AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            }
        )
        .await
        .expect("other")
        .is_empty());
}
