//! `check`, second half: welcome, nickname, FAQ, review and lurker policies, and profiles.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use chrono::Duration;
use qunzhu_domain::{GroupType, MemberRole, MemberTier};
use toml::Spanned;

use crate::check::Compiler;
use crate::file::{RawFaq, RawFile, RawLurker, RawNickname, RawReview, RawWelcome};
use crate::grouprules::GroupRules;
use crate::keywords::KeywordIndex;
use crate::normalize::normalize;
use crate::ruleset::{
    FaqEntry, FaqSet, Gift, LurkerPolicy, Nickname, Profile, ReviewPolicy, Rule, RuleKind, Step,
    Verdict, Welcome,
};
use crate::template::{builtin, Var};

pub(crate) const WELCOME_VARS: &[Var] = &[
    Var::Name,
    Var::Group,
    Var::Rules,
    Var::IntroTemplate,
    Var::Gift,
];
pub(crate) const NUDGE_VARS: &[Var] = &[Var::Name, Var::Group, Var::IntroTemplate];
pub(crate) const GIFT_VARS: &[Var] = &[Var::Points];
pub(crate) const REMINDER_VARS: &[Var] = &[Var::Name, Var::Format, Var::Count, Var::Group];
pub(crate) const FAQ_VARS: &[Var] = &[Var::Name, Var::Group];
pub(crate) const LURKER_VARS: &[Var] = &[Var::Name, Var::Days, Var::Group];
/// Named policies, ready to be referenced by profiles.
#[derive(Default)]
pub(crate) struct Policies {
    group_rules: HashMap<String, Arc<GroupRules>>,
    welcome: HashMap<String, Arc<Welcome>>,
    nickname: HashMap<String, Arc<Nickname>>,
    faq: HashMap<String, Arc<FaqSet>>,
    review: HashMap<String, Arc<ReviewPolicy>>,
    lurker: HashMap<String, Arc<LurkerPolicy>>,
    human_check: HashMap<String, Arc<crate::human_check::HumanCheck>>,
    raid: HashMap<String, Arc<crate::raid::RaidPolicy>>,
}

type ProfileIndex = (
    Vec<Arc<Profile>>,
    HashMap<String, usize>,
    HashMap<GroupType, usize>,
    Option<usize>,
);

impl Compiler<'_> {
    pub(crate) fn policies(&mut self, raw: &RawFile, keywords: &Arc<KeywordIndex>) -> Policies {
        let mut policies = Policies::default();
        for (name, rules) in &raw.group_rules {
            let rules = GroupRules {
                name: name.clone(),
                title: rules
                    .title
                    .clone()
                    .unwrap_or_else(|| self.language.rules_title().to_string()),
                rename: rules.rename.clone(),
                services: rules.services.clone(),
                questions: rules.questions.clone(),
                forbidden: rules.forbidden.clone(),
                allowed: rules.allowed.clone(),
                language: self.language,
            };
            policies.group_rules.insert(name.clone(), Arc::new(rules));
        }
        for (name, welcome) in &raw.welcome {
            if let Some(welcome) = self.welcome(welcome) {
                policies.welcome.insert(name.clone(), Arc::new(welcome));
            }
        }
        for (name, nickname) in &raw.nickname {
            if let Some(nickname) = self.nickname(nickname) {
                policies.nickname.insert(name.clone(), Arc::new(nickname));
            }
        }
        for (name, entries) in &raw.faq {
            if let Some(faq) = self.faq(name, entries) {
                policies.faq.insert(name.clone(), Arc::new(faq));
            }
        }
        for (name, review) in &raw.review {
            if let Some(review) = self.review(name, review, keywords) {
                policies.review.insert(name.clone(), Arc::new(review));
            }
        }
        for (name, lurker) in &raw.lurker {
            if let Some(lurker) = self.lurker(name, lurker) {
                policies.lurker.insert(name.clone(), Arc::new(lurker));
            }
        }
        for (name, check) in &raw.human_check {
            if let Some(check) = self.human_check(name, check) {
                policies.human_check.insert(name.clone(), Arc::new(check));
            }
        }
        for (name, raid) in &raw.raid {
            if let Some(raid) = self.raid(name, raid) {
                policies.raid.insert(name.clone(), Arc::new(raid));
            }
        }
        policies
    }

    fn raid(&mut self, name: &str, raw: &crate::file::RawRaid) -> Option<crate::raid::RaidPolicy> {
        let joins = self.positive(&raw.joins, "joins", crate::raid::MAX_RAID_JOINS);
        let within = self.duration(&raw.within);
        let hold_for = self.duration(&raw.hold_for);
        Some(crate::raid::RaidPolicy {
            name: name.to_string(),
            joins: u32::try_from(joins?).ok()?,
            within: within?,
            hold_for: hold_for?,
        })
    }

    fn welcome(&mut self, raw: &RawWelcome) -> Option<Welcome> {
        let template = self.template(&raw.template, WELCOME_VARS);
        let window = raw
            .window
            .as_ref()
            .map_or(Some(Duration::seconds(60)), |window| self.duration(window));
        let max_batch = raw.max_batch.as_ref().map_or(Some(50), |max| {
            self.positive(max, "max_batch", crate::check::MAX_BATCH)
        });
        let gift = match &raw.gift {
            Some(gift) => {
                let points = self.positive(&gift.points, "points", crate::check::MAX_POINTS);
                let text = self.template(&gift.text, GIFT_VARS);
                Some(Gift {
                    points: points?,
                    text: text?,
                })
            }
            None => None,
        };
        let nudge_after = match &raw.nudge_after {
            Some(after) => Some(self.duration(after)?),
            None => None,
        };
        let nudge = match &raw.nudge {
            Some(nudge) => self.template(nudge, NUDGE_VARS)?,
            None => builtin(self.language.default_nudge(), NUDGE_VARS),
        };
        let nudge_until_intro = match &raw.nudge_until {
            None => false,
            Some(until) => match until.get_ref().as_str() {
                "spoken" => false,
                "intro" => true,
                other => {
                    self.report.error(
                        until.span(),
                        format!("nudge_until is `spoken` or `intro`, not `{other}`"),
                    );
                    return None;
                }
            },
        };
        let intro_template = raw
            .intro_template
            .clone()
            .unwrap_or_else(|| self.language.default_intro().to_string());
        Some(Welcome {
            template: template?,
            intro_fields: crate::intro::intro_fields(&intro_template),
            nudge_until_intro,
            intro_template,
            window: window?,
            max_batch: max_batch? as usize,
            gift,
            nudge_after,
            nudge,
        })
    }

    fn nickname(&mut self, raw: &RawNickname) -> Option<Nickname> {
        let pattern = self.regex(&raw.pattern, false);
        let reminder = match &raw.reminder {
            Some(reminder) => self.template(reminder, REMINDER_VARS),
            None => Some(builtin(self.language.default_reminder(), REMINDER_VARS)),
        };
        let remind_every = raw
            .remind_every
            .as_ref()
            .map_or(Some(Duration::hours(24)), |every| self.duration(every));
        let max_reminders = raw.max_reminders.as_ref().map_or(Some(3), |max| {
            self.positive(max, "max_reminders", crate::check::MAX_REMINDERS)
        });
        let escalation = match &raw.escalation {
            Some(text) => match self.steps(text, "warn, mute, kick")?.as_slice() {
                [only] => Some(*only),
                _ => {
                    self.report.error(
                        text.span(),
                        "`escalation` is one action: warn, mute <duration> or kick",
                    );
                    None
                }
            },
            None => Some(Step::Warn),
        };
        Some(Nickname {
            pattern: pattern?,
            description: raw.description.clone(),
            reminder: reminder?,
            remind_every: remind_every?,
            max_reminders: u32::try_from(max_reminders?).unwrap_or(u32::MAX),
            escalation: escalation?,
        })
    }

    fn faq(&mut self, name: &str, raw: &[RawFaq]) -> Option<FaqSet> {
        let mut entries = Vec::new();
        let mut patterns = Vec::new();
        let mut pattern_entry = Vec::new();
        let mut failed = false;
        for (index, entry) in raw.iter().enumerate() {
            if entry.keywords.is_none() && entry.pattern.is_none() {
                self.report.error(
                    entry.reply.span(),
                    "an FAQ entry needs `keywords` or `pattern`",
                );
                failed = true;
                continue;
            }
            let keywords: Vec<String> = entry
                .keywords
                .iter()
                .flatten()
                .map(|word| normalize(word.get_ref()))
                .collect();
            for (word, raw_word) in keywords.iter().zip(entry.keywords.iter().flatten()) {
                if word.is_empty() {
                    self.report.error(raw_word.span(), "empty FAQ keyword");
                    failed = true;
                }
            }
            let pattern = match &entry.pattern {
                Some(pattern) => self.regex(pattern, true).map(Some),
                None => Some(None),
            };
            let reply = self.template(&entry.reply, FAQ_VARS);
            let cooldown = entry
                .cooldown
                .as_ref()
                .map_or(Some(Duration::minutes(10)), |cooldown| {
                    self.duration(cooldown)
                });
            let (Some(pattern), Some(reply), Some(cooldown)) = (pattern, reply, cooldown) else {
                failed = true;
                continue;
            };
            for word in keywords.iter().filter(|word| !word.is_empty()) {
                patterns.push(word.clone());
                pattern_entry.push(index);
            }
            entries.push(FaqEntry {
                keywords,
                pattern,
                reply,
                cooldown,
            });
        }
        if failed {
            return None;
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            match AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostFirst)
                .build(&patterns)
            {
                Ok(automaton) => Some(automaton),
                Err(error) => {
                    self.report.error_at(
                        0,
                        format!("FAQ `{name}` keywords cannot be compiled: {error}"),
                    );
                    return None;
                }
            }
        };
        Some(FaqSet {
            name: name.to_string(),
            entries,
            automaton,
            pattern_entry,
        })
    }

    fn review(
        &mut self,
        name: &str,
        raw: &RawReview,
        keywords: &Arc<KeywordIndex>,
    ) -> Option<ReviewPolicy> {
        let deny_names: Vec<_> = raw
            .deny_names
            .iter()
            .map(|pattern| self.regex(pattern, true))
            .collect();
        let approve_reasons: Vec<_> = raw
            .approve_reasons
            .iter()
            .map(|pattern| self.regex(pattern, true))
            .collect();
        let mut deny_lists = Vec::new();
        let mut failed = false;
        for list in &raw.deny_lists {
            match keywords.list_index(list.get_ref()) {
                Some(index) if !list.get_ref().starts_with("rule:") => deny_lists.push(index),
                _ => {
                    self.report.error(
                        list.span(),
                        format!("undefined keyword list `{}`", list.get_ref()),
                    );
                    failed = true;
                }
            }
        }
        let otherwise = match raw
            .otherwise
            .as_ref()
            .map(|word| (word, word.get_ref().as_str()))
        {
            None | Some((_, "approve")) => Some(Verdict::Approve),
            Some((_, "deny")) => Some(Verdict::Deny),
            Some((_, "queue")) => Some(Verdict::Queue),
            Some((word, other)) => {
                self.report.error(
                    word.span(),
                    format!(
                        "unknown review decision `{other}`, expected one of: approve, deny, queue"
                    ),
                );
                None
            }
        };
        let deny_names: Option<Vec<_>> = deny_names.into_iter().collect();
        let approve_reasons: Option<Vec<_>> = approve_reasons.into_iter().collect();
        if failed {
            return None;
        }
        Some(ReviewPolicy {
            name: name.to_string(),
            deny_names: deny_names?,
            deny_lists,
            keywords: Arc::clone(keywords),
            require_reason: raw.require_reason,
            approve_reasons: approve_reasons?,
            otherwise: otherwise?,
        })
    }

    fn lurker(&mut self, name: &str, raw: &RawLurker) -> Option<LurkerPolicy> {
        let defaults = LurkerPolicy::default();
        let silent_days = raw
            .silent_days
            .as_ref()
            .map_or(Some(defaults.silent_days), |days| {
                self.positive(days, "silent_days", crate::duration::MAX_DURATION_DAYS)
            });
        let warning = match &raw.warning {
            Some(text) => Some(self.template(text, LURKER_VARS)?),
            None => None,
        };
        let exempt_roles: Option<Vec<MemberRole>> = match &raw.exempt {
            Some(roles) => roles.iter().map(|role| self.role(role)).collect(),
            None => Some(defaults.exempt_roles.clone()),
        };
        let exempt_tiers: Option<Vec<MemberTier>> = match &raw.exempt_tiers {
            Some(tiers) => tiers.iter().map(|tier| self.tier(tier)).collect(),
            None => Some(defaults.exempt_tiers.clone()),
        };
        Some(LurkerPolicy {
            name: name.to_string(),
            silent_days: silent_days?,
            dry_run: raw.dry_run.unwrap_or(defaults.dry_run),
            warning,
            remove: raw.remove.unwrap_or(defaults.remove),
            exempt_roles: exempt_roles?,
            exempt_tiers: exempt_tiers?,
        })
    }

    pub(crate) fn profiles(
        &mut self,
        raw: &RawFile,
        rules: &[Rule],
        policies: &Policies,
    ) -> ProfileIndex {
        let mut profiles = Vec::new();
        let mut by_chat = HashMap::new();
        let mut by_type = HashMap::new();
        let mut default_profile = None;
        for (name, raw_profile) in &raw.profiles {
            let index = profiles.len();
            let mut rule_indices = Vec::new();
            let mut history_window = Duration::zero();
            for reference in &raw_profile.rules {
                match rules
                    .iter()
                    .position(|rule| rule.name == *reference.get_ref())
                {
                    Some(rule_index) => {
                        rule_indices.push(rule_index);
                        if let RuleKind::Flood { within, .. } | RuleKind::Repeat { within, .. } =
                            rules[rule_index].kind
                        {
                            history_window = history_window.max(within);
                        }
                    }
                    // A rule that failed to compile was already reported where it is defined.
                    None if raw
                        .rules
                        .iter()
                        .any(|rule| rule.name.get_ref() == reference.get_ref()) => {}
                    None => self.report.error(
                        reference.span(),
                        format!("undefined rule `{}`", reference.get_ref()),
                    ),
                }
            }
            for word in &raw_profile.group_types {
                match GroupType::parse(word.get_ref()) {
                    Ok(group_type) => {
                        if by_type.insert(group_type, index).is_some() {
                            self.report.error(
                                word.span(),
                                format!(
                                    "group type `{}` is already assigned to another profile",
                                    word.get_ref()
                                ),
                            );
                        }
                    }
                    Err(error) => self.report.error(word.span(), error.to_string()),
                }
            }
            for chat in &raw_profile.chats {
                if by_chat.insert(chat.get_ref().clone(), index).is_some() {
                    self.report.error(
                        chat.span(),
                        format!(
                            "chat `{}` is already assigned to another profile",
                            chat.get_ref()
                        ),
                    );
                }
            }
            if let Some(default) = raw_profile
                .default
                .as_ref()
                .filter(|default| *default.get_ref())
            {
                if default_profile.replace(index).is_some() {
                    self.report
                        .error(default.span(), "only one profile can be the default");
                }
            }
            let profile = Profile {
                name: name.clone(),
                rules: rule_indices,
                group_rules: self.reference(
                    &raw_profile.group_rules,
                    "group_rules",
                    &policies.group_rules,
                    &raw.group_rules,
                ),
                welcome: self.reference(
                    &raw_profile.welcome,
                    "welcome",
                    &policies.welcome,
                    &raw.welcome,
                ),
                nickname: self.reference(
                    &raw_profile.nickname,
                    "nickname",
                    &policies.nickname,
                    &raw.nickname,
                ),
                faq: self.reference(&raw_profile.faq, "faq", &policies.faq, &raw.faq),
                review: self.reference(
                    &raw_profile.review,
                    "review",
                    &policies.review,
                    &raw.review,
                ),
                lurker: self.reference(
                    &raw_profile.lurker,
                    "lurker",
                    &policies.lurker,
                    &raw.lurker,
                ),
                human_check: self.reference(
                    &raw_profile.human_check,
                    "human_check",
                    &policies.human_check,
                    &raw.human_check,
                ),
                raid: self.reference(&raw_profile.raid, "raid", &policies.raid, &raw.raid),
                history_window,
            };
            profiles.push(Arc::new(profile));
        }
        (profiles, by_chat, by_type, default_profile)
    }

    /// Resolves a profile's reference to a named policy, reporting names never defined (a
    /// policy defined but refused was already reported at its definition).
    fn reference<T, R>(
        &mut self,
        reference: &Option<Spanned<String>>,
        section: &str,
        compiled: &HashMap<String, Arc<T>>,
        defined: &BTreeMap<String, R>,
    ) -> Option<Arc<T>> {
        let reference = reference.as_ref()?;
        if let Some(policy) = compiled.get(reference.get_ref()) {
            return Some(Arc::clone(policy));
        }
        if !defined.contains_key(reference.get_ref()) {
            self.report.error(
                reference.span(),
                format!("undefined {section} `{}`", reference.get_ref()),
            );
        }
        None
    }
}
