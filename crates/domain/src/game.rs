//! Games an SOP step (or a command) starts in a group: what the plan says, carried by the
//! `StartGame` action from the planner to the engine's games decider.

use serde::{Deserialize, Serialize};

/// One quiz question; `correct` is the 0-based index of the right option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizQuestion {
    pub question: String,
    pub options: Vec<String>,
    pub correct: u32,
    pub explanation: Option<String>,
}

/// Which game a step starts, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "game", rename_all = "snake_case")]
pub enum GamePlan {
    /// 掷骰子: the highest first throw in the round wins.
    Dice,
    /// 答题闯关 with the step's own questions (never empty once a plan is accepted).
    Quiz { questions: Vec<QuizQuestion> },
}

impl GamePlan {
    pub fn name(&self) -> &'static str {
        match self {
            GamePlan::Dice => "dice",
            GamePlan::Quiz { .. } => "quiz",
        }
    }
}

/// A point drop (红包雨) an SOP step starts: the first `shares` members who answer `keyword`
/// within `minutes` get `points` each. Checked when the plan is read; the engine schedules it as
/// a drop keyed by the occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropPlan {
    pub keyword: String,
    pub shares: u32,
    /// Points per share.
    pub points: i64,
    pub minutes: u32,
}
