//! The webhook route: Telegram POSTs one update per request. The secret token header is checked
//! on every request, and the update is fsynced to the inbox before the answer is 200, so an
//! update Telegram considers delivered is never lost.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use qunzhu_connector::inbox::Appended;
use serde_json::Value;

use crate::TelegramConnector;

/// The header Telegram sets to the `secret_token` given to `setWebhook`.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub fn router(connector: Arc<TelegramConnector>) -> Router {
    Router::new()
        .route("/", post(receive))
        .with_state(connector)
}

/// Compares without stopping at the first difference, so timing tells nothing.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

async fn receive(
    State(connector): State<Arc<TelegramConnector>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let Some(inbox) = &connector.inbox else {
        return (StatusCode::NOT_FOUND, "this bot is in poll mode");
    };
    let given = headers
        .get(SECRET_HEADER)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    if !same(given, connector.config.webhook_secret.expose().as_bytes()) {
        tracing::warn!("refused a Telegram webhook request with a wrong secret token");
        return (StatusCode::UNAUTHORIZED, "wrong secret token");
    }
    let Some(update_id) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|update| update.get("update_id").and_then(Value::as_i64))
    else {
        // Telegram would redeliver a refused update forever: log it and let it go.
        tracing::warn!(
            bytes = body.len(),
            "skipping a webhook body that is not an update"
        );
        return (StatusCode::OK, "skipped");
    };
    let payload = String::from_utf8_lossy(&body);
    let now = connector.clock.now().timestamp();
    match inbox.append(&update_id.to_string(), now, &payload) {
        Ok(Appended::New { .. }) => {
            connector.arrived.notify_one();
            (StatusCode::OK, "ok")
        }
        Ok(Appended::Duplicate { .. }) => (StatusCode::OK, "duplicate"),
        Err(error) => {
            // Not recorded, so not acknowledged: Telegram will deliver it again.
            tracing::error!(%error, "could not record a webhook update");
            (StatusCode::INTERNAL_SERVER_ERROR, "not recorded")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_whole() {
        assert!(super::same(b"abc", b"abc"));
        assert!(!super::same(b"abc", b"abd"));
        assert!(!super::same(b"abc", b"ab"));
        assert!(!super::same(b"", b"a"));
    }
}
