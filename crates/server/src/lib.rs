//! qunzhu's operator console and REST API v1, served by the `qunzhu` binary.
//!
//! [`router`] builds everything: `/healthz`, the JSON API under `/api/v1` (documented at
//! `/api/v1/openapi.json`), the server-rendered console and its embedded assets. Data comes only
//! through the [`Store`], and every change an operator makes goes through the operations layer
//! (`qunzhu-ops`), which the CLI calls too; the engine's watchers pick saved rules and plans up
//! from the store without a restart.

pub mod api;
pub mod auth;
pub mod error;
pub mod html;
pub mod i18n;
pub mod pages;
pub mod short_links;
pub mod stats;
pub mod svg;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use qunzhu_domain::Clock;
use qunzhu_storage::Store;
use serde_json::json;

pub use auth::{create_user, Principal};
pub use error::{ApiError, ErrorCode};

/// Everything the console and API share; built by the binary.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// The public address (`https://ops.example.com`), used in links shown to operators.
    pub base_url: String,
    /// Adds `Secure` to the session cookie; set when served over HTTPS.
    pub secure_cookies: bool,
}

/// The router's own state: the binary's [`AppState`] plus what lives only in this process.
#[derive(Clone)]
pub struct Ctx {
    pub app: AppState,
    pub limiter: Arc<auth::LoginLimiter>,
}

impl Ctx {
    /// The operations layer over this server's store and clock.
    pub fn ops(&self) -> qunzhu_ops::Ops {
        qunzhu_ops::Ops::new(self.app.store.clone(), self.app.clock.clone())
    }
}

/// The whole HTTP surface. Serve it with connect info so sign-ins are throttled per address:
/// `axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())`.
pub fn router(state: AppState) -> Router {
    let ctx = Ctx {
        app: state,
        limiter: Arc::default(),
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/assets/console.css",
            get(|| {
                asset(
                    "text/css; charset=utf-8",
                    include_str!("../assets/console.css"),
                )
            }),
        )
        .route(
            "/assets/console.js",
            get(|| {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../assets/console.js"),
                )
            }),
        )
        .route(
            "/assets/favicon.svg",
            get(|| asset("image/svg+xml", include_str!("../assets/favicon.svg"))),
        )
        .nest("/api/v1", api::routes())
        .merge(pages::routes())
        .layer(axum::middleware::map_response(security_headers))
        .with_state(ctx)
}

/// Headers every answer carries: the console loads nothing from elsewhere and is never framed.
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
}

/// Liveness for load balancers: 200 when the store answers, 503 when it does not.
async fn healthz(axum::extract::State(ctx): axum::extract::State<Ctx>) -> impl IntoResponse {
    let database = ctx.app.store.backend();
    let version = env!("CARGO_PKG_VERSION");
    match ctx.app.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "version": version, "database": database })),
        ),
        Err(error) => {
            tracing::warn!(%error, "health check: store did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "version": version, "database": database })),
            )
        }
    }
}
