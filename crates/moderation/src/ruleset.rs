//! The compiled rule file: what [`crate::check`] returns and the [`crate::Guardian`] runs.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use chrono::Duration;
use qunzhu_domain::{GroupType, MemberRole, MemberTier};
use regex::Regex;

use crate::grouprules::GroupRules;
use crate::keywords::KeywordIndex;
use crate::template::Template;

/// A validated, compiled rule file.
#[derive(Debug)]
pub struct RuleSet {
    pub settings: Settings,
    pub(crate) keywords: Arc<KeywordIndex>,
    pub rules: Vec<Rule>,
    pub profiles: Vec<Arc<Profile>>,
    pub(crate) by_chat: HashMap<String, usize>,
    pub(crate) by_type: HashMap<GroupType, usize>,
    pub(crate) default_profile: Option<usize>,
}

impl RuleSet {
    /// The profile that governs a group: its chat id first, then its type, then the default.
    /// Each step the rules of `chat`'s profile may take, with the first rule asking for it
    /// (for checking a room's powers against them).
    pub fn steps_for(&self, chat: &str, group_type: GroupType) -> Vec<(&'static str, &str)> {
        let mut steps: Vec<(&'static str, &str)> = Vec::new();
        let Some(profile) = self.profile_for(chat, group_type) else {
            return steps;
        };
        for rule in profile
            .rules
            .iter()
            .filter_map(|index| self.rules.get(*index))
        {
            for step in rule.ladder.iter().flatten() {
                if !steps.iter().any(|(name, _)| *name == step.name()) {
                    steps.push((step.name(), rule.name.as_str()));
                }
            }
        }
        steps
    }

    pub fn profile_for(&self, chat: &str, group_type: GroupType) -> Option<&Arc<Profile>> {
        let index = self
            .by_chat
            .get(chat)
            .or_else(|| self.by_type.get(&group_type))
            .copied()
            .or(self.default_profile)?;
        self.profiles.get(index)
    }

    /// A profile by its name.
    pub fn profile(&self, name: &str) -> Option<&Arc<Profile>> {
        self.profiles.iter().find(|profile| profile.name == name)
    }

    /// Names of the keyword lists, in index order.
    pub fn keyword_lists(&self) -> &[String] {
        &self.keywords.lists
    }
}

/// File-wide settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A warning stops counting toward the ladder after this long.
    pub warn_decay: Duration,
    /// Messages that ask for the 群规 (compared after normalization).
    pub rules_commands: Vec<String>,
    /// The 群规 are re-sent at most once per this period per group.
    pub rules_cooldown: Duration,
    /// The language of the bot's own words (`[settings] language`, else detected).
    pub language: crate::language::Language,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            warn_decay: Duration::days(7),
            rules_commands: vec![
                "群规".to_string(),
                "!rules".to_string(),
                "/rules".to_string(),
            ],
            rules_cooldown: Duration::seconds(60),
            language: crate::language::Language::Zh,
        }
    }
}

/// A bundle of policies assigned to groups (by chat id, by group type, or as the default).
#[derive(Debug)]
pub struct Profile {
    pub name: String,
    /// Indices into [`RuleSet::rules`], in file order.
    pub rules: Vec<usize>,
    pub group_rules: Option<Arc<GroupRules>>,
    pub welcome: Option<Arc<Welcome>>,
    pub nickname: Option<Arc<Nickname>>,
    pub faq: Option<Arc<FaqSet>>,
    pub review: Option<Arc<ReviewPolicy>>,
    pub lurker: Option<Arc<LurkerPolicy>>,
    /// The question newcomers answer before they may stay (`[human_check.NAME]`).
    pub human_check: Option<Arc<crate::human_check::HumanCheck>>,
    pub raid: Option<Arc<crate::raid::RaidPolicy>>,
    /// The longest flood/repeat window among its rules (how much message history to keep).
    pub(crate) history_window: Duration,
}

/// One moderation rule.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub kind: RuleKind,
    /// Rung `n` applies when the member already has `n` live warnings (the last rung repeats).
    pub ladder: Vec<Vec<Step>>,
    /// Roles this rule leaves alone.
    pub exempt: Vec<MemberRole>,
    pub dry_run: bool,
    /// Why it fires, in the members' language (shown in warnings).
    pub reason: String,
    pub warning: Template,
}

/// What a rule looks at.
#[derive(Debug)]
pub enum RuleKind {
    /// Any word of these lists (indices into the keyword index) in the normalized text.
    Keywords { lists: Vec<usize> },
    /// Any link whose host is not in `allow` (a domain allows its subdomains); empty denies all.
    Links { allow: Vec<String> },
    /// `count` messages from one member within `within`.
    Flood { count: usize, within: Duration },
    /// The same normalized text `count` times from one member within `within`.
    Repeat { count: usize, within: Duration },
    /// A message mentioning at least `count` members.
    Mentions { count: usize },
    /// A display name (normalized, case-insensitive) matching at join or on rename.
    NamePattern { pattern: Regex },
    /// A link in a member's first message, posted within `within` of joining.
    NewcomerLink { within: Duration },
}

impl RuleKind {
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Keywords { .. } => "keywords",
            RuleKind::Links { .. } => "links",
            RuleKind::Flood { .. } => "flood",
            RuleKind::Repeat { .. } => "repeat",
            RuleKind::Mentions { .. } => "mentions",
            RuleKind::NamePattern { .. } => "name_pattern",
            RuleKind::NewcomerLink { .. } => "newcomer_link",
        }
    }
}

/// One thing a rung does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Redact,
    Warn,
    Mute(Duration),
    Kick,
    Ban,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Redact => "redact",
            Step::Warn => "warn",
            Step::Mute(_) => "mute",
            Step::Kick => "kick",
            Step::Ban => "ban",
        }
    }
}

/// The welcome ritual of a group.
#[derive(Debug)]
pub struct Welcome {
    pub template: Template,
    pub intro_template: String,
    /// Joins within this window after the first are greeted together.
    pub window: Duration,
    /// A batch this large is greeted at once without waiting for the window.
    pub max_batch: usize,
    pub gift: Option<Gift>,
    /// Newcomers silent this long after joining get one nudge, if set.
    pub nudge_after: Option<Duration>,
    pub nudge: Template,
    /// The intro template's fields, each with its alternative labels (`intro.rs`).
    pub intro_fields: Vec<Vec<String>>,
    /// The nudge goes to those who have not introduced themselves (`nudge_until = "intro"`),
    /// not only to the silent.
    pub nudge_until_intro: bool,
}

/// The join gift: points (or a coupon worth them) bound to the member.
#[derive(Debug)]
pub struct Gift {
    pub points: i64,
    pub text: Template,
}

/// A nickname convention 改名片.
#[derive(Debug)]
pub struct Nickname {
    pub pattern: Regex,
    pub description: String,
    pub reminder: Template,
    pub remind_every: Duration,
    pub max_reminders: u32,
    /// What happens once `max_reminders` went unheeded.
    pub escalation: Step,
}

/// A group's FAQ entries, one automaton over all their keywords.
#[derive(Debug)]
pub struct FaqSet {
    pub name: String,
    pub entries: Vec<FaqEntry>,
    pub(crate) automaton: Option<AhoCorasick>,
    /// For each automaton pattern, the entry it answers.
    pub(crate) pattern_entry: Vec<usize>,
}

/// One question and its answer.
#[derive(Debug)]
pub struct FaqEntry {
    pub keywords: Vec<String>,
    pub pattern: Option<Regex>,
    pub reply: Template,
    pub cooldown: Duration,
}

/// What join review decides when nothing else matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Deny,
    Queue,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Deny => "deny",
            Verdict::Queue => "queue",
        }
    }
}

/// Join review 审核 policy for knocks / join requests.
#[derive(Debug)]
pub struct ReviewPolicy {
    pub name: String,
    /// Names matching (normalized, case-insensitive) are denied.
    pub deny_names: Vec<Regex>,
    /// Names or reasons containing a word of these lists are denied.
    pub deny_lists: Vec<usize>,
    pub(crate) keywords: Arc<KeywordIndex>,
    /// A request without a reason goes to a person.
    pub require_reason: bool,
    /// Reasons matching are approved.
    pub approve_reasons: Vec<Regex>,
    pub otherwise: Verdict,
}

/// Lurker pruning policy.
#[derive(Debug)]
pub struct LurkerPolicy {
    pub name: String,
    pub silent_days: i64,
    pub dry_run: bool,
    pub warning: Option<Template>,
    pub remove: bool,
    pub exempt_roles: Vec<MemberRole>,
    pub exempt_tiers: Vec<MemberTier>,
}

impl Default for LurkerPolicy {
    fn default() -> Self {
        LurkerPolicy {
            name: "default".to_string(),
            silent_days: 28,
            dry_run: true,
            warning: None,
            remove: true,
            exempt_roles: MemberRole::ALL
                .iter()
                .copied()
                .filter(|role| role.exempt_by_default())
                .collect(),
            exempt_tiers: vec![MemberTier::Vip],
        }
    }
}
