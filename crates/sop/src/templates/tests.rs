//! Template tests: every template is a valid plan, and previews show the articles' cadences.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Timelike, Utc};
use qunzhu_domain::GroupType;

use super::*;
use crate::materialize::GroupFacts;
use crate::parse::fields;
use crate::plan::DEFAULT_TIMEZONE;
use crate::preview::{preview, render_calendar_text};
use crate::render::CompiledText;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn group(chat: &str, name: &str, group_type: GroupType, created: &str) -> GroupFacts {
    GroupFacts::new(chat, name, group_type, utc(created))
}

#[test]
fn every_template_is_a_valid_plan_with_unique_ids_and_known_variables() {
    let all = templates();
    let ids: BTreeSet<&str> = all.iter().map(|template| template.id).collect();
    assert_eq!(ids.len(), all.len());
    assert_eq!(all.len(), 6);
    for template in &all {
        let plan = template.instantiate(Target::all(), DEFAULT_TIMEZONE);
        assert_eq!(plan.id, template.id);
        assert!(fields::id(&plan.id).is_ok());
        let step_ids: BTreeSet<&str> = plan.steps.iter().map(|step| step.id.as_str()).collect();
        assert_eq!(step_ids.len(), plan.steps.len(), "{}", template.id);
        for step in &plan.steps {
            assert!(fields::id(&step.id).is_ok(), "{}", step.id);
            assert!(
                CompiledText::compile(&step.content.text, &plan.links).is_ok(),
                "{}/{}",
                template.id,
                step.id
            );
            assert_ne!(
                step.rule.time(),
                NaiveTime::MIN,
                "{}/{}: a time literal fell back",
                template.id,
                step.id
            );
        }
        assert!(!template.description.is_empty() && !template.name_en.is_empty());
        assert_eq!(
            super::template(template.id).map(|found| found.id),
            Some(template.id)
        );
    }
}

#[test]
fn education_week_posts_monday_to_thursday_evenings() {
    let plan = template("education-weekly")
        .unwrap()
        .instantiate(Target::group_types([GroupType::Content]), DEFAULT_TIMEZONE);
    let groups = [group(
        "!edu:x",
        "Python入门班",
        GroupType::Content,
        "2026-01-01T00:00:00Z",
    )];
    // 2026-03-02 is a Monday.
    let rows = preview(&plan, &groups, utc("2026-03-02T00:00:00+08:00"), 7);
    let seen: Vec<String> = rows
        .iter()
        .map(|row| format!("{} {}", row.local.format("%a %H:%M"), row.step))
        .collect();
    assert_eq!(
        seen,
        [
            "Mon 20:00 course-poster",
            "Tue 19:30 course-countdown",
            "Wed 20:00 replay-mindmap",
            "Thu 20:00 homework-review"
        ]
    );
}

#[test]
fn flash_sale_runs_from_each_groups_creation() {
    let plan = template("flash-sale-3day")
        .unwrap()
        .instantiate(Target::group_types([GroupType::Flash]), DEFAULT_TIMEZONE);
    let groups = [
        group(
            "!f1:x",
            "3月快闪1群",
            GroupType::Flash,
            "2026-03-02T09:00:00+08:00",
        ),
        group(
            "!f2:x",
            "3月快闪2群",
            GroupType::Flash,
            "2026-03-03T09:00:00+08:00",
        ),
        group(
            "!t:x",
            "流量群",
            GroupType::Traffic,
            "2026-03-01T09:00:00+08:00",
        ),
    ];
    let rows = preview(&plan, &groups, utc("2026-03-02T00:00:00+08:00"), 7);
    let first: Vec<String> = rows
        .iter()
        .filter(|row| row.groups == ["3月快闪1群"])
        .map(|row| format!("{} {}", row.local.format("%m-%d %H:%M"), row.step))
        .collect();
    assert_eq!(
        first,
        [
            "03-02 20:30 day0-welcome",
            "03-03 10:00 day1-product",
            "03-03 20:00 day1-open",
            "03-04 12:00 day2-proof",
            "03-04 20:00 day2-last-call",
            "03-05 10:00 day3-close",
        ]
    );
    assert_eq!(
        rows.iter()
            .filter(|row| row.groups == ["3月快闪2群"])
            .count(),
        6
    );
    assert!(rows
        .iter()
        .all(|row| !row.groups.contains(&"流量群".to_string())));
}

#[test]
fn onboarding_covers_days_one_to_seven_and_golden_hours_sit_in_their_windows() {
    let plan = template("onboarding-7day")
        .unwrap()
        .instantiate(Target::all(), DEFAULT_TIMEZONE);
    let groups = [group(
        "!n:x",
        "新群",
        GroupType::Member,
        "2026-03-02T09:00:00+08:00",
    )];
    let days: Vec<u32> = preview(&plan, &groups, utc("2026-03-01T00:00:00+08:00"), 14)
        .iter()
        .map(|row| row.local.date().day0() - 1)
        .collect();
    assert_eq!(days, [1, 2, 3, 4, 5, 6, 7]);

    let golden = template("golden-hours")
        .unwrap()
        .instantiate(Target::all(), DEFAULT_TIMEZONE);
    let hours: Vec<u32> = golden
        .steps
        .iter()
        .map(|step| step.rule.time().hour())
        .collect();
    assert!(
        (6..9).contains(&hours[0]) && (16..18).contains(&hours[1]) && (19..22).contains(&hours[2]),
        "{hours:?}"
    );
}

#[test]
fn restaurant_calendar_text_for_one_day() {
    let plan = template("restaurant-daily")
        .unwrap()
        .instantiate(Target::tags(["store"]), DEFAULT_TIMEZONE);
    let mut groups: Vec<GroupFacts> = ["国贸店", "望京店", "三里屯店", "五道口店"]
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let mut facts = group(
                &format!("!s{index}:x"),
                name,
                GroupType::Traffic,
                "2026-01-01T00:00:00Z",
            );
            facts.tags = vec!["store".into()];
            facts
        })
        .collect();
    groups[1].send_autonomously = false;
    let rows = preview(&plan, &groups, utc("2026-03-02T00:00:00+08:00"), 1);
    assert_eq!(
        render_calendar_text(&rows),
        "2026-03-02 周一 (Asia/Shanghai)\n\
         \x20 11:00  今日菜单 [menu] → 4 groups: 国贸店、望京店、三里屯店 +1 more (1 by hand)\n\
         \x20        「🍱 3月2日周一·今日菜单来啦！…」\n\
         \x20 12:00  出锅小视频 [dish-video] → 4 groups: 国贸店、望京店、三里屯店 +1 more (1 by hand)\n\
         \x20        「🔥 刚出锅！后厨现炒，热气腾腾的招牌菜看这里～…」\n\
         \x20 18:00  明日限量秒杀 [tomorrow-deal] → 4 groups: 国贸店、望京店、三里屯店 +1 more (1 by hand)\n\
         \x20        「⚡ 明日限量秒杀预告：招牌套餐限量30份，群内专享价！…」\n"
    );
    assert_eq!(
        render_calendar_text(&[]),
        "nothing scheduled in this period\n"
    );
}
