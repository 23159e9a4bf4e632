//! Conformance: the SOP read models — a guarded watermark, streak rows, leaderboards with
//! names, first-seen times kept as the minimum, push renders and their reply counts.

use super::*;

fn row(chat: &str, member: &str, last_day: &str, streak: u32, total: u32) -> CheckinRow {
    CheckinRow {
        platform: Platform::Sandbox,
        chat: chat.into(),
        member: member.into(),
        last_day: NaiveDate::parse_from_str(last_day, "%Y-%m-%d").expect("day"),
        streak,
        total,
    }
}

fn seen(chat: &str, minute: i64) -> GroupSeen {
    GroupSeen {
        platform: Platform::Sandbox,
        chat: chat.into(),
        at: at(minute),
    }
}

pub async fn sop_read_models_follow_the_watermark(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    ingest(
        store,
        vec![event(ws, "j", "g", 0, joined("@a", "小王"))],
        None,
    )
    .await;
    assert_eq!(store.sop_watermark(ws).await.expect("watermark"), 0);
    let update = SopFactsUpdate {
        from_seq: 0,
        to_seq: 5,
        checkins: vec![
            row("g", "@a", "2026-11-24", 3, 9),
            row("g", "@b", "2026-11-20", 6, 6),
            row("g", "@c", "2026-11-23", 1, 12),
            row("h", "@a", "2026-11-24", 1, 1),
        ],
        morning_posts: vec![MorningPost {
            platform: Platform::Sandbox,
            chat: "g".into(),
            message_id: "$post".into(),
            at: at(10),
        }],
        groups_seen: vec![seen("g", 5), seen("h", 7)],
        replies: vec![],
    };
    assert!(store
        .apply_sop_facts(ws, update.clone())
        .await
        .expect("apply"));
    assert!(
        !store.apply_sop_facts(ws, update).await.expect("stale"),
        "a moved watermark refuses the update"
    );
    assert_eq!(store.sop_watermark(ws).await.expect("watermark"), 5);
    assert_eq!(store.sop_watermark(other).await.expect("watermark"), 0);

    let today = NaiveDate::from_ymd_opt(2026, 11, 24).expect("day");
    let board = store
        .leaderboard(ws, Platform::Sandbox, "g", today, 10)
        .await
        .expect("leaderboard");
    let lines: Vec<(&str, &str, u32, u32)> = board
        .iter()
        .map(|row| {
            (
                row.member.as_str(),
                row.display_name.as_str(),
                row.streak,
                row.total,
            )
        })
        .collect();
    // @b's streak ended days ago: it counts 0 and sorts by total after the live ones.
    assert_eq!(
        lines,
        [
            ("@a", "小王", 3, 9),
            ("@c", "@c", 1, 12),
            ("@b", "@b", 0, 6)
        ]
    );
    assert_eq!(
        store
            .leaderboard(ws, Platform::Sandbox, "g", today, 1)
            .await
            .expect("top")
            .len(),
        1
    );
    assert!(store
        .leaderboard(other, Platform::Sandbox, "g", today, 10)
        .await
        .expect("other")
        .is_empty());

    // A later update replaces a member's row.
    let next = SopFactsUpdate {
        from_seq: 5,
        to_seq: 9,
        checkins: vec![row("g", "@b", "2026-11-24", 1, 7)],
        groups_seen: vec![seen("g", -30), seen("h", 60)],
        ..SopFactsUpdate::default()
    };
    assert!(store.apply_sop_facts(ws, next).await.expect("apply"));
    let snapshot = store.checkin_snapshot(ws, at(0)).await.expect("snapshot");
    assert_eq!(snapshot.watermark, 9);
    assert_eq!(snapshot.members.len(), 4);
    assert!(snapshot
        .members
        .contains(&row("g", "@b", "2026-11-24", 1, 7)));
    assert_eq!(snapshot.morning_posts.len(), 1);
    assert!(store
        .checkin_snapshot(ws, at(11))
        .await
        .expect("snapshot")
        .morning_posts
        .is_empty());

    store
        .note_group_seen(ws, seen("k", 100))
        .await
        .expect("registered");
    store
        .note_group_seen(ws, seen("g", 100))
        .await
        .expect("later is ignored");
    let seen_at: Vec<(String, DateTime<Utc>)> = store
        .groups_seen(ws)
        .await
        .expect("seen")
        .into_iter()
        .map(|seen| (seen.chat, seen.at))
        .collect();
    assert_eq!(
        seen_at,
        [
            ("g".to_string(), at(-30)),
            ("h".to_string(), at(7)),
            ("k".to_string(), at(100))
        ]
    );
    assert!(store.groups_seen(other).await.expect("other").is_empty());
}

pub async fn push_renders_are_recorded_and_count_replies(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    store
        .enqueue(vec![send(ws, "p1", "g", 0), send(ws, "p2", "g", 30)])
        .await
        .expect("enqueue");
    let first = store.action_by_key(ws, "p1").await.expect("p1").id;
    let second = store.action_by_key(ws, "p2").await.expect("p2").id;
    let render = |action: ActionId, minute: i64, text: &str, reach: u64| PushRender {
        action,
        workspace: ws,
        chat: "g".into(),
        at: at(minute),
        text: text.into(),
        reach,
    };
    store
        .record_render(render(first, 0, "draft", 5))
        .await
        .expect("render");
    // A retry renders again: the latest text and reach win.
    store
        .record_render(render(first, 1, "群里973位伙伴", 973))
        .await
        .expect("render");
    store
        .record_render(render(second, 30, "second", 974))
        .await
        .expect("render");
    let update = SopFactsUpdate {
        from_seq: 0,
        to_seq: 3,
        replies: vec![(first, 2), (second, 1)],
        ..SopFactsUpdate::default()
    };
    assert!(store.apply_sop_facts(ws, update).await.expect("replies"));
    let rows = store
        .pushes(ws, &[first, second, ActionId(999_999)])
        .await
        .expect("pushes");
    assert_eq!(rows.len(), 2);
    let first_row = rows.iter().find(|row| row.action == first).expect("first");
    assert_eq!(
        (
            first_row.text.as_str(),
            first_row.reach,
            first_row.replies_within_hour,
            first_row.rendered_at
        ),
        ("群里973位伙伴", 973, 2, at(1))
    );
    let since: Vec<ActionId> = store
        .pushes_since(ws, at(10))
        .await
        .expect("since")
        .iter()
        .map(|row| row.action)
        .collect();
    assert_eq!(since, [second]);
    assert!(store
        .pushes(other, &[first])
        .await
        .expect("other")
        .is_empty());
    assert!(store
        .pushes_since(other, at(0))
        .await
        .expect("other")
        .is_empty());
}

pub async fn push_figures_read_a_window_in_one_query(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    let sop = |key: &str, minute: i64| NewAction {
        origin: qunzhu_domain::ActionOrigin::parse(&format!("sop:plan@v1/{key}")),
        ..send(ws, key, "g", minute)
    };
    let elsewhere = NewAction {
        origin: qunzhu_domain::ActionOrigin::parse("sop:plan@v1/x"),
        ..send(other, "b-push", "g", 0)
    };
    store
        .enqueue(vec![
            sop("early", 0),
            sop("late", 60),
            send(ws, "not-sop", "g", 0),
            elsewhere,
        ])
        .await
        .expect("enqueue");
    let early = store.action_by_key(ws, "early").await.expect("early").id;
    store
        .record_render(PushRender {
            action: early,
            workspace: ws,
            chat: "g".into(),
            at: at(0),
            text: "sent text".into(),
            reach: 12,
        })
        .await
        .expect("render");
    store
        .finish_action(early, ActionOutcome::Done { receipt: None }, at(1))
        .await
        .expect("done");
    store
        .put_links(vec![NewLink {
            code: "c1".into(),
            workspace: ws,
            url: "https://x.example".into(),
            push: "early".into(),
            chat: "g".into(),
            member: None,
            created_at: at(0),
        }])
        .await
        .expect("link");
    for visitor in ["v1", "v1", "v2"] {
        store
            .record_click(LinkClick {
                code: "c1".into(),
                at: at(2),
                visitor: visitor.into(),
            })
            .await
            .expect("click");
    }
    let all = PushWindow {
        from: None,
        until: None,
        limit: 10,
    };
    let figures = store.push_figures(ws, all).await.expect("figures");
    let keys: Vec<&str> = figures.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        ["late", "early"],
        "SOP pushes of this workspace, newest first"
    );
    let sent = &figures[1];
    assert_eq!(
        (
            sent.status,
            sent.rendered.as_deref(),
            sent.template.as_str(),
            sent.reach,
            sent.clicks,
            sent.unique_visitors,
            sent.done_at
        ),
        (
            ActionStatus::Done,
            Some("sent text"),
            "early",
            12,
            3,
            2,
            Some(at(1))
        )
    );
    assert_eq!(
        (figures[0].rendered.as_deref(), figures[0].clicks),
        (None, 0)
    );
    let window = PushWindow {
        from: Some(at(30)),
        until: Some(at(90)),
        limit: 10,
    };
    let late: Vec<String> = store
        .push_figures(ws, window)
        .await
        .expect("window")
        .into_iter()
        .map(|f| f.key)
        .collect();
    assert_eq!(late, ["late"]);
    let one = PushWindow { limit: 1, ..all };
    assert_eq!(store.push_figures(ws, one).await.expect("limit").len(), 1);
}
