//! The points API as the shop uses it: a reward, points by hand, a redemption retried, and every
//! refusal a clear error with its field.

use axum::http::{Method, StatusCode};
use qunzhu_storage::UserRole;
use serde_json::json;

use super::TestApp;
use crate::html::url_part;

#[tokio::test]
async fn the_shop_redeems_once_and_refusals_name_their_field() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let member = url_part(&app.a.member);
    let reply = app
        .call(
            &owner,
            Method::PUT,
            "/api/v1/rewards/mug",
            Some(json!({ "name": "马克杯", "cost": 30, "stock": 5 })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = app
        .call(
            &owner,
            Method::PUT,
            "/api/v1/rewards/bad",
            Some(json!({ "name": "x", "cost": 0 })),
        )
        .await;
    assert_eq!(
        (reply.status, reply.json()["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cost"))
    );
    let adjust = format!("/api/v1/ledger/members/sandbox/{member}/adjust");
    for _ in 0..2 {
        let reply = app
            .call(
                &owner,
                Method::POST,
                &adjust,
                Some(json!({ "points": 40, "memo": "活动", "request": "r1" })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let redeem = json!({ "platform": "sandbox", "user": app.a.member, "request": "order-1" });
    let first = app
        .call(
            &owner,
            Method::POST,
            "/api/v1/rewards/mug/redeem",
            Some(redeem.clone()),
        )
        .await;
    assert_eq!(
        first.json()["posting"]["outcome"],
        "applied",
        "{}",
        first.body
    );
    let again = app
        .call(
            &owner,
            Method::POST,
            "/api/v1/rewards/mug/redeem",
            Some(redeem),
        )
        .await;
    assert_eq!(
        again.json()["posting"]["outcome"],
        "duplicate",
        "{}",
        again.body
    );
    assert_eq!(again.json()["reward"]["stock"], 4);
    let poor = app
        .call(
            &owner,
            Method::POST,
            "/api/v1/rewards/mug/redeem",
            Some(json!({ "platform": "sandbox", "user": app.a.member, "request": "order-2" })),
        )
        .await;
    assert_eq!(
        poor.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        poor.body
    );
    assert_eq!(poor.json()["error"]["field"], "member");
    assert!(
        poor.body.contains("holds 10, cannot pay 30"),
        "{}",
        poor.body
    );
    let stranger = app
        .call(
            &owner,
            Method::POST,
            "/api/v1/rewards/mug/redeem",
            Some(json!({ "platform": "sandbox", "user": "@nobody:sandbox", "request": "order-3" })),
        )
        .await;
    assert_eq!(
        (stranger.status, stranger.error_code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let points = app
        .call(
            &owner,
            Method::GET,
            &format!("/api/v1/ledger/members/sandbox/{member}"),
            None,
        )
        .await;
    assert_eq!(points.json()["balance"], 10, "{}", points.body);
    assert_eq!(points.json()["entries"].as_array().map(Vec::len), Some(2));
    let leaders = app
        .call(&owner, Method::GET, "/api/v1/ledger/leaders", None)
        .await;
    assert_eq!(leaders.json()[0]["user"], app.a.member.as_str());
}

#[tokio::test]
async fn a_coupon_is_redeemed_by_its_member_once_and_by_nobody_else() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let member = url_part(&app.a.member);
    let path = format!("/api/v1/coupons/members/sandbox/{member}");
    let issue = json!({ "offer": { "type": "percent_off", "percent": 10 }, "valid_days": 30, "memo": "邀请礼", "request": "c1" });
    let issued = app.call(&owner, Method::POST, &path, Some(issue)).await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let code = issued.json()["code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let bad = app
        .call(
            &owner,
            Method::POST,
            &path,
            Some(json!({ "offer": { "type": "percent_off", "percent": 0 }, "request": "c2" })),
        )
        .await;
    assert_eq!(
        bad.json()["error"]["field"],
        "offer.percent",
        "{}",
        bad.body
    );
    let redeem = |user: &str, request: &str| json!({ "platform": "sandbox", "user": user, "request": request });
    let url = format!("/api/v1/coupons/{code}/redeem");
    let stranger = app
        .call(
            &owner,
            Method::POST,
            &url,
            Some(redeem(&app.a.requester, "o1")),
        )
        .await;
    assert_eq!(
        (stranger.status, stranger.json()["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("code"))
    );
    assert!(
        stranger.body.contains("cannot be transferred"),
        "{}",
        stranger.body
    );
    for _ in 0..2 {
        let reply = app
            .call(
                &owner,
                Method::POST,
                &url,
                Some(redeem(&app.a.member, "o1")),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let twice = app
        .call(
            &owner,
            Method::POST,
            &url,
            Some(redeem(&app.a.member, "o2")),
        )
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.body.contains("already redeemed"), "{}", twice.body);
    let unknown = app
        .call(
            &owner,
            Method::POST,
            "/api/v1/coupons/QZ-NOPE/redeem",
            Some(redeem(&app.a.member, "o3")),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let listed = app.call(&owner, Method::GET, &path, None).await;
    assert_eq!(
        listed.json()[0]["redeemed_request"],
        "o1",
        "{}",
        listed.body
    );
}
