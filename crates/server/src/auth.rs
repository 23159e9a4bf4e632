//! Who is asking: passwords (argon2), session cookies, API tokens, CSRF tokens, login throttling.
//!
//! Secrets (session cookies, API tokens) are random and only their SHA-256 is stored, so a leaked
//! database does not let anyone in. The CSRF token is derived from the session secret, so it
//! needs no storage and a page can never be forged without the cookie.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::WorkspaceId;
use qunzhu_storage::{User, UserRole};

use crate::error::{ApiError, ErrorCode};

pub const SESSION_COOKIE: &str = "qz_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "_csrf";
/// How long a console session lasts without signing in again.
pub const SESSION_HOURS: i64 = 12;
/// Failed logins allowed per login name and per address within [`LIMIT_WINDOW_SECONDS`].
pub const LOGIN_ATTEMPTS: usize = 5;
pub const LIMIT_WINDOW_SECONDS: i64 = 60;

/// The signed-in person or token a request acts as; every query is scoped to its workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub workspace: WorkspaceId,
    /// `user:<login>` or `token:<name>`, as written in the audit log.
    pub actor: String,
    pub role: UserRole,
    pub display_name: String,
    /// The CSRF token of a cookie session; `None` for API tokens, which need none.
    pub csrf: Option<String>,
}

impl Principal {
    /// Refuses the request unless the role is at least `needed`.
    pub fn require(&self, needed: UserRole) -> Result<(), ApiError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    pub fn can_edit(&self) -> bool {
        self.role >= UserRole::Operator
    }

    /// The same person as the operations layer knows them.
    pub fn actor(&self) -> qunzhu_ops::Actor {
        qunzhu_ops::Actor {
            workspace: self.workspace,
            name: self.actor.clone(),
            role: self.role,
        }
    }

    pub fn from_user(user: &User, csrf: Option<String>) -> Self {
        Principal {
            workspace: user.workspace,
            actor: format!("user:{}", user.login),
            role: user.role,
            display_name: if user.display_name.is_empty() {
                user.login.clone()
            } else {
                user.display_name.clone()
            },
            csrf,
        }
    }
}

/// Hex SHA-256, the form in which secrets are stored.
pub use qunzhu_ops::accounts::{random_secret, sha256_hex, TOKEN_PREFIX};

/// The CSRF token of a session: derived, so it needs no storage and changes with the session.
pub fn csrf_for(session_secret: &str) -> String {
    sha256_hex(&format!("qunzhu-csrf\0{session_secret}"))
}

/// Compares without an early exit, so timing does not tell how much of a token was right.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub use qunzhu_ops::accounts::{
    create_user, hash_password, hash_password_with, validate_login, validate_password,
    verify_password,
};

/// Signs in: checks the throttle, then the password; returns the user and the new session secret.
pub async fn sign_in(
    ctx: &crate::Ctx,
    login: &str,
    password: &str,
    address: Option<SocketAddr>,
) -> Result<(User, String), ApiError> {
    let now = ctx.app.clock.now();
    let keys = throttle_keys(login, address);
    if !ctx.limiter.allowed(&keys, now) {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "too many failed sign-ins; wait a minute and try again",
        ));
    }
    let user = ctx.app.store.user_by_login(login.trim()).await?;
    let verified = match user {
        Some(user) => {
            let (password, hash) = (password.to_string(), user.password_hash.clone());
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .map_err(ApiError::internal)?;
            ok.then_some(user)
        }
        None => None,
    };
    let Some(user) = verified else {
        ctx.limiter.record_failure(&keys, now);
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "wrong login or password",
        ));
    };
    let secret = random_secret();
    ctx.app
        .store
        .create_session(
            &sha256_hex(&secret),
            user.id,
            now + Duration::hours(SESSION_HOURS),
        )
        .await?;
    Ok((user, secret))
}

fn throttle_keys(login: &str, address: Option<SocketAddr>) -> Vec<String> {
    let mut keys = vec![format!("login:{}", login.trim().to_lowercase())];
    if let Some(address) = address {
        keys.push(format!("ip:{}", address.ip()));
    }
    keys
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(secret: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// One cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The client's address when the binary serves with connect info.
pub fn client_address(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

/// Extracts the client's address if known; never fails (tests and proxies may not have one).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_address(parts)))
    }
}

/// The principal of a cookie session, if the cookie names a live session.
pub async fn session_principal(
    ctx: &crate::Ctx,
    headers: &HeaderMap,
) -> Result<Option<Principal>, ApiError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE).filter(|secret| !secret.is_empty()) else {
        return Ok(None);
    };
    let user = ctx
        .app
        .store
        .session_user(&sha256_hex(secret), ctx.app.clock.now())
        .await?;
    Ok(user.map(|user| Principal::from_user(&user, Some(csrf_for(secret)))))
}

/// Authenticates an API call: a bearer token, or a session cookie plus the CSRF header when the
/// method changes something.
pub async fn api_principal(ctx: &crate::Ctx, parts: &Parts) -> Result<Principal, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let secret = value
            .to_str()
            .ok()
            .and_then(|text| text.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(secret) = secret else {
            return Err(ApiError::unauthorized());
        };
        let token = ctx
            .app
            .store
            .api_token(&sha256_hex(secret))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        return Ok(Principal {
            workspace: token.workspace,
            actor: format!("token:{}", token.name),
            role: token.role,
            display_name: token.name,
            csrf: None,
        });
    }
    let principal = session_principal(ctx, &parts.headers)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        if !principal
            .csrf
            .as_deref()
            .is_some_and(|expected| same_secret(expected, sent))
        {
            return Err(ApiError::csrf());
        }
    }
    Ok(principal)
}

/// Failed sign-ins per key in a sliding window, in memory (one process serves one console).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl LoginLimiter {
    fn prune(queue: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
        while queue
            .front()
            .is_some_and(|at| *at <= now - Duration::seconds(LIMIT_WINDOW_SECONDS))
        {
            queue.pop_front();
        }
    }

    pub fn allowed(&self, keys: &[String], now: DateTime<Utc>) -> bool {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.iter().all(|key| {
            failures.get_mut(key).is_none_or(|queue| {
                Self::prune(queue, now);
                queue.len() < LOGIN_ATTEMPTS
            })
        })
    }

    pub fn record_failure(&self, keys: &[String], now: DateTime<Utc>) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Forget idle keys now and then so a scan of random logins cannot grow the map forever.
        if failures.len() > 10_000 {
            failures.retain(|_, queue| {
                Self::prune(queue, now);
                !queue.is_empty()
            });
        }
        for key in keys {
            let queue = failures.entry(key.clone()).or_default();
            Self::prune(queue, now);
            queue.push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_allows_five_failures_a_minute_per_key() {
        let limiter = LoginLimiter::default();
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let keys = vec!["login:a".to_string(), "ip:127.0.0.1".to_string()];
        for _ in 0..LOGIN_ATTEMPTS {
            assert!(limiter.allowed(&keys, start));
            limiter.record_failure(&keys, start);
        }
        assert!(!limiter.allowed(&keys, start));
        assert!(
            !limiter.allowed(&["ip:127.0.0.1".to_string()], start),
            "the address is throttled too"
        );
        assert!(limiter.allowed(&["login:b".to_string()], start));
        assert!(limiter.allowed(&keys, start + Duration::seconds(LIMIT_WINDOW_SECONDS)));
    }

    #[test]
    fn passwords_verify_and_secrets_compare_exactly() {
        let cheap = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8, 1, 1, None).unwrap(),
        );
        let hash = hash_password_with(&cheap, "correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert_ne!(csrf_for("a"), csrf_for("b"));
    }

    #[test]
    fn cookies_are_read_from_any_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            "lang=en; qz_session=s3cret".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("s3cret"));
        assert_eq!(cookie(&headers, "lang"), Some("en"));
        assert_eq!(cookie(&headers, "nope"), None);
    }
}
