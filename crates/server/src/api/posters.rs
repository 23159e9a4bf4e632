//! API for the poster template (海报): read it, save it (refused with `source:LINE:COL` when a
//! text does not fit), and draw a preview with the same renderer as members' posters.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use qunzhu_ops::posters::PosterView;
use qunzhu_storage::Document;
use serde::Deserialize;

use super::{Api, Body};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/poster", get(show).put(save))
        .route("/poster/preview", post(preview))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: String,
}

/// The font, or the answer saying which package to install.
pub fn font(ctx: &Ctx) -> ApiResult<std::sync::Arc<qunzhu_poster::Font>> {
    ctx.posters.font().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("posters are unavailable: {}", qunzhu_poster::FONT_HINT),
        )
    })
}

async fn show(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<PosterView>> {
    Ok(Json(ctx.ops().poster_view(&who.actor()).await?))
}

async fn save(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<Source>,
) -> ApiResult<Json<Document>> {
    let actor = who.actor();
    actor.require(qunzhu_storage::UserRole::Operator)?;
    Ok(Json(
        ctx.ops()
            .save_poster_template(&actor, &body.source, font(&ctx)?)
            .await?,
    ))
}

async fn preview(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<Source>,
) -> ApiResult<Response> {
    let png = ctx
        .ops()
        .poster_preview(&who.actor(), &body.source, font(&ctx)?)
        .await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}
