//! Flash groups 快闪群 as operators run them: save a flash plan (checked, problems located by
//! line, column and field) and list the plans with where each group stands — read from the
//! outbox and the directory the way the engine's keeper reads them, so the list and the keeper
//! never disagree.

use chrono::{DateTime, Utc};
use qunzhu_domain::{DocumentKind, Platform};
use qunzhu_engine::flash::flash_facts;
use qunzhu_growth::flash::{chat_of, parse_flash, stage_of, End, FlashError, Stage};
use qunzhu_storage::{Document, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::{Actor, Ops, OpsError, Problem, Result};

/// A flash plan as the console and API list it.
#[derive(Debug, Clone, Serialize)]
pub struct FlashView {
    pub name: String,
    pub version: i64,
    /// `None` when the stored source no longer passes its check (see `problems`).
    pub title: Option<String>,
    pub platform: Option<Platform>,
    pub stage: Option<Stage>,
    /// The group, once made (or as named in the plan).
    pub chat: Option<String>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    /// The brand's long-lived group offered at the close.
    pub link: Option<String>,
    /// Archived or dissolved at the end; for a dissolve, when the members are removed.
    pub end: Option<End>,
    pub dissolves_at: Option<DateTime<Utc>>,
    pub problems: Vec<String>,
}

fn problems(errors: Vec<FlashError>) -> OpsError {
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
    /// Checks and saves a flash plan; the keeper takes it up in its next round.
    pub async fn save_flash(&self, who: &Actor, name: &str, source: &str) -> Result<Document> {
        who.require(UserRole::Operator)?;
        crate::limits::bounded("source", source, 100_000)?;
        let tz = self.store.workspace(who.workspace).await?.time_zone;
        parse_flash(name, source, tz).map_err(problems)?;
        let saved = self
            .store
            .put_document(
                who.workspace,
                DocumentKind::Flash,
                name,
                source,
                &who.name.to_string(),
                self.clock.now(),
            )
            .await?;
        self.audit(who, "flash.save", name, json!({ "version": saved.version }))
            .await?;
        Ok(saved)
    }

    /// One saved flash plan's document (its source, version and author), for the editor.
    pub async fn flash_document(&self, who: &Actor, name: &str) -> Result<Document> {
        who.require(UserRole::Viewer)?;
        Ok(self
            .store
            .document(who.workspace, DocumentKind::Flash, name)
            .await?)
    }

    /// Every flash plan with its stage.
    pub async fn flash_groups(&self, who: &Actor) -> Result<Vec<FlashView>> {
        who.require(UserRole::Viewer)?;
        let tz = self.store.workspace(who.workspace).await?.time_zone;
        let now = self.clock.now();
        let mut views = Vec::new();
        for document in self
            .store
            .documents(who.workspace, DocumentKind::Flash)
            .await?
        {
            let view = match parse_flash(&document.name, &document.source, tz) {
                Ok(plan) => {
                    let facts = flash_facts(&*self.store, who.workspace, &plan).await?;
                    FlashView {
                        name: document.name,
                        version: document.version,
                        title: Some(plan.title.clone()),
                        platform: Some(plan.platform),
                        stage: Some(stage_of(&plan, &facts, now)),
                        chat: chat_of(&plan, &facts),
                        opens_at: Some(plan.opens_at),
                        closes_at: Some(plan.closes_at),
                        end: Some(plan.end),
                        dissolves_at: (plan.end == End::Dissolve).then(|| plan.dissolves_at()),
                        link: Some(plan.link),
                        problems: Vec::new(),
                    }
                }
                Err(errors) => FlashView {
                    name: document.name,
                    version: document.version,
                    title: None,
                    platform: None,
                    stage: None,
                    chat: None,
                    opens_at: None,
                    closes_at: None,
                    link: None,
                    end: None,
                    dissolves_at: None,
                    problems: errors.iter().map(ToString::to_string).collect(),
                },
            };
            views.push(view);
        }
        Ok(views)
    }
}
