//! The rule file as written: serde shapes with source spans, before validation.
//!
//! Every struct denies unknown fields so a typo is an error with a location, not a silent
//! default. Values that later checks may refuse are `Spanned` so the diagnostic can point at them.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

type Text = Spanned<String>;
type Number = Spanned<i64>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub settings: Option<RawSettings>,
    #[serde(default)]
    pub keywords: BTreeMap<String, RawKeywordList>,
    #[serde(default)]
    pub rules: Vec<RawRule>,
    #[serde(default)]
    pub group_rules: BTreeMap<String, RawGroupRules>,
    #[serde(default)]
    pub welcome: BTreeMap<String, RawWelcome>,
    #[serde(default)]
    pub nickname: BTreeMap<String, RawNickname>,
    #[serde(default)]
    pub faq: BTreeMap<String, Vec<RawFaq>>,
    #[serde(default)]
    pub review: BTreeMap<String, RawReview>,
    #[serde(default)]
    pub lurker: BTreeMap<String, RawLurker>,
    #[serde(default)]
    pub profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    pub human_check: BTreeMap<String, Spanned<RawHumanCheck>>,
    #[serde(default)]
    pub raid: BTreeMap<String, RawRaid>,
}

/// `[human_check.NAME]`: the question a newcomer answers before they may stay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHumanCheck {
    pub within: Option<Text>,
    #[serde(default)]
    pub questions: Vec<RawQuestion>,
    /// Member ids (with `*` wildcards) who skip the check.
    #[serde(default)]
    pub allow: Vec<Text>,
    pub prompt: Option<Text>,
    pub passed: Option<Text>,
    pub reason: Option<String>,
    pub wrong_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuestion {
    pub ask: Text,
    pub answers: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRaid {
    /// More joins than this within `within` is a raid.
    pub joins: Number,
    pub within: Text,
    /// How long the group stays in review once a raid starts.
    pub hold_for: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    pub warn_decay: Option<Text>,
    pub rules_commands: Option<Vec<Text>>,
    pub rules_cooldown: Option<Text>,
    /// `zh` or `en`; detected from the file when absent.
    pub language: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKeywordList {
    pub words: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub name: Text,
    pub kind: Text,
    pub lists: Option<Vec<Text>>,
    pub words: Option<Vec<Text>>,
    pub allow: Option<Vec<Text>>,
    pub count: Option<Number>,
    pub within: Option<Text>,
    pub pattern: Option<Text>,
    pub actions: Option<Text>,
    pub ladder: Option<Vec<Text>>,
    pub exempt: Option<Vec<Text>>,
    #[serde(default)]
    pub dry_run: bool,
    pub reason: Option<String>,
    pub warning: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroupRules {
    pub title: Option<String>,
    #[serde(default)]
    pub rename: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub questions: Vec<String>,
    #[serde(default)]
    pub forbidden: Vec<String>,
    #[serde(default)]
    pub allowed: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWelcome {
    pub template: Text,
    pub intro_template: Option<String>,
    pub window: Option<Text>,
    pub max_batch: Option<Number>,
    pub gift: Option<RawGift>,
    pub nudge_after: Option<Text>,
    pub nudge: Option<Text>,
    /// `spoken` (default) or `intro`: who is past the nudge.
    pub nudge_until: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGift {
    pub points: Number,
    pub text: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNickname {
    pub pattern: Text,
    pub description: String,
    pub reminder: Option<Text>,
    pub remind_every: Option<Text>,
    pub max_reminders: Option<Number>,
    pub escalation: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFaq {
    pub keywords: Option<Vec<Text>>,
    pub pattern: Option<Text>,
    pub reply: Text,
    pub cooldown: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReview {
    #[serde(default)]
    pub deny_names: Vec<Text>,
    #[serde(default)]
    pub deny_lists: Vec<Text>,
    #[serde(default)]
    pub require_reason: bool,
    #[serde(default)]
    pub approve_reasons: Vec<Text>,
    pub otherwise: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLurker {
    pub silent_days: Option<Number>,
    pub dry_run: Option<bool>,
    pub warning: Option<Text>,
    pub remove: Option<bool>,
    pub exempt: Option<Vec<Text>>,
    pub exempt_tiers: Option<Vec<Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProfile {
    #[serde(default)]
    pub group_types: Vec<Text>,
    #[serde(default)]
    pub chats: Vec<Text>,
    #[serde(default)]
    pub default: Option<Spanned<bool>>,
    #[serde(default)]
    pub rules: Vec<Text>,
    pub group_rules: Option<Text>,
    pub welcome: Option<Text>,
    pub nickname: Option<Text>,
    pub faq: Option<Text>,
    pub review: Option<Text>,
    pub lurker: Option<Text>,
    pub human_check: Option<Text>,
    pub raid: Option<Text>,
}
