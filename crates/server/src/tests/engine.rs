//! The engine's health over HTTP: `/healthz` names the loops that are down, `/api/v1/connectors`
//! gives each connector's state with its workspace's backlog, and the overview shows both.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Duration;
use qunzhu_domain::{ActionKind, NewAction, Platform};
use qunzhu_storage::UserRole;

use super::TestApp;

async fn healthz(app: &TestApp) -> serde_json::Value {
    let reply = app
        .send(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "a degraded engine still answers"
    );
    reply.json()
}

#[tokio::test]
async fn healthz_is_degraded_naming_the_loop_that_is_down() {
    let app = TestApp::new().await;
    app.health
        .loop_started("sandbox poll", Duration::minutes(5));
    app.health
        .loop_started("sandbox dispatch", Duration::minutes(2));
    let health = healthz(&app).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["loops"].as_array().map(Vec::len), Some(2));
    assert!(health["loops"][0]["last_heartbeat"].is_string());

    app.health
        .loop_failed("sandbox dispatch", "panicked: overflow".into());
    let health = healthz(&app).await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["down"], serde_json::json!(["sandbox dispatch"]));
    let dispatch = &health["loops"][0];
    assert_eq!(dispatch["name"], "sandbox dispatch");
    assert_eq!(dispatch["restarts"], 1);
    assert!(dispatch["last_error_at"].is_string());
    assert!(
        !health.to_string().contains("overflow"),
        "the public check names no cause: {health}"
    );

    // Restarted, then silent past its allowance: down again, as stuck.
    app.health
        .loop_started("sandbox dispatch", Duration::minutes(2));
    app.health.heartbeat("sandbox poll");
    app.clock.advance(Duration::minutes(3));
    app.health.heartbeat("sandbox poll");
    let health = healthz(&app).await;
    assert_eq!(health["down"], serde_json::json!(["sandbox dispatch"]));

    app.health.document(
        "rules",
        "rules",
        4,
        vec!["rules:5:10: duration `100000000w` is too long: at most 365 d".into()],
    );
    let health = healthz(&app).await;
    assert_eq!(health["rejected_documents"], 1);
    assert!(!health.to_string().contains("100000000w"));
}

#[tokio::test]
async fn connectors_show_state_last_poll_backlog_and_last_error() {
    let app = TestApp::new().await;
    let now = qunzhu_domain::Clock::now(&app.clock);
    app.health
        .connector_registered("sandbox", Platform::Sandbox);
    app.health
        .connector_registered("matrix:@bot:example.org", Platform::Matrix);
    app.health.connector_ok("sandbox");
    app.health.connector_failed(
        "matrix:@bot:example.org",
        "cannot connect to http://127.0.0.1:1".into(),
    );
    let pending: Vec<NewAction> = (0..3)
        .map(|index| NewAction {
            workspace: app.a.ws,
            platform: Platform::Sandbox,
            chat: app.a.chat.clone(),
            key: format!("backlog:{index}"),
            kind: ActionKind::SendMessage {
                text: "hi".into(),
                html: None,
                mentions: Vec::new(),
                reply_to: None,
            },
            created_at: now,
            not_before: now + Duration::hours(1),
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::parse("test"),
            cause: None,
        })
        .collect();
    app.store.enqueue(pending).await.expect("enqueue");

    let session = app.session(UserRole::Viewer, &app.a.marker).await;
    let reply = app
        .call(&session, Method::GET, "/api/v1/connectors", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let connectors = reply.json();
    let by_id = |id: &str| {
        connectors
            .as_array()
            .and_then(|all| all.iter().find(|c| c["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing in {connectors}"))
    };
    let sandbox = by_id("sandbox");
    assert_eq!(sandbox["state"], "connected");
    assert!(sandbox["last_poll_ok"].is_string());
    let seeded_pending = sandbox["backlog"].as_u64().unwrap_or(0);
    assert!(seeded_pending >= 3, "{sandbox}");
    let matrix = by_id("matrix:@bot:example.org");
    assert_eq!(matrix["state"], "failing");
    assert_eq!(matrix["backlog"], 0);
    assert!(matrix["last_poll_ok"].is_null());
    assert_eq!(
        matrix["last_error"]["message"],
        "cannot connect to http://127.0.0.1:1"
    );
    assert!(matrix["last_error"]["at"].is_string());

    // Workspace B's backlog is its own.
    let other = app.session(UserRole::Viewer, &app.b.marker).await;
    let theirs = app
        .call(&other, Method::GET, "/api/v1/connectors", None)
        .await
        .json();
    let theirs_sandbox = theirs
        .as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == "sandbox"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(theirs_sandbox["backlog"].as_u64(), Some(seeded_pending - 3));

    for (lang, words) in [
        ("zh", ["引擎与连接", "连接失败，重试中"]),
        ("en", ["Engine and connectors", "Failing, retrying"]),
    ] {
        let page = app.page(&session, "/", lang).await;
        assert_eq!(page.status, StatusCode::OK);
        for word in words {
            assert!(page.body.contains(word), "{lang}: {word} missing");
        }
        assert!(page
            .body
            .contains(r#"data-connector="matrix:@bot:example.org""#));
        assert!(page.body.contains("cannot connect to http://127.0.0.1:1"));
    }
}
