//! Ready-made invite-task campaigns from the articles (001): "invite 10 friends → reward" and the
//! join gift for both sides. Each is campaign source text the operator applies with their own
//! groups and window, then edits like any campaign; it is checked by the same parser.

use chrono::{DateTime, Utc};

/// One shipped campaign template.
pub struct CampaignTemplate {
    pub id: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    body: &'static str,
}

pub const TEMPLATES: &[CampaignTemplate] = &[
    CampaignTemplate {
        id: "invite_ten",
        title_zh: "邀请 10 位好友得奖励",
        title_en: "Invite 10 friends, get a reward",
        body: r#"stay_hours = 24
must_post = true
hold_hours = 24
review = true

# Progress along the way, the big prize at ten.
[[thresholds]]
invites = 3
points = 30

[[thresholds]]
invites = 10
points = 200

[pool]
points = 10000

[limits]
cap = 30
cap_days = 7
suspend_after = 3

[fraud]
repeated_chars = 3
burst_joins = 5
burst_minutes = 10
other_groups = true
"#,
    },
    CampaignTemplate {
        id: "join_gift_both",
        title_zh: "入群双方有礼",
        title_en: "Join gift for both sides",
        body: r#"stay_hours = 24
must_post = true
hold_hours = 0

# The inviter's coupon for each friend who stays…
[inviter]
coupon = { type = "amount_off", cents = 500 }
valid_days = 30

# …the newcomer's own…
[invitee]
coupon = { type = "amount_off", cents = 500 }
valid_days = 30

# …and a bonus once five friends stayed.
[[thresholds]]
invites = 5
points = 50

[limits]
cap = 20
cap_days = 7
suspend_after = 3
"#,
    },
];

/// The template's campaign source for these groups and window, or `None` for an unknown id.
pub fn template_source(
    id: &str,
    english: bool,
    platform: &str,
    groups: &[String],
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
) -> Option<String> {
    let template = TEMPLATES.iter().find(|template| template.id == id)?;
    let title = if english {
        template.title_en
    } else {
        template.title_zh
    };
    let groups = groups
        .iter()
        .map(|group| toml_string(group))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "title = {}\nplatform = {}\ngroups = [{groups}]\nstarts = \"{}\"\nends = \"{}\"\nlanguage = \"{}\"\n{}",
        toml_string(title),
        toml_string(platform),
        starts.to_rfc3339(),
        ends.to_rfc3339(),
        if english { "en" } else { "zh" },
        template.body
    ))
}

/// A TOML basic string (quotes and backslashes escaped), so a group id cannot break the file.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::{parse_campaign, TaskPrize};

    #[test]
    fn every_template_is_a_valid_campaign() {
        let starts = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let ends = DateTime::from_timestamp(1_792_000_000, 0).unwrap();
        let groups = vec!["!a:hs".to_string(), "odd \"name\"".to_string()];
        for template in TEMPLATES {
            for english in [false, true] {
                let source =
                    template_source(template.id, english, "matrix", &groups, starts, ends).unwrap();
                let campaign = parse_campaign("c", &source)
                    .unwrap_or_else(|errors| panic!("{}: {errors:?}\n{source}", template.id));
                assert_eq!(campaign.groups, groups);
                assert_eq!(campaign.english, english);
            }
        }
        let ten = parse_campaign(
            "c",
            &template_source("invite_ten", false, "matrix", &groups, starts, ends).unwrap(),
        )
        .unwrap();
        assert_eq!(ten.thresholds.last().map(|step| step.invites), Some(10));
        let both = parse_campaign(
            "c",
            &template_source("join_gift_both", false, "matrix", &groups, starts, ends).unwrap(),
        )
        .unwrap();
        assert!(matches!(both.invitee_prize, Some(TaskPrize::Coupon { .. })));
        assert!(matches!(both.inviter_gift, Some(TaskPrize::Coupon { .. })));
        assert_eq!(
            template_source("nope", false, "matrix", &groups, starts, ends),
            None
        );
    }
}
