//! API for invite attribution: who a member brought, counts per inviter, personal invite codes.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use qunzhu_domain::InviteCode;
use qunzhu_storage::{Invite, InviteCount, InviteFilter};
use serde::Deserialize;

use super::community::parse_platform;
use super::{Api, Body, Params};
use crate::error::ApiResult;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/invites/counts", get(counts))
        .route("/invites/members/{platform}/{user}", get(member_invites))
        .route("/invites/members/{platform}/{user}/code", post(create_code))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct CountQuery {
    chat: Option<String>,
    campaign: Option<String>,
    limit: Option<usize>,
}

async fn counts(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Params(q): Params<CountQuery>,
) -> ApiResult<Json<Vec<InviteCount>>> {
    let filter = InviteFilter {
        chat: q.chat.filter(|chat| !chat.is_empty()),
        campaign: q.campaign.filter(|campaign| !campaign.is_empty()),
    };
    Ok(Json(
        ctx.ops()
            .invite_counts(&who.actor(), &filter, q.limit.unwrap_or(50))
            .await?,
    ))
}

async fn member_invites(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path((platform, user)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Invite>>> {
    let platform = parse_platform(&platform)?;
    Ok(Json(
        ctx.ops()
            .member_invites(&who.actor(), platform, &user)
            .await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct NewCode {
    campaign: Option<String>,
}

async fn create_code(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path((platform, user)): Path<(String, String)>,
    Body(body): Body<NewCode>,
) -> ApiResult<Json<InviteCode>> {
    let platform = parse_platform(&platform)?;
    Ok(Json(
        ctx.ops()
            .create_invite_code(&who.actor(), platform, &user, body.campaign)
            .await?,
    ))
}
