//! Leaderboard races 比 as operators run them: save a race document (checked, problems located
//! by line, column and field), list the races with where each stands, and view one with its
//! standings — read from the race row and the read models the way the engine's keeper reads
//! them (`qunzhu_engine::races`), so the console shows the board the group sees.

use chrono::{DateTime, Utc};
use qunzhu_domain::{DocumentKind, Platform};
use qunzhu_engine::races::{phase, standings, RacePhase};
use qunzhu_growth::leaderboard::{Board, Ranked};
use qunzhu_growth::race::{Award, RankPrize};
use qunzhu_growth::race_doc::{parse_race, RaceDocError};
use qunzhu_storage::{Document, StoreError, StoredRace, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::{Actor, Ops, OpsError, Problem, Result};

/// A race as the console and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct RaceView {
    pub name: String,
    pub version: i64,
    /// `None` when the stored source no longer passes its check (see `problems`).
    pub title: Option<String>,
    pub platform: Option<Platform>,
    pub groups: Vec<String>,
    pub metric: Option<Board>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub post_every_minutes: Option<u32>,
    pub phase: Option<RacePhase>,
    pub opened_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
    pub prizes: Vec<RankPrize>,
    /// The live board since the opening (only in one race's view, while it runs or ends).
    pub standings: Vec<Ranked>,
    /// The winners the settlement recorded.
    pub awards: Vec<Award>,
    pub problems: Vec<String>,
    /// The document's source, for the editor (only in one race's view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

fn problems(errors: Vec<RaceDocError>) -> OpsError {
    OpsError::Problems(
        errors
            .into_iter()
            .map(|error| Problem {
                line: Some(error.line),
                column: Some(error.col),
                path: Some(error.field.clone()),
                message: format!("{}: {}", error.field, error.message),
            })
            .collect(),
    )
}

impl Ops {
    /// Checks and saves a race; the keeper takes it up in its next round. A race already open
    /// keeps its platform and metric: its baseline was read for them.
    pub async fn save_race(&self, who: &Actor, name: &str, source: &str) -> Result<Document> {
        who.require(UserRole::Operator)?;
        crate::limits::bounded("source", source, 100_000)?;
        let tz = self.store.workspace(who.workspace).await?.time_zone;
        let doc = parse_race(name, source, tz).map_err(problems)?;
        if let Some(stored) = self.store.race(who.workspace, name).await? {
            if stored.metric != doc.spec.metric.as_str() || stored.platform != doc.platform {
                return Err(OpsError::Problems(vec![Problem {
                    line: None,
                    column: None,
                    path: Some("metric".into()),
                    message: format!(
                        "metric: the race opened counting {} on {}; a running or finished race keeps them (save a new race instead)",
                        stored.metric,
                        stored.platform.as_str()
                    ),
                }]));
            }
        }
        let saved = self
            .store
            .put_document(
                who.workspace,
                DocumentKind::Race,
                name,
                source,
                &who.name.to_string(),
                self.clock.now(),
            )
            .await?;
        self.audit(who, "race.save", name, json!({ "version": saved.version }))
            .await?;
        Ok(saved)
    }

    /// Every race with where it stands (no standings: see [`Ops::race`]).
    pub async fn races(&self, who: &Actor) -> Result<Vec<RaceView>> {
        who.require(UserRole::Viewer)?;
        let stored = self.store.races(who.workspace).await?;
        let mut views = Vec::new();
        for document in self
            .store
            .documents(who.workspace, DocumentKind::Race)
            .await?
        {
            let row = stored.iter().find(|race| race.name == document.name);
            views.push(self.race_view(who, document, row, false).await?);
        }
        Ok(views)
    }

    /// One race with its live standings, the recorded winners and its source.
    pub async fn race(&self, who: &Actor, name: &str) -> Result<RaceView> {
        who.require(UserRole::Viewer)?;
        let document = self
            .store
            .document(who.workspace, DocumentKind::Race, name)
            .await
            .map_err(|error| match error {
                StoreError::NotFound { .. } => OpsError::NotFound("race"),
                other => other.into(),
            })?;
        let stored = self.store.race(who.workspace, name).await?;
        self.race_view(who, document, stored.as_ref(), true).await
    }

    async fn race_view(
        &self,
        who: &Actor,
        document: Document,
        stored: Option<&StoredRace>,
        detail: bool,
    ) -> Result<RaceView> {
        let tz = self.store.workspace(who.workspace).await?.time_zone;
        let now = self.clock.now();
        let source = detail.then(|| document.source.clone());
        let mut view = RaceView {
            name: document.name.clone(),
            version: document.version,
            title: None,
            platform: None,
            groups: Vec::new(),
            metric: None,
            opens_at: None,
            closes_at: None,
            post_every_minutes: None,
            phase: None,
            opened_at: stored.map(|race| race.opened_at),
            settled_at: stored.and_then(|race| race.settled_at),
            prizes: Vec::new(),
            standings: Vec::new(),
            awards: stored.map(|race| race.awards.clone()).unwrap_or_default(),
            problems: Vec::new(),
            source,
        };
        match parse_race(&document.name, &document.source, tz) {
            Ok(doc) => {
                let at = phase(&doc, stored, now);
                if let (true, Some(stored), RacePhase::Running | RacePhase::Ending) =
                    (detail, stored, at)
                {
                    let shown = usize::try_from(doc.spec.shown).unwrap_or(10);
                    view.standings =
                        standings(&*self.store, who.workspace, &doc, stored, now, shown).await?;
                }
                view.title = Some(doc.spec.title.clone());
                view.platform = Some(doc.platform);
                view.groups = doc.groups.clone();
                view.metric = Some(doc.spec.metric);
                view.opens_at = Some(doc.spec.starts_at);
                view.closes_at = Some(doc.spec.ends_at);
                view.post_every_minutes = Some(doc.spec.post_every_minutes);
                view.phase = Some(at);
                view.prizes = doc.spec.prizes;
            }
            Err(errors) => {
                view.problems = errors.iter().map(ToString::to_string).collect();
            }
        }
        Ok(view)
    }
}
