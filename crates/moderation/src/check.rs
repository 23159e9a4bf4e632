//! `check`: parse a TOML rule file, validate it with located diagnostics, compile a [`RuleSet`].

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;
use qunzhu_domain::{MemberRole, MemberTier};
use regex::{Regex, RegexBuilder};
use toml::Spanned;

use crate::diagnostic::{Diagnostic, Reporter};
use crate::duration::parse_duration;
use crate::file::{RawFile, RawRule};
use crate::keywords::KeywordIndex;
use crate::language::Language;
use crate::ruleset::{Rule, RuleKind, RuleSet, Settings, Step};
use crate::template::{Template, Var};

/// Validates and compiles a rule file; on failure every problem found is returned, each printing
/// as `file:line:col: message`, in source order.
pub fn check(source: &str, file_name: &str) -> Result<RuleSet, Vec<Diagnostic>> {
    let mut compiler = Compiler {
        report: Reporter::new(source, file_name),
        language: Language::detect(source),
    };
    let raw: RawFile = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(error) => {
            compiler.report.error(
                error.span().unwrap_or(0..0),
                error.message().trim().replace('\n', ", "),
            );
            return Err(compiler.report.diagnostics);
        }
    };
    let ruleset = compiler.compile(raw);
    let mut diagnostics = compiler.report.diagnostics;
    match ruleset {
        Some(ruleset) if diagnostics.is_empty() => Ok(ruleset),
        _ => {
            diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.col));
            Err(diagnostics)
        }
    }
}

pub(crate) const WARNING_VARS: &[Var] =
    &[Var::Name, Var::Reason, Var::Count, Var::Rule, Var::Group];
const ACTIONS: &str = "redact, warn, mute, kick, ban";
/// Upper bounds of the counts a rule file may set.
pub(crate) const MAX_COUNT: i64 = 10_000;
pub(crate) const MAX_BATCH: i64 = 1_000;
pub(crate) const MAX_POINTS: i64 = 1_000_000;
pub(crate) const MAX_REMINDERS: i64 = 100;

pub(crate) struct Compiler<'a> {
    pub report: Reporter<'a>,
    /// The file's language: detected, then `[settings] language` if it says.
    pub language: Language,
}

/// Words one keyword list may hold, and characters one keyword may have: a list is matched by
/// one automaton built on every reload, so its size is bounded like every other input.
pub const MAX_KEYWORDS_PER_LIST: usize = 10_000;
pub const MAX_KEYWORD_CHARS: usize = 100;

impl Compiler<'_> {
    /// The list's words, reporting (once each) a list over [`MAX_KEYWORDS_PER_LIST`] at its first
    /// extra word and a word over [`MAX_KEYWORD_CHARS`]; only the words within bounds are kept.
    fn bounded_words(&mut self, what: &str, words: &[Spanned<String>]) -> Vec<String> {
        if let Some(extra) = words.get(MAX_KEYWORDS_PER_LIST) {
            self.report.error(
                extra.span(),
                format!(
                    "{what} has {} words; at most {MAX_KEYWORDS_PER_LIST}",
                    words.len()
                ),
            );
        }
        let mut kept = Vec::new();
        for word in words.iter().take(MAX_KEYWORDS_PER_LIST) {
            if word.get_ref().chars().count() > MAX_KEYWORD_CHARS {
                self.report.error(
                    word.span(),
                    format!("a keyword in {what} is longer than {MAX_KEYWORD_CHARS} characters"),
                );
            } else {
                kept.push(word.get_ref().clone());
            }
        }
        kept
    }

    fn compile(&mut self, raw: RawFile) -> Option<RuleSet> {
        let settings = self.settings(&raw);
        // Inline `words` of a rule become an anonymous list so one automaton serves all.
        let mut lists: Vec<(String, Vec<String>)> = Vec::new();
        for (name, list) in &raw.keywords {
            for word in &list.words {
                if crate::normalize::normalize(word.get_ref()).is_empty() {
                    self.report
                        .error(word.span(), format!("empty keyword in list `{name}`"));
                }
            }
            let words = self.bounded_words(&format!("keyword list `{name}`"), &list.words);
            lists.push((name.clone(), words));
        }
        for rule in &raw.rules {
            if let Some(words) = &rule.words {
                let what = format!("the words of rule `{}`", rule.name.get_ref());
                let words = self.bounded_words(&what, words);
                lists.push((inline_list_name(rule.name.get_ref()), words));
            }
        }
        let keywords = match KeywordIndex::build(&lists) {
            Ok(index) => Arc::new(index),
            Err(message) => {
                self.report.error_at(0, message);
                return None;
            }
        };
        let mut rules = Vec::new();
        let mut seen = HashSet::new();
        for raw_rule in &raw.rules {
            if !seen.insert(raw_rule.name.get_ref().clone()) {
                self.report.error(
                    raw_rule.name.span(),
                    format!("duplicate rule name `{}`", raw_rule.name.get_ref()),
                );
            }
            if let Some(rule) = self.rule(raw_rule, &keywords) {
                rules.push(rule);
            }
        }
        let policies = self.policies(&raw, &keywords);
        let (profiles, by_chat, by_type, default_profile) = self.profiles(&raw, &rules, &policies);
        Some(RuleSet {
            settings,
            keywords,
            rules,
            profiles,
            by_chat,
            by_type,
            default_profile,
        })
    }

    fn settings(&mut self, raw: &RawFile) -> Settings {
        let mut settings = Settings::default();
        let Some(raw) = &raw.settings else {
            settings.language = self.language;
            return settings;
        };
        if let Some(text) = &raw.language {
            match Language::parse(text.get_ref()) {
                Some(language) => self.language = language,
                None => self.report.error(
                    text.span(),
                    format!("unknown language `{}`, expected zh or en", text.get_ref()),
                ),
            }
        }
        settings.language = self.language;
        if let Some(decay) = raw.warn_decay.as_ref().and_then(|text| self.duration(text)) {
            settings.warn_decay = decay;
        }
        if let Some(cooldown) = raw
            .rules_cooldown
            .as_ref()
            .and_then(|text| self.duration(text))
        {
            settings.rules_cooldown = cooldown;
        }
        if let Some(commands) = &raw.rules_commands {
            settings.rules_commands = commands
                .iter()
                .map(|command| crate::normalize::normalize(command.get_ref()))
                .collect();
        }
        settings
    }

    fn rule(&mut self, raw: &RawRule, keywords: &KeywordIndex) -> Option<Rule> {
        let name = raw.name.get_ref().clone();
        let kind_word = raw.kind.get_ref().as_str();
        let kind_fields: &[&str] = match kind_word {
            "keywords" => &["lists", "words"],
            "links" => &["allow"],
            "flood" | "repeat" => &["count", "within"],
            "mentions" => &["count"],
            "name_pattern" => &["pattern"],
            "newcomer_link" => &["within"],
            other => {
                self.report.error(
                    raw.kind.span(),
                    format!("unknown rule kind `{other}`, expected one of: keywords, links, flood, repeat, mentions, name_pattern, newcomer_link"),
                );
                return None;
            }
        };
        let first_span = |items: &Option<Vec<Spanned<String>>>| {
            items
                .as_ref()
                .and_then(|list| list.first())
                .map(|item| item.span())
        };
        let present = [
            (
                "lists",
                first_span(&raw.lists).or(raw.lists.as_ref().map(|_| raw.name.span())),
            ),
            (
                "words",
                first_span(&raw.words).or(raw.words.as_ref().map(|_| raw.name.span())),
            ),
            (
                "allow",
                first_span(&raw.allow).or(raw.allow.as_ref().map(|_| raw.name.span())),
            ),
            ("count", raw.count.as_ref().map(|count| count.span())),
            ("within", raw.within.as_ref().map(|within| within.span())),
            (
                "pattern",
                raw.pattern.as_ref().map(|pattern| pattern.span()),
            ),
        ];
        for (field, span) in present {
            if let Some(span) = span {
                if !kind_fields.contains(&field) {
                    self.report.error(
                        span,
                        format!("`{field}` does not apply to rules of kind `{kind_word}`"),
                    );
                }
            }
        }
        let kind = match kind_word {
            "keywords" => {
                let mut indices = Vec::new();
                for list in raw.lists.iter().flatten() {
                    match keywords.list_index(list.get_ref()) {
                        Some(index) if !list.get_ref().starts_with("rule:") => indices.push(index),
                        _ => self.report.error(
                            list.span(),
                            format!("undefined keyword list `{}`", list.get_ref()),
                        ),
                    }
                }
                if raw.words.is_some() {
                    indices.extend(keywords.list_index(&inline_list_name(&name)));
                }
                if raw.lists.is_none() && raw.words.is_none() {
                    self.report.error(
                        raw.kind.span(),
                        "a `keywords` rule needs `lists` or `words`",
                    );
                }
                RuleKind::Keywords { lists: indices }
            }
            "links" => RuleKind::Links {
                allow: raw
                    .allow
                    .iter()
                    .flatten()
                    .map(|domain| normalize_domain(domain.get_ref()))
                    .collect(),
            },
            "flood" | "repeat" => {
                let count = self.required_count(raw)?;
                let within = self.required_within(raw)?;
                if kind_word == "flood" {
                    RuleKind::Flood { count, within }
                } else {
                    RuleKind::Repeat { count, within }
                }
            }
            "mentions" => RuleKind::Mentions {
                count: self.required_count(raw)?,
            },
            "name_pattern" => {
                let Some(pattern) = &raw.pattern else {
                    self.report
                        .error(raw.kind.span(), "a `name_pattern` rule needs `pattern`");
                    return None;
                };
                RuleKind::NamePattern {
                    pattern: self.regex(pattern, true)?,
                }
            }
            _ => RuleKind::NewcomerLink {
                within: self.required_within(raw)?,
            },
        };
        let ladder = self.ladder(raw, &kind)?;
        let exempt = match &raw.exempt {
            Some(roles) => roles.iter().filter_map(|role| self.role(role)).collect(),
            None => MemberRole::ALL
                .iter()
                .copied()
                .filter(|role| role.exempt_by_default())
                .collect(),
        };
        let warning = match &raw.warning {
            Some(text) => self.template(text, WARNING_VARS)?,
            None => crate::template::builtin(self.language.default_warning(), WARNING_VARS),
        };
        let reason = raw
            .reason
            .clone()
            .unwrap_or_else(|| self.language.default_reason(&kind).to_string());
        Some(Rule {
            name,
            kind,
            ladder,
            exempt,
            dry_run: raw.dry_run,
            reason,
            warning,
        })
    }

    fn required_count(&mut self, raw: &RawRule) -> Option<usize> {
        match &raw.count {
            Some(count) => self
                .positive(count, "count", MAX_COUNT)
                .map(|value| value as usize),
            None => {
                self.report.error(
                    raw.kind.span(),
                    format!("a `{}` rule needs `count`", raw.kind.get_ref()),
                );
                None
            }
        }
    }

    fn required_within(&mut self, raw: &RawRule) -> Option<Duration> {
        match &raw.within {
            Some(within) => self.duration(within),
            None => {
                self.report.error(
                    raw.kind.span(),
                    format!("a `{}` rule needs `within`", raw.kind.get_ref()),
                );
                None
            }
        }
    }

    fn ladder(&mut self, raw: &RawRule, kind: &RuleKind) -> Option<Vec<Vec<Step>>> {
        let rungs: Vec<Vec<Step>> = match (&raw.actions, &raw.ladder) {
            (Some(actions), Some(_)) => {
                self.report
                    .error(actions.span(), "use either `actions` or `ladder`, not both");
                return None;
            }
            (Some(actions), None) => vec![self.steps(actions, ACTIONS)?],
            (None, Some(ladder)) if ladder.is_empty() => {
                self.report
                    .error(raw.name.span(), "`ladder` needs at least one rung");
                return None;
            }
            (None, Some(ladder)) => {
                let mut rungs = Vec::new();
                for rung in ladder {
                    rungs.push(self.steps(rung, ACTIONS)?);
                }
                rungs
            }
            (None, None) => default_ladder(kind),
        };
        if matches!(kind, RuleKind::NamePattern { .. })
            && rungs.iter().flatten().any(|step| *step == Step::Redact)
        {
            let span = raw
                .actions
                .as_ref()
                .map_or(raw.name.span(), |actions| actions.span());
            self.report.error(
                span,
                "`redact` does not apply to `name_pattern` rules (there is no message)",
            );
            return None;
        }
        Some(rungs)
    }

    /// Parses `redact+warn`, `mute 1h`, `kick`: steps joined by `+`, `mute` takes a duration.
    pub(crate) fn steps(&mut self, text: &Spanned<String>, allowed: &str) -> Option<Vec<Step>> {
        let mut steps = Vec::new();
        for part in text.get_ref().split('+') {
            let mut words = part.split_whitespace();
            let Some(action) = words.next() else {
                self.report
                    .error(text.span(), format!("empty action in `{}`", text.get_ref()));
                return None;
            };
            let argument = words.next();
            let at = self
                .report
                .find_in_span(&text.span(), action)
                .unwrap_or(text.span().start);
            if !allowed.split(", ").any(|name| name == action) {
                self.report.error_at(
                    at,
                    format!("unknown action `{action}`, expected one of: {allowed}"),
                );
                return None;
            }
            let step = match (action, argument) {
                ("mute", Some(duration)) => match parse_duration(duration) {
                    Ok(duration) => Step::Mute(duration),
                    Err(message) => {
                        self.report.error_at(at, message);
                        return None;
                    }
                },
                ("mute", None) => Step::Mute(Duration::hours(1)),
                (_, Some(extra)) => {
                    self.report.error_at(
                        at,
                        format!("action `{action}` takes no argument, got `{extra}`"),
                    );
                    return None;
                }
                ("redact", None) => Step::Redact,
                ("warn", None) => Step::Warn,
                ("kick", None) => Step::Kick,
                _ => Step::Ban,
            };
            if words.next().is_some() {
                self.report
                    .error_at(at, format!("too many words in action `{}`", part.trim()));
                return None;
            }
            steps.push(step);
        }
        Some(steps)
    }

    pub(crate) fn duration(&mut self, text: &Spanned<String>) -> Option<Duration> {
        parse_duration(text.get_ref())
            .map_err(|message| self.report.error(text.span(), message))
            .ok()
    }

    /// A count between 1 and `max`: every count is bounded so the engine's arithmetic on it
    /// (windows, day offsets, batch sizes) can never overflow.
    pub(crate) fn positive(&mut self, number: &Spanned<i64>, field: &str, max: i64) -> Option<i64> {
        let value = *number.get_ref();
        if value <= 0 {
            self.report.error(
                number.span(),
                format!("`{field}` must be a positive number, got {value}"),
            );
            return None;
        }
        if value > max {
            self.report.error(
                number.span(),
                format!("`{field}` is at most {max}, got {value}"),
            );
            return None;
        }
        Some(value)
    }

    pub(crate) fn regex(
        &mut self,
        text: &Spanned<String>,
        case_insensitive: bool,
    ) -> Option<Regex> {
        match RegexBuilder::new(text.get_ref())
            .case_insensitive(case_insensitive)
            .build()
        {
            Ok(regex) => Some(regex),
            Err(error) => {
                let detail = error.to_string();
                let reason = detail
                    .lines()
                    .rev()
                    .find_map(|line| line.strip_prefix("error: "))
                    .unwrap_or(detail.as_str());
                self.report.error(
                    text.span(),
                    format!("invalid regex `{}`: {reason}", text.get_ref()),
                );
                None
            }
        }
    }

    pub(crate) fn template(&mut self, text: &Spanned<String>, allowed: &[Var]) -> Option<Template> {
        match Template::parse(text.get_ref(), allowed) {
            Ok(template) => Some(template),
            Err(error) => {
                let span = text.span();
                let at = error
                    .needle
                    .and_then(|needle| self.report.find_in_span(&span, &needle))
                    .unwrap_or(span.start);
                self.report.error_at(at, error.message);
                None
            }
        }
    }

    pub(crate) fn role(&mut self, text: &Spanned<String>) -> Option<MemberRole> {
        MemberRole::parse(text.get_ref())
            .map_err(|error| self.report.error(text.span(), error.to_string()))
            .ok()
    }

    pub(crate) fn tier(&mut self, text: &Spanned<String>) -> Option<MemberTier> {
        MemberTier::parse(text.get_ref())
            .map_err(|error| self.report.error(text.span(), error.to_string()))
            .ok()
    }
}

pub(crate) fn inline_list_name(rule: &str) -> String {
    format!("rule:{rule}")
}

/// `*.Example.COM.` → `example.com`: the allow-list compares bare lower-case hosts.
fn normalize_domain(domain: &str) -> String {
    domain
        .trim()
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// What a rule does when the file gives no `actions` or `ladder`.
fn default_ladder(kind: &RuleKind) -> Vec<Vec<Step>> {
    match kind {
        RuleKind::Flood { .. } | RuleKind::Repeat { .. } => {
            vec![
                vec![Step::Warn],
                vec![Step::Mute(Duration::minutes(10))],
                vec![Step::Mute(Duration::hours(1))],
            ]
        }
        RuleKind::NamePattern { .. } => vec![vec![Step::Kick]],
        _ => vec![
            vec![Step::Redact, Step::Warn],
            vec![Step::Redact, Step::Mute(Duration::hours(1))],
            vec![Step::Redact, Step::Kick],
        ],
    }
}
