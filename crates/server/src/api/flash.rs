//! API for flash groups 快闪群: the workspace's flash plans with where each group stands, and
//! saving a plan's document; all through `qunzhu-ops`.

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use qunzhu_ops::FlashView;
use qunzhu_storage::Document;
use serde::{Deserialize, Serialize};

use super::{Api, Body};
use crate::error::ApiResult;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/flash-groups", get(list))
        .route("/flash-groups/{name}", put(save))
}

#[derive(Serialize)]
struct Listing {
    flash_groups: Vec<FlashView>,
}

async fn list(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Listing>> {
    Ok(Json(Listing {
        flash_groups: ctx.ops().flash_groups(&who.actor()).await?,
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
    Path(name): Path<String>,
    Body(body): Body<Source>,
) -> ApiResult<Json<Document>> {
    Ok(Json(
        ctx.ops()
            .save_flash(&who.actor(), &name, &body.source)
            .await?,
    ))
}
