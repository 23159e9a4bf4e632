//! Writing a plan back as TOML: how a template becomes an operator's editable document.
//!
//! The store keeps plans as source text (so diagnostics can point at lines); applying a template
//! therefore means saving `plan_to_toml(template.instantiate(…))`. `parse_plan` reads the output
//! back into an equal plan, which the tests check for every shipped template.

use std::fmt::Write;

use chrono::{NaiveTime, Timelike, Weekday};

use crate::plan::{Anchor, MonthDay, Plan, Step, Target, TimeRule, DEFAULT_GRACE};

/// The plan as TOML; a target shared by every step is written once at the top.
pub fn plan_to_toml(plan: &Plan) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail, so `write!` results are ignored throughout.
    let _ = writeln!(out, "id = {}", quote(&plan.id));
    let _ = writeln!(out, "name = {}", quote(&plan.name));
    let _ = writeln!(out, "timezone = {}", quote(plan.timezone.name()));
    let shared_target = plan
        .steps
        .first()
        .map(|first| &first.target)
        .filter(|target| plan.steps.iter().all(|step| &step.target == *target));
    if let Some(target) = shared_target {
        let _ = writeln!(out, "target = {}", target_toml(target));
    }
    if !plan.links.is_empty() {
        out.push_str("\n[links]\n");
        for (name, url) in &plan.links {
            let _ = writeln!(out, "{name} = {}", quote(url));
        }
    }
    if !plan.anchors.is_empty() {
        out.push_str("\n[anchors]\n");
        for (name, dates) in &plan.anchors {
            let dates: Vec<String> = dates.iter().map(|date| quote(&date.to_string())).collect();
            let _ = writeln!(out, "{name} = [{}]", dates.join(", "));
        }
    }
    for step in &plan.steps {
        out.push_str("\n[[steps]]\n");
        write_step(&mut out, plan, step, shared_target.is_none());
    }
    out
}

fn write_step(out: &mut String, plan: &Plan, step: &Step, with_target: bool) {
    let _ = writeln!(out, "id = {}", quote(&step.id));
    let _ = writeln!(out, "title = {}", quote(&step.title));
    match &step.rule {
        TimeRule::Daily { .. } => out.push_str("repeat = \"daily\"\n"),
        TimeRule::Weekly { weekdays, .. } => {
            let names: Vec<String> = weekdays
                .iter()
                .map(|day| quote(weekday_name(*day)))
                .collect();
            let _ = writeln!(
                out,
                "repeat = \"weekly\"\nweekdays = [{}]",
                names.join(", ")
            );
        }
        TimeRule::Monthly { day, months, .. } => {
            out.push_str("repeat = \"monthly\"\n");
            match day {
                MonthDay::Day(day) => {
                    let _ = writeln!(out, "day = {day}");
                }
                MonthDay::Last => out.push_str("day = \"last\"\n"),
            }
            if !months.is_empty() {
                let months: Vec<String> = months.iter().map(u32::to_string).collect();
                let _ = writeln!(out, "months = [{}]", months.join(", "));
            }
        }
        TimeRule::Once { at } => {
            let _ = writeln!(
                out,
                "repeat = \"once\"\ndate = {}",
                quote(&at.date().to_string())
            );
        }
        TimeRule::Relative {
            anchor,
            offset_days,
            ..
        } => {
            let anchor = match anchor {
                Anchor::GroupCreated => "group_created",
                Anchor::Named(name) => name.as_str(),
            };
            let _ = writeln!(
                out,
                "repeat = \"relative\"\nanchor = {}\noffset_days = {offset_days}",
                quote(anchor)
            );
        }
    }
    let _ = writeln!(out, "at = {}", quote(&time_text(step.rule.time())));
    if step.timezone != plan.timezone {
        let _ = writeln!(out, "timezone = {}", quote(step.timezone.name()));
    }
    if let Some(from) = step.window.from {
        let _ = writeln!(out, "active_from = {}", quote(&from.to_string()));
    }
    if let Some(until) = step.window.until {
        let _ = writeln!(out, "active_until = {}", quote(&until.to_string()));
    }
    if !step.blackout.is_empty() {
        let dates: Vec<String> = step
            .blackout
            .iter()
            .map(|date| quote(&date.to_string()))
            .collect();
        let _ = writeln!(out, "blackout = [{}]", dates.join(", "));
    }
    if step.grace != DEFAULT_GRACE {
        let _ = writeln!(out, "grace_minutes = {}", step.grace.num_minutes());
    }
    if with_target {
        let _ = writeln!(out, "target = {}", target_toml(&step.target));
    }
    let _ = writeln!(out, "text = {}", quote(&step.content.text));
    if let Some(attachment) = &step.content.attachment {
        let _ = writeln!(out, "attachment = {}", quote(attachment));
    }
}

fn target_toml(target: &Target) -> String {
    let mut parts = Vec::new();
    if target.all {
        parts.push("all = true".to_string());
    }
    let list = |items: Vec<String>| {
        items
            .iter()
            .map(|item| quote(item))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !target.chats.is_empty() {
        parts.push(format!("chats = [{}]", list(target.chats.clone())));
    }
    if !target.group_types.is_empty() {
        let types = target
            .group_types
            .iter()
            .map(|group_type| group_type.as_str().to_string())
            .collect();
        parts.push(format!("group_types = [{}]", list(types)));
    }
    if !target.tags.is_empty() {
        parts.push(format!("tags = [{}]", list(target.tags.clone())));
    }
    format!("{{ {} }}", parts.join(", "))
}

fn time_text(time: NaiveTime) -> String {
    if time.second() == 0 {
        time.format("%H:%M").to_string()
    } else {
        time.format("%H:%M:%S").to_string()
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// A TOML basic string: newlines and quotes escaped, Chinese text kept as it is.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_plan;
    use crate::templates::templates;
    use qunzhu_domain::GroupType;

    #[test]
    fn every_template_round_trips_through_toml() {
        let targets = [
            Target::all(),
            Target {
                chats: vec!["!a:x".into()],
                group_types: vec![GroupType::Flash],
                tags: vec!["新客".into()],
                all: false,
            },
        ];
        for template in templates() {
            for target in &targets {
                let plan = template.instantiate(target.clone(), chrono_tz::Europe::Berlin);
                let source = plan_to_toml(&plan);
                let parsed = parse_plan(&source, "t.toml")
                    .unwrap_or_else(|errors| panic!("{source}\n{errors:#?}"));
                assert_eq!(parsed, plan, "{source}");
            }
        }
    }

    #[test]
    fn per_step_settings_and_escapes_round_trip() {
        let source = r#"
id = "mixed"
timezone = "Asia/Shanghai"
[links]
shop = "https://shop.example.com/a?b=\"c\""
[anchors]
course = ["2026-03-10"]
[[steps]]
id = "a"
repeat = "monthly"
day = 29
months = [2]
at = "09:00:30"
timezone = "Europe/Berlin"
active_from = "2026-01-01"
active_until = "2028-12-31"
blackout = ["2028-02-29"]
grace_minutes = 5
target = { chats = ["!a:x"] }
text = "第一行\n第二行 \\ {link:shop}"
attachment = "media/poster.png"
[[steps]]
id = "b"
repeat = "relative"
anchor = "course"
offset_days = -1
at = "20:00"
target = { tags = ["vip"] }
text = "明晚上课"
[[steps]]
id = "c"
repeat = "once"
date = "2026-05-20"
at = "13:14"
target = { all = true }
text = "发布"
"#;
        let plan = parse_plan(source, "mixed.toml").unwrap();
        let written = plan_to_toml(&plan);
        assert_eq!(
            parse_plan(&written, "mixed.toml").unwrap(),
            plan,
            "{written}"
        );
        assert!(
            written.contains("at = \"09:00:30\"\ntimezone = \"Europe/Berlin\""),
            "{written}"
        );
    }
}
