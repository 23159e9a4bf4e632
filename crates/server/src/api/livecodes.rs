//! API for live codes 活码: the workspace's codes with their groups' fill, scans and joins per
//! channel and the operator alerts, and saving a code's document; all through `qunzhu-ops`.

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use qunzhu_ops::{LiveCodeView, RoutedAlert};
use qunzhu_storage::LiveCodeRecord;
use serde::{Deserialize, Serialize};

use super::{Api, Body};
use crate::error::ApiResult;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/livecodes", get(list))
        .route("/livecodes/{code}", put(save))
}

#[derive(Serialize)]
struct Listing {
    codes: Vec<LiveCodeView>,
    alerts: Vec<RoutedAlert>,
}

async fn list(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Listing>> {
    let ops = ctx.ops();
    let who = who.actor();
    Ok(Json(Listing {
        codes: ops.livecodes(&who, &ctx.app.base_url).await?,
        alerts: ops.livecode_alerts(&who).await?,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: String,
}

async fn save(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(code): Path<String>,
    Body(body): Body<Source>,
) -> ApiResult<Json<LiveCodeRecord>> {
    Ok(Json(
        ctx.ops()
            .save_livecode(&who.actor(), &code, &body.source)
            .await?,
    ))
}
