//! API for the growth plays 拼 砍 帮 送: play documents (list with their check, save) and the
//! runs (teams, bargains, assists) with their state; every change goes through `qunzhu-ops`.

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use qunzhu_growth::run::Run;
use qunzhu_ops::PlayView;
use qunzhu_storage::Document;
use serde::Deserialize;

use super::{Api, Body, Params};
use crate::error::ApiResult;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/plays", get(list))
        .route("/plays/{name}", put(save))
        .route("/play-runs", get(runs))
}

async fn list(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<PlayView>>> {
    Ok(Json(ctx.ops().plays(&who.actor()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: String,
}

async fn save(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
    Body(body): Body<Source>,
) -> ApiResult<Json<Document>> {
    Ok(Json(
        ctx.ops()
            .save_play(&who.actor(), &name, &body.source)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunQuery {
    play: Option<String>,
    state: Option<String>,
    limit: Option<usize>,
}

async fn runs(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<RunQuery>,
) -> ApiResult<Json<Vec<Run>>> {
    Ok(Json(
        ctx.ops()
            .play_runs(&who.actor(), q.play.as_deref(), q.state.as_deref(), q.limit)
            .await?,
    ))
}
