//! API for leaderboard races 比: the workspace's races with where each stands, one race with
//! its live standings and recorded winners, and saving a race's document; all through
//! `qunzhu-ops`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use qunzhu_ops::RaceView;
use qunzhu_storage::Document;
use serde::{Deserialize, Serialize};

use super::{Api, Body};
use crate::error::ApiResult;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/races", get(list))
        .route("/races/{name}", get(one).put(save))
}

#[derive(Serialize)]
struct Listing {
    races: Vec<RaceView>,
}

async fn list(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Listing>> {
    Ok(Json(Listing {
        races: ctx.ops().races(&who.actor()).await?,
    }))
}

async fn one(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Json<RaceView>> {
    Ok(Json(ctx.ops().race(&who.actor(), &name).await?))
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
            .save_race(&who.actor(), &name, &body.source)
            .await?,
    ))
}
