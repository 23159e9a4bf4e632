//! API for rule files and SOP plans: the TOML source, its checks, calendars and templates.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, TimeZone};
use qunzhu_domain::{DocumentKind, GroupId};
use qunzhu_storage::Document;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{no_content, Api, Body, Params};
use crate::error::{ApiError, ApiResult};
use crate::Ctx;
use qunzhu_ops::check as validate;
use qunzhu_ops::{CalendarEntry, EditableKind};

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/rules", get(list_rules))
        .route("/rules/validate", post(validate_rules))
        .route(
            "/rules/{name}",
            get(get_rules).put(put_rules).delete(delete_rules),
        )
        .route("/plans", get(list_plans))
        .route("/plans/validate", post(validate_plan))
        .route(
            "/plans/{name}",
            get(get_plan).put(put_plan).delete(delete_plan),
        )
        .route("/plans/{name}/calendar", get(plan_calendar))
        .route("/calendar", get(workspace_calendar))
        .route("/templates", get(list_templates))
        .route("/templates/{id}/apply", post(apply_template))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    #[serde(default)]
    name: Option<String>,
    source: String,
}

#[derive(Serialize)]
struct Validation {
    valid: bool,
    problems: Vec<validate::Problem>,
}

async fn list(
    ctx: &Ctx,
    who: &crate::Principal,
    kind: DocumentKind,
) -> ApiResult<Json<Vec<Document>>> {
    Ok(Json(ctx.app.store.documents(who.workspace, kind).await?))
}

async fn list_rules(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<Document>>> {
    list(&ctx, &who, DocumentKind::Rules).await
}

async fn list_plans(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<Vec<Document>>> {
    list(&ctx, &who, DocumentKind::SopPlan).await
}

async fn get_rules(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Json<Document>> {
    Ok(Json(
        ctx.app
            .store
            .document(who.workspace, DocumentKind::Rules, &name)
            .await?,
    ))
}

async fn get_plan(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Json<Document>> {
    Ok(Json(
        ctx.app
            .store
            .document(who.workspace, DocumentKind::SopPlan, &name)
            .await?,
    ))
}

/// A saved rule file and, per group, the steps it asks for that the bot's stored powers there
/// do not allow (empty when it may take them all).
#[derive(Serialize)]
struct SavedRules {
    #[serde(flatten)]
    document: Document,
    power_warnings: Vec<qunzhu_ops::powers::GroupPowerWarnings>,
}

async fn put_rules(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
    Body(body): Body<Source>,
) -> ApiResult<Json<SavedRules>> {
    let ops = ctx.ops();
    let actor = who.actor();
    let document = ops
        .save_document(&actor, EditableKind::Rules, &name, &body.source)
        .await?;
    let power_warnings = ops
        .power_warnings_for_source(&actor, &name, &document.source)
        .await?;
    Ok(Json(SavedRules {
        document,
        power_warnings,
    }))
}

async fn put_plan(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
    Body(body): Body<Source>,
) -> ApiResult<Json<Document>> {
    Ok(Json(
        ctx.ops()
            .save_document(&who.actor(), EditableKind::SopPlan, &name, &body.source)
            .await?,
    ))
}

async fn delete_rules(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    ctx.ops()
        .delete_document(&who.actor(), EditableKind::Rules, &name)
        .await?;
    Ok(no_content())
}

async fn delete_plan(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    ctx.ops()
        .delete_document(&who.actor(), EditableKind::SopPlan, &name)
        .await?;
    Ok(no_content())
}

fn validation(result: Result<(), Vec<validate::Problem>>) -> Json<Validation> {
    match result {
        Ok(()) => Json(Validation {
            valid: true,
            problems: Vec::new(),
        }),
        Err(problems) => Json(Validation {
            valid: false,
            problems,
        }),
    }
}

async fn validate_rules(
    Api(_who): Api,
    Body(body): Body<ValidateBody>,
) -> ApiResult<Json<Validation>> {
    let name = body.name.as_deref().unwrap_or("rules");
    let result = validate::check_off_thread(EditableKind::Rules, name, &body.source).await?;
    Ok(validation(result))
}

async fn validate_plan(
    Api(_who): Api,
    Body(body): Body<ValidateBody>,
) -> ApiResult<Json<Validation>> {
    let name = body.name.as_deref().unwrap_or("plan");
    let result = validate::check_off_thread(EditableKind::SopPlan, name, &body.source).await?;
    Ok(validation(result))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct CalendarQuery {
    /// First local day; today when absent.
    from: Option<NaiveDate>,
    days: Option<u32>,
    group_id: Option<GroupId>,
}

async fn calendar_for(
    ctx: &Ctx,
    who: &crate::Principal,
    plan: Option<&str>,
    q: CalendarQuery,
) -> ApiResult<Json<Vec<CalendarEntry>>> {
    let days = q.days.unwrap_or(7);
    if !(1..=62).contains(&days) {
        return Err(ApiError::invalid("days", "between 1 and 62"));
    }
    let workspace = ctx.app.store.workspace(who.workspace).await?;
    let zone = workspace.time_zone;
    let now = ctx.app.clock.now();
    let from = match q
        .from
        .map(|day| ApiError::check_day("from", day))
        .transpose()?
    {
        Some(day) => zone
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or(now, |at| at.to_utc()),
        None => now,
    };
    let chat = match q.group_id {
        Some(id) => Some(ctx.app.store.group(who.workspace, id).await?.chat),
        None => None,
    };
    Ok(Json(
        ctx.ops()
            .calendar(&who.actor(), plan, chat.as_deref(), from, days)
            .await?,
    ))
}

async fn plan_calendar(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(name): Path<String>,
    Params(q): Params<CalendarQuery>,
) -> ApiResult<Json<Vec<CalendarEntry>>> {
    calendar_for(&ctx, &who, Some(&name), q).await
}

async fn workspace_calendar(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<CalendarQuery>,
) -> ApiResult<Json<Vec<CalendarEntry>>> {
    calendar_for(&ctx, &who, None, q).await
}

async fn list_templates(Api(_who): Api) -> Json<serde_json::Value> {
    let list: Vec<serde_json::Value> = qunzhu_sop::templates()
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "name_zh": t.name_zh,
                "name_en": t.name_en,
                "description": t.description,
                "group_type": t.group_type,
            })
        })
        .collect();
    Json(json!(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Apply {
    groups: Vec<GroupId>,
    #[serde(default)]
    name: Option<String>,
}

async fn apply_template(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(id): Path<String>,
    Body(body): Body<Apply>,
) -> ApiResult<Json<Document>> {
    Ok(Json(
        ctx.ops()
            .apply_template(&who.actor(), &id, &body.groups, body.name.as_deref())
            .await?,
    ))
}
