//! The engine's state over the API: each connector's connection, last successful poll, backlog
//! of pending actions and last error (`GET /connectors`, any signed-in role).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionStatus, Platform, WorkspaceId};
use qunzhu_engine::health::{ConnectorState, Problem};
use qunzhu_storage::ActionFilter;
use serde::Serialize;

use super::Api;
use crate::error::ApiResult;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new().route("/connectors", get(connectors))
}

/// The most pending actions counted per answer; more reads as `backlog_capped`.
const BACKLOG_CAP: usize = 10_000;

/// One connector as operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorStatus {
    pub id: String,
    pub platform: Platform,
    pub state: ConnectorState,
    pub last_poll_ok: Option<DateTime<Utc>>,
    /// Pending actions of this platform in the workspace's outbox.
    pub backlog: usize,
    pub backlog_capped: bool,
    pub last_error: Option<Problem>,
}

/// Every connector this process runs, with the workspace's backlog per platform.
pub async fn statuses(ctx: &Ctx, workspace: WorkspaceId) -> ApiResult<Vec<ConnectorStatus>> {
    let filter = ActionFilter {
        status: Some(ActionStatus::Pending),
        limit: Some(BACKLOG_CAP + 1),
        ..ActionFilter::default()
    };
    let pending = ctx.app.store.actions(workspace, &filter).await?;
    let capped = pending.len() > BACKLOG_CAP;
    Ok(ctx
        .health
        .report()
        .connectors
        .into_iter()
        .map(|connector| {
            let backlog = pending
                .iter()
                .take(BACKLOG_CAP)
                .filter(|action| action.platform == connector.platform)
                .count();
            ConnectorStatus {
                id: connector.id,
                platform: connector.platform,
                state: connector.state,
                last_poll_ok: connector.last_poll_ok,
                backlog,
                backlog_capped: capped,
                last_error: connector.last_error,
            }
        })
        .collect())
}

async fn connectors(
    State(ctx): State<Ctx>,
    Api(who): Api,
) -> ApiResult<Json<Vec<ConnectorStatus>>> {
    Ok(Json(statuses(&ctx, who.workspace).await?))
}
