//! The human check at join (人机验证): during a fission wave a newcomer is held until they
//! answer a question from the rule file within a time limit; a wrong answer or silence removes
//! them with the reason, staff and allow-listed members skip it.
//!
//! Holding is done with what every platform can do: while the check is open each message of
//! the newcomer is redacted (the answer included, so nobody copies it), so members never read a
//! bot that slipped in. The deadline is not a timer in memory: the removal is written to the
//! outbox at join time, due at the deadline (`check:<chat>:<join>:expire`), and the dispatcher
//! skips it when the same join's pass (`…:pass`) was decided, so a restart forgets nothing.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{ActionKind, Event, Instant};
use toml::Spanned;

use crate::check::Compiler;
use crate::decision::{excerpt, Decision, Target};
use crate::file::RawHumanCheck;
use crate::guardian::{Guardian, MemberFacts};
use crate::language::Language;
use crate::normalize::normalize;
use crate::ruleset::Profile;
use crate::template::{builtin, Template, Var};

/// The variables of the question post and of the pass note.
pub(crate) const PROMPT_VARS: &[Var] = &[Var::Name, Var::Group, Var::Question, Var::Minutes];
pub(crate) const PASSED_VARS: &[Var] = &[Var::Name, Var::Group];
/// Questions one check may hold, and answers one question may accept.
const MAX_QUESTIONS: usize = 100;
const MAX_ANSWERS: usize = 20;
/// The rule file's name for what this module decides (audit `rule`, action origin).
pub const RULE: &str = "human_check";
const EXPIRE_SUFFIX: &str = ":expire";
const PASS_SUFFIX: &str = ":pass";
const WRONG_SUFFIX: &str = ":wrong";

/// A compiled `[human_check.NAME]`.
#[derive(Debug)]
pub struct HumanCheck {
    pub name: String,
    /// How long a newcomer has to answer.
    pub within: Duration,
    pub questions: Vec<Question>,
    /// Member ids, `*` matching any run of characters, who are never checked.
    pub allow: Vec<String>,
    pub prompt: Template,
    pub passed: Template,
    /// Why a silent newcomer is removed.
    pub reason: String,
    /// Why a newcomer who answered wrong is removed.
    pub wrong_reason: String,
}

#[derive(Debug)]
pub struct Question {
    pub ask: String,
    /// Accepted answers, normalized (case, width and spacing do not matter).
    pub answers: Vec<String>,
}

impl HumanCheck {
    /// Whether `member` skips the check by the allow list.
    pub fn allows(&self, member: &str) -> bool {
        self.allow.iter().any(|pattern| glob(pattern, member))
    }

    /// The question a join is asked: chosen by the join's key, so a replay asks the same.
    fn question_for(&self, join_key: &str) -> Option<(usize, &Question)> {
        if self.questions.is_empty() {
            return None;
        }
        let mut hasher = DefaultHasher::new();
        join_key.hash(&mut hasher);
        let index = (hasher.finish() % self.questions.len() as u64) as usize;
        self.questions.get(index).map(|question| (index, question))
    }
}

/// A newcomer being checked.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct PendingCheck {
    /// The join's event key: every key of the check derives from it.
    pub join_key: String,
    pub question: usize,
    pub deadline: DateTime<Utc>,
}

/// `*` matches any run of characters (`@*:example.org`); everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The key prefix of one join's check.
fn check_key(chat: &str, join_key: &str) -> String {
    format!("check:{chat}:{join_key}")
}

/// For the dispatcher: when `key` is a check's scheduled removal, the keys that make it moot
/// (the same join passed, or was already removed for a wrong answer).
pub fn expiry_cancelled_by(key: &str) -> Option<[String; 2]> {
    key.strip_prefix("check:")?;
    let prefix = key.strip_suffix(EXPIRE_SUFFIX)?;
    Some([
        format!("{prefix}{PASS_SUFFIX}"),
        format!("{prefix}{WRONG_SUFFIX}"),
    ])
}

fn default_prompt(language: Language) -> &'static str {
    match language {
        Language::Zh => "{name} 你好！为确认你不是机器人，请在 {minutes} 分钟内在群里回答：{question}",
        Language::En => {
            "Hi {name}! To confirm you are not a bot, please answer in this group within {minutes} minutes: {question}"
        }
    }
}

fn default_passed(language: Language) -> &'static str {
    match language {
        Language::Zh => "✅ {name} 已通过验证，欢迎发言！",
        Language::En => "✅ {name} passed the check, welcome!",
    }
}

fn default_reason(language: Language, wrong: bool) -> &'static str {
    match (language, wrong) {
        (Language::Zh, false) => "未在时限内完成人机验证",
        (Language::Zh, true) => "人机验证回答错误",
        (Language::En, false) => "did not answer the human check in time",
        (Language::En, true) => "answered the human check wrong",
    }
}

impl Compiler<'_> {
    /// Compiles one `[human_check.NAME]`, reporting each problem where it is written.
    pub(crate) fn human_check(
        &mut self,
        name: &str,
        raw: &Spanned<RawHumanCheck>,
    ) -> Option<HumanCheck> {
        let span = raw.span();
        let raw = raw.get_ref();
        let within = match &raw.within {
            Some(within) => {
                let within = self.duration(within)?;
                if within < Duration::seconds(10) {
                    self.report.error(
                        raw.within.as_ref().map_or(span.clone(), Spanned::span),
                        "human_check `within` must be at least 10s",
                    );
                    return None;
                }
                within
            }
            None => Duration::minutes(5),
        };
        if raw.questions.is_empty() {
            self.report.error(
                span.clone(),
                format!("human_check `{name}` needs at least one [[human_check.{name}.questions]]"),
            );
            return None;
        }
        if raw.questions.len() > MAX_QUESTIONS {
            self.report.error(
                raw.questions[MAX_QUESTIONS].ask.span(),
                format!("human_check `{name}` has more than {MAX_QUESTIONS} questions"),
            );
        }
        let mut questions = Vec::new();
        let mut ok = true;
        for question in raw.questions.iter().take(MAX_QUESTIONS) {
            if question.ask.get_ref().trim().is_empty() {
                self.report
                    .error(question.ask.span(), "a human check question is empty");
                ok = false;
            }
            if question.answers.is_empty() {
                self.report.error(
                    question.ask.span(),
                    "a human check question needs at least one answer",
                );
                ok = false;
            }
            if question.answers.len() > MAX_ANSWERS {
                self.report.error(
                    question.answers[MAX_ANSWERS].span(),
                    format!("a human check question accepts at most {MAX_ANSWERS} answers"),
                );
                ok = false;
            }
            let mut answers = Vec::new();
            for answer in &question.answers {
                let normalized = normalize(answer.get_ref());
                if normalized.is_empty() {
                    self.report
                        .error(answer.span(), "a human check answer is empty");
                    ok = false;
                }
                answers.push(normalized);
            }
            questions.push(Question {
                ask: question.ask.get_ref().trim().to_string(),
                answers,
            });
        }
        let mut allow = Vec::new();
        for pattern in &raw.allow {
            if pattern.get_ref().trim().is_empty() {
                self.report
                    .error(pattern.span(), "an allow-list entry is empty");
                ok = false;
            }
            allow.push(pattern.get_ref().trim().to_string());
        }
        let prompt = match &raw.prompt {
            Some(prompt) => self.template(prompt, PROMPT_VARS),
            None => Some(builtin(default_prompt(self.language), PROMPT_VARS)),
        };
        let passed = match &raw.passed {
            Some(passed) => self.template(passed, PASSED_VARS),
            None => Some(builtin(default_passed(self.language), PASSED_VARS)),
        };
        let language = self.language;
        let (prompt, passed) = (prompt?, passed?);
        if !ok {
            return None;
        }
        Some(HumanCheck {
            name: name.to_string(),
            within,
            questions,
            allow,
            prompt,
            passed,
            reason: raw
                .reason
                .clone()
                .unwrap_or_else(|| default_reason(language, false).to_string()),
            wrong_reason: raw
                .wrong_reason
                .clone()
                .unwrap_or_else(|| default_reason(language, true).to_string()),
        })
    }
}

impl Guardian {
    /// A join in a group whose profile has a human check: the question, and the removal due at
    /// the deadline. Returns whether the newcomer is now held.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_check(
        &mut self,
        event: &Event,
        profile: &Arc<Profile>,
        member: &str,
        name: &str,
        who: &MemberFacts,
        now: DateTime<Utc>,
        out: &mut Vec<Decision>,
    ) -> bool {
        let Some(check) = &profile.human_check else {
            return false;
        };
        if who.role.exempt_by_default() || check.allows(member) {
            return false;
        }
        let Some((index, question)) = check.question_for(&event.key) else {
            return false;
        };
        let Some(chat) = self.chats.get_mut(&event.chat) else {
            return false;
        };
        let deadline = event.at.plus(check.within);
        let target = Target {
            workspace: event.workspace,
            platform: event.platform,
            chat: &event.chat,
            now,
        };
        let prefix = check_key(&event.chat, &event.key);
        let minutes = check.within.num_minutes().max(1).to_string();
        let text = check.prompt.render(|var, text| match var {
            Var::Name => text.push_str(name),
            Var::Group => text.push_str(&chat.group.name),
            Var::Question => text.push_str(&question.ask),
            Var::Minutes => text.push_str(&minutes),
            _ => {}
        });
        let ask = ActionKind::SendMessage {
            text,
            html: None,
            mentions: vec![member.to_string()],
            reply_to: None,
        };
        let mut audit = target.audit(RULE, format!("ask ({})", check.name));
        audit.member = Some(member.to_string());
        audit.display_name = Some(name.to_string());
        audit.event_key = Some(event.key.clone());
        audit.matched = Some(question.ask.clone());
        out.push(Decision {
            action: Some(target.action(
                format!("{prefix}:ask"),
                ask,
                RULE,
                Some(&event.key),
                false,
            )),
            audit: audit.clone(),
            dry_run: false,
        });
        let mut expire = target.action(
            format!("{prefix}{EXPIRE_SUFFIX}"),
            ActionKind::Kick {
                member: member.to_string(),
                reason: check.reason.clone(),
            },
            RULE,
            Some(&event.key),
            false,
        );
        expire.not_before = deadline.max(now);
        audit.summary = format!("kick at {} unless answered", deadline.to_rfc3339());
        out.push(Decision {
            action: Some(expire),
            audit,
            dry_run: false,
        });
        chat.members.entry(member.to_string()).or_default().check = Some(PendingCheck {
            join_key: event.key.clone(),
            question: index,
            deadline,
        });
        true
    }

    /// A message from a member: if they are being checked, it is their answer (redacted either
    /// way) and nothing else looks at it. Returns whether it was taken.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn answer_check(
        &mut self,
        event: &Event,
        profile: &Arc<Profile>,
        member: &str,
        message_id: &str,
        text: &str,
        who: &MemberFacts,
        now: DateTime<Utc>,
        out: &mut Vec<Decision>,
    ) -> bool {
        let Some(chat) = self.chats.get_mut(&event.chat) else {
            return false;
        };
        let Some(state) = chat.members.get_mut(member) else {
            return false;
        };
        let Some(pending) = state.check.clone() else {
            return false;
        };
        let Some(check) = &profile.human_check else {
            // The rules changed and this group no longer checks: let them be.
            state.check = None;
            return false;
        };
        // Without a known name, the id without Matrix's sigil, or a mention would read `@@id`.
        let name = who
            .display_name
            .as_deref()
            .unwrap_or(member.trim_start_matches('@'));
        let target = Target {
            workspace: event.workspace,
            platform: event.platform,
            chat: &event.chat,
            now,
        };
        let prefix = check_key(&event.chat, &pending.join_key);
        let mut audit = target.audit(RULE, "redact (held)");
        audit.member = Some(member.to_string());
        audit.display_name = Some(name.to_string());
        audit.event_key = Some(event.key.clone());
        audit.message_id = Some(message_id.to_string());
        audit.excerpt = Some(excerpt(text));
        out.push(Decision {
            action: Some(target.action(
                format!("{prefix}:{message_id}:held"),
                ActionKind::Redact {
                    message_id: message_id.to_string(),
                    reason: check.name.clone(),
                },
                RULE,
                Some(&event.key),
                false,
            )),
            audit: audit.clone(),
            dry_run: false,
        });
        if event.at > pending.deadline {
            // Too late: the scheduled removal decides.
            return true;
        }
        state.check = None;
        let right = check
            .questions
            .get(pending.question)
            .is_some_and(|question| question.answers.contains(&normalize(text)));
        if right {
            let group = chat.group.name.clone();
            let note = check.passed.render(|var, out| match var {
                Var::Name => out.push_str(name),
                Var::Group => out.push_str(&group),
                _ => {}
            });
            audit.summary = "pass".into();
            out.push(Decision {
                action: Some(target.action(
                    format!("{prefix}{PASS_SUFFIX}"),
                    ActionKind::SendMessage {
                        text: note,
                        html: None,
                        mentions: vec![member.to_string()],
                        reply_to: None,
                    },
                    RULE,
                    Some(&event.key),
                    false,
                )),
                audit,
                dry_run: false,
            });
        } else {
            audit.summary = "kick (wrong answer)".into();
            out.push(Decision {
                action: Some(target.action(
                    format!("{prefix}{WRONG_SUFFIX}"),
                    ActionKind::Kick {
                        member: member.to_string(),
                        reason: check.wrong_reason.clone(),
                    },
                    RULE,
                    Some(&event.key),
                    false,
                )),
                audit,
                dry_run: false,
            });
        }
        true
    }
}
