//! `qunzhu bench signin`: a sign-in storm against the real sign-in path (throttle, dummy hash,
//! verification slots, argon2 with production parameters) and the memory it leaves behind.

use std::sync::Arc;
use std::time::Instant;

use qunzhu_domain::{Clock, SystemClock};
use qunzhu_server::throttle::{LoginGuard, LoginPolicy};
use qunzhu_server::{AppState, Ctx, ErrorCode, ServerOptions};
use qunzhu_storage::{NewWorkspace, Store, UserRole};
use qunzhu_storage_sqlite::SqliteStore;

use crate::bench::{peak_rss_bytes, print_figures};

/// `attempts` parallel wrong-password sign-ins: half at one real login from one address (the
/// throttle's case), half at distinct unknown logins from distinct addresses (the slots' case).
pub async fn run(attempts: usize, slots: Option<usize>, json: bool) -> anyhow::Result<()> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory()?);
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "bench".into(),
            name: "Bench".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await?;
    qunzhu_ops::accounts::create_user(
        store.as_ref(),
        workspace.id,
        "owner",
        "the real password",
        UserRole::Owner,
    )
    .await?;
    let mut policy = LoginPolicy::default();
    if let Some(slots) = slots {
        policy.verify_slots = slots.max(1);
    }
    let slots = policy.verify_slots;
    let guard = Arc::new(LoginGuard::new(policy));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ctx = Ctx::with_options(
        AppState {
            store,
            clock,
            base_url: "http://127.0.0.1".into(),
            secure_cookies: false,
        },
        ServerOptions {
            login: guard.clone(),
            ..ServerOptions::default()
        },
    );
    let rss_before = crate::bench::current_rss_bytes();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(attempts);
    for n in 0..attempts {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            let (login, address) = if n % 2 == 0 {
                ("owner".to_string(), "198.51.100.7".parse().ok())
            } else {
                (
                    format!("nobody-{n}"),
                    format!("203.0.113.{}", n % 250).parse().ok(),
                )
            };
            qunzhu_server::auth::sign_in(&ctx, &login, "a wrong password", address)
                .await
                .err()
                .map(|error| error.code)
        }));
    }
    let (mut wrong, mut throttled, mut other) = (0u64, 0u64, 0u64);
    for task in tasks {
        match task.await? {
            Some(ErrorCode::Unauthorized) => wrong += 1,
            Some(ErrorCode::RateLimited) => throttled += 1,
            _ => other += 1,
        }
    }
    let elapsed = started.elapsed();
    let figures = serde_json::json!({
        "attempts": attempts,
        "verify_slots": slots,
        "verified": guard.verifications(),
        "wrong_password": wrong,
        "throttled": throttled,
        "other": other,
        "peak_parallel_verifications": guard.peak_verifications(),
        "seconds": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        "rss_before_bytes": rss_before,
        "rss_after_bytes": crate::bench::current_rss_bytes(),
        "peak_rss_bytes": peak_rss_bytes(),
    });
    print_figures("sign-in storm bench", &figures, json);
    Ok(())
}
