//! qunzhu's SOP engine core: what each group gets posted and when, with no IO at all.
//!
//! An operator's plan (TOML or JSON, or a shipped template) is parsed and checked with precise
//! diagnostics; `materialize` turns it into dated occurrences with stable idempotency keys that
//! the engine writes to the outbox; `spread`, `classify` and `rewrite_links` shape each send;
//! `CheckinBook` keeps the daily check-in streaks. Time always arrives as an argument.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod bench;
pub mod checkin;
pub mod export;
pub mod grace;
pub mod links;
pub mod materialize;
pub mod parse;
pub mod plan;
pub mod preview;
pub mod render;
pub mod schedule;
pub mod spread;
pub mod templates;

pub use bench::{bench_plan_day, BenchReport};
pub use checkin::{
    format_leaders, live_streak, CheckinBook, CheckinConfig, CheckinEvent, CheckinReward,
    LeaderboardRow, MemberStreak,
};
pub use export::plan_to_toml;
pub use grace::{classify, SkipReason, Timeliness};
pub use links::{link_code, rewrite_links};
pub use materialize::{
    materialize, occurrence_key, replan, Delivery, GroupFacts, Occurrence, Replan,
};
pub use parse::{parse_plan, parse_plan_in, Diagnostic};
pub use plan::{
    ActiveWindow, Activity, Anchor, Content, MonthDay, Plan, PollOption, Step, Target, TimeRule,
    DEFAULT_GRACE, DEFAULT_TIMEZONE,
};
pub use preview::{preview, render_calendar_text, PreviewRow};
pub use render::{has_live_variables, render_live, CompiledText, LiveFacts, RenderContext};
pub use schedule::resolve_local;
pub use spread::{spread, PlannedSend};
pub use templates::{template, templates, Template};
