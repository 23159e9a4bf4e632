//! Group guardianship as pure decisions: 群规, welcome ritual, nickname convention, moderation
//! ladder, join review 审核, lurker pruning and FAQ auto-reply.
//!
//! Nothing here does IO. The engine compiles a rule file with [`check`], feeds normalized events
//! and the current time to a [`Guardian`], calls [`Guardian::tick`] for timers, and writes each
//! returned [`Decision`]'s action to the durable outbox. Action keys are derived from their cause,
//! so deciding the same thing twice writes it once.
//!
//! Entry points:
//! - `check(source, file_name) -> Result<RuleSet, Vec<Diagnostic>>` (each prints `file:line:col: message`);
//! - `Guardian::new(Arc<RuleSet>)`, `on_event(&Event, &GroupFacts, &MemberFacts, now)`, `tick(now)`;
//! - `review_join(&ReviewPolicy, &JoinFacts) -> ReviewDecision`;
//! - `lurker_report(&LurkerPolicy, &[RosterEntry], now)` and `lurker_decisions(...)`;
//! - `undo::{unban, unmute}` for the API; `bench(messages)` for the benchmark.
//!
//! The rule file (see `examples/rules.toml`) has these sections: `[settings]`, `[keywords.NAME]`,
//! `[[rules]]` (kinds keywords, links, flood, repeat, mentions, name_pattern, newcomer_link, each
//! with `actions` or a `ladder`), `[group_rules.NAME]`, `[welcome.NAME]`, `[nickname.NAME]`,
//! `[[faq.NAME]]`, `[review.NAME]`, `[lurker.NAME]`, and `[profiles.NAME]` that bundle them and
//! claim groups by chat id, group type, or as the default.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod banlist;
pub mod bench;
pub mod capabilities;
pub mod check;
mod check_policies;
pub mod decision;
pub mod diagnostic;
pub mod duration;
mod faq;
mod file;
pub mod grouprules;
mod guardian;
pub mod human_check;
pub mod intro;
pub mod keywords;
pub mod language;
mod links;
pub mod lurker;
mod moderate;
mod nickname;
pub mod normalize;
pub mod powers;
pub mod preview;
pub mod raid;
pub mod review;
pub mod ruleset;
pub mod template;
pub mod unmute;
mod welcome;

pub use banlist::{BanHit, BanList, Compiled, Refusal};
pub use bench::{bench, BenchReport};
pub use capabilities::fit_to_platform;
pub use check::check;
pub use decision::{undo, AuditRecord, Decision, BOT_ACTOR};
pub use diagnostic::Diagnostic;
pub use grouprules::GroupRules;
pub use guardian::{GroupFacts, Guardian, MemberFacts, Memory, MemoryRef};
pub use language::Language;
pub use lurker::{lurker_decisions, lurker_report, LurkerEntry, RosterEntry};
pub use normalize::{normalize, normalize_into};
pub use preview::{preview, PreviewKind, PreviewPost};
pub use raid::RaidPolicy;
pub use review::{review_join, JoinFacts, ReviewDecision};
pub use ruleset::{
    FaqEntry, FaqSet, Gift, LurkerPolicy, Nickname, Profile, ReviewPolicy, Rule, RuleKind, RuleSet,
    Settings, Step, Verdict, Welcome,
};
pub use template::{Template, Var};
pub use unmute::{is_timed_unmute, timed_unmute};

#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod human_check_tests;
#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod moderate_tests;
#[cfg(test)]
mod policies_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod welcome_tests;
