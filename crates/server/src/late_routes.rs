//! Routes that exist only once their connector is up (platform webhooks). `serve` answers the
//! console and `/healthz` from its first instant, before connectors are built; a webhook that
//! arrives before its connector is ready gets 503, which Telegram and WeCom both deliver again.

use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use tower::ServiceExt;

/// A slot for the routes under one prefix, filled once they are known.
#[derive(Clone, Default)]
pub struct LateRoutes(Arc<RwLock<Option<Router>>>);

impl LateRoutes {
    /// The routes requests under the prefix go to from now on (full paths, prefix included).
    pub fn set(&self, routes: Router) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(routes);
    }

    /// A router that sends everything under `prefix` to the slot.
    pub fn under(&self, prefix: &str) -> Router {
        Router::new()
            .route(&format!("{prefix}/{{*rest}}"), any(forward))
            .with_state(self.clone())
    }
}

async fn forward(State(late): State<LateRoutes>, request: Request) -> Response {
    let routes = late.0.read().unwrap_or_else(|e| e.into_inner()).clone();
    match routes {
        Some(routes) => match routes.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
        None => (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;

    async fn status(app: &Router, path: &str) -> StatusCode {
        let request = Request::post(path).body(Body::empty()).expect("request");
        app.clone().oneshot(request).await.expect("answer").status()
    }

    #[tokio::test]
    async fn unavailable_until_set_then_forwarded_with_full_paths() {
        let late = LateRoutes::default();
        let app = late.under("/hooks");
        assert_eq!(
            status(&app, "/hooks/telegram/1").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        late.set(Router::new().nest(
            "/hooks/telegram/1",
            Router::new().route("/", post(|| async { "taken" })),
        ));
        assert_eq!(status(&app, "/hooks/telegram/1").await, StatusCode::OK);
        assert_eq!(status(&app, "/hooks/wecom/x").await, StatusCode::NOT_FOUND);
    }
}
