//! API behaviour route by route: health, documentation, sign-in throttling, tokens, documents,
//! templates and calendars, moderation, and the audit trail each change leaves.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use qunzhu_domain::{ActionKind, DocumentKind};
use qunzhu_storage::{ActionFilter, UserRole};
use serde_json::json;

use super::{json_request, login, TestApp, PASSWORD, RULES_OK};
use crate::api::openapi::ROUTES;

#[tokio::test]
async fn healthz_reports_the_backend_and_openapi_lists_every_route() {
    let app = TestApp::new().await;
    let reply = app
        .send(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let health = reply.json();
    assert_eq!(
        (health["status"].as_str(), health["database"].as_str()),
        (Some("ok"), Some("sqlite"))
    );
    assert!(health["version"].is_string());

    let reply = app
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.0.3");
    for route in ROUTES {
        assert!(
            doc["paths"][route.path][route.method].is_object(),
            "{} {} missing",
            route.method,
            route.path
        );
    }
    let unknown = app
        .send(
            Request::get("/api/v1/nope")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.error_code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn sign_in_is_throttled_after_five_failures_per_login() {
    let app = TestApp::new().await;
    let attempt = |password: &str| {
        json!({ "login": login(UserRole::Owner, "aaa"), "password": password }).to_string()
    };
    for _ in 0..5 {
        let reply = app
            .send(json_request(
                Method::POST,
                "/api/v1/session",
                None,
                attempt("wrong"),
            ))
            .await;
        assert_eq!(
            (reply.status, reply.error_code().as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );
    }
    let reply = app
        .send(json_request(
            Method::POST,
            "/api/v1/session",
            None,
            attempt(PASSWORD),
        ))
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{}",
        reply.body
    );
    app.clock.advance(chrono::Duration::seconds(61));
    let reply = app
        .send(json_request(
            Method::POST,
            "/api/v1/session",
            None,
            attempt(PASSWORD),
        ))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "a minute later the right password works: {}",
        reply.body
    );
    let cookie = reply
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn tokens_authenticate_automation_and_stop_working_when_revoked() {
    let app = TestApp::new().await;
    let admin = app.session(UserRole::Admin, "aaa").await;
    let created = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "ci", "role": "operator" })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = created.json()["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let id = created.json()["token"]["id"].as_i64().expect("id");
    assert!(secret.starts_with("qz_"));
    // A token changes things without CSRF (it is not a cookie a browser sends by itself).
    let put = json_request(
        Method::PUT,
        "/api/v1/rules/from-ci",
        Some(&secret),
        json!({ "source": RULES_OK }).to_string(),
    );
    let reply = app.send(put).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let audit = app
        .store
        .audit_log(app.a.ws, None, 10)
        .await
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.actor == "token:ci" && e.action == "rule.save" && e.subject == "from-ci"),
        "{audit:?}"
    );
    let too_strong = app
        .call(
            &admin,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "x", "role": "owner" })),
        )
        .await;
    assert_eq!(
        (too_strong.status, too_strong.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );

    let revoke = app
        .call(
            &admin,
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT, "{}", revoke.body);
    let reply = app
        .send(json_request(
            Method::GET,
            "/api/v1/groups",
            Some(&secret),
            String::new(),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rule_files_are_checked_saved_and_audited() {
    let app = TestApp::new().await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let broken = "[[rules]]\nname = \"x\"\nkind = \"keyword\"\n";
    let reply = app
        .call(
            &operator,
            Method::PUT,
            "/api/v1/rules/default",
            Some(json!({ "source": broken })),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        "{}",
        reply.body
    );
    assert!(
        reply.json()["error"]["field"]
            .as_str()
            .unwrap_or("")
            .starts_with("source:3:"),
        "{}",
        reply.body
    );
    assert!(
        app.store
            .document(app.a.ws, DocumentKind::Rules, "default")
            .await
            .map_or(true, |stored| stored.source != broken),
        "a rejected file is not stored"
    );

    let checked = app
        .call(
            &operator,
            Method::POST,
            "/api/v1/rules/validate",
            Some(json!({ "source": broken })),
        )
        .await;
    assert_eq!(checked.json()["valid"], false);
    assert_eq!(checked.json()["problems"][0]["line"], 3);

    let reply = app
        .call(
            &operator,
            Method::PUT,
            "/api/v1/rules/default",
            Some(json!({ "source": RULES_OK })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["version"], 1);
    let audit = app
        .call(&operator, Method::GET, "/api/v1/audit", None)
        .await
        .json();
    assert_eq!(audit[0]["action"], "rule.save");
    assert_eq!(audit[0]["actor"], "user:operator-aaa");

    let deleted = app
        .call(&operator, Method::DELETE, "/api/v1/rules/default", None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = app
        .call(&operator, Method::GET, "/api/v1/rules/default", None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_template_applied_to_groups_shows_in_the_calendar() {
    let app = TestApp::new().await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let templates = app
        .call(&operator, Method::GET, "/api/v1/templates", None)
        .await
        .json();
    assert!(templates
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["id"] == "daily-morning")));
    let body = json!({ "groups": [app.a.group_id], "name": "mornings" });
    let reply = app
        .call(
            &operator,
            Method::POST,
            "/api/v1/templates/daily-morning/apply",
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.json()["source"]
        .as_str()
        .unwrap_or("")
        .contains(&app.a.chat));
    let calendar = app
        .call(
            &operator,
            Method::GET,
            "/api/v1/plans/mornings/calendar?days=7",
            None,
        )
        .await;
    let entries = calendar.json();
    let entries = entries.as_array().cloned().unwrap_or_default();
    assert!(
        entries.len() >= 7,
        "a daily template posts every day: {}",
        calendar.body
    );
    assert!(entries
        .iter()
        .all(|e| e["plan"] == "mornings" && e["groups"][0] == "Group aaa"));
    let unknown = app
        .call(
            &operator,
            Method::POST,
            "/api/v1/templates/nope/apply",
            Some(json!({ "groups": [app.a.group_id] })),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.json()["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("template"))
    );
    let none = app
        .call(
            &operator,
            Method::POST,
            "/api/v1/templates/daily-morning/apply",
            Some(json!({ "groups": [] })),
        )
        .await;
    assert_eq!(none.json()["error"]["field"], "groups");
}

#[tokio::test]
async fn join_requests_and_undo_are_queued_for_the_bot_once() {
    let app = TestApp::new().await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let pending = app
        .call(&operator, Method::GET, "/api/v1/join-requests", None)
        .await
        .json();
    assert_eq!(pending.as_array().map(Vec::len), Some(1));
    let decide = json!({ "group_id": app.a.group_id, "member": app.a.requester, "approve": false, "reason": "spam" });
    for _ in 0..2 {
        let reply = app
            .call(
                &operator,
                Method::POST,
                "/api/v1/join-requests/decide",
                Some(decide.clone()),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }
    let unknown = json!({ "group_id": app.a.group_id, "member": "@nobody:x", "approve": true });
    let reply = app
        .call(
            &operator,
            Method::POST,
            "/api/v1/join-requests/decide",
            Some(unknown),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let bot = app
        .call(&operator, Method::GET, "/api/v1/moderation/actions", None)
        .await
        .json();
    assert_eq!(bot[0]["id"], app.a.ban_action.0);
    for _ in 0..2 {
        let reply = app
            .call(
                &operator,
                Method::POST,
                &format!("/api/v1/moderation/actions/{}/undo", app.a.ban_action),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    }
    let queued = app
        .store
        .actions(
            app.a.ws,
            &ActionFilter {
                origin_prefix: Some("api:".into()),
                ..ActionFilter::default()
            },
        )
        .await
        .expect("actions");
    assert_eq!(
        queued.len(),
        2,
        "one decision and one undo, each written once: {queued:?}"
    );
    assert!(queued.iter().any(|a| matches!(&a.kind, ActionKind::DecideJoinRequest { approve: false, member, .. } if *member == app.a.requester)));
    assert!(queued
        .iter()
        .any(|a| matches!(&a.kind, ActionKind::Unban { member, .. } if *member == app.a.member)));
    let audit = app
        .store
        .audit_log(app.a.ws, None, 10)
        .await
        .expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "moderation.undo")
            .count(),
        1,
        "undoing twice is one undo, audited once"
    );
    assert!(audit.iter().any(|e| e.action == "join_request.deny"));
}

#[tokio::test]
async fn community_reads_answer_numbers_and_reject_bad_parameters() {
    let app = TestApp::new().await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let overview = app
        .call(&viewer, Method::GET, "/api/v1/overview?days=7", None)
        .await
        .json();
    assert_eq!(overview["days"].as_array().map(Vec::len), Some(7));
    assert_eq!(overview["totals"]["messages"], 1);
    assert_eq!(overview["totals"]["moderation_actions"], 1);
    assert_eq!(overview["today"]["members"], 1);
    let groups = app
        .call(&viewer, Method::GET, "/api/v1/groups", None)
        .await
        .json();
    assert_eq!(groups[0]["messages_14d"].as_array().map(Vec::len), Some(14));
    let members = app
        .call(&viewer, Method::GET, "/api/v1/members?text=Name", None)
        .await
        .json();
    assert_eq!(members.as_array().map(Vec::len), Some(1), "{members}");
    for bad in [
        "/api/v1/overview?days=0",
        "/api/v1/members?tier=gold",
        "/api/v1/calendar?days=100",
        "/api/v1/members/skype/x",
    ] {
        let reply = app.call(&viewer, Method::GET, bad, None).await;
        assert_eq!(
            (reply.status, reply.error_code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            "{bad}: {}",
            reply.body
        );
    }
    let me = app
        .call(&viewer, Method::GET, "/api/v1/me", None)
        .await
        .json();
    assert_eq!(
        (me["role"].as_str(), me["workspace"].as_i64()),
        (Some("viewer"), Some(app.a.ws.0))
    );
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::new().await;
    let session = app.session(UserRole::Viewer, "aaa").await;
    let reply = app
        .call(&session, Method::DELETE, "/api/v1/session", None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = app.call(&session, Method::GET, "/api/v1/me", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
