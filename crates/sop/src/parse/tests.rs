//! Parser tests: a full plan in TOML and JSON, and the exact diagnostic for each kind of mistake.

use chrono::{NaiveDate, NaiveTime, Weekday};
use qunzhu_domain::GroupType;

use super::parse_plan;
use crate::plan::{Anchor, MonthDay, Target, TimeRule};

const GOOD: &str = r#"
id = "mama-club"
name = "宝妈社群日常"
timezone = "Asia/Shanghai"
active_from = 2026-03-01
blackout = ["2026-05-01"]
grace_minutes = 20

[target]
group_types = ["check_in"]
tags = ["vip"]

[links]
shop = "https://shop.example.com/spring"

[anchors]
course = ["2026-03-10", 2026-03-17]

[[steps]]
id = "morning"
title = "早报"
repeat = "daily"
at = "07:30"
text = "早安{group}！今天{date_zh}{weekday}，回复「打卡」签到。好物：{link:shop}"

[[steps]]
id = "course-eve"
repeat = "relative"
anchor = "course"
offset_days = -1
at = 20:00:00
text = "明晚上课，别忘了哦"
target = { chats = ["!abc:example.org"] }

[[steps]]
id = "month-end"
repeat = "monthly"
day = "last"
at = "18:00"
timezone = "Europe/Berlin"
text = "本月总结"

[[steps]]
id = "weekly-live"
repeat = "weekly"
weekdays = ["周二", "thu"]
at = "20:00"
text = "直播开始"
blackout = ["2026-03-05"]

[[steps]]
id = "welcome-day2"
repeat = "relative"
anchor = "group_created"
offset_days = 2
at = "10:00"
text = "入群第三天"

[[steps]]
id = "launch"
repeat = "once"
date = "2026-05-20"
at = "13:14"
text = "新品发布"
"#;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

#[test]
fn a_full_plan_parses_with_defaults_folded_into_steps() {
    let plan = parse_plan(GOOD, "mama.toml").unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(plan.id, "mama-club");
    assert_eq!(plan.name, "宝妈社群日常");
    assert_eq!(plan.links["shop"], "https://shop.example.com/spring");
    assert_eq!(
        plan.anchors["course"],
        [date("2026-03-10"), date("2026-03-17")]
    );
    let rules: Vec<&TimeRule> = plan.steps.iter().map(|step| &step.rule).collect();
    assert_eq!(
        rules,
        [
            &TimeRule::Daily { at: time(7, 30) },
            &TimeRule::Relative {
                anchor: Anchor::Named("course".into()),
                offset_days: -1,
                at: time(20, 0)
            },
            &TimeRule::Monthly {
                day: MonthDay::Last,
                months: vec![],
                at: time(18, 0)
            },
            &TimeRule::Weekly {
                weekdays: vec![Weekday::Tue, Weekday::Thu],
                at: time(20, 0)
            },
            &TimeRule::Relative {
                anchor: Anchor::GroupCreated,
                offset_days: 2,
                at: time(10, 0)
            },
            &TimeRule::Once {
                at: date("2026-05-20").and_time(time(13, 14))
            },
        ]
    );
    let morning = &plan.steps[0];
    assert_eq!(morning.title, "早报");
    assert_eq!(morning.grace, chrono::Duration::minutes(20));
    assert_eq!(morning.window.from, Some(date("2026-03-01")));
    assert_eq!(
        morning.target,
        Target {
            group_types: vec![GroupType::CheckIn],
            tags: vec!["vip".into()],
            ..Target::default()
        }
    );
    assert_eq!(plan.steps[1].target, Target::chats(["!abc:example.org"]));
    assert_eq!(plan.steps[2].timezone, chrono_tz::Europe::Berlin);
    assert_eq!(
        plan.steps[3].blackout.iter().copied().collect::<Vec<_>>(),
        [date("2026-03-05"), date("2026-05-01")]
    );
}

#[test]
fn json_plans_read_the_same_and_the_id_defaults_to_the_file_name() {
    let json = r#"{
        "target": {"all": true},
        "steps": [{"id": "m", "repeat": "weekly", "weekdays": ["mon"], "at": "08:00", "text": "周一早安"}]
    }"#;
    let plan = parse_plan(json, "plans/weekly-hello.json").unwrap();
    assert_eq!(plan.id, "weekly-hello");
    assert_eq!(plan.steps[0].target, Target::all());
    let errors = parse_plan(
        r#"{"steps": [{"id": "m", "repeat": "daily", "at": "25:00", "text": "x"}]}"#,
        "p.json",
    )
    .unwrap_err();
    let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [
            "p.json: steps[0].at: impossible time 25:00: hours run 00–23",
            "p.json: steps[0].target: no target: set `target` on the plan or on this step",
        ]
    );
}

/// A small valid plan with one line replaced, so each case shows one mistake at a known place.
fn with_step_line(line: &str) -> String {
    format!("[target]\nall = true\n\n[[steps]]\nid = \"s\"\nrepeat = \"daily\"\nat = \"08:00\"\ntext = \"早安\"\n{line}\n")
}

fn diagnostics(source: &str, file: &str) -> Vec<String> {
    match parse_plan(source, file) {
        Ok(plan) => panic!("expected diagnostics, parsed {plan:#?}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn each_mistake_gets_one_exact_diagnostic() {
    let cases: &[(&str, &str)] = &[
        (
            "[target]\nall = true\n[[steps]]\nid = \"s\"\nrepeat = \"daily\"\nat = \"25:00\"\ntext = \"x\"\n",
            "plan.toml:6:6: steps[0].at: impossible time 25:00: hours run 00–23",
        ),
        (
            "[target]\nall = true\n[[steps]]\nid = \"s\"\nrepeat = \"daily\"\nat = \"08:61\"\ntext = \"x\"\n",
            "plan.toml:6:6: steps[0].at: impossible time 08:61: minutes run 00–59",
        ),
        (
            "[target]\nall = true\n[[steps]]\nid = \"s\"\nrepeat = \"monthly\"\nday = 30\nmonths = [2]\nat = \"08:00\"\ntext = \"x\"\n",
            "plan.toml:6:7: steps[0].day: day 30 never occurs in February",
        ),
        (
            "[target]\nall = true\n[[steps]]\nid = \"s\"\nrepeat = \"monthly\"\nday = 32\nat = \"08:00\"\ntext = \"x\"\n",
            "plan.toml:6:7: steps[0].day: impossible monthly day 32: days run 1–31 (use \"last\" for a month's last day)",
        ),
        (
            "[target]\n\n[[steps]]\nid = \"s\"\nrepeat = \"daily\"\nat = \"08:00\"\ntext = \"x\"\n",
            "plan.toml:1:1: target: empty target: list chats, group_types or tags, or set all = true",
        ),
        (
            "[target]\nall = true\n[[steps]]\nid = \"s\"\nrepeat = \"daily\"\nat = \"08:00\"\ntext = \"早安{grup}\"\n",
            "plan.toml:7:11: steps[0].text: unknown variable {grup}; known: {group}, {date}, {date_zh}, {time}, {weekday}, {member_count}, {checkin_leaders}, {invite_leaders}, {points_leaders}, link:NAME",
        ),
        (
            "[target]\nall = true\n[[steps]]\nid = \"s\"\nrepeat = \"daily\"\nat = \"08:00\"\ntext = \"x\"\ncolour = \"red\"\n",
            "plan.toml:8:1: steps[0].colour: unknown key `colour`; expected one of: id, title, repeat, at, weekdays, day, months, date, anchor, offset_days, text, attachment, timezone, active_from, active_until, blackout, target, grace_minutes, kind, staff, options, questions, drop",
        ),
        (
            "titel = \"x\"\n[target]\nall = true\n[[steps]]\nid = \"s\"\nrepeat = \"daily\"\nat = \"08:00\"\ntext = \"x\"\n",
            "plan.toml:1:1: titel: unknown key `titel`; expected one of: id, name, timezone, active_from, active_until, blackout, target, links, anchors, grace_minutes, steps",
        ),
    ];
    for (source, expected) in cases {
        assert_eq!(
            diagnostics(source, "plan.toml"),
            [expected.to_string()],
            "{source}"
        );
    }
}

#[test]
fn field_mistakes_in_a_step_point_at_the_value() {
    let cases: &[(&str, &str)] = &[
        ("weekdays = [\"mon\"]", "p.toml:9:1: steps[0].weekdays: `weekdays` does not apply to repeat = \"daily\""),
        ("timezone = \"Asia/Shangai\"", "p.toml:9:12: steps[0].timezone: unknown time zone `Asia/Shangai`; use an IANA name like Asia/Shanghai"),
        ("active_from = \"2026-02-30\"", "p.toml:9:15: steps[0].active_from: impossible date 2026-02-30: February 2026 has 28 days"),
        ("blackout = [\"2026-05-01\", \"5/2\"]", "p.toml:9:27: steps[0].blackout[1]: expected a date like \"2026-03-01\", found \"5/2\""),
        ("grace_minutes = -5", "p.toml:9:17: steps[0].grace_minutes: -5 is out of range 0–1440"),
        ("target = { group_types = [\"vip\"] }", "p.toml:9:27: steps[0].target.group_types[0]: unknown GroupType `vip`, expected one of: traffic, flash, content, check_in, member"),
        ("target = { chats = [] }", "p.toml:9:10: steps[0].target: empty target: list chats, group_types or tags, or set all = true"),
        ("attachment = 3", "p.toml:9:14: steps[0].attachment: expected a string, found an integer"),
        ("active_until = 2025-12-31\nactive_from = 2026-01-01", "p.toml:9:16: steps[0].active_until: active_until 2025-12-31 is before active_from 2026-01-01: the step would never fire"),
    ];
    for (line, expected) in cases {
        assert_eq!(
            diagnostics(&with_step_line(line), "p.toml"),
            [expected.to_string()],
            "{line}"
        );
    }
}

#[test]
fn plan_level_mistakes_missing_fields_and_syntax_errors() {
    let missing =
        "[target]\nall = true\n\n[[steps]]\nid = \"s\"\nrepeat = \"weekly\"\ntext = \"x\"\n";
    assert_eq!(
        diagnostics(missing, "p.toml"),
        [
            "p.toml:4:1: steps[0].at: missing `at`",
            "p.toml:4:1: steps[0].weekdays: missing `weekdays`"
        ]
    );
    let duplicate = format!(
        "{}\n[[steps]]\nid = \"s\"\nrepeat = \"daily\"\nat = \"09:00\"\ntext = \"y\"\n",
        with_step_line("")
    );
    assert_eq!(
        diagnostics(&duplicate, "p.toml"),
        ["p.toml:12:6: steps[1].id: duplicate step id `s` (also steps[0])"]
    );
    let bad_link = format!(
        "[links]\nshop = \"shop.example.com\"\n{}",
        with_step_line("").replace("早安", "{link:shop}")
    );
    assert_eq!(
        diagnostics(&bad_link, "p.toml"),
        [
            "p.toml:2:8: links.shop: link `shop` must be an http(s) URL, found \"shop.example.com\"",
            "p.toml:10:9: steps[0].text: unknown link `shop` in {link:shop}; declared links: none",
        ]
    );
    assert_eq!(
        diagnostics("id = \"a:b\"\n", "p.toml")[0],
        "p.toml:1:6: id: invalid id `a:b`: use 1–64 letters, digits, `-` or `_`"
    );
    let syntax = diagnostics("[target\nall = true\n", "p.toml");
    assert_eq!(syntax.len(), 1);
    assert!(
        syntax[0].starts_with("p.toml:1:8: invalid TOML: "),
        "{}",
        syntax[0]
    );
    assert!(diagnostics("{\"steps\": [}", "p.json")[0].starts_with("p.json:1:12: invalid JSON: "));
    let unknown_repeat = with_step_line("").replace("\"daily\"", "\"hourly\"");
    assert_eq!(
        diagnostics(&unknown_repeat, "p.toml"),
        ["p.toml:6:10: steps[0].repeat: unknown repeat `hourly`; expected one of: daily, weekly, monthly, once, relative"]
    );
}

#[test]
fn the_shipped_example_plan_parses() {
    let source = include_str!("../../plans/example.toml");
    let plan = parse_plan(source, "example.toml").unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(plan.steps.len(), 5);
    assert!(plan.steps[0].content.text.starts_with("☀️ 早安，{group}"));
}

#[test]
fn a_moment_step_names_its_staff_and_staff_needs_the_kind() {
    let source = "id = \"m\"\n[target]\nall = true\n\n[[steps]]\nid = \"noon\"\nrepeat = \"daily\"\nat = \"12:00\"\ntext = \"新品\"\nkind = \"moment\"\nstaff = [\"zhangsan\"]\n";
    let plan = parse_plan(source, "m.toml").unwrap();
    assert_eq!(
        plan.steps[0].content.moments,
        Some(vec!["zhangsan".to_string()])
    );
    let plain = source.replace("kind = \"moment\"\n", "");
    assert_eq!(
        diagnostics(&plain, "m.toml"),
        vec!["m.toml:10:9: steps[0].staff: `staff` is for 朋友圈 steps: set kind = \"moment\""]
    );
    let wrong = source.replace("\"moment\"", "\"story\"");
    assert_eq!(
        diagnostics(&wrong, "m.toml"),
        vec![
            "m.toml:10:8: steps[0].kind: unknown step kind `story`; expected one of: post, moment, poll, dice, quiz, drop"
        ]
    );
}

#[test]
fn a_plan_without_a_zone_runs_in_the_workspace_zone_and_its_own_zone_wins() {
    let without = GOOD.replace("timezone = \"Asia/Shanghai\"\n", "");
    let plan = super::parse_plan_in(&without, "p.toml", chrono_tz::Europe::Berlin).unwrap();
    assert_eq!(plan.timezone, chrono_tz::Europe::Berlin);
    assert!(plan
        .steps
        .iter()
        .all(|step| step.timezone == chrono_tz::Europe::Berlin));
    let with = super::parse_plan_in(GOOD, "p.toml", chrono_tz::Europe::Berlin).unwrap();
    assert_eq!(with.timezone, chrono_tz::Asia::Shanghai);
}

const SURVEY: &str = "id = \"s\"\n[target]\nall = true\n\n[[steps]]\nid = \"city\"\nrepeat = \"once\"\ndate = 2026-03-02\nat = \"09:00\"\ntext = \"你在哪个城市？\"\nkind = \"poll\"\noptions = [{ text = \"上海\", tag = \"city:上海\" }, { text = \"北京\", tag = \"city:北京\" }, \"其他\"]\n";

#[test]
fn a_poll_step_declares_a_member_tag_per_option() {
    let plan = parse_plan(SURVEY, "s.toml").unwrap_or_else(|errors| panic!("{errors:#?}"));
    let tagged = |text: &str, tag: Option<&str>| crate::PollOption {
        text: text.into(),
        tag: tag.map(Into::into),
    };
    assert_eq!(
        plan.steps[0].content.activity,
        Some(crate::Activity::Poll {
            options: vec![
                tagged("上海", Some("city:上海")),
                tagged("北京", Some("city:北京")),
                tagged("其他", None),
            ]
        })
    );
}

#[test]
fn poll_and_quiz_mistakes_are_located() {
    let quiz = |questions: &str| {
        format!("id = \"q\"\n[target]\nall = true\n\n[[steps]]\nid = \"climb\"\nrepeat = \"daily\"\nat = \"20:00\"\ntext = \"闯关\"\nkind = \"quiz\"\nquestions = {questions}\n")
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            SURVEY.replace(", \"其他\"]", "]").replace("{ text = \"北京\", tag = \"city:北京\" }", "\"北京\"").replace("[{ text = \"上海\", tag = \"city:上海\" }, \"北京\"]", "[\"上海\"]"),
            vec!["s.toml:12:11: steps[0].options: a poll has 2–10 options, found 1"],
        ),
        (
            SURVEY.replace("tag = \"city:北京\"", "tag = \" city \""),
            vec!["s.toml:12:67: steps[0].options[1].tag: a tag has 1–64 characters, no commas and no surrounding spaces, found \" city \""],
        ),
        (
            SURVEY.replace("tag = \"city:北京\"", "tga = \"x\""),
            vec!["s.toml:12:61: steps[0].options[1].tga: unknown key `tga`; expected one of: text, tag"],
        ),
        (
            SURVEY.replace("kind = \"poll\"\n", ""),
            vec!["s.toml:11:11: steps[0].options: `options` is for poll steps: set kind = \"poll\""],
        ),
        (
            SURVEY.replace("options = [{ text = \"上海\", tag = \"city:上海\" }, { text = \"北京\", tag = \"city:北京\" }, \"其他\"]\n", ""),
            vec!["s.toml:5:1: steps[0].options: missing `options`"],
        ),
        (
            quiz("[{ question = \"群规第一条？\", options = [\"禁止广告\", \"随便聊\"], answer = \"每天打卡\" }]"),
            vec!["q.toml:11:73: steps[0].questions[0].answer: answer \"每天打卡\" is not one of the options: 禁止广告, 随便聊"],
        ),
        (quiz("[]"), vec!["q.toml:11:13: steps[0].questions: a quiz has 1–20 questions, found 0"]),
        (
            quiz("[{ question = \"?\", options = [\"a\", \"\"], answer = \"a\" }]"),
            vec!["q.toml:11:48: steps[0].questions[0].options[1]: an option has 1–100 characters, found 0"],
        ),
    ];
    for (source, expected) in cases {
        let file = if source.starts_with("id = \"q\"") {
            "q.toml"
        } else {
            "s.toml"
        };
        assert_eq!(diagnostics(&source, file), expected, "{source}");
    }
}

#[test]
fn a_quiz_step_carries_its_questions_and_a_dice_step_needs_nothing() {
    let source = "id = \"g\"\n[target]\nall = true\n\n[[steps]]\nid = \"climb\"\nrepeat = \"daily\"\nat = \"20:00\"\ntext = \"今晚闯关\"\nkind = \"quiz\"\nquestions = [{ question = \"群规第一条？\", options = [\"随便聊\", \"禁止广告\"], answer = \"禁止广告\", explanation = \"见群公告\" }]\n\n[[steps]]\nid = \"dice\"\nrepeat = \"daily\"\nat = \"21:00\"\ntext = \"掷骰子\"\nkind = \"dice\"\n";
    let plan = parse_plan(source, "g.toml").unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(
        plan.steps[0].content.activity,
        Some(crate::Activity::Game(qunzhu_domain::GamePlan::Quiz {
            questions: vec![qunzhu_domain::QuizQuestion {
                question: "群规第一条？".into(),
                options: vec!["随便聊".into(), "禁止广告".into()],
                correct: 1,
                explanation: Some("见群公告".into()),
            }]
        }))
    );
    assert_eq!(
        plan.steps[1].content.activity,
        Some(crate::Activity::Game(qunzhu_domain::GamePlan::Dice))
    );
}

#[test]
fn a_drop_step_carries_its_drop_and_its_mistakes_are_located() {
    let rain = |drop: &str| {
        format!("id = \"d\"\n[target]\nall = true\n\n[[steps]]\nid = \"rain\"\nrepeat = \"daily\"\nat = \"20:00\"\ntext = \"今晚 8 点红包雨\"\nkind = \"drop\"\n{drop}")
    };
    let plan = parse_plan(
        &rain("drop = { keyword = \"红包\", shares = 10, points = 10, minutes = 5 }\n"),
        "d.toml",
    )
    .unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(
        plan.steps[0].content.activity,
        Some(crate::Activity::Drop(qunzhu_domain::DropPlan {
            keyword: "红包".into(),
            shares: 10,
            points: 10,
            minutes: 5,
        }))
    );
    let cases: Vec<(String, Vec<&str>)> = vec![
        (rain(""), vec!["d.toml:5:1: steps[0].drop: missing `drop`"]),
        (
            rain("drop = { keyword = \" \", shares = 0, points = 10, minutes = 5 }\n"),
            vec![
                "d.toml:11:20: steps[0].drop.keyword: a drop's keyword has 1–50 characters, found 0",
                "d.toml:11:34: steps[0].drop.shares: 0 is out of range 1–10000",
            ],
        ),
        (
            rain("drop = { keyword = \"红包\", shares = 10, minutes = 5000, pts = 1 }\n"),
            vec![
                "d.toml:11:55: steps[0].drop.pts: unknown key `pts`; expected one of: keyword, shares, points, minutes",
                "d.toml:11:8: steps[0].drop.points: missing `points`",
                "d.toml:11:49: steps[0].drop.minutes: 5000 is out of range 1–1440",
            ],
        ),
        (
            rain("").replace("kind = \"drop\"\n", "drop = { keyword = \"红包\", shares = 1, points = 1, minutes = 1 }\n"),
            vec!["d.toml:10:8: steps[0].drop: `drop` is for drop steps: set kind = \"drop\""],
        ),
    ];
    for (source, expected) in cases {
        assert_eq!(diagnostics(&source, "d.toml"), expected, "{source}");
    }
}
