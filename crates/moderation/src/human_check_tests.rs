//! The human check: asked at join, passed by the right answer, removed by a wrong one or by
//! silence (the removal is scheduled at join), staff and the allow list skip it.

use qunzhu_domain::{ActionKind, EventKind, JoinVia, MemberRole};

use crate::human_check::expiry_cancelled_by;
use crate::testkit::*;

const RULES: &str = r#"
[settings]
language = "en"

[human_check.wave]
within = "2m"
allow = ["@*:brand.org"]
[[human_check.wave.questions]]
ask = "What is 3 + 4?"
answers = ["7", "seven"]

[profiles.main]
default = true
human_check = "wave"
"#;

fn join(key: &str, at: chrono::DateTime<chrono::Utc>, member: &str) -> qunzhu_domain::Event {
    event(
        key,
        at,
        EventKind::MemberJoined {
            member: member.to_string().into(),
            display_name: Some("Newbie".into()),
            via: JoinVia::Direct,
        },
    )
}

fn keys(decisions: &[crate::Decision]) -> Vec<String> {
    decisions
        .iter()
        .filter_map(|decision| decision.action.as_ref().map(|action| action.key.clone()))
        .collect()
}

#[test]
fn a_join_is_asked_and_its_removal_scheduled_at_the_deadline() {
    let mut guardian = guardian(RULES);
    let decisions = guardian.on_event(
        &join("j1", t(0), "@new:x.org"),
        &group(),
        &facts(MemberRole::Member, "Newbie", None),
        t(0),
    );
    let ask = decisions[0].action.as_ref().unwrap();
    let ActionKind::SendMessage { text, mentions, .. } = &ask.kind else {
        panic!("{:?}", ask.kind)
    };
    assert!(
        text.contains("What is 3 + 4?") && text.contains("2 minutes"),
        "{text}"
    );
    assert_eq!(mentions, &vec!["@new:x.org".to_string()]);
    let expire = decisions[1].action.as_ref().unwrap();
    assert!(matches!(&expire.kind, ActionKind::Kick { member, reason }
        if member == "@new:x.org" && reason == "did not answer the human check in time"));
    assert_eq!(expire.not_before, t(120));
    assert_eq!(
        expiry_cancelled_by(&expire.key).unwrap(),
        [
            format!("check:{CHAT}:j1:pass"),
            format!("check:{CHAT}:j1:wrong")
        ]
    );
}

#[test]
fn answers_decide_and_every_held_message_is_redacted() {
    // (answer, seconds after the join, keys decided besides the redaction)
    let cases: &[(&str, i64, &[&str])] = &[
        ("7", 30, &["pass"]),
        (" SEVEN ", 30, &["pass"]),
        ("Seven!", 30, &["wrong"]),
        ("6", 30, &["wrong"]),
        ("buy followers", 30, &["wrong"]),
        ("7", 121, &[]),
    ];
    for (answer, after, expected) in cases {
        let mut guardian = guardian(RULES);
        let who = facts(MemberRole::Member, "Newbie", Some(t(0)));
        guardian.on_event(&join("j1", t(0), "@new:x.org"), &group(), &who, t(0));
        let decisions = guardian.on_event(
            &message("m1", t(*after), "@new:x.org", answer),
            &group(),
            &who,
            t(*after),
        );
        let mut want = vec![format!("check:{CHAT}:j1:m-m1:held")];
        want.extend(expected.iter().map(|end| format!("check:{CHAT}:j1:{end}")));
        assert_eq!(keys(&decisions), want, "answer {answer:?} after {after}s");
        // Once decided, the next message is an ordinary one.
        let next = guardian.on_event(
            &message("m2", t(after + 1), "@new:x.org", "hello all"),
            &group(),
            &who,
            t(after + 1),
        );
        // A late answer leaves the check open for the scheduled removal.
        assert_eq!(
            keys(&next).iter().any(|key| key.ends_with(":held")),
            *after > 120,
            "{answer:?}"
        );
    }
}

#[test]
fn staff_and_the_allow_list_skip_the_check() {
    let cases: &[(&str, MemberRole, bool)] = &[
        ("@new:x.org", MemberRole::Member, true),
        ("@new:x.org", MemberRole::Admin, false),
        ("@new:x.org", MemberRole::Helper, false),
        ("@anna:brand.org", MemberRole::Member, false),
        ("@anna:brand.org.evil", MemberRole::Member, true),
    ];
    for (member, role, checked) in cases {
        let mut guardian = guardian(RULES);
        let decisions = guardian.on_event(
            &join("j1", t(0), member),
            &group(),
            &facts(*role, "Newbie", None),
            t(0),
        );
        assert_eq!(!decisions.is_empty(), *checked, "{member} {role:?}");
    }
}

#[test]
fn a_bad_check_is_refused_where_it_is_written() {
    let cases: &[(&str, &str)] = &[
        (
            "[human_check.a]\nwithin = \"2m\"\n[profiles.p]\ndefault = true\nhuman_check = \"a\"\n",
            "test.toml:1:1: human_check `a` needs at least one [[human_check.a.questions]]",
        ),
        (
            "[human_check.a]\nwithin = \"5s\"\n[[human_check.a.questions]]\nask = \"1+1?\"\nanswers = [\"2\"]\n",
            "test.toml:2:10: human_check `within` must be at least 10s",
        ),
        (
            "[human_check.a]\n[[human_check.a.questions]]\nask = \"1+1?\"\nanswers = []\n",
            "test.toml:3:7: a human check question needs at least one answer",
        ),
        (
            "[human_check.a]\n[[human_check.a.questions]]\nask = \"1+1?\"\nanswers = [\" \"]\n",
            "test.toml:4:12: a human check answer is empty",
        ),
        (
            "[human_check.a]\nprompt = \"{nope}\"\n[[human_check.a.questions]]\nask = \"1+1?\"\nanswers = [\"2\"]\n",
            "test.toml:2:",
        ),
        (
            "[profiles.p]\ndefault = true\nhuman_check = \"missing\"\n",
            "test.toml:3:15: undefined human_check `missing`",
        ),
    ];
    for (source, expected) in cases {
        let problems = crate::check(source, "test.toml").expect_err(source);
        assert!(
            problems[0].to_string().starts_with(expected),
            "{source}\n got {}",
            problems[0]
        );
    }
}
