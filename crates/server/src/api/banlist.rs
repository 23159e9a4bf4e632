//! API for the brand-wide ban list 黑名单: read it with the followed lists' dry-runs, ban and
//! unban in every group, follow, enforce and drop Matrix policy lists.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use qunzhu_domain::{BanTarget, Platform, PolicyList};
use qunzhu_ops::banlist::{BanOverview, Banned, Unbanned};
use serde::Deserialize;

use super::{no_content, Api, Body};
use crate::error::ApiResult;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/banlist", get(overview))
        .route("/banlist/bans", post(ban))
        .route("/banlist/bans/remove", post(unban))
        .route("/banlist/lists", post(follow))
        .route("/banlist/lists/enforce", post(enforce))
        .route("/banlist/lists/remove", post(unfollow))
}

async fn overview(State(ctx): State<Ctx>, Api(who): Api) -> ApiResult<Json<BanOverview>> {
    Ok(Json(ctx.ops().ban_overview(&who.actor()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BanBody {
    platform: Platform,
    entity: String,
    reason: String,
    /// The entity is a server (`m.policy.rule.server`), not a member.
    #[serde(default)]
    server: bool,
}

async fn ban(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<BanBody>,
) -> ApiResult<Json<Banned>> {
    let target = if body.server {
        BanTarget::Server
    } else {
        BanTarget::User
    };
    Ok(Json(
        ctx.ops()
            .ban(
                &who.actor(),
                body.platform,
                target,
                &body.entity,
                &body.reason,
            )
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnbanBody {
    platform: Platform,
    entity: String,
    #[serde(default)]
    reason: String,
}

async fn unban(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<UnbanBody>,
) -> ApiResult<Json<Unbanned>> {
    Ok(Json(
        ctx.ops()
            .unban(&who.actor(), body.platform, &body.entity, &body.reason)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListBody {
    room: String,
}

async fn follow(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<ListBody>,
) -> ApiResult<Json<PolicyList>> {
    Ok(Json(ctx.ops().follow_list(&who.actor(), &body.room).await?))
}

async fn enforce(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<ListBody>,
) -> ApiResult<Json<PolicyList>> {
    Ok(Json(
        ctx.ops().enforce_list(&who.actor(), &body.room).await?,
    ))
}

async fn unfollow(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Body(body): Body<ListBody>,
) -> ApiResult<axum::response::Response> {
    ctx.ops().unfollow_list(&who.actor(), &body.room).await?;
    Ok(no_content())
}
