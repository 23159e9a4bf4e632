//! API for landing pages (H5): page documents with their per-channel counters, leads (masked),
//! the owners' CSV export, and deleting a lead or every lead of a phone; all through `qunzhu-ops`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use qunzhu_ops::{LandingView, LeadView, PhoneVault};
use qunzhu_storage::Document;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{no_content, Api, Body};
use crate::error::{ApiError, ApiResult};
use crate::{Ctx, ErrorCode};

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/landing-pages", get(list))
        .route("/landing-pages/validate", post(validate))
        .route("/landing-pages/{name}", get(one).put(save).delete(remove))
        .route("/landing-pages/{name}/leads", get(leads))
        .route("/landing-pages/{name}/leads.csv", get(export))
        .route("/landing-leads/forget", post(forget))
        .route("/landing-leads/{lead}", delete(delete_lead))
}

fn vault(ctx: &Ctx) -> ApiResult<Arc<PhoneVault>> {
    ctx.phone_vault
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this process has no phone key"))
}

async fn list(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<LandingView>>> {
    Ok(Json(ctx.ops().landing_pages(&who.actor()).await?))
}

async fn one(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Json<LandingView>> {
    Ok(Json(ctx.ops().landing_page(&who.actor(), &name).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    name: String,
    source: String,
}

async fn validate(Api(_who): Api, Body(body): Body<Check>) -> ApiResult<Json<Value>> {
    let page = qunzhu_ops::landing::check_landing(&body.name, &body.source)?;
    Ok(Json(json!({ "ok": true, "page": page })))
}

async fn save(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
    Body(body): Body<Source>,
) -> ApiResult<Json<Document>> {
    Ok(Json(
        ctx.ops()
            .save_landing(&who.actor(), &name, &body.source)
            .await?,
    ))
}

async fn remove(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    ctx.ops().delete_landing(&who.actor(), &name).await?;
    Ok(no_content())
}

async fn leads(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<LeadView>>> {
    let vault = vault(&ctx)?;
    Ok(Json(
        ctx.ops().landing_leads(&who.actor(), &vault, &name).await?,
    ))
}

async fn export(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let vault = vault(&ctx)?;
    let csv = ctx
        .ops()
        .export_landing_leads(&who.actor(), &vault, &name)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response())
}

async fn delete_lead(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(lead): Path<String>,
) -> ApiResult<Response> {
    let id: i64 = lead
        .parse()
        .map_err(|_| ApiError::invalid("lead", "a lead id is a number"))?;
    ctx.ops().delete_landing_lead(&who.actor(), id).await?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Forget {
    phone: String,
}

async fn forget(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<Forget>,
) -> ApiResult<Json<Value>> {
    let vault = vault(&ctx)?;
    let deleted = ctx
        .ops()
        .forget_landing_phone(&who.actor(), &vault, &body.phone)
        .await?;
    Ok(Json(json!({ "deleted": deleted })))
}
