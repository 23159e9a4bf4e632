//! FAQ cooldown and bot silence, the 群规 command, join review and lurker reports.

use chrono::Duration;
use qunzhu_domain::{EventKind, MemberRole, MemberTier, Platform, WorkspaceId};

use crate::testkit::*;
use crate::{lurker_decisions, lurker_report, review_join, JoinFacts, RosterEntry, Verdict};

const RULES: &str = r#"
[keywords.ads]
words = ["加微信"]

[group_rules.g]
title = "{group} 群规"
forbidden = ["发广告"]

[[faq.f]]
keywords = ["发票", "开票"]
reply = "{name} 发票在小程序里申请"
cooldown = "10m"

[[faq.f]]
pattern = '(怎么|如何)打卡'
reply = "发「打卡」即可"

[review.r]
deny_names = ['^a{3}']
deny_lists = ["ads"]
require_reason = true
approve_reasons = ['读书']
otherwise = "queue"

[lurker.l]
silent_days = 28
warning = "{name} 已 {days} 天未发言"

[profiles.p]
default = true
group_rules = "g"
faq = "f"
review = "r"
lurker = "l"
"#;

#[test]
fn faq_answers_with_cooldown_and_never_a_bot() {
    let mut guardian = guardian(RULES);
    // (key, seconds, text, from_bot, expected)
    let script: &[(&str, i64, &str, bool, &[&str])] = &[
        (
            "q1",
            0,
            "请问怎么开 发票？",
            false,
            &["send_message @上海-小王 发票在小程序里申请"],
        ),
        ("q2", 60, "发票呢", false, &[]),
        (
            "q3",
            120,
            "如何打卡",
            false,
            &["send_message 发「打卡」即可"],
        ),
        ("q4", 601, "发票！", true, &[]),
        (
            "q5",
            602,
            "ＦＡＰＩＡＯ 发票",
            false,
            &["send_message @上海-小王 发票在小程序里申请"],
        ),
        ("q6", 700, "今天天气不错", false, &[]),
    ];
    for (key, seconds, text, from_bot, expected) in script {
        let mut event = message(key, t(*seconds), "@u:x", text);
        if let EventKind::MessagePosted { from_bot: flag, .. } = &mut event.kind {
            *flag = *from_bot;
        }
        let decisions = guardian.on_event(&event, &group(), &member(), t(*seconds));
        assert_eq!(summary(&decisions), *expected, "message {key} {text:?}");
        if let Some(decision) = decisions.first() {
            let action = decision.action.as_ref().unwrap();
            assert!(
                action.key.starts_with(&format!("faq:{CHAT}:{key}:")),
                "{}",
                action.key
            );
        }
    }
}

#[test]
fn rules_command_resends_the_rules_with_cooldown() {
    let mut guardian = guardian(RULES);
    let decisions = guardian.on_event(
        &message("c1", t(0), "@u:x", "群规"),
        &group(),
        &member(),
        t(0),
    );
    assert_eq!(
        summary(&decisions),
        ["send_message 读书会 群规\n\n🚫 不可以：发广告"]
    );
    assert!(guardian
        .on_event(
            &message("c2", t(30), "@u:x", "!RULES"),
            &group(),
            &member(),
            t(30)
        )
        .is_empty());
    let decisions = guardian.on_event(
        &message("c3", t(61), "@u:x", "！ｒｕｌｅｓ"),
        &group(),
        &member(),
        t(61),
    );
    assert_eq!(decisions.len(), 1);
}

#[test]
fn join_review_table() {
    let ruleset = crate::check(RULES, "t.toml").unwrap();
    let policy = ruleset.profile("p").unwrap().review.clone().unwrap();
    let cases: &[(&str, Option<&str>, Verdict, &str)] = &[
        (
            "ＡＡＡ推广",
            Some("读书"),
            Verdict::Deny,
            "昵称命中拒绝规则「aaa」",
        ),
        (
            "上海-小王",
            Some("加 微 信 送书"),
            Verdict::Deny,
            "昵称或入群理由含违禁词「加微信」",
        ),
        (
            "上海-小王",
            None,
            Verdict::Queue,
            "未填写入群理由，转人工审核",
        ),
        (
            "上海-小王",
            Some("  "),
            Verdict::Queue,
            "未填写入群理由，转人工审核",
        ),
        (
            "上海-小王",
            Some("喜欢读书"),
            Verdict::Approve,
            "入群理由符合「读书」",
        ),
        (
            "上海-小王",
            Some("随便看看"),
            Verdict::Queue,
            "未命中任何规则，转人工审核",
        ),
    ];
    for (name, reason, verdict, why) in cases {
        let decision = review_join(
            &policy,
            &JoinFacts {
                display_name: name,
                reason: *reason,
            },
        );
        assert_eq!(
            (decision.verdict, decision.reason.as_str()),
            (*verdict, *why),
            "{name} / {reason:?}"
        );
    }
    // Through the guardian: a knock becomes an approve/deny action, or an audit-only queue.
    let mut guardian = guardian(RULES);
    let knock = |key: &str, name: &str, reason: Option<&str>| {
        event(
            key,
            t(0),
            EventKind::JoinRequested {
                member: "@k:x".into(),
                display_name: Some(name.into()),
                reason: reason.map(Into::into),
            },
        )
    };
    let who = crate::MemberFacts::newcomer();
    let approve = guardian.on_event(
        &knock("k1", "上海-小王", Some("读书")),
        &group(),
        &who,
        t(0),
    );
    assert_eq!(summary(&approve), ["decide_join_request @k:x true"]);
    assert_eq!(
        approve[0].action.as_ref().unwrap().key,
        format!("review:{CHAT}:k1")
    );
    let queued = guardian.on_event(&knock("k2", "上海-小王", None), &group(), &who, t(0));
    assert_eq!(summary(&queued), ["none queue：未填写入群理由，转人工审核"]);
}

#[test]
fn lurker_report_is_exact() {
    let ruleset = crate::check(RULES, "t.toml").unwrap();
    let policy = ruleset.profile("p").unwrap().lurker.clone().unwrap();
    let now = t(0);
    let days = |n: i64| now - Duration::days(n);
    let entry = |member: &str, role, tier, joined: i64, spoke: Option<i64>| RosterEntry {
        member: member.into(),
        display_name: format!("名{member}"),
        role,
        tier,
        joined_at: days(joined),
        last_spoke_at: spoke.map(days),
    };
    let roster = vec![
        entry(
            "@silent40",
            MemberRole::Member,
            MemberTier::Regular,
            100,
            Some(40),
        ),
        entry("@never", MemberRole::Member, MemberTier::Prospect, 60, None),
        entry(
            "@recent-joiner",
            MemberRole::Member,
            MemberTier::Regular,
            20,
            None,
        ),
        entry(
            "@active",
            MemberRole::Member,
            MemberTier::Regular,
            100,
            Some(3),
        ),
        entry(
            "@exactly28",
            MemberRole::Member,
            MemberTier::Regular,
            100,
            Some(28),
        ),
        entry("@vip", MemberRole::Member, MemberTier::Vip, 100, Some(90)),
        entry("@admin", MemberRole::Admin, MemberTier::Regular, 100, None),
        entry(
            "@committee",
            MemberRole::Committee,
            MemberTier::Regular,
            100,
            Some(29),
        ),
    ];
    let report = lurker_report(&policy, &roster, now);
    let found: Vec<(&str, i64, bool)> = report
        .iter()
        .map(|entry| {
            (
                entry.member.as_str(),
                entry.silent_days,
                entry.last_spoke_at.is_some(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("@never", 60, false),
            ("@silent40", 40, true),
            ("@committee", 29, true)
        ]
    );

    let decisions = lurker_decisions(
        &policy,
        WorkspaceId(1),
        Platform::Matrix,
        CHAT,
        "读书会",
        &report,
        now,
    );
    assert_eq!(
        summary(&decisions),
        [
            "send_message @名@never @名@silent40 @名@committee 已 28 天未发言 (dry)",
            "kick @never (dry)",
            "kick @silent40 (dry)",
            "kick @committee (dry)",
        ]
    );
    assert_eq!(
        decisions[1].action.as_ref().unwrap().key,
        format!("lurker:{CHAT}:2024-05-01:kick:@never")
    );
}

/// Issue #11.1: a huge `silent_days` (refused in rule files, but the policy is a plain struct)
/// reports nobody instead of panicking in date arithmetic and killing the sweep.
#[test]
fn a_huge_silent_days_reports_nobody() {
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let roster = [RosterEntry {
        member: "@u:x".into(),
        display_name: String::new(),
        role: qunzhu_domain::MemberRole::Member,
        tier: qunzhu_domain::MemberTier::Regular,
        joined_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        last_spoke_at: None,
    }];
    for silent_days in [i64::MAX, 106_751_991_167_301, 365] {
        let policy = crate::LurkerPolicy {
            silent_days,
            ..crate::LurkerPolicy::default()
        };
        let report = lurker_report(&policy, &roster, now);
        assert_eq!(
            report.len(),
            usize::from(silent_days == 365),
            "{silent_days}"
        );
    }
}
