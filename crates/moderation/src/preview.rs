//! The messages a rule file makes, built by the same functions the guardian sends them with, so
//! the editor's preview is what members will see: welcome, 群规 and each rule's warning.

use crate::grouprules::escape_html;
use crate::ruleset::{Profile, Rule, RuleSet, Welcome};
use crate::template::Var;

/// The welcome for a wave of `names` (already joined as mentions) in `group`: plain text and HTML.
pub fn welcome_message(
    profile: &Profile,
    welcome: &Welcome,
    group: &str,
    names: &str,
) -> (String, String) {
    let gift_text = welcome.gift.as_ref().map(|gift| {
        gift.text
            .render(|_, text| text.push_str(&gift.points.to_string()))
    });
    let value = |var: Var, text: &mut String, html: bool| {
        let plain = match var {
            Var::Name => names.to_string(),
            Var::Group => group.to_string(),
            Var::Rules => match (&profile.group_rules, html) {
                (Some(rules), false) => rules.render_text(group),
                (Some(rules), true) => return text.push_str(&rules.render_html(group)),
                (None, _) => String::new(),
            },
            Var::IntroTemplate => welcome.intro_template.clone(),
            Var::Gift => gift_text.clone().unwrap_or_default(),
            _ => String::new(),
        };
        text.push_str(&if html { escape_html(&plain) } else { plain });
    };
    let text = welcome.template.render(|var, text| value(var, text, false));
    let html = welcome.template.render_with(
        |literal, text| text.push_str(&escape_html(literal)),
        |var, text| value(var, text, true),
    );
    (text, html)
}

/// A rule's warning to `name` on their `count`th live warning in `group`.
pub fn warning_message(rule: &Rule, name: &str, count: usize, group: &str) -> String {
    rule.warning.render(|var, text| match var {
        Var::Name => {
            text.push('@');
            text.push_str(name);
        }
        Var::Reason => text.push_str(&rule.reason),
        Var::Count => text.push_str(&count.to_string()),
        Var::Rule => text.push_str(&rule.name),
        Var::Group => text.push_str(group),
        _ => {}
    })
}

/// What a previewed message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewKind {
    Welcome,
    GroupRules,
    /// The warning of the named rule.
    Warning(String),
}

/// One message as members would see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewPost {
    pub profile: String,
    pub kind: PreviewKind,
    pub text: String,
}

/// Every message of the file for a sample group and sample newcomers (display names): each
/// profile's welcome and 群规, then each warning rule's warning to the first newcomer.
pub fn preview(set: &RuleSet, group: &str, newcomers: &[&str]) -> Vec<PreviewPost> {
    let mut out = Vec::new();
    let names = crate::welcome::mention_names(newcomers.iter().copied());
    for profile in &set.profiles {
        if let Some(welcome) = &profile.welcome {
            out.push(PreviewPost {
                profile: profile.name.clone(),
                kind: PreviewKind::Welcome,
                text: welcome_message(profile, welcome, group, &names).0,
            });
        }
        if let Some(rules) = &profile.group_rules {
            out.push(PreviewPost {
                profile: profile.name.clone(),
                kind: PreviewKind::GroupRules,
                text: rules.render_text(group),
            });
        }
    }
    let offender = newcomers.first().copied().unwrap_or("");
    for rule in &set.rules {
        let warns = rule
            .ladder
            .iter()
            .flatten()
            .any(|step| matches!(step, crate::ruleset::Step::Warn));
        if warns {
            let profiles: Vec<&str> = set
                .profiles
                .iter()
                .filter(|p| {
                    p.rules
                        .iter()
                        .any(|i| set.rules.get(*i).is_some_and(|r| r.name == rule.name))
                })
                .map(|p| p.name.as_str())
                .collect();
            out.push(PreviewPost {
                profile: profiles.join(", "),
                kind: PreviewKind::Warning(rule.name.clone()),
                text: warning_message(rule, offender, 1, group),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_shows_welcome_rules_and_warnings_as_sent() {
        let source = r#"
[[rules]]
name = "ads"
kind = "keywords"
words = ["加微信"]
ladder = ["redact+warn", "ban"]
reason = "请勿发广告"

[group_rules.main]
title = "欢迎来到{group}"
forbidden = ["发广告"]

[welcome.main]
template = "欢迎 {name} 加入{group}！\n{rules}"

[profiles.default]
default = true
rules = ["ads"]
group_rules = "main"
welcome = "main"
"#;
        let set = crate::check(source, "rules.toml").expect("valid rule file");
        let posts = preview(&set, "咖啡群", &["小王", "小李"]);
        let kinds: Vec<&PreviewKind> = posts.iter().map(|p| &p.kind).collect();
        assert_eq!(
            kinds,
            [
                &PreviewKind::Welcome,
                &PreviewKind::GroupRules,
                &PreviewKind::Warning("ads".into())
            ]
        );
        assert!(
            posts[0]
                .text
                .starts_with("欢迎 @小王 @小李 加入咖啡群！\n欢迎来到咖啡群"),
            "{}",
            posts[0].text
        );
        assert!(posts[0].text.contains("🚫 不可以：发广告"));
        assert!(posts[2].text.contains("请勿发广告"), "{}", posts[2].text);
        assert!(
            posts[2].text.starts_with("@小王 "),
            "one offender: {}",
            posts[2].text
        );
    }
}
