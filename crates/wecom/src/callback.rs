//! The callback endpoint WeCom calls: URL verification (GET, answered within 1 s) and events
//! (POST, answered within 5 s), as an axum [`Router`] the binary nests on its own HTTP port.
//!
//! A POST is checked (signature, timestamp window, nonce not seen before, padding, receive id),
//! decrypted and appended to the connector's durable [`Inbox`] before it is answered, so a crash
//! after the answer loses nothing; WeCom's retries of the same event land on the same key and are
//! recorded once. Refusals are logged with their reason and answered 400/403, never a panic.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use qunzhu_connector::inbox::{Appended, Inbox};
use qunzhu_domain::Clock;
use serde::Deserialize;
use tokio::sync::Notify;

use crate::callback_xml::{dedupe_key, parse_callback, Callback};
use crate::crypto::{encrypt_field, CryptoError, MsgCrypt};

/// How far a callback's timestamp may be from the clock (WeCom's own clock, network delays).
pub const WINDOW_SECONDS: i64 = 300;

/// The query WeCom puts on every callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    pub msg_signature: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub echostr: Option<String>,
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("timestamp `{0}` is not a number")]
    BadTimestamp(String),
    #[error("timestamp {given} is {skew} s from now, outside the {WINDOW_SECONDS} s window")]
    Stale { given: i64, skew: i64 },
    #[error("nonce `{0}` was already used: a replay")]
    Replay(String),
    #[error("decrypted callback unreadable: {0}")]
    Unreadable(String),
    #[error("cannot record the callback: {0}")]
    Storage(String),
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Crypto(CryptoError::BadSignature) | Refusal::Replay(_) => {
                StatusCode::FORBIDDEN
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Nonces seen inside the window, oldest first.
#[derive(Debug, Default)]
struct Nonces {
    order: VecDeque<(i64, String)>,
    seen: HashMap<String, i64>,
}

impl Nonces {
    fn check_and_insert(&mut self, nonce: &str, at: i64, now: i64) -> bool {
        while let Some((when, old)) = self.order.front().cloned() {
            if now - when <= 2 * WINDOW_SECONDS {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&old);
        }
        let key = format!("{at}:{nonce}");
        if self.seen.contains_key(&key) {
            return false;
        }
        self.seen.insert(key.clone(), now);
        self.order.push_back((now, key));
        true
    }
}

/// Everything the endpoint needs; shared with the connector, which drains the inbox.
pub struct CallbackState {
    crypt: MsgCrypt,
    inbox: Arc<Inbox>,
    clock: Arc<dyn Clock>,
    nonces: Mutex<Nonces>,
    wake: Arc<Notify>,
    refused: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for CallbackState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackState")
            .field("inbox", &self.inbox)
            .finish_non_exhaustive()
    }
}

/// What a POST became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    New { seq: u64 },
    Duplicate { seq: u64 },
}

impl CallbackState {
    pub fn new(
        crypt: MsgCrypt,
        inbox: Arc<Inbox>,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
    ) -> Arc<CallbackState> {
        Arc::new(CallbackState {
            crypt,
            inbox,
            clock,
            nonces: Mutex::new(Nonces::default()),
            wake,
            refused: Default::default(),
        })
    }

    /// Callbacks refused since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn fresh(&self, query: &CallbackQuery) -> Result<(), Refusal> {
        let given: i64 = query
            .timestamp
            .parse()
            .map_err(|_| Refusal::BadTimestamp(query.timestamp.clone()))?;
        let now = self.clock.now().timestamp();
        let skew = (now - given).abs();
        if skew > WINDOW_SECONDS {
            return Err(Refusal::Stale { given, skew });
        }
        Ok(())
    }

    fn remember_nonce(&self, query: &CallbackQuery) -> Result<(), Refusal> {
        let now = self.clock.now().timestamp();
        let mut nonces = self
            .nonces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if nonces.check_and_insert(&query.nonce, query.timestamp.parse().unwrap_or(0), now) {
            Ok(())
        } else {
            Err(Refusal::Replay(query.nonce.clone()))
        }
    }

    /// URL verification: the plaintext to answer with.
    pub fn verify(&self, query: &CallbackQuery) -> Result<String, Refusal> {
        self.fresh(query)?;
        let echostr = query.echostr.as_deref().unwrap_or("");
        Ok(self.crypt.verify_url(
            &query.msg_signature,
            &query.timestamp,
            &query.nonce,
            echostr,
        )?)
    }

    /// An event POST: checked, decrypted, recorded durably.
    pub fn accept(&self, query: &CallbackQuery, body: &str) -> Result<Accepted, Refusal> {
        self.fresh(query)?;
        let encrypted = encrypt_field(body)?;
        self.crypt.check_signature(
            &query.msg_signature,
            &query.timestamp,
            &query.nonce,
            &encrypted,
        )?;
        // Only a correctly signed request spends its nonce, so garbage cannot evict real ones.
        self.remember_nonce(query)?;
        let (plain, _) = open_callback(&self.crypt, query, body)?;
        let key = dedupe_key(&plain);
        let appended = self
            .inbox
            .append(&key, self.clock.now().timestamp(), &plain)
            .map_err(|error| Refusal::Storage(error.to_string()))?;
        Ok(match appended {
            Appended::New { seq } => {
                self.wake.notify_one();
                Accepted::New { seq }
            }
            Appended::Duplicate { seq } => Accepted::Duplicate { seq },
        })
    }

    fn refuse(&self, what: &str, refusal: &Refusal) -> Response {
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(%refusal, what, "WeCom callback refused");
        (refusal.status(), refusal.to_string()).into_response()
    }
}

async fn verify_url(
    State(state): State<Arc<CallbackState>>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    match state.verify(&query) {
        // The bare plaintext: no quotes, no BOM, no newline.
        Ok(plain) => plain.into_response(),
        Err(refusal) => state.refuse("url verification", &refusal),
    }
}

async fn event(
    State(state): State<Arc<CallbackState>>,
    Query(query): Query<CallbackQuery>,
    body: String,
) -> Response {
    let worker = state.clone();
    // The fsync runs off the async threads; the answer waits for it.
    let result = tokio::task::spawn_blocking(move || worker.accept(&query, &body)).await;
    match result {
        Ok(Ok(Accepted::New { seq })) => {
            tracing::debug!(seq, "WeCom callback recorded");
            (StatusCode::OK, "").into_response()
        }
        Ok(Ok(Accepted::Duplicate { seq })) => {
            tracing::info!(seq, "WeCom callback retried; already recorded");
            (StatusCode::OK, "").into_response()
        }
        Ok(Err(refusal)) => state.refuse("event", &refusal),
        Err(error) => state.refuse("event", &Refusal::Storage(error.to_string())),
    }
}

/// The pure part of reading a POST: signature, decryption, padding, receive id and the XML,
/// with no clock, nonce memory or inbox. `qunzhu bench fuzz` drives it with arbitrary bodies.
pub fn open_callback(
    crypt: &MsgCrypt,
    query: &CallbackQuery,
    body: &str,
) -> Result<(String, Callback), Refusal> {
    let encrypted = encrypt_field(body)?;
    crypt.check_signature(
        &query.msg_signature,
        &query.timestamp,
        &query.nonce,
        &encrypted,
    )?;
    let plain = crypt.decrypt(&encrypted)?.message;
    let callback =
        parse_callback(&plain).map_err(|error| Refusal::Unreadable(error.to_string()))?;
    Ok((plain, callback))
}

/// One fuzz case for `qunzhu bench fuzz`: `input` is split at its first newline into the
/// signature and the body, then read with the official test vector's Token and key. Returns
/// whether it was accepted; any input is fine, none panics.
pub fn fuzz_one(input: &[u8]) -> bool {
    let Ok(crypt) = MsgCrypt::new(
        "QDG6eK",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        "wx5823bf96d3bd56c7",
    ) else {
        return false;
    };
    let text = String::from_utf8_lossy(input);
    let (signature, body) = text.split_once('\n').unwrap_or(("", &text));
    let query = CallbackQuery {
        msg_signature: signature.to_string(),
        timestamp: "1409659813".into(),
        nonce: "1372623149".into(),
        echostr: None,
    };
    open_callback(&crypt, &query, body).is_ok()
}

/// `GET /` verifies the URL, `POST /` takes events; nest it at `/hooks/wecom/{account}`.
pub fn router(state: Arc<CallbackState>) -> Router {
    Router::new()
        .route("/", get(verify_url).post(event))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzz_entry_accepts_the_official_vector_and_refuses_noise() {
        let body = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>";
        let case = format!("477715d11cdb4164915debcba66cb864d751f3e6\n{body}");
        assert!(fuzz_one(case.as_bytes()));
        assert!(!fuzz_one(b"\xff\xfe<xml>"));
        assert!(!fuzz_one(b""));
    }
}
