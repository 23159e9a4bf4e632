//! The language of what the bot posts: the rule file's own, from `[settings] language` or, when
//! unset, detected (a file with no Han character outside comments is English).

use crate::ruleset::RuleKind;

/// The language the bot's own words follow (headings, suffixes, default reasons and warnings);
/// texts the file writes out are posted as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Language {
    #[default]
    Zh,
    En,
}

impl Language {
    pub fn parse(text: &str) -> Option<Language> {
        match text.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" | "中文" => Some(Language::Zh),
            "en" | "en-us" | "en-gb" | "english" => Some(Language::En),
            _ => None,
        }
    }

    /// English when no line outside comments holds a Han character, else Chinese.
    pub fn detect(source: &str) -> Language {
        let han = source
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(str::chars)
            .any(|c| {
                ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c)
            });
        if han {
            Language::Zh
        } else {
            Language::En
        }
    }

    /// The 群规 block headings: rename, services, questions, forbidden, allowed.
    pub fn headings(self) -> [&'static str; 5] {
        match self {
            Language::Zh => [
                "📛 改名片",
                "🎁 群服务",
                "🙋 有问题",
                "🚫 不可以",
                "✅ 你可以",
            ],
            Language::En => [
                "📛 Display name",
                "🎁 What this group offers",
                "🙋 Questions",
                "🚫 Not allowed",
                "✅ Welcome",
            ],
        }
    }

    /// What follows a heading when its block is one line.
    pub fn colon(self) -> &'static str {
        match self {
            Language::Zh => "：",
            Language::En => ": ",
        }
    }

    /// The reason an action carries, naming the rule.
    pub fn with_rule(self, reason: &str, rule: &str) -> String {
        match self {
            Language::Zh => format!("{reason}（规则：{rule}）"),
            Language::En => format!("{reason} (rule: {rule})"),
        }
    }

    /// The default group-rules title.
    pub fn rules_title(self) -> &'static str {
        match self {
            Language::Zh => "📋 {group} 群规",
            Language::En => "📋 {group} rules",
        }
    }

    /// The warning template when a rule has none.
    pub fn default_warning(self) -> &'static str {
        match self {
            Language::Zh => {
                "{name} 请注意：{reason}。这是第 {count} 次提醒，累计多次会被禁言或移出群聊哦～"
            }
            Language::En => {
                "{name}, please note: {reason}. This is reminder {count}; repeated reminders lead to a mute or removal."
            }
        }
    }

    /// The intro nudge when the file gives no template.
    pub fn default_nudge(self) -> &'static str {
        match self {
            Language::Zh => {
                "{name} 欢迎来到{group}～还没看到你的自我介绍哦，照着这个模板说说自己吧：\n{intro_template}"
            }
            Language::En => {
                "{name}, welcome to {group}! We have not seen your introduction yet; tell us about yourself with this template:\n{intro_template}"
            }
        }
    }

    /// The self-introduction template when the file gives none.
    pub fn default_intro(self) -> &'static str {
        match self {
            Language::Zh => "【姓名】\n【城市】\n【职业/行业】\n【想在群里收获什么】",
            Language::En => "Name:\nCity:\nJob / industry:\nWhat I hope to get from this group:",
        }
    }

    /// The nickname reminder when the file gives none.
    pub fn default_reminder(self) -> &'static str {
        match self {
            Language::Zh => "{name} 你好，请按群规把群名片改成「{format}」哦～（第 {count} 次提醒）",
            Language::En => {
                "Hi {name}, please set your display name as \"{format}\", as the group rules ask (reminder {count})."
            }
        }
    }

    /// The reason for escalating after nickname reminders went unheeded.
    pub fn nickname_ignored(self, format: &str) -> String {
        match self {
            Language::Zh => format!("多次提醒后仍未按「{format}」修改群名片"),
            Language::En => {
                format!("display name still not set as \"{format}\" after several reminders")
            }
        }
    }

    /// The last warning about a display name.
    pub fn nickname_last_warning(self, name: &str, reason: &str) -> String {
        match self {
            Language::Zh => format!("@{name} {reason}，请尽快修改哦，否则可能被移出群聊。"),
            Language::En => {
                format!("@{name} {reason}; please change it soon, or you may be removed.")
            }
        }
    }

    /// A warning posted where the platform cannot carry out the punishment.
    pub fn please_note(self, reason: &str) -> String {
        match self {
            Language::Zh => format!("请注意：{reason}"),
            Language::En => format!("Please note: {reason}"),
        }
    }

    /// The reason a rule gives when the file names none.
    pub fn default_reason(self, kind: &RuleKind) -> &'static str {
        match (self, kind) {
            (Language::Zh, RuleKind::Keywords { .. }) => "请勿发布广告或违禁内容",
            (Language::Zh, RuleKind::Links { .. }) => "请勿发布未经允许的链接",
            (Language::Zh, RuleKind::Flood { .. }) => "请勿刷屏",
            (Language::Zh, RuleKind::Repeat { .. }) => "请勿重复发送相同内容",
            (Language::Zh, RuleKind::Mentions { .. }) => "请勿一次@太多人",
            (Language::Zh, RuleKind::NamePattern { .. }) => "昵称疑似广告号",
            (Language::Zh, RuleKind::NewcomerLink { .. }) => "新人入群请先自我介绍，不要直接发链接",
            (Language::En, RuleKind::Keywords { .. }) => "no ads or forbidden content",
            (Language::En, RuleKind::Links { .. }) => "no links that are not allowed",
            (Language::En, RuleKind::Flood { .. }) => "no flooding",
            (Language::En, RuleKind::Repeat { .. }) => "no repeating the same message",
            (Language::En, RuleKind::Mentions { .. }) => "no mentioning many members at once",
            (Language::En, RuleKind::NamePattern { .. }) => {
                "the display name looks like an ad account"
            }
            (Language::En, RuleKind::NewcomerLink { .. }) => {
                "newcomers please introduce themselves before posting links"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_and_parsing() {
        let cases = [
            (
                "[[rules]]\nname = \"ads\"\nreason = \"no ads\"\n",
                Language::En,
            ),
            ("# 中文注释\n[[rules]]\nreason = \"no ads\"\n", Language::En),
            ("[[rules]]\nreason = \"请勿发广告\"\n", Language::Zh),
            ("", Language::En),
        ];
        for (source, expected) in cases {
            assert_eq!(Language::detect(source), expected, "{source:?}");
        }
        assert_eq!(Language::parse("EN"), Some(Language::En));
        assert_eq!(Language::parse("zh-CN"), Some(Language::Zh));
        assert_eq!(Language::parse("fr"), None);
    }
}
