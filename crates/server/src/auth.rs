//! Who is asking: passwords (argon2), session cookies, API tokens, CSRF tokens, client addresses.
//!
//! Secrets (session cookies, API tokens) are random and only their SHA-256 is stored, so a leaked
//! database does not let anyone in. The CSRF token is derived from the session secret, so it
//! needs no storage and a page can never be forged without the cookie.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, Method};
use chrono::Duration;
use qunzhu_domain::{ActorName, WorkspaceId};
use qunzhu_storage::{User, UserRole};

use crate::error::{ApiError, ErrorCode};
use crate::throttle::Locked;

pub const SESSION_COOKIE: &str = "qz_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "_csrf";
/// How long a console session lasts without signing in again.
pub const SESSION_HOURS: i64 = 12;

/// The signed-in person or token a request acts as; every query is scoped to its workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub workspace: WorkspaceId,
    /// `user:<login>` or `token:<name>`, as written in the audit log.
    pub actor: ActorName,
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
            actor: ActorName::User(user.login.clone()),
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

/// A PHC string with the same parameters as every real hash, verified when the login is
/// unknown, so a wrong login costs exactly what a wrong password does and timing tells nothing.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bI1ViRPjxvUm0nb7PltWdA$eOsQbR+CSBuh8csmalWyP6z/cMnL7cMeTprtBJNLyS8";

/// Signs in: the throttle decides and counts first, then the password is verified in one of a
/// few slots (real hash or the dummy); returns the user and the new session secret.
pub async fn sign_in(
    ctx: &crate::Ctx,
    login: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Result<(User, String), ApiError> {
    let now = ctx.app.clock.now();
    let login = login.trim();
    let attempt = ctx
        .guard
        .begin(login, address, now)
        .map_err(|Locked(wait)| {
            ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "too many failed sign-ins; try again in {} s",
                    wait.num_seconds().max(1)
                ),
            )
        })?;
    let user = ctx.app.store.user_by_login(login).await?;
    let hash = user
        .as_ref()
        .map_or(DUMMY_HASH.to_string(), |user| user.password_hash.clone());
    let mut slot = ctx.guard.slot().await.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "the server is busy checking other sign-ins; try again in a moment",
        )
    })?;
    let ok = slot.verify(password, &hash).await;
    drop(slot);
    let Some(user) = user.filter(|_| ok) else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "wrong login or password",
        ));
    };
    ctx.guard.succeeded(&attempt);
    if user.is_disabled() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this account is disabled; ask an owner to enable it",
        ));
    }
    // Sign-in is when sessions are made, so it is also when the expired ones are cleared away.
    if let Err(error) = ctx.app.store.purge_expired_sessions(now).await {
        tracing::warn!(%error, "could not purge expired sessions");
    }
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

/// The client's address: from the configured trusted proxy header when there is one (its last
/// entry, the one our own proxy appended), else the socket peer when served with connect info.
pub fn client_address(parts: &Parts, trusted_header: Option<&HeaderName>) -> Option<IpAddr> {
    let from_proxy = trusted_header
        .and_then(|name| parts.headers.get_all(name).iter().next_back())
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| parse_ip(last.trim()));
    from_proxy.or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    })
}

/// An address as proxies write it: `203.0.113.9`, `203.0.113.9:4711`, `[2001:db8::1]:443`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

/// Extracts the client's address if known; never fails (tests may not have one).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl axum::extract::FromRequestParts<crate::Ctx> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &crate::Ctx,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_address(
            parts,
            ctx.trusted_proxy_header.as_ref(),
        )))
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
            actor: ActorName::Token(token.name.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_client_address_is_the_peer_unless_a_trusted_header_says_otherwise() {
        let peer: SocketAddr = "192.0.2.1:5555".parse().unwrap();
        let header = HeaderName::from_static("x-forwarded-for");
        let parts = |forwarded: Option<&str>| {
            let mut builder = axum::http::Request::builder().uri("/login");
            if let Some(value) = forwarded {
                builder = builder.header("x-forwarded-for", value);
            }
            let (mut parts, ()) = builder.body(()).unwrap().into_parts();
            parts.extensions.insert(ConnectInfo(peer));
            parts
        };
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        let cases = [
            (Some("203.0.113.9"), None, "192.0.2.1"),
            (Some("203.0.113.9"), Some(&header), "203.0.113.9"),
            (Some("10.0.0.1, 203.0.113.9"), Some(&header), "203.0.113.9"),
            (Some("[2001:db8::7]:443"), Some(&header), "2001:db8::7"),
            (Some("203.0.113.9:4711"), Some(&header), "203.0.113.9"),
            (Some("not an address"), Some(&header), "192.0.2.1"),
            (None, Some(&header), "192.0.2.1"),
        ];
        for (forwarded, trusted, expected) in cases {
            assert_eq!(
                client_address(&parts(forwarded), trusted),
                ip(expected),
                "{forwarded:?} trusted={}",
                trusted.is_some()
            );
        }
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
