//! Start-up against a homeserver that is down at first (issue #17.2): the Matrix connector is
//! retried with backoff instead of given up, shows as failing with the cause meanwhile, and
//! once the homeserver answers it is started and shows as connected.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use qunzhu_domain::{Clock, SystemClock};
use qunzhu_engine::health::ConnectorState;
use qunzhu_engine::{Health, RulesHandle, RuntimeConfig};
use qunzhu_storage::{NewWorkspace, Store};
use serde_json::json;
use tokio::sync::watch;

use super::{empty_rules, Start};
use crate::config::Config;

/// A homeserver whose first `down` sign-ins answer 502, then a login, whoami and empty syncs.
async fn homeserver(down: u32) -> (String, Arc<AtomicU32>) {
    let logins = Arc::new(AtomicU32::new(0));
    let counter = logins.clone();
    let router = Router::new()
        .route(
            "/_matrix/client/v3/login",
            post(move || {
                let attempt = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if attempt < down {
                        Err(StatusCode::BAD_GATEWAY)
                    } else {
                        Ok(Json(
                            json!({"access_token": "token", "user_id": "@bot:fake"}),
                        ))
                    }
                }
            }),
        )
        .route(
            "/_matrix/client/v3/account/whoami",
            get(|| async { Json(json!({"user_id": "@bot:fake"})) }),
        )
        .route(
            "/_matrix/client/v3/sync",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Json(json!({"next_batch": "s1"}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}"), logins)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_homeserver_is_retried_until_it_answers() {
    let (url, logins) = homeserver(2).await;
    let mut config = Config::load(None, Vec::new()).expect("default config");
    config.matrix.enabled = true;
    config.matrix.homeserver = url;
    config.matrix.user_id = "@bot:fake".into();
    config.matrix.password = qunzhu_matrix::Secret::new("secret");
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"));
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .expect("workspace");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let health = Health::new(clock.clone());
    let (stop_sender, stop) = watch::channel(false);
    let start = Start {
        config: Arc::new(config),
        store,
        workspace,
        clock,
        rules: RulesHandle::new(empty_rules().expect("rules")),
        directory: qunzhu_engine::DirectoryHandle::default(),
        drops: qunzhu_engine::DropsHandle::default(),
        bans: qunzhu_engine::BanHandle::default(),
        health: health.clone(),
        runtime: RuntimeConfig::default(),
        stop,
    };
    let task = tokio::spawn(start.matrix());

    // The first sign-in fails at once: failing, with the homeserver's answer as the cause.
    let mut seen_failing = false;
    let mut connected = false;
    for _ in 0..200 {
        let report = health.report();
        let matrix = report
            .connectors
            .iter()
            .find(|c| c.id == "matrix:@bot:fake");
        if let Some(matrix) = matrix {
            if matrix.state == ConnectorState::Failing {
                seen_failing = true;
                let cause = matrix.last_error.as_ref().map(|p| p.message.clone());
                assert!(
                    cause.is_some_and(|cause| cause.contains("502")),
                    "{matrix:?}"
                );
            }
            if matrix.state == ConnectorState::Connected {
                connected = true;
                assert!(matrix.last_poll_ok.is_some());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen_failing, "the failing start was shown");
    assert!(connected, "retried until connected: {:?}", health.report());
    assert_eq!(
        logins.load(Ordering::SeqCst),
        3,
        "two failures, then the sign-in"
    );
    let loops: Vec<String> = health.report().loops.into_iter().map(|l| l.name).collect();
    for name in ["poll", "tick", "dispatch", "planner", "lurker sweep"] {
        assert!(
            loops
                .iter()
                .any(|l| l == &format!("matrix:@bot:fake {name}")),
            "{name} loop supervised: {loops:?}"
        );
    }

    let _ = stop_sender.send(true);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops when asked")
        .expect("no panic");
}
