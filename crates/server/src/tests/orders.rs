//! The orders webhook through the whole router on a fresh store: signature, stale timestamp,
//! replayed nonce, unknown member, malformed body, an order delivered twice counted once, a
//! refund, and what the order shows in the push report, the campaign ROI and the statement.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::Duration;
use qunzhu_domain::{Clock, EventKind};
use qunzhu_ops::{OrderPolicy, ShowcasePolicy};
use qunzhu_storage::{NewLink, UserRole};
use serde_json::json;

use super::{Reply, TestApp};
use crate::orders_hook::{OrdersHook, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

const SECRET: &str = "shop-shared-secret";

async fn app() -> (TestApp, OrdersHook) {
    // The hook's workspace is seeded first (`aaa`), so it is workspace 1.
    let policy = OrderPolicy {
        showcase: Some(ShowcasePolicy {
            window: Duration::days(3),
            text: "谢谢！欢迎晒单 {hashtag}".into(),
            hashtag: "#晒单".into(),
        }),
        ..OrderPolicy::default()
    };
    let hook = OrdersHook::new(qunzhu_domain::WorkspaceId(1), SECRET, policy);
    let app = TestApp::with_options(crate::ServerOptions {
        orders: Some(hook.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(app.a.ws, hook.workspace);
    (app, hook)
}

fn signed(hook: &OrdersHook, timestamp: i64, nonce: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/api/v1/orders")
        .header(header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(NONCE_HEADER, nonce)
        .header(
            SIGNATURE_HEADER,
            hook.sign(timestamp, nonce, body.as_bytes()),
        )
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn order_body(app: &TestApp, id: &str, cents: i64) -> String {
    json!({
        "order_id": id,
        "member": { "platform": "sandbox", "user": app.a.member },
        "amount_cents": cents,
        "currency": "CNY",
        "items": ["乌龙茶 250g"],
        "link_token": "LNK1",
    })
    .to_string()
}

async fn deliver(app: &TestApp, hook: &OrdersHook, nonce: &str, body: &str) -> Reply {
    let now = app.clock.now().timestamp();
    app.send(signed(hook, now, nonce, body)).await
}

#[tokio::test]
async fn signed_orders_count_once_and_bad_deliveries_say_why() {
    let (app, hook) = app().await;
    app.store
        .put_links(vec![NewLink {
            code: "LNK1".into(),
            workspace: app.a.ws,
            url: "https://shop.example/tea".into(),
            push: "sop:daily/morning/2026-03-11T08:00".into(),
            chat: app.a.chat.clone(),
            member: None,
            created_at: app.clock.now(),
        }])
        .await
        .expect("link");
    let body = order_body(&app, "T-1001", 12_800);

    let accepted = deliver(&app, &hook, "nonce-1", &body).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.json()["outcome"], "accepted");
    assert_eq!(
        accepted.json()["order"]["push"],
        "sop:daily/morning/2026-03-11T08:00"
    );
    assert_eq!(accepted.json()["order"]["chat"], app.a.chat.as_str());

    // The same request again: its nonce was used.
    let replay = deliver(&app, &hook, "nonce-1", &body).await;
    assert_eq!(
        (replay.status, replay.error_code().as_str()),
        (StatusCode::CONFLICT, "replayed_nonce"),
        "{}",
        replay.body
    );

    // The same order signed afresh (the shop's retry): answered, counted once.
    let again = deliver(&app, &hook, "nonce-2", &body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json()["outcome"], "duplicate");

    // A wrong signature, another secret, a tampered body, no signature at all.
    let other = OrdersHook::new(hook.workspace, "not-the-secret", OrderPolicy::default());
    let now = app.clock.now().timestamp();
    let forged = app.send(signed(&other, now, "nonce-3", &body)).await;
    assert_eq!(
        (forged.status, forged.error_code().as_str()),
        (StatusCode::UNAUTHORIZED, "bad_signature")
    );
    let mut tampered = signed(&hook, now, "nonce-4", &body);
    *tampered.body_mut() = Body::from(order_body(&app, "T-1001", 1));
    let tampered = app.send(tampered).await;
    assert_eq!(tampered.error_code(), "bad_signature");
    let unsigned = app
        .send(super::json_request(
            Method::POST,
            "/api/v1/orders",
            None,
            body.clone(),
        ))
        .await;
    assert_eq!(
        (unsigned.status, unsigned.error_code().as_str()),
        (StatusCode::UNAUTHORIZED, "bad_signature")
    );

    // Six minutes old, or six minutes ahead: stale, even though well signed.
    for offset in [-360, 360] {
        let stale = app
            .send(signed(
                &hook,
                now + offset,
                &format!("nonce-stale{offset}"),
                &body,
            ))
            .await;
        assert_eq!(
            (stale.status, stale.error_code().as_str()),
            (StatusCode::UNAUTHORIZED, "stale_timestamp"),
            "{offset}"
        );
    }

    // Well signed but wrong inside.
    let stranger = json!({ "order_id": "T-2", "member": { "platform": "sandbox", "user": "@nobody" }, "amount_cents": 100, "currency": "CNY" }).to_string();
    let unknown = deliver(&app, &hook, "nonce-5", &stranger).await;
    assert_eq!(
        (unknown.status, unknown.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_member"),
        "{}",
        unknown.body
    );
    let other_workspace = json!({ "order_id": "T-3", "member": { "platform": "sandbox", "user": app.b.member }, "amount_cents": 100, "currency": "CNY" }).to_string();
    let unknown = deliver(&app, &hook, "nonce-6", &other_workspace).await;
    assert_eq!(
        unknown.error_code(),
        "unknown_member",
        "a member of another workspace is unknown here"
    );
    let malformed = deliver(&app, &hook, "nonce-7", "{\"order_id\": \"T-4\",").await;
    assert_eq!(
        (malformed.status, malformed.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    assert!(
        malformed.json()["error"]["field"]
            .as_str()
            .unwrap_or_default()
            .starts_with("body:1:"),
        "{}",
        malformed.body
    );
    let no_currency = json!({ "order_id": "T-5", "member": { "code": "x" }, "amount_cents": 100, "currency": "rmb" }).to_string();
    let invalid = deliver(&app, &hook, "nonce-8", &no_currency).await;
    assert_eq!(invalid.json()["error"]["field"], "currency");

    // A refund of part of it.
    let refund = json!({ "order_id": "T-1001-R", "member": { "platform": "sandbox", "user": app.a.member }, "amount_cents": -2_800, "currency": "CNY", "refund_of": "T-1001" }).to_string();
    let refunded = deliver(&app, &hook, "nonce-9", &refund).await;
    assert_eq!(refunded.status, StatusCode::OK, "{}", refunded.body);
    assert_eq!(
        refunded.json()["order"]["push"],
        "sop:daily/morning/2026-03-11T08:00",
        "a refund counts against its order's push"
    );

    // Exactly one OrderPlaced per accepted order in the log, and one 晒单 invitation.
    let events = app.store.events(app.a.ws, 0, 1_000).await.expect("events");
    let logged: Vec<String> = events
        .iter()
        .filter_map(|stored| match &stored.event.kind {
            EventKind::OrderPlaced {
                order_id,
                amount_cents,
                ..
            } => Some(format!("{order_id}:{amount_cents}")),
            _ => None,
        })
        .collect();
    assert_eq!(logged, ["T-1001:12800", "T-1001-R:-2800"]);
    let invitations = app
        .store
        .actions(
            app.a.ws,
            &qunzhu_storage::ActionFilter {
                origin_prefix: Some("orders:".into()),
                ..Default::default()
            },
        )
        .await
        .expect("actions");
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].key, "showcase:T-1001");

    // The API lists it with its attribution; workspace B sees nothing of it.
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let listed = app.call(&viewer, Method::GET, "/api/v1/orders", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.json().as_array().map(Vec::len), Some(2));
    let outsider = app.session(UserRole::Viewer, "bbb").await;
    let theirs = app
        .call(&outsider, Method::GET, "/api/v1/orders", None)
        .await;
    assert_eq!(theirs.json().as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn the_webhook_is_off_until_configured() {
    let app = TestApp::new().await;
    let reply = app
        .send(super::json_request(
            Method::POST,
            "/api/v1/orders",
            None,
            "{}".into(),
        ))
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    );
    assert!(reply.body.contains("[orders] secret"), "{}", reply.body);
}

#[tokio::test]
async fn campaign_costs_roi_owners_and_statements_through_the_api() {
    let (app, _hook) = app().await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let cost = json!({ "amount_cents": 5_000, "memo": "prizes", "request": "r-1" });
    let added = app
        .call(
            &operator,
            Method::POST,
            "/api/v1/campaigns/spring/costs",
            Some(cost.clone()),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    app.call(
        &operator,
        Method::POST,
        "/api/v1/campaigns/spring/costs",
        Some(cost),
    )
    .await;
    let bad = app
        .call(
            &operator,
            Method::POST,
            "/api/v1/campaigns/spring/costs",
            Some(json!({ "amount_cents": -1, "request": "r-2" })),
        )
        .await;
    assert_eq!(bad.json()["error"]["field"], "amount_cents");
    let roi = app
        .call(&viewer, Method::GET, "/api/v1/campaigns/roi", None)
        .await;
    assert_eq!(roi.status, StatusCode::OK, "{}", roi.body);
    assert_eq!(roi.json()[0]["campaign"], "spring");
    assert_eq!(
        roi.json()[0]["entered_cents"],
        5_000,
        "a retried request adds nothing"
    );
    assert_eq!(roi.json()[0]["roi"], -1.0);

    let owner = app
        .call(
            &operator,
            Method::PUT,
            &format!("/api/v1/groups/{}/owner", app.a.group_id),
            Some(json!({ "owner": app.a.member })),
        )
        .await;
    assert_eq!(owner.status, StatusCode::NO_CONTENT, "{}", owner.body);
    let foreign = app
        .call(
            &operator,
            Method::PUT,
            &format!("/api/v1/groups/{}/owner", app.b.group_id),
            Some(json!({ "owner": app.a.member })),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let statement = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/commissions/statement?from=2026-03-01&to=2026-03-31",
            None,
        )
        .await;
    assert_eq!(statement.status, StatusCode::OK, "{}", statement.body);
    assert_eq!(statement.json(), json!([]));
    let backwards = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/commissions/statement?from=2026-03-31&to=2026-03-01",
            None,
        )
        .await;
    assert_eq!(backwards.json()["error"]["field"], "from");
}

#[tokio::test]
async fn revenue_shows_in_the_push_report_and_the_console_pages() {
    let (app, hook) = app().await;
    super::pushes::one_sent_push(&app).await;
    let push = app
        .store
        .actions(
            app.a.ws,
            &qunzhu_storage::ActionFilter {
                origin_prefix: Some("sop:".into()),
                ..Default::default()
            },
        )
        .await
        .expect("actions")
        .into_iter()
        .next()
        .expect("the sent push")
        .key;
    app.store
        .put_links(vec![NewLink {
            code: "LNK2".into(),
            workspace: app.a.ws,
            url: "https://shop.example/tea".into(),
            push: push.clone(),
            chat: app.a.chat.clone(),
            member: None,
            created_at: app.clock.now(),
        }])
        .await
        .expect("link");
    let body = json!({ "order_id": "T-7", "member": { "platform": "sandbox", "user": app.a.member }, "amount_cents": 12_800, "currency": "CNY", "link_token": "LNK2" }).to_string();
    assert_eq!(
        deliver(&app, &hook, "n-7", &body).await.status,
        StatusCode::OK
    );

    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let api = app.call(&viewer, Method::GET, "/api/v1/pushes", None).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let entry = api
        .json()
        .as_array()
        .and_then(|all| all.iter().find(|e| e["key"] == push.as_str()).cloned())
        .expect("the push");
    assert_eq!(
        (entry["orders"].as_u64(), entry["revenue_cents"].as_i64()),
        (Some(1), Some(12_800))
    );
    for lang in ["zh", "en"] {
        let page = app.page(&viewer, "/pushes", lang).await;
        assert!(page.body.contains("128.00"), "{lang}: revenue in 推送效果");
        let orders = app.page(&viewer, "/orders", lang).await;
        assert_eq!(orders.status, StatusCode::OK);
        assert!(
            orders.body.contains("T-7") && orders.body.contains("128.00"),
            "{lang}: {}",
            orders.body
        );
        let roi = app.page(&viewer, "/roi", lang).await;
        assert_eq!(roi.status, StatusCode::OK);
        let statement = app.page(&viewer, "/distribution", lang).await;
        assert_eq!(statement.status, StatusCode::OK);
    }
    assert!(app
        .page(&viewer, "/orders", "zh")
        .await
        .body
        .contains("等待晒单至"));

    // Entering a cost through the console form: once per rendered form, whatever the resends.
    let operator = app.session(UserRole::Operator, "aaa").await;
    let fields = [
        ("campaign", "spring"),
        ("amount", "500.50"),
        ("memo", "奖品"),
        ("request", "form-1"),
    ];
    for _ in 0..2 {
        let posted = app
            .post_form(&operator, "/roi/costs", &fields, Some(&operator.csrf))
            .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    }
    let roi = app.page(&operator, "/roi", "en").await;
    assert!(
        roi.body.contains("spring") && roi.body.contains("500.50"),
        "{}",
        roi.body
    );
    let bad = app
        .post_form(
            &operator,
            "/roi/costs",
            &[
                ("campaign", "spring"),
                ("amount", "lots"),
                ("request", "form-2"),
            ],
            Some(&operator.csrf),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let denied = app
        .post_form(&viewer, "/roi/costs", &fields, Some(&viewer.csrf))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let group = app.a.group_id.to_string();
    let member = app.a.member.clone();
    let owner_fields = [("group", group.as_str()), ("owner", member.as_str())];
    let set = app
        .post_form(
            &operator,
            "/distribution/owner",
            &owner_fields,
            Some(&operator.csrf),
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    let verbs = app
        .store
        .audit_log(app.a.ws, None, 100)
        .await
        .expect("audit");
    assert!(verbs.iter().any(|entry| entry.action == "group.owner"));

    let csv = app
        .page(
            &viewer,
            "/distribution.csv?from=2026-03-01&to=2026-03-31",
            "zh",
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body
            .contains("from,to,platform,member,orders,payable_cents,payable"),
        "{}",
        csv.body
    );
}
