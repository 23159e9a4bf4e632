//! Tracked short links, served beside the console: `/l/{code}` records the click (with a first-party visitor cookie for
//! unique counts) and redirects to the original address.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use qunzhu_domain::Clock;
use qunzhu_storage::{LinkClick, Store, StoreError};

const VISITOR_COOKIE: &str = "qzv";

#[derive(Clone)]
struct Links {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

pub fn routes(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Router {
    // The same headers as the console: a redirect or an error page is never framed or sniffed.
    crate::harden(
        Router::new()
            .route("/l/{code}", get(follow))
            .with_state(Links { store, clock }),
        false,
    )
}

fn visitor_from(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == VISITOR_COOKIE
            && value.len() == 32
            && value.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then(|| value.to_string())
    })
}

async fn follow(
    State(links): State<Links>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    let link = match links.store.link(&code).await {
        Ok(link) => link,
        Err(StoreError::NotFound { .. }) => {
            return (StatusCode::NOT_FOUND, "链接不存在 / link not found").into_response()
        }
        Err(error) => {
            tracing::error!(%error, "cannot read a short link");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "请稍后再试 / try again later",
            )
                .into_response();
        }
    };
    let (visitor, fresh) = match visitor_from(&headers) {
        Some(visitor) => (visitor, false),
        None => (format!("{:032x}", rand::random::<u128>()), true),
    };
    let click = LinkClick {
        code,
        at: links.clock.now(),
        visitor: visitor.clone(),
    };
    if let Err(error) = links.store.record_click(click).await {
        tracing::warn!(%error, "cannot record a click; redirecting anyway");
    }
    let mut response = (StatusCode::FOUND, [(header::LOCATION, link.url)]).into_response();
    if fresh {
        let cookie = format!(
            "{VISITOR_COOKIE}={visitor}; Max-Age=31536000; Path=/l; HttpOnly; SameSite=Lax"
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}
