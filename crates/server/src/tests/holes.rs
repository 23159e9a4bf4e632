//! Small holes closed (#11.5), each reproduced: off-site `next=`, extreme dates, oversized
//! inputs, Secure cookies and HSTS over HTTPS, short-link headers, huge rule files.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;

use super::*;

#[tokio::test]
async fn next_never_leaves_the_site_before_or_after_sign_in() {
    let app = TestApp::new().await;
    for next in [
        "/%09/evil.example/",
        "/%0a/evil.example/",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example",
        "/login%09/x",
    ] {
        let reply = app
            .send(
                Request::get(format!("/lang?set=en&next={next}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let location = reply.location();
        assert!(
            location == "/" || location == "/login",
            "{next} → {location}"
        );
    }
    // The sign-in form's `next` is checked again when it is submitted.
    let form = app
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    let token = form.set_cookie("qz_login_csrf").expect("login csrf");
    let body = format!(
        "_csrf={token}&next=%2F%09%2Fevil.example%2F&login={}&password={}",
        url_part(&login(UserRole::Owner, "aaa")),
        url_part(PASSWORD)
    );
    let reply = app
        .send(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("qz_login_csrf={token}"))
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        (reply.status, reply.location()),
        (StatusCode::SEE_OTHER, "/".to_string())
    );
}

fn url_part(text: &str) -> String {
    crate::html::url_part(text)
}

#[tokio::test]
async fn extreme_dates_are_refused_as_input_not_a_dropped_connection() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let group = app.a.group_id;
    for path in [
        format!("/api/v1/groups/{group}/days?to=-262143-01-01"),
        format!("/api/v1/groups/{group}/days?from=-262143-01-01&to=-262143-01-05"),
        format!("/api/v1/groups/{group}/days?from=+262142-12-01&to=+262142-12-31"),
        "/api/v1/calendar?from=+262142-12-31&days=62".to_string(),
        "/api/v1/calendar?from=-262143-01-01".to_string(),
        "/api/v1/plans/plan-aaa/calendar?from=+262000-01-01".to_string(),
    ] {
        let reply = app.call(&owner, Method::GET, &path, None).await;
        assert_eq!(
            (reply.status, reply.error_code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            "{path}: {}",
            reply.body
        );
    }
    let reply = app
        .call(
            &owner,
            Method::GET,
            &format!("/api/v1/groups/{group}/days?from=2026-03-01&to=2026-03-11"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn oversized_inputs_get_a_field_error_or_413() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let path = format!("/api/v1/groups/{}", app.a.group_id);
    let reply = app
        .call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({ "name": "群".repeat(350_000) })),
        )
        .await;
    assert_eq!(
        (reply.status, reply.json()["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name")),
        "{}",
        &reply.body[..reply.body.len().min(300)]
    );
    let reply = app
        .call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({ "name": "x".repeat(3 * 1024 * 1024) })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let reply = app
        .call(
            &owner,
            Method::PATCH,
            &path,
            Some(json!({ "name": "群".repeat(200) })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn https_base_url_means_secure_cookies_and_hsts() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    seed(&store, "aaa", start_time()).await;
    let state = AppState {
        store,
        clock: Arc::new(FakeClock::new(start_time())),
        base_url: "https://ops.example.com".into(),
        secure_cookies: false,
    };
    let router = crate::router(state);
    let body = json!({ "login": login(UserRole::Owner, "aaa"), "password": PASSWORD }).to_string();
    let response = router
        .clone()
        .oneshot(json_request(Method::POST, "/api/v1/session", None, body))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(cookie.contains("; Secure"), "{cookie}");
    let hsts = response
        .headers()
        .get(header::STRICT_TRANSPORT_SECURITY)
        .and_then(|v| v.to_str().ok());
    assert_eq!(hsts, Some("max-age=31536000; includeSubDomains"));
    let form = router
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let cookie = form
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(cookie.contains("; Secure"), "{cookie}");

    // Plain http: neither.
    let app = TestApp::new().await;
    let reply = app
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert!(reply
        .headers
        .get(header::STRICT_TRANSPORT_SECURITY)
        .is_none());
    assert!(!reply
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .contains("Secure"));
}

#[tokio::test]
async fn short_links_carry_the_consoles_security_headers() {
    let app = TestApp::new().await;
    let links = crate::short_links::routes(app.store.clone(), Arc::new(app.clock.clone()));
    let response = links
        .oneshot(Request::get("/l/nope").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    for name in [
        header::CONTENT_SECURITY_POLICY,
        header::X_CONTENT_TYPE_OPTIONS,
        header::X_FRAME_OPTIONS,
        header::REFERRER_POLICY,
    ] {
        assert!(response.headers().contains_key(&name), "{name}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_huge_rule_file_is_checked_off_the_request_thread_and_bounded() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let words: Vec<String> = (0..60_000).map(|n| format!("广告词{n}")).collect();
    let source = format!(
        "[keywords.ads]\nwords = {}\n[[rules]]\nname = \"ads\"\nkind = \"keywords\"\nlists = [\"ads\"]\nladder = [\"redact\"]\n",
        serde_json::to_string(&words).unwrap()
    );
    let validate = app.call(
        &owner,
        Method::POST,
        "/api/v1/rules/validate",
        Some(json!({ "source": source })),
    );
    let health = app.send(Request::get("/healthz").body(Body::empty()).unwrap());
    // On one thread, /healthz can only answer during the check if the check is not on it.
    let (validated, health) = tokio::join!(validate, health);
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(validated.status, StatusCode::OK);
    let problems = validated.json()["problems"].to_string();
    assert!(
        problems.contains("has 60000 words; at most 10000"),
        "{problems}"
    );
    let reply = app
        .call(
            &owner,
            Method::PUT,
            "/api/v1/rules/huge",
            Some(json!({ "source": source })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
}
