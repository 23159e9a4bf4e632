//! Materialization tests: keys, targets, anchors, delivery routing and re-planning, on fake time.

use super::*;
use crate::plan::{ActiveWindow, Content, Target, DEFAULT_GRACE, DEFAULT_TIMEZONE};
use chrono::NaiveTime;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn time(text: &str) -> NaiveTime {
    NaiveTime::parse_from_str(text, "%H:%M").unwrap()
}

fn step(id: &str, rule: TimeRule, target: Target, text: &str) -> Step {
    Step {
        id: id.into(),
        title: id.into(),
        rule,
        timezone: DEFAULT_TIMEZONE,
        window: ActiveWindow::default(),
        blackout: Default::default(),
        target,
        content: Content {
            text: text.into(),
            attachment: None,
            moments: None,
            activity: None,
        },
        grace: DEFAULT_GRACE,
    }
}

fn plan(steps: Vec<Step>) -> Plan {
    Plan {
        id: "p1".into(),
        name: "p1".into(),
        timezone: DEFAULT_TIMEZONE,
        links: Default::default(),
        anchors: Default::default(),
        steps,
    }
}

fn groups() -> Vec<GroupFacts> {
    let created = utc("2026-01-01T00:00:00Z");
    let mut vip = GroupFacts::new("!vip:x", "VIP群", GroupType::Member, created);
    vip.tags = vec!["vip".into()];
    vip.member_count = 88;
    let mut wecom = GroupFacts::new("wr-123", "企微1群", GroupType::CheckIn, created);
    wecom.send_autonomously = false;
    let mut archived = GroupFacts::new("!old:x", "旧群", GroupType::CheckIn, created);
    archived.active = false;
    vec![vip, wecom, archived]
}

#[test]
fn keys_are_stable_and_spell_the_scheduled_utc_instant() {
    let daily = plan(vec![step(
        "morning",
        TimeRule::Daily { at: time("08:00") },
        Target::all(),
        "早安 {group}，{member_count}人",
    )]);
    let first = materialize(
        &daily,
        &groups(),
        utc("2026-03-02T00:00:00+08:00"),
        utc("2026-03-04T00:00:00+08:00"),
    );
    let keys: Vec<&str> = first
        .iter()
        .map(|occurrence| occurrence.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "sop:p1:morning:!vip:x:2026-03-02T00:00:00Z",
            "sop:p1:morning:wr-123:2026-03-02T00:00:00Z",
            "sop:p1:morning:!vip:x:2026-03-03T00:00:00Z",
            "sop:p1:morning:wr-123:2026-03-03T00:00:00Z",
        ]
    );
    assert_eq!(
        first,
        materialize(
            &daily,
            &groups(),
            utc("2026-03-02T00:00:00+08:00"),
            utc("2026-03-04T00:00:00+08:00")
        )
    );
    assert_eq!(first[0].text, "早安 VIP群，88人");
    assert_eq!(first[0].local, date("2026-03-02").and_time(time("08:00")));
    assert_eq!(first[0].delivery, Delivery::Bot);
    assert_eq!(first[1].delivery, Delivery::HumanTask);
    assert_eq!(first[0].expires_at(), utc("2026-03-02T08:15:00+08:00"));
}

#[test]
fn targets_select_by_chat_type_and_tag_and_skip_inactive_groups() {
    let cases: Vec<(Target, Vec<&str>)> = vec![
        (Target::all(), vec!["!vip:x", "wr-123"]),
        (Target::chats(["wr-123", "!old:x"]), vec!["wr-123"]),
        (Target::group_types([GroupType::CheckIn]), vec!["wr-123"]),
        (Target::tags(["vip"]), vec!["!vip:x"]),
        (Target::tags(["nobody"]), vec![]),
    ];
    for (target, expected) in cases {
        let once = plan(vec![step(
            "s",
            TimeRule::Once {
                at: date("2026-03-02").and_time(time("10:00")),
            },
            target.clone(),
            "hi",
        )]);
        let chats: Vec<String> = materialize(
            &once,
            &groups(),
            utc("2026-03-01T00:00:00Z"),
            utc("2026-03-03T00:00:00Z"),
        )
        .into_iter()
        .map(|occurrence| occurrence.chat)
        .collect();
        assert_eq!(chats, expected, "{target:?}");
    }
}

#[test]
fn group_creation_anchor_and_nothing_before_creation() {
    let mut flash = GroupFacts::new(
        "!flash:x",
        "快闪群",
        GroupType::Flash,
        utc("2026-03-02T15:00:00+08:00"),
    );
    flash.tags = vec!["flash".into()];
    let steps = vec![
        step(
            "day0",
            TimeRule::Relative {
                anchor: Anchor::GroupCreated,
                offset_days: 0,
                at: time("10:00"),
            },
            Target::all(),
            "a",
        ),
        step(
            "day2",
            TimeRule::Relative {
                anchor: Anchor::GroupCreated,
                offset_days: 2,
                at: time("10:00"),
            },
            Target::all(),
            "b",
        ),
        step(
            "daily",
            TimeRule::Daily { at: time("12:00") },
            Target::all(),
            "c",
        ),
    ];
    let occurrences = materialize(
        &plan(steps),
        &[flash],
        utc("2026-03-01T00:00:00Z"),
        utc("2026-03-06T00:00:00Z"),
    );
    let seen: Vec<(String, String)> = occurrences
        .iter()
        .map(|occurrence| {
            (
                occurrence.step.clone(),
                occurrence.local.format("%m-%d %H:%M").to_string(),
            )
        })
        .collect();
    let expected = [
        ("daily", "03-03 12:00"),
        ("daily", "03-04 12:00"),
        ("day2", "03-04 10:00"),
        ("daily", "03-05 12:00"),
    ];
    let mut expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    expected.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        seen, expected,
        "day 0 at 10:00 is before the 15:00 creation and is dropped"
    );
}

#[test]
fn named_anchors_come_from_the_plan_and_from_each_group() {
    let mut course_plan = plan(vec![step(
        "eve",
        TimeRule::Relative {
            anchor: Anchor::Named("course".into()),
            offset_days: -1,
            at: time("20:00"),
        },
        Target::all(),
        "{weekday}晚课前提醒",
    )]);
    course_plan
        .anchors
        .insert("course".into(), vec![date("2026-03-10")]);
    let mut facts = groups();
    facts[1]
        .anchors
        .insert("course".into(), vec![date("2026-03-12")]);
    let occurrences = materialize(
        &course_plan,
        &facts,
        utc("2026-03-01T00:00:00Z"),
        utc("2026-04-01T00:00:00Z"),
    );
    let seen: Vec<(&str, String, &str)> = occurrences
        .iter()
        .map(|occurrence| {
            (
                occurrence.chat.as_str(),
                occurrence.local.format("%m-%d %H:%M").to_string(),
                occurrence.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("!vip:x", "03-09 20:00".to_string(), "周一晚课前提醒"),
            ("wr-123", "03-09 20:00".to_string(), "周一晚课前提醒"),
            ("wr-123", "03-11 20:00".to_string(), "周三晚课前提醒"),
        ]
    );
}

#[test]
fn replan_touches_only_the_future_and_diffs_by_key() {
    let old = plan(vec![
        step(
            "morning",
            TimeRule::Daily { at: time("08:00") },
            Target::all(),
            "早安",
        ),
        step(
            "evening",
            TimeRule::Daily { at: time("21:00") },
            Target::all(),
            "晚安",
        ),
    ]);
    let mut new = old.clone();
    new.steps[0].content.text = "早上好".into();
    new.steps[1].rule = TimeRule::Daily { at: time("21:30") };
    let now = utc("2026-03-02T12:00:00+08:00");
    let diff = replan(&old, &new, &groups(), now, Duration::hours(24));
    // Today's 08:00 is past and untouched; tomorrow's 08:00 changes text; 21:00 moves to 21:30.
    let update: Vec<&str> = diff
        .update
        .iter()
        .map(|occurrence| occurrence.key.as_str())
        .collect();
    assert_eq!(
        update,
        [
            "sop:p1:morning:!vip:x:2026-03-03T00:00:00Z",
            "sop:p1:morning:wr-123:2026-03-03T00:00:00Z"
        ]
    );
    assert_eq!(
        diff.cancel,
        [
            "sop:p1:evening:!vip:x:2026-03-02T13:00:00Z",
            "sop:p1:evening:wr-123:2026-03-02T13:00:00Z"
        ]
    );
    let add: Vec<&str> = diff
        .add
        .iter()
        .map(|occurrence| occurrence.key.as_str())
        .collect();
    assert_eq!(
        add,
        [
            "sop:p1:evening:!vip:x:2026-03-02T13:30:00Z",
            "sop:p1:evening:wr-123:2026-03-02T13:30:00Z"
        ]
    );
    assert_eq!(diff.unchanged, 0);
    assert_eq!(
        replan(&old, &old, &groups(), now, Duration::hours(24)).unchanged,
        4
    );
}

#[test]
fn occurrence_becomes_an_outbox_action() {
    let mut with_attachment = step(
        "menu",
        TimeRule::Daily { at: time("11:00") },
        Target::all(),
        "今日菜单",
    );
    with_attachment.content.attachment = Some("https://cdn.example.com/menu.jpg".into());
    let occurrences = materialize(
        &plan(vec![with_attachment]),
        &groups()[..1],
        utc("2026-03-02T00:00:00Z"),
        utc("2026-03-03T00:00:00Z"),
    );
    let now = utc("2026-03-02T00:00:00Z");
    let action = occurrences[0].to_new_action(
        WorkspaceId(7),
        Platform::Matrix,
        now,
        occurrences[0].scheduled,
    );
    assert_eq!(action.key, "sop:p1:menu:!vip:x:2026-03-02T03:00:00Z");
    assert_eq!(action.origin.to_string(), "sop:p1/menu");
    assert_eq!(action.expires_at, Some(utc("2026-03-02T03:15:00Z")));
    let ActionKind::SendMessage { text, .. } = action.kind else {
        panic!("a post is a message")
    };
    assert_eq!(text, "今日菜单\nhttps://cdn.example.com/menu.jpg");
    let mut linked = occurrences[0].clone();
    linked.template = "点这里https://shop.example.com/a下单".into();
    let (text, links) = linked.tracked_text("https://q.example.com");
    let code = crate::links::link_code(&linked.key, "https://shop.example.com/a");
    assert_eq!(text, format!("点这里https://q.example.com/l/{code}下单"));
    assert_eq!(links, [(code, "https://shop.example.com/a".to_string())]);
}

#[test]
fn facts_from_a_stored_group_follow_its_status_and_tags() {
    let group = qunzhu_domain::Group {
        id: qunzhu_domain::GroupId(1),
        workspace: WorkspaceId(1),
        platform: Platform::WeCom,
        chat: "wr-9".into(),
        name: "企微会员群".into(),
        group_type: GroupType::Member,
        status: qunzhu_domain::GroupStatus::Archived,
        capacity: 500,
        tags: vec!["vip".into()],
        positioning: Default::default(),
    };
    let facts = GroupFacts::from_group(&group, utc("2026-01-01T00:00:00Z"), false);
    assert!(!facts.active && !facts.send_autonomously);
    assert_eq!(
        (facts.chat.as_str(), facts.tags.as_slice()),
        ("wr-9", &["vip".to_string()][..])
    );
}

#[test]
fn a_moment_step_fires_once_per_time_not_once_per_group() {
    let mut noon = step(
        "noon",
        TimeRule::Daily { at: time("12:00") },
        Target::all(),
        "朋友圈 {date}",
    );
    noon.content.moments = Some(vec!["zhangsan".into()]);
    let occurrences = materialize(
        &plan(vec![noon]),
        &groups(),
        utc("2026-11-24T00:00:00Z"),
        utc("2026-11-26T00:00:00Z"),
    );
    assert_eq!(occurrences.len(), 2, "two days, one each");
    assert!(occurrences
        .iter()
        .all(|occurrence| occurrence.chat == MOMENTS_CHAT
            && occurrence.moments == Some(vec!["zhangsan".to_string()])));
}
