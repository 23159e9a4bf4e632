//! qunzhu's operator console and REST API v1, served by the `qunzhu` binary.
//!
//! [`router`] builds everything: `/healthz`, the JSON API under `/api/v1` (documented at
//! `/api/v1/openapi.json`), the server-rendered console and its embedded assets. Data comes only
//! through the [`Store`], and every change an operator makes goes through the operations layer
//! (`qunzhu-ops`), which the CLI calls too; the engine's watchers pick saved rules and plans up
//! from the store without a restart.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod auth;
pub mod classify;
pub mod error;
pub mod group_table;
pub mod html;
pub mod i18n;
pub mod invite_page;
pub mod landing_page;
pub mod late_routes;
pub mod livecode_page;
pub mod orders_hook;
pub mod pages;
pub mod poster_image;
pub mod short_links;
pub mod snapshot;
pub mod stats;
pub mod svg;
pub mod throttle;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use qunzhu_domain::Clock;
use qunzhu_storage::Store;
use serde_json::json;

pub use auth::{create_user, Principal};
pub use error::{ApiError, ApiResult, ErrorCode};

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

/// How this process serves HTTP beyond what [`AppState`] says; the defaults suit loopback.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The header a trusted reverse proxy puts the client's address in (`X-Forwarded-For`,
    /// `X-Real-IP`); `None` uses the socket peer, and the header is then never believed.
    pub trusted_proxy_header: Option<String>,
    /// The sign-in gate (policy, counters); shared so a test or a status page can read it.
    pub login: Arc<throttle::LoginGuard>,
    /// The health of the engine running in this process; `None` for a console-only process.
    pub health: Option<qunzhu_engine::Health>,
    /// The shop's signed orders webhook (`[orders]`); `None` answers it as switched off.
    pub orders: Option<orders_hook::OrdersHook>,
    /// What one ledger point costs the operator, in cents, for campaign ROI (default 1).
    pub point_value_cents: Option<i64>,
    /// The funnel's configured windows (`[analytics.funnel]`); a request may name its own.
    pub funnel: qunzhu_domain::funnel::FunnelConfig,
    /// The tier rules (`[analytics.tiers]`), shown beside the tiers they decide.
    pub tiers: qunzhu_domain::tier::TierRules,
    /// Seals landing pages' phone numbers (`qunzhu serve` always sets it, from `QUNZHU_PHONE_KEY`
    /// or the data directory's key file); `None` answers phone forms as unavailable.
    pub phone_vault: Option<Arc<qunzhu_ops::PhoneVault>>,
    /// The CJK font posters are drawn with; `None` answers posters as unavailable.
    pub poster_font: Option<Arc<qunzhu_poster::Font>>,
}

/// The router's own state: the binary's [`AppState`] plus what lives only in this process.
#[derive(Clone)]
pub struct Ctx {
    pub app: AppState,
    pub guard: Arc<throttle::LoginGuard>,
    pub trusted_proxy_header: Option<axum::http::HeaderName>,
    /// The engine's loops and connectors in this process (empty for a console-only process).
    pub health: qunzhu_engine::Health,
    pub orders: Option<Arc<orders_hook::OrdersHook>>,
    pub point_value_cents: i64,
    pub funnel: qunzhu_domain::funnel::FunnelConfig,
    pub tiers: qunzhu_domain::tier::TierRules,
    pub phone_vault: Option<Arc<qunzhu_ops::PhoneVault>>,
    pub posters: Arc<poster_image::Posters>,
    /// The overview and the group table, kept when they are slow to read (snapshot.rs).
    pub snapshots: Snapshots,
}

/// The console's kept reads, one kind per heavy page.
#[derive(Clone, Default)]
pub struct Snapshots {
    pub overview: Arc<snapshot::Snapshots<stats::Overview>>,
    pub groups: Arc<snapshot::Snapshots<Vec<group_table::GroupRow>>>,
}

impl Ctx {
    /// The context a router (or a command acting like one) works in.
    pub fn new(app: AppState) -> Self {
        Ctx::with_options(app, ServerOptions::default())
    }

    /// An unparsable header name is ignored with a warning, falling back to the socket peer.
    pub fn with_options(app: AppState, options: ServerOptions) -> Self {
        let trusted_proxy_header = options.trusted_proxy_header.as_deref().and_then(|name| {
            axum::http::HeaderName::try_from(name.trim())
                .map_err(
                    |error| tracing::warn!(header = name, %error, "trusted_proxy_header ignored"),
                )
                .ok()
        });
        let health = options
            .health
            .unwrap_or_else(|| qunzhu_engine::Health::new(app.clock.clone()));
        // An https:// public address means HTTPS: Secure cookies whether or not the flag was set.
        let mut app = app;
        app.secure_cookies |= app.base_url.starts_with("https://");
        Ctx {
            app,
            guard: options.login,
            trusted_proxy_header,
            health,
            orders: options.orders.map(Arc::new),
            point_value_cents: options.point_value_cents.unwrap_or(1),
            funnel: options.funnel,
            tiers: options.tiers,
            phone_vault: options.phone_vault,
            posters: Arc::new(poster_image::Posters::new(options.poster_font)),
            snapshots: Snapshots::default(),
        }
    }

    /// Every group's row of the workspace, kept when slow to read (snapshot.rs).
    pub async fn group_rows(
        &self,
        workspace: qunzhu_domain::WorkspaceId,
        zone: chrono_tz::Tz,
    ) -> Result<Arc<Vec<group_table::GroupRow>>, qunzhu_storage::StoreError> {
        let (store, clock) = (self.app.store.clone(), self.app.clock.clone());
        self.snapshots
            .groups
            .get(workspace, move || async move {
                group_table::group_rows(store.as_ref(), workspace, zone, clock.now(), None).await
            })
            .await
    }

    /// Today in the workspace's time zone.
    pub async fn today(
        &self,
        workspace: qunzhu_domain::WorkspaceId,
    ) -> ApiResult<chrono::NaiveDate> {
        let workspace = self.app.store.workspace(workspace).await?;
        let zone = workspace.time_zone;
        Ok(self.app.clock.now().with_timezone(&zone).date_naive())
    }

    /// The operations layer over this server's store and clock.
    pub fn ops(&self) -> qunzhu_ops::Ops {
        qunzhu_ops::Ops::new(self.app.store.clone(), self.app.clock.clone())
    }
}

/// The whole HTTP surface. Serve it with connect info so sign-ins are throttled per address:
/// `axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())`.
pub fn router(state: AppState) -> Router {
    router_with(state, ServerOptions::default())
}

/// [`router`] with this process's options (trusted proxy header, sign-in policy, engine health).
pub fn router_with(state: AppState, options: ServerOptions) -> Router {
    let secure = state.secure_cookies || state.base_url.starts_with("https://");
    let ctx = Ctx::with_options(state, options);
    let router = Router::new()
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
            "/assets/landing.css",
            get(|| {
                asset(
                    "text/css; charset=utf-8",
                    include_str!("../assets/landing.css"),
                )
            }),
        )
        .route(
            "/assets/favicon.svg",
            get(|| asset("image/svg+xml", include_str!("../assets/favicon.svg"))),
        )
        .nest("/api/v1", api::routes())
        .merge(pages::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ctx);
    harden(router, secure)
}

/// The largest request body accepted: a big rule file fits; each field has its own limit too.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Adds the console's security headers to every answer of `router`, and HSTS when it is served
/// over HTTPS; layering it twice is harmless (the headers are set, not appended).
pub fn harden<S: Clone + Send + Sync + 'static>(router: Router<S>, https: bool) -> Router<S> {
    let router = router.layer(axum::middleware::map_response(security_headers));
    if https {
        router.layer(axum::middleware::map_response(hsts))
    } else {
        router
    }
}

async fn hsts(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        header::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    response
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

/// Liveness for load balancers: 503 when the store does not answer; otherwise 200 with
/// `status` `ok`, or `degraded` naming the engine loops that are down (restarting after a panic
/// or an error, or silent past their heartbeat allowance). A degraded engine still answers 200
/// so the console stays reachable to fix what is wrong; monitors read `status`.
/// It is public, so it says when and how often, never what: causes, connector errors and
/// document problems are for signed-in operators (`/api/v1/connectors`, the overview).
async fn healthz(axum::extract::State(ctx): axum::extract::State<Ctx>) -> impl IntoResponse {
    let database = ctx.app.store.backend();
    let version = env!("CARGO_PKG_VERSION");
    let engine = ctx.health.report();
    let loops: Vec<serde_json::Value> = engine
        .loops
        .iter()
        .map(|entry| {
            json!({
                "name": entry.name,
                "running": entry.running,
                "last_heartbeat": entry.last_heartbeat,
                "restarts": entry.restarts,
                "last_error_at": entry.last_error.as_ref().map(|problem| problem.at),
            })
        })
        .collect();
    let connectors: Vec<serde_json::Value> = engine
        .connectors
        .iter()
        .map(|connector| {
            json!({
                "id": connector.id,
                "state": connector.state,
                "last_poll_ok": connector.last_poll_ok,
            })
        })
        .collect();
    let body = |status: &str| {
        json!({
            "status": status,
            "version": version,
            "database": database,
            "down": engine.down,
            "loops": loops,
            "connectors": connectors,
            "rejected_documents": engine.documents.len(),
        })
    };
    match ctx.app.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(body(engine.status))),
        Err(error) => {
            tracing::warn!(%error, "health check: store did not answer");
            (StatusCode::SERVICE_UNAVAILABLE, Json(body("unavailable")))
        }
    }
}
