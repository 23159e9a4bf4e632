//! The growth plays 拼 砍 帮 送 as operators run them: save a play document (checked, problems
//! located by line, column and field), list the plays with their check, and list the runs
//! (teams, bargains, assists) with their state for the console and the API.

use qunzhu_domain::DocumentKind;
use qunzhu_growth::play::{parse_play, Play, RunState};
use qunzhu_growth::run::Run;
use qunzhu_storage::{Document, RunFilter, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::check::{check_name, Problem};
use crate::{Actor, Ops, OpsError, Result};

/// A play as the console and API list it.
#[derive(Debug, Clone, Serialize)]
pub struct PlayView {
    pub document: Document,
    /// `None` when the stored source no longer passes its check (shown with `problems`).
    pub play: Option<Play>,
    pub problems: Vec<String>,
}

/// The most runs one listing returns.
pub const MAX_RUNS: usize = 500;

fn problems(errors: Vec<qunzhu_growth::play::PlayError>) -> OpsError {
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
    /// Checks and saves a play; the play consumer answers its commands from its next round.
    pub async fn save_play(&self, who: &Actor, name: &str, source: &str) -> Result<Document> {
        who.require(UserRole::Operator)?;
        check_name(name).map_err(|message| OpsError::invalid("name", message))?;
        crate::limits::bounded("source", source, 100_000)?;
        parse_play(name, source).map_err(problems)?;
        let saved = self
            .store
            .put_document(
                who.workspace,
                DocumentKind::Play,
                name,
                source,
                &who.name.to_string(),
                self.clock.now(),
            )
            .await?;
        self.audit(who, "play.save", name, json!({ "version": saved.version }))
            .await?;
        Ok(saved)
    }

    /// Every play document with its check.
    pub async fn plays(&self, who: &Actor) -> Result<Vec<PlayView>> {
        who.require(UserRole::Viewer)?;
        let documents = self
            .store
            .documents(who.workspace, DocumentKind::Play)
            .await?;
        Ok(documents
            .into_iter()
            .map(
                |document| match parse_play(&document.name, &document.source) {
                    Ok(play) => PlayView {
                        document,
                        play: Some(play),
                        problems: Vec::new(),
                    },
                    Err(errors) => PlayView {
                        document,
                        play: None,
                        problems: errors.iter().map(ToString::to_string).collect(),
                    },
                },
            )
            .collect())
    }

    /// Runs, newest first; `state` is `open`, `done` or `failed`.
    pub async fn play_runs(
        &self,
        who: &Actor,
        play: Option<&str>,
        state: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Run>> {
        who.require(UserRole::Viewer)?;
        let state = match state.filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(RunState::parse(text).ok_or_else(|| {
                OpsError::invalid(
                    "state",
                    format!("`{text}` is not one of open, done, failed"),
                )
            })?),
        };
        let limit = limit.unwrap_or(100);
        if limit == 0 || limit > MAX_RUNS {
            return Err(OpsError::invalid(
                "limit",
                format!("must be 1 to {MAX_RUNS}, got {limit}"),
            ));
        }
        let filter = RunFilter {
            play: play.filter(|p| !p.is_empty()).map(str::to_string),
            state,
        };
        Ok(self.store.runs(who.workspace, &filter, limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use qunzhu_domain::FakeClock;
    use qunzhu_storage::{NewWorkspace, Store};

    use super::*;

    const TEAM: &str = "kind = \"group_buy\"\ntitle = \"拼\"\nplatform = \"matrix\"\ngroups = [\"!g:hs\"]\nstarts = \"2026-12-01T00:00:00Z\"\nends = \"2026-12-31T00:00:00Z\"\n\n[group_buy]\nitem = \"豆\"\nteam_size = 3\nhours = 24\nprice_cents = 9900\nteam_price_cents = 5900\n";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn plays_are_checked_saved_listed_and_guarded_by_role() {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
        let ws = store
            .ensure_workspace(NewWorkspace {
                slug: "a".into(),
                name: "a".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        let clock = FakeClock::new(Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap());
        let ops = Ops::new(store, Arc::new(clock));
        let who = |role| Actor {
            workspace: ws,
            name: qunzhu_domain::ActorName::User("ops".into()),
            role,
        };
        let operator = who(UserRole::Operator);
        let Err(OpsError::Problems(found)) = ops
            .save_play(
                &operator,
                "beans",
                &TEAM.replace("team_size = 3", "team_size = 1"),
            )
            .await
        else {
            panic!("a team of one is refused");
        };
        assert_eq!(
            (found[0].line, found[0].path.as_deref()),
            (Some(10), Some("group_buy.team_size"))
        );
        assert!(matches!(
            ops.save_play(&who(UserRole::Viewer), "beans", TEAM).await,
            Err(OpsError::Forbidden { .. })
        ));
        ops.save_play(&operator, "beans", TEAM).await.unwrap();
        let listed = ops.plays(&who(UserRole::Viewer)).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].play.is_some() && listed[0].problems.is_empty());
        assert!(ops
            .play_runs(&operator, None, Some("open"), None)
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            ops.play_runs(&operator, None, Some("running"), None).await,
            Err(OpsError::Invalid { .. })
        ));
        assert!(matches!(
            ops.play_runs(&operator, None, None, Some(0)).await,
            Err(OpsError::Invalid { .. })
        ));
    }
}
