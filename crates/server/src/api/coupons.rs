//! API for coupons: a member's coupons, issuing one to a member, and the shop's redemption with
//! the code and the member.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use qunzhu_domain::{Coupon, CouponOffer};
use qunzhu_ops::IssueCoupon;
use serde::Deserialize;

use super::community::parse_platform;
use super::{Api, Body};
use crate::error::ApiResult;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route(
            "/coupons/members/{platform}/{user}",
            get(member_coupons).post(issue),
        )
        .route("/coupons/{code}/redeem", post(redeem))
}

async fn member_coupons(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path((platform, user)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Coupon>>> {
    let platform = parse_platform(&platform)?;
    Ok(Json(
        ctx.ops()
            .member_coupons(&who.actor(), platform, &user)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Issue {
    offer: CouponOffer,
    #[serde(default)]
    valid_days: Option<u32>,
    #[serde(default)]
    memo: String,
    /// The caller's idempotency key: a retry with the same id issues nothing more.
    request: String,
}

async fn issue(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path((platform, user)): Path<(String, String)>,
    Body(body): Body<Issue>,
) -> ApiResult<Json<Coupon>> {
    let platform = parse_platform(&platform)?;
    let issue = IssueCoupon {
        offer: body.offer,
        valid_days: body.valid_days,
        memo: body.memo,
        request: body.request,
    };
    Ok(Json(
        ctx.ops()
            .issue_coupon(&who.actor(), platform, &user, issue)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Redeem {
    platform: String,
    user: String,
    /// The shop's order id: a retry with the same id is answered the same.
    request: String,
}

async fn redeem(
    State(ctx): State<Ctx>,
    Api(who): Api,
    Path(code): Path<String>,
    Body(body): Body<Redeem>,
) -> ApiResult<Json<Coupon>> {
    let platform = parse_platform(&body.platform)?;
    Ok(Json(
        ctx.ops()
            .redeem_coupon(&who.actor(), &code, platform, &body.user, &body.request)
            .await?,
    ))
}
