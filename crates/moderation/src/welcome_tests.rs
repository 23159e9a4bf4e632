//! Welcome batching, gifts, nudges, nickname reminders and escalation, with fake times.

use qunzhu_domain::{ActionKind, EventKind, LeaveHow, MemberRole};

use crate::testkit::*;

const RULES: &str = r#"
[group_rules.g]
title = "{group} 群规"
rename = ["城市-姓名"]
forbidden = ["发广告"]

[welcome.w]
template = "欢迎 {name} 加入{group}！\n{rules}\n{gift}"
window = "60s"
nudge_after = "24h"
nudge = "{name} 来做个自我介绍吧：{intro_template}"
intro_template = "【姓名】【城市】"
[welcome.w.gift]
points = 50
text = "新人礼 {points} 积分"

[nickname.n]
pattern = '^\p{Han}{2,}-\S+$'
description = "城市-姓名"
reminder = "{name} 请改名为「{format}」（第{count}次）"
remind_every = "12h"
max_reminders = 2
escalation = "mute 1d"

[profiles.p]
default = true
group_rules = "g"
welcome = "w"
nickname = "n"
"#;

fn newcomer(name: &str) -> crate::MemberFacts {
    facts(MemberRole::Member, name, None)
}

#[test]
fn a_wave_of_ten_joins_gets_one_welcome() {
    let mut guardian = guardian(RULES);
    for index in 0..10 {
        let name = format!("上海-成员{index}");
        let decisions = guardian.on_event(
            &join(
                &format!("j{index}"),
                t(index * 5),
                &format!("@m{index}:x"),
                &name,
            ),
            &group(),
            &newcomer(&name),
            t(index * 5),
        );
        assert!(
            decisions.is_empty(),
            "join {index} decided {:?}",
            summary(&decisions)
        );
    }
    assert!(guardian.tick(t(59)).is_empty(), "window still open");
    let decisions = guardian.tick(t(60));
    let welcome = &decisions[0];
    let action = welcome.action.as_ref().unwrap();
    assert_eq!(action.key, format!("welcome:{CHAT}:j0"));
    let ActionKind::SendMessage {
        text,
        html,
        mentions,
        ..
    } = &action.kind
    else {
        panic!("not a message")
    };
    let names: Vec<String> = (0..10).map(|index| format!("@上海-成员{index}")).collect();
    assert_eq!(
        text,
        &format!("欢迎 {} 加入读书会！\n读书会 群规\n\n📛 改名片：城市-姓名\n\n🚫 不可以：发广告\n新人礼 50 积分", names.join(" "))
    );
    assert!(html
        .as_deref()
        .unwrap()
        .contains("<p><strong>读书会 群规</strong></p>"));
    assert_eq!(mentions.len(), 10);
    // One gift each, keyed by member so a rejoin earns nothing more.
    let gifts: Vec<String> = decisions[1..]
        .iter()
        .map(|decision| decision.action.as_ref().unwrap().key.clone())
        .collect();
    assert_eq!(gifts.len(), 10);
    assert_eq!(gifts[3], format!("gift:{CHAT}:@m3:x"));
    assert_eq!(summary(&decisions[1..2]), ["grant_reward @m0:x 50"]);
    assert!(guardian.tick(t(120)).is_empty(), "flushed once");
}

#[test]
fn a_join_after_the_window_starts_a_new_wave_and_leavers_are_dropped() {
    let mut guardian = guardian(RULES);
    guardian.on_event(
        &join("j1", t(0), "@a:x", "上海-阿甲"),
        &group(),
        &newcomer("上海-阿甲"),
        t(0),
    );
    guardian.on_event(
        &join("j2", t(10), "@b:x", "北京-阿乙"),
        &group(),
        &newcomer("北京-阿乙"),
        t(10),
    );
    let left = event(
        "l1",
        t(20),
        EventKind::MemberLeft {
            member: "@b:x".into(),
            how: LeaveHow::Left,
            by: None,
        },
    );
    guardian.on_event(&left, &group(), &newcomer("北京-阿乙"), t(20));
    // The next join comes after the first wave's window: that wave is greeted first.
    let decisions = guardian.on_event(
        &join("j3", t(90), "@c:x", "广州-阿丙"),
        &group(),
        &newcomer("广州-阿丙"),
        t(90),
    );
    let texts = summary(&decisions);
    assert_eq!(texts.len(), 2);
    assert!(
        texts[0].starts_with("send_message 欢迎 @上海-阿甲 加入读书会"),
        "{texts:?}"
    );
    let decisions = guardian.tick(t(150));
    assert!(summary(&decisions)[0].starts_with("send_message 欢迎 @广州-阿丙 加入"));
}

#[test]
fn silent_newcomers_are_nudged_once() {
    let mut guardian = guardian(RULES);
    guardian.on_event(
        &join("j1", t(0), "@a:x", "上海-阿甲"),
        &group(),
        &newcomer("上海-阿甲"),
        t(0),
    );
    guardian.on_event(
        &join("j2", t(5), "@b:x", "北京-阿乙"),
        &group(),
        &newcomer("北京-阿乙"),
        t(5),
    );
    guardian.tick(t(60));
    let who = facts(MemberRole::Member, "北京-阿乙", Some(t(5)));
    guardian.on_event(
        &message("s1", t(3_600), "@b:x", "大家好"),
        &group(),
        &who,
        t(3_600),
    );
    let hours = 3_600;
    assert!(guardian.tick(t(24 * hours - 1)).is_empty(), "not due yet");
    let decisions = guardian.tick(t(24 * hours));
    assert_eq!(
        summary(&decisions),
        ["send_message @上海-阿甲 来做个自我介绍吧：【姓名】【城市】"]
    );
    assert_eq!(
        decisions[0].action.as_ref().unwrap().key,
        format!("nudge:{CHAT}:j1")
    );
    assert!(guardian.tick(t(48 * hours)).is_empty(), "nudged only once");
}

#[test]
fn nickname_reminders_repeat_then_escalate() {
    let mut guardian = guardian(RULES);
    let hours = 3_600;
    guardian.on_event(
        &join("j1", t(0), "@a:x", "小甲"),
        &group(),
        &newcomer("小甲"),
        t(0),
    );
    let decisions = guardian.tick(t(60));
    // Welcome, gift, and one reminder for the wave.
    assert_eq!(
        summary(&decisions)[2],
        "send_message @小甲 请改名为「城市-姓名」（第1次）"
    );
    assert_eq!(
        decisions[2].action.as_ref().unwrap().key,
        format!("nick:{CHAT}:j1:batch")
    );
    assert!(guardian.tick(t(60 + 12 * hours - 1)).is_empty());
    let decisions = guardian.tick(t(60 + 12 * hours));
    assert_eq!(
        summary(&decisions),
        ["send_message @小甲 请改名为「城市-姓名」（第2次）"]
    );
    assert_eq!(
        decisions[0].action.as_ref().unwrap().key,
        format!("nick:{CHAT}:@a:x:j1:2")
    );
    let decisions = guardian.tick(t(60 + 24 * hours));
    // The silent newcomer's nudge falls due at the same tick.
    assert_eq!(
        summary(&decisions),
        [
            "send_message @小甲 来做个自我介绍吧：【姓名】【城市】",
            "mute @a:x 1440m"
        ]
    );
    assert!(
        guardian.tick(t(60 + 48 * hours)).is_empty(),
        "escalated once"
    );
}

#[test]
fn renaming_is_checked_and_compliance_clears_reminders() {
    let mut guardian = guardian(RULES);
    let who = facts(MemberRole::Member, "上海-小甲", Some(t(-86_400)));
    let rename = |key: &str, at: i64, new: &str| {
        event(
            key,
            t(at),
            EventKind::DisplayNameChanged {
                member: "@a:x".into(),
                old: None,
                new: new.into(),
            },
        )
    };
    let decisions = guardian.on_event(&rename("r1", 0, "小甲"), &group(), &who, t(0));
    assert_eq!(
        summary(&decisions),
        ["send_message @小甲 请改名为「城市-姓名」（第1次）"]
    );
    let decisions = guardian.on_event(&rename("r2", 10, "甲甲"), &group(), &who, t(10));
    assert_eq!(
        summary(&decisions),
        ["send_message @甲甲 请改名为「城市-姓名」（第2次）"]
    );
    assert!(guardian
        .on_event(&rename("r3", 20, "上海-小甲"), &group(), &who, t(20))
        .is_empty());
    assert!(
        guardian.tick(t(30 * 86_400)).is_empty(),
        "complied: nothing more"
    );
    // Staff names are their own business.
    let admin = facts(MemberRole::Admin, "客服小美", None);
    assert!(guardian
        .on_event(
            &join("j9", t(100), "@s:x", "客服小美"),
            &group(),
            &admin,
            t(100)
        )
        .is_empty());
    let decisions = guardian.tick(t(200));
    assert_eq!(
        decisions.len(),
        2,
        "welcome and gift, no reminder: {:?}",
        summary(&decisions)
    );
}

#[test]
fn the_same_log_decides_the_same_actions() {
    let run = || {
        let mut guardian = guardian(RULES);
        let mut keys = Vec::new();
        for index in 0..40i64 {
            let name = if index % 3 == 0 {
                format!("成员{index}")
            } else {
                format!("上海-成员{index}")
            };
            let event = join(
                &format!("j{index}"),
                t(index * 17),
                &format!("@m{index}:x"),
                &name,
            );
            let decisions = guardian.on_event(&event, &group(), &newcomer(&name), t(index * 17));
            keys.extend(
                decisions
                    .into_iter()
                    .filter_map(|decision| decision.action.map(|action| action.key)),
            );
            if index % 5 == 0 {
                let decisions = guardian.tick(t(index * 17 + 1));
                keys.extend(
                    decisions
                        .into_iter()
                        .filter_map(|decision| decision.action.map(|action| action.key)),
                );
            }
        }
        for hour in 1..100 {
            let decisions = guardian.tick(t(hour * 3_600));
            keys.extend(
                decisions
                    .into_iter()
                    .filter_map(|decision| decision.action.map(|action| action.key)),
            );
        }
        keys
    };
    let first = run();
    assert!(first.len() > 60, "{}", first.len());
    assert_eq!(first, run());
    let unique: std::collections::HashSet<&String> = first.iter().collect();
    assert_eq!(unique.len(), first.len(), "no key is decided twice");
}
