//! Moderation rules, ladder, decay, dry-run and exemptions, driven by tables.

use qunzhu_domain::{ActionKind, EventKind, MemberRole};

use crate::testkit::*;

const RULES: &str = r#"
[keywords.ads]
words = ["AAA", "加微信", "代开发票"]

[[rules]]
name = "ads"
kind = "keywords"
lists = ["ads"]
actions = "redact+warn"
reason = "禁止广告"
warning = "{name} {reason} #{count}"

[[rules]]
name = "links"
kind = "links"
allow = ["brand.cn"]
actions = "redact"

[[rules]]
name = "flood"
kind = "flood"
count = 3
within = "10s"
actions = "mute 10m"

[[rules]]
name = "repeat"
kind = "repeat"
count = 2
within = "60s"
actions = "warn"
warning = "{name} 重复 {count}"

[[rules]]
name = "mentions"
kind = "mentions"
count = 3
actions = "redact"

[[rules]]
name = "aaa"
kind = "name_pattern"
pattern = '^aaa'
actions = "kick"

[[rules]]
name = "newcomer"
kind = "newcomer_link"
within = "30m"
actions = "kick"

[profiles.p]
default = true
rules = ["ads", "links", "flood", "repeat", "mentions", "aaa", "newcomer"]
"#;

/// (seconds, text, links, mentions) of one message.
type Msg = (i64, &'static str, &'static [&'static str], usize);

#[test]
fn message_rules_table() {
    let warn = "send_message @上海-小王 禁止广告 #1";
    let cases: &[(&str, &[Msg], &[&str])] = &[
        (
            "full-width",
            &[(0, "ＡＡＡ 招代理", &[], 0)],
            &["redact m-e0", warn],
        ),
        (
            "spaced",
            &[(0, "A A A 招代理", &[], 0)],
            &["redact m-e0", warn],
        ),
        ("lower-case", &[(0, "aaa", &[], 0)], &["redact m-e0", warn]),
        (
            "chinese spaced",
            &[(0, "加 微 信 领红包", &[], 0)],
            &["redact m-e0", warn],
        ),
        (
            "zero-width split",
            &[(0, "代开\u{200B}发票", &[], 0)],
            &["redact m-e0", warn],
        ),
        (
            "clean chinese",
            &[(0, "今天读完了《活着》，推荐！", &[], 0)],
            &[],
        ),
        (
            "link in text",
            &[(0, "看 http://spam.cn/x 领券", &[], 0)],
            &["redact m-e0"],
        ),
        (
            "bare www link",
            &[(0, "看www.spam.cn", &[], 0)],
            &["redact m-e0"],
        ),
        (
            "allowed subdomain",
            &[(0, "https://shop.brand.cn/a", &[], 0)],
            &[],
        ),
        (
            "link from connector",
            &[(0, "看这个", &["https://evil.com/x"], 0)],
            &["redact m-e0"],
        ),
        (
            "flood",
            &[(0, "一", &[], 0), (1, "二", &[], 0), (2, "三", &[], 0)],
            &["mute @u:x 10m"],
        ),
        (
            "flood spread out",
            &[(0, "一", &[], 0), (6, "二", &[], 0), (12, "三", &[], 0)],
            &[],
        ),
        (
            "repeat",
            &[(0, "早上好", &[], 0), (30, "早 上 好", &[], 0)],
            &["send_message @上海-小王 重复 1"],
        ),
        (
            "repeat after window",
            &[(0, "早上好", &[], 0), (61, "早上好", &[], 0)],
            &[],
        ),
        ("mass mention", &[(0, "看这里", &[], 3)], &["redact m-e0"]),
        ("few mentions", &[(0, "看这里", &[], 2)], &[]),
    ];
    for (name, messages, expected) in cases {
        let mut guardian = guardian(RULES);
        let mut last = Vec::new();
        for (index, (seconds, text, links, mentions)) in messages.iter().enumerate() {
            let links = links.iter().map(|link| link.to_string()).collect();
            let mentions = (0..*mentions).map(|n| format!("@m{n}:x")).collect();
            let event = message_with(
                &format!("e{index}"),
                t(*seconds),
                "@u:x",
                text,
                links,
                mentions,
            );
            last = guardian.on_event(&event, &group(), &member(), t(*seconds));
        }
        let expected: Vec<String> = expected
            .iter()
            .map(|line| line.replace("m-e0", &format!("m-e{}", messages.len() - 1)))
            .collect();
        assert_eq!(summary(&last), expected, "case {name}");
    }
}

#[test]
fn name_rules_at_join_and_rename() {
    let cases = [
        ("ＡＡＡ推广", true),
        ("A A A 代理", true),
        ("aaa", true),
        ("上海-小A", false),
    ];
    for (name, kicked) in cases {
        let mut guardian = guardian(RULES);
        let who = facts(MemberRole::Member, name, None);
        let decisions = guardian.on_event(&join("j1", t(0), "@n:x", name), &group(), &who, t(0));
        let expected: Vec<String> = if kicked {
            vec!["kick @n:x".to_string()]
        } else {
            vec![]
        };
        assert_eq!(summary(&decisions), expected, "join as {name}");
        let rename = event(
            "r1",
            t(5),
            EventKind::DisplayNameChanged {
                member: "@n:x".into(),
                old: None,
                new: name.into(),
            },
        );
        let decisions = guardian.on_event(&rename, &group(), &who, t(5));
        assert_eq!(summary(&decisions), expected, "rename to {name}");
    }
}

#[test]
fn newcomer_link_only_in_first_message_soon_after_joining() {
    let brand_link = "https://shop.brand.cn/a";
    // (first message offset, its text, second message text, expected decisions on each)
    type Case = (
        i64,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (60, brand_link, "你好", &["kick @n:x"], &[]),
        (40 * 60, brand_link, "你好", &[], &[]),
        (60, "大家好，我是上海的小王", brand_link, &[], &[]),
    ];
    for (offset, first, second, on_first, on_second) in cases {
        let mut guardian = guardian(RULES);
        let who = facts(MemberRole::Member, "上海-小王", Some(t(0)));
        guardian.on_event(&join("j1", t(0), "@n:x", "上海-小王"), &group(), &who, t(0));
        let decisions = guardian.on_event(
            &message("e1", t(*offset), "@n:x", first),
            &group(),
            &who,
            t(*offset),
        );
        assert_eq!(
            summary(&decisions),
            *on_first,
            "first message {first:?} at {offset}s"
        );
        let decisions = guardian.on_event(
            &message("e2", t(offset + 60), "@n:x", second),
            &group(),
            &who,
            t(offset + 60),
        );
        assert_eq!(summary(&decisions), *on_second, "second message {second:?}");
    }
}

const LADDER: &str = r#"
[settings]
warn_decay = "1d"

[[rules]]
name = "ads"
kind = "keywords"
words = ["加微信"]
ladder = ["redact+warn", "mute 1h", "kick"]
warning = "{name} 第{count}次"

[[rules]]
name = "preview"
kind = "keywords"
words = ["砍一刀"]
ladder = ["warn", "ban"]
warning = "{name} 预览{count}"
dry_run = true

[[rules]]
name = "strict"
kind = "keywords"
words = ["滚"]
actions = "warn"
warning = "{name} 文明{count}"
exempt = ["committee"]

[profiles.p]
default = true
rules = ["ads", "preview", "strict"]
"#;

#[test]
fn ladder_climbs_by_live_warnings_and_decays() {
    let mut guardian = guardian(LADDER);
    let day = 86_400;
    // (seconds, expected decisions)
    let steps: &[(i64, &[&str])] = &[
        (0, &["redact m-a0", "send_message @上海-小王 第1次"]),
        (60, &["mute @u:x 60m"]),
        (120, &["kick @u:x"]),
        (180, &["kick @u:x"]),
        // A day after the first three, only the one at 180 s is still live.
        (day + 150, &["mute @u:x 60m"]),
        // Two days on, all have decayed: back to the first rung.
        (3 * day, &["redact m-a5", "send_message @上海-小王 第1次"]),
    ];
    for (index, (seconds, expected)) in steps.iter().enumerate() {
        let key = format!("a{index}");
        let decisions = guardian.on_event(
            &message(&key, t(*seconds), "@u:x", "加微信"),
            &group(),
            &member(),
            t(*seconds),
        );
        assert_eq!(
            summary(&decisions),
            *expected,
            "offence {index} at {seconds}s"
        );
    }
}

#[test]
fn dry_run_is_flagged_and_never_escalates_live_rules() {
    let mut guardian = guardian(LADDER);
    let first = guardian.on_event(
        &message("d1", t(0), "@u:x", "帮我砍一刀"),
        &group(),
        &member(),
        t(0),
    );
    assert_eq!(summary(&first), ["send_message @上海-小王 预览1 (dry)"]);
    assert!(first.iter().all(|decision| decision
        .action
        .as_ref()
        .is_some_and(|action| action.dry_run)));
    let second = guardian.on_event(
        &message("d2", t(10), "@u:x", "帮我砍一刀"),
        &group(),
        &member(),
        t(10),
    );
    assert_eq!(summary(&second), ["ban @u:x (dry)"]);
    // The live ladder has not counted the previews.
    let live = guardian.on_event(
        &message("d3", t(20), "@u:x", "加微信"),
        &group(),
        &member(),
        t(20),
    );
    assert_eq!(
        summary(&live),
        ["redact m-d3", "send_message @上海-小王 第1次"]
    );
}

#[test]
fn exemptions_by_role_default_and_override() {
    // (role, text, punished)
    let cases = [
        (MemberRole::Admin, "加微信", false),
        (MemberRole::Owner, "加微信", false),
        (MemberRole::Helper, "加微信", false),
        (MemberRole::Committee, "加微信", true),
        (MemberRole::Member, "加微信", true),
        (MemberRole::Admin, "滚", true),
        (MemberRole::Committee, "滚", false),
    ];
    for (role, text, punished) in cases {
        let mut guardian = guardian(LADDER);
        let who = facts(role, "上海-小王", Some(t(-86_400)));
        let decisions = guardian.on_event(&message("x1", t(0), "@u:x", text), &group(), &who, t(0));
        assert_eq!(!decisions.is_empty(), punished, "{role} says {text}");
    }
}

#[test]
fn bots_are_never_moderated() {
    let mut guardian = guardian(LADDER);
    let mut event = message("b1", t(0), "@bot:x", "加微信");
    if let EventKind::MessagePosted { from_bot, .. } = &mut event.kind {
        *from_bot = true;
    }
    assert!(guardian
        .on_event(&event, &group(), &member(), t(0))
        .is_empty());
}

#[test]
fn decisions_carry_keyed_actions_and_audit_evidence() {
    let mut guardian = guardian(RULES);
    let decisions = guardian.on_event(
        &message("$e1", t(0), "@u:x", "ＡＡＡ 招代理，私聊"),
        &group(),
        &member(),
        t(5),
    );
    let redact = &decisions[0];
    let action = redact.action.as_ref().unwrap();
    assert_eq!(action.key, "mod:ads:$e1:redact");
    assert_eq!(action.origin, "rule:ads");
    assert_eq!(action.cause.as_deref(), Some("$e1"));
    assert_eq!(action.chat, CHAT);
    assert_eq!((action.created_at, action.not_before), (t(5), t(5)));
    assert_eq!(
        action.kind,
        ActionKind::Redact {
            message_id: "m-$e1".into(),
            reason: "禁止广告（规则：ads）".into()
        }
    );
    let audit = &redact.audit;
    assert_eq!(audit.rule, "ads");
    assert_eq!(audit.actor, "bot");
    assert_eq!(audit.summary, "redact（第 1 次）");
    assert_eq!(audit.member.as_deref(), Some("@u:x"));
    assert_eq!(audit.display_name.as_deref(), Some("上海-小王"));
    assert_eq!(audit.message_id.as_deref(), Some("m-$e1"));
    assert_eq!(audit.excerpt.as_deref(), Some("ＡＡＡ 招代理，私聊"));
    assert_eq!(audit.matched.as_deref(), Some("aaa"));
    assert_eq!(
        decisions[1].action.as_ref().unwrap().key,
        "mod:ads:$e1:warn"
    );
    // Deciding the same event again (a replay) yields the same keys.
    let mut replay = crate::testkit::guardian(RULES);
    let again = replay.on_event(
        &message("$e1", t(0), "@u:x", "ＡＡＡ 招代理，私聊"),
        &group(),
        &member(),
        t(99),
    );
    let keys = |decisions: &[crate::Decision]| -> Vec<String> {
        decisions
            .iter()
            .filter_map(|decision| decision.action.as_ref().map(|action| action.key.clone()))
            .collect()
    };
    assert_eq!(keys(&again), keys(&decisions));
}

/// Issue #11.1: instants at the ends of chrono's range (a platform's timestamp, a fake clock)
/// never make the guardian's date arithmetic panic; the longest accepted durations run.
#[test]
fn extreme_instants_never_panic() {
    use chrono::{DateTime, Duration, Utc};
    let longest = RULES
        .replace("within = \"10s\"", "within = \"365d\"")
        .replace("actions = \"mute 10m\"", "actions = \"mute 365d\"")
        + "[settings]\nwarn_decay = \"365d\"\n";
    let extremes = [
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MAX_UTC - Duration::seconds(5),
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MIN_UTC + Duration::seconds(5),
    ];
    for at in extremes {
        let mut guardian = guardian(&longest);
        let mut decided = 0;
        for index in 0..4 {
            let key = format!("m-{index}");
            let event = message(&key, at, "@u:x", "AAA 加微信 一样的话");
            decided += guardian.on_event(&event, &group(), &member(), at).len();
        }
        guardian.tick(at);
        guardian.tick(DateTime::<Utc>::MAX_UTC);
        assert!(decided > 0, "the rules still decide at {at}");
    }
}

#[test]
fn a_flood_redacts_its_whole_burst_once() {
    const BURST: &str = r#"
[[rules]]
name = "flood"
kind = "flood"
count = 3
within = "10s"
actions = "redact"

[[rules]]
name = "repeat"
kind = "repeat"
count = 2
within = "60s"
actions = "redact"

[profiles.p]
default = true
rules = ["repeat", "flood"]
"#;
    // (seconds, text) of each message, and what the last one decided.
    type Case = (
        &'static str,
        &'static [(i64, &'static str)],
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (
            "burst of three",
            &[(0, "一"), (1, "二"), (2, "三")],
            &["redact m-e0", "redact m-e1", "redact m-e2"],
        ),
        (
            "the next burst counts afresh and redacts only itself",
            &[
                (0, "一"),
                (1, "二"),
                (2, "三"),
                (3, "四"),
                (4, "五"),
                (5, "六"),
            ],
            &["redact m-e3", "redact m-e4", "redact m-e5"],
        ),
        (
            "an older message outside the window stays",
            &[(0, "一"), (20, "二"), (21, "三"), (22, "四")],
            &["redact m-e1", "redact m-e2", "redact m-e3"],
        ),
        (
            "repeat redacts the copies, not the other messages",
            &[(0, "早上好"), (5, "别的"), (30, "早 上 好")],
            &["redact m-e0", "redact m-e2"],
        ),
    ];
    for (name, messages, expected) in cases {
        let mut guardian = guardian(BURST);
        let mut last = Vec::new();
        for (index, (seconds, text)) in messages.iter().enumerate() {
            let event = message(&format!("e{index}"), t(*seconds), "@u:x", text);
            last = guardian.on_event(&event, &group(), &member(), t(*seconds));
        }
        assert_eq!(summary(&last), *expected, "case {name}");
    }
}

#[test]
fn an_english_rule_file_gets_english_words() {
    // (file, expected warning start, expected reason, a 群规 heading)
    let detected = r#"
[[rules]]
name = "ads"
kind = "keywords"
words = ["buy followers"]
actions = "redact+warn"

[group_rules.g]
forbidden = ["ads"]
allowed = ["questions"]

[profiles.p]
default = true
rules = ["ads"]
group_rules = "g"
"#;
    let forced = format!(
        "[settings]\nlanguage = \"en\"\n{}",
        detected.replace("forbidden = [\"ads\"]", "forbidden = [\"广告\"]")
    );
    for source in [detected.to_string(), forced] {
        let mut guardian = guardian(&source);
        let decisions = guardian.on_event(
            &message("e1", t(0), "@u:x", "buy followers here"),
            &group(),
            &member(),
            t(0),
        );
        let reasons: Vec<String> = decisions
            .iter()
            .filter_map(|decision| match &decision.action.as_ref()?.kind {
                ActionKind::Redact { reason, .. } => Some(reason.clone()),
                ActionKind::SendMessage { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            reasons,
            [
                "no ads or forbidden content (rule: ads)".to_string(),
                "@上海-小王, please note: no ads or forbidden content. This is reminder 1; repeated reminders lead to a mute or removal.".to_string(),
            ],
            "{source}"
        );
        let rules = guardian.on_event(
            &message("e2", t(5), "@v:x", "!rules"),
            &group(),
            &member(),
            t(5),
        );
        let Some(ActionKind::SendMessage { text, .. }) = rules
            .first()
            .and_then(|decision| decision.action.as_ref())
            .map(|action| &action.kind)
        else {
            panic!("the rules are sent: {rules:?}");
        };
        assert!(
            text.contains("🚫 Not allowed: ")
                && text.contains("✅ Welcome: questions")
                && !text.contains("不可以"),
            "{text}"
        );
    }
}
