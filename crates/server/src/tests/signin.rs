//! Sign-in under a storm: parallel attempts cannot slip past the throttle, verifications are
//! bounded, unknown logins cost a verification like real ones, and the client address comes
//! from the trusted proxy header only when one is configured.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use futures::future::join_all;
use serde_json::json;

use super::*;
use crate::throttle::{LoginGuard, LoginPolicy};
use crate::ServerOptions;

fn attempt(login: &str, password: &str, forwarded: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(address) = forwarded {
        builder = builder.header("x-forwarded-for", address);
    }
    builder
        .body(Body::from(
            json!({ "login": login, "password": password }).to_string(),
        ))
        .expect("request")
}

fn statuses(replies: &[Reply]) -> (usize, usize) {
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let wrong = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    (wrong, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parallel_burst_gets_exactly_the_allowed_attempts() {
    let guard = Arc::new(LoginGuard::new(LoginPolicy {
        verify_slots: 2,
        ..LoginPolicy::default()
    }));
    let app = TestApp::with_options(ServerOptions {
        login: guard.clone(),
        ..ServerOptions::default()
    })
    .await;
    let owner = login(UserRole::Owner, "aaa");
    let replies = join_all((0..40).map(|_| app.send(attempt(&owner, "wrong", None)))).await;
    assert_eq!(
        statuses(&replies),
        (5, 35),
        "five verified, the rest refused"
    );
    assert_eq!(
        guard.verifications(),
        5,
        "refused attempts never reach argon2"
    );
    assert!(guard.peak_verifications() <= 2);
    let refused = replies
        .iter()
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .expect("a refusal");
    assert_eq!(refused.error_code(), "rate_limited");
    assert!(refused.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("try again in 60 s"));
    // The right password is refused too while locked, then works once the lock lifts.
    let reply = app.send(attempt(&owner, PASSWORD, None)).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::seconds(60));
    let reply = app.send(attempt(&owner, PASSWORD, None)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verifications_run_a_few_at_a_time_and_unknown_logins_verify_the_dummy() {
    let guard = Arc::new(LoginGuard::new(LoginPolicy {
        verify_slots: 2,
        // Twelve unoptimised argon2 runs two at a time on a loaded machine can outlast the
        // default 10 s wait; this test counts verifications, not how long a sign-in waits.
        verify_wait: std::time::Duration::from_secs(300),
        ..LoginPolicy::default()
    }));
    let app = TestApp::with_options(ServerOptions {
        login: guard.clone(),
        ..ServerOptions::default()
    })
    .await;
    // Twelve different logins from twelve addresses: none is throttled, all are verified.
    let logins: Vec<String> = (0..12)
        .map(|n| {
            if n % 2 == 0 {
                login(UserRole::Viewer, "aaa")
            } else {
                format!("nobody-{n}")
            }
        })
        .collect();
    let replies = join_all(logins.iter().map(|l| app.send(attempt(l, "wrong", None)))).await;
    let (wrong, refused) = statuses(&replies);
    assert_eq!(wrong + refused, 12);
    assert_eq!(
        guard.verifications(),
        wrong,
        "every answered attempt, known login or not, ran one verification"
    );
    assert!(
        wrong >= 7,
        "unknown logins were verified against the dummy: {wrong}"
    );
    assert!(
        guard.peak_verifications() <= 2,
        "{}",
        guard.peak_verifications()
    );
    // Same answer for an unknown login as for a wrong password: nothing to tell them apart.
    let unknown = app.send(attempt("nobody-at-all", "wrong", None)).await;
    let known = app
        .send(attempt(&login(UserRole::Admin, "aaa"), "wrong", None))
        .await;
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body);
}

#[tokio::test]
async fn the_client_address_comes_from_the_trusted_header_only() {
    // With the header trusted, an address that failed five times is locked for every login…
    let app = TestApp::with_options(ServerOptions {
        trusted_proxy_header: Some("X-Forwarded-For".into()),
        ..ServerOptions::default()
    })
    .await;
    for n in 0..5 {
        let reply = app
            .send(attempt(
                &format!("guess-{n}"),
                "x",
                Some("10.1.1.1, 203.0.113.5"),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let owner = login(UserRole::Owner, "aaa");
    let reply = app
        .send(attempt(&owner, PASSWORD, Some("10.9.9.9, 203.0.113.5")))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "same last hop");
    let reply = app
        .send(attempt(&owner, PASSWORD, Some("203.0.113.5, 198.51.100.2")))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "another client: {}",
        reply.body
    );

    // …and without it, a forged header names nobody: the same guesses lock no address.
    let app = TestApp::new().await;
    for n in 0..5 {
        app.send(attempt(&format!("guess-{n}"), "x", Some("203.0.113.5")))
            .await;
    }
    let reply = app
        .send(attempt(&owner, PASSWORD, Some("203.0.113.5")))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_expired_sessions_are_purged_at_sign_in() {
    let app = TestApp::new().await;
    let ws = app.a.ws;
    let viewer = app
        .store
        .user_by_login(&login(UserRole::Viewer, "aaa"))
        .await
        .unwrap()
        .unwrap();
    app.store
        .create_session("stale", viewer.id, start_time() - Duration::hours(1))
        .await
        .unwrap();
    app.store
        .set_user_disabled(ws, viewer.id, Some(start_time()))
        .await
        .unwrap();
    let reply = app
        .send(attempt(&login(UserRole::Viewer, "aaa"), PASSWORD, None))
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let reply = app
        .send(attempt(&login(UserRole::Owner, "aaa"), PASSWORD, None))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        app.store
            .purge_expired_sessions(start_time())
            .await
            .unwrap(),
        0,
        "the stale session went at sign-in"
    );
}
