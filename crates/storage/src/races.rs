//! Leaderboard races 比 in storage: one row per race (named by its `race` document), with each
//! member's metric when it opened (the baseline, read from the read models, never the log),
//! its state, and the settlement once recorded.
//!
//! Opening and settling are both written compare-and-set: a second instance opening the same
//! race gets the baseline already stored, and a second settlement records nothing and answers
//! the awards the first one recorded, so the prizes granted from them are granted once.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_growth::race::Award;
use serde::{Deserialize, Serialize};

use crate::Result;

/// Where a stored race stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaceState {
    /// Opened with its baseline; the board is posted live.
    Open,
    /// The awards are recorded; the result posts and prizes are being written.
    Settled,
    /// The result posts and prizes are in the outbox.
    Paid,
}

impl RaceState {
    pub fn as_str(self) -> &'static str {
        match self {
            RaceState::Open => "open",
            RaceState::Settled => "settled",
            RaceState::Paid => "paid",
        }
    }

    pub fn parse(text: &str) -> Option<RaceState> {
        [RaceState::Open, RaceState::Settled, RaceState::Paid]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// A race about to be opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRace {
    pub name: String,
    pub platform: Platform,
    /// The metric's name (`invites`, `check_ins`, `points`) the baseline was read for.
    pub metric: String,
    pub opened_at: DateTime<Utc>,
    /// Each member's metric at the opening.
    pub baseline: BTreeMap<String, i64>,
}

/// A stored race.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredRace {
    pub name: String,
    pub platform: Platform,
    pub metric: String,
    pub opened_at: DateTime<Utc>,
    #[serde(skip)]
    pub baseline: BTreeMap<String, i64>,
    pub state: RaceState,
    pub settled_at: Option<DateTime<Utc>>,
    /// The awards the settlement recorded (empty until settled).
    pub awards: Vec<Award>,
}

#[async_trait]
pub trait RaceStore: Send + Sync {
    /// Opens a race once per name: answers the stored race and whether this call stored it (a
    /// race already open keeps the baseline it was opened with).
    async fn open_race(&self, workspace: WorkspaceId, race: NewRace) -> Result<(StoredRace, bool)>;

    /// `None` until the race was opened.
    async fn race(&self, workspace: WorkspaceId, name: &str) -> Result<Option<StoredRace>>;

    /// The workspace's races, by name.
    async fn races(&self, workspace: WorkspaceId) -> Result<Vec<StoredRace>>;

    /// Records the settlement unless one is recorded (`open` → `settled`); answers the race as
    /// stored and whether this call's awards are the ones recorded. `NotFound` for a race never
    /// opened.
    async fn settle_race(
        &self,
        workspace: WorkspaceId,
        name: &str,
        at: DateTime<Utc>,
        awards: Vec<Award>,
    ) -> Result<(StoredRace, bool)>;

    /// Marks a settled race `paid` once its result posts and prizes are in the outbox; answers
    /// whether this call moved it.
    async fn mark_race_paid(&self, workspace: WorkspaceId, name: &str) -> Result<bool>;
}
