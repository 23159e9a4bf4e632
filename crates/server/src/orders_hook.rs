//! The shop's orders webhook: the HMAC-SHA256 signature over timestamp, nonce and body, the
//! ±5 minute window, the nonce remembered for that window, and the body's shape.
//!
//! The shop signs `"{timestamp}.{nonce}.{body}"` with the shared secret and sends
//! `X-Qunzhu-Timestamp` (Unix seconds), `X-Qunzhu-Nonce` and `X-Qunzhu-Signature: sha256=<hex>`.
//! The signature is checked first (constant time), so unsigned junk never reaches the store.

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_ops::{Buyer, IncomingOrder, OrderPolicy};
use serde::Deserialize;
use sha2::Sha256;

use crate::error::{ApiError, ErrorCode};

pub const TIMESTAMP_HEADER: &str = "x-qunzhu-timestamp";
pub const NONCE_HEADER: &str = "x-qunzhu-nonce";
pub const SIGNATURE_HEADER: &str = "x-qunzhu-signature";

/// How far a timestamp may be from the server's clock, either way.
pub const WINDOW: Duration = Duration::minutes(5);

/// The webhook's settings: which workspace it feeds, the secret and the order policy.
#[derive(Clone)]
pub struct OrdersHook {
    pub workspace: WorkspaceId,
    secret: Vec<u8>,
    pub policy: OrderPolicy,
}

impl std::fmt::Debug for OrdersHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdersHook")
            .field("workspace", &self.workspace)
            .field("secret", &"[redacted]")
            .field("policy", &self.policy)
            .finish()
    }
}

impl OrdersHook {
    pub fn new(workspace: WorkspaceId, secret: &str, policy: OrderPolicy) -> Self {
        OrdersHook {
            workspace,
            secret: secret.as_bytes().to_vec(),
            policy,
        }
    }

    /// The signature header value for a body, as the shop computes it (tests and docs use it).
    pub fn sign(&self, timestamp: i64, nonce: &str, body: &[u8]) -> String {
        let digest = self
            .mac(timestamp, nonce, body)
            .map(|mac| hex::encode(mac.finalize().into_bytes()))
            .unwrap_or_default();
        format!("sha256={digest}")
    }

    /// HMAC takes a key of any length (RFC 2104), so this is `None` never in practice.
    fn mac(&self, timestamp: i64, nonce: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).ok()?;
        mac.update(format!("{timestamp}.{nonce}.").as_bytes());
        mac.update(body);
        Some(mac)
    }

    /// Checks the headers against the body: signature first, then the time window. Answers the
    /// nonce to remember and until when.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
        };
        let bad = |message: &str| ApiError::new(ErrorCode::BadSignature, message.to_string());
        let timestamp = header(TIMESTAMP_HEADER)
            .ok_or_else(|| bad("missing X-Qunzhu-Timestamp (Unix seconds)"))?;
        let timestamp: i64 = timestamp
            .parse()
            .map_err(|_| bad("X-Qunzhu-Timestamp is not a whole number of Unix seconds"))?;
        let nonce = header(NONCE_HEADER).ok_or_else(|| bad("missing X-Qunzhu-Nonce"))?;
        if nonce.is_empty()
            || nonce.len() > 128
            || !nonce
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad(
                "X-Qunzhu-Nonce must be 1 to 128 letters, digits, `-` or `_`",
            ));
        }
        let signature =
            header(SIGNATURE_HEADER).ok_or_else(|| bad("missing X-Qunzhu-Signature"))?;
        let hex_digest = signature
            .strip_prefix("sha256=")
            .ok_or_else(|| bad("X-Qunzhu-Signature must start with `sha256=`"))?;
        let digest = hex::decode(hex_digest)
            .map_err(|_| bad("X-Qunzhu-Signature is not hex after `sha256=`"))?;
        self.mac(timestamp, nonce, body)
            .ok_or_else(|| bad("the webhook secret cannot key HMAC"))?
            .verify_slice(&digest)
            .map_err(|_| bad("the signature does not match the body, timestamp and nonce"))?;
        let sent = DateTime::from_timestamp(timestamp, 0).ok_or_else(|| {
            ApiError::new(
                ErrorCode::StaleTimestamp,
                "X-Qunzhu-Timestamp is out of range",
            )
        })?;
        if (now - sent).abs() > WINDOW {
            return Err(ApiError::new(
                ErrorCode::StaleTimestamp,
                format!("X-Qunzhu-Timestamp {timestamp} is more than 5 minutes from the server's time {}", now.timestamp()),
            ));
        }
        // Remembered until the window around its timestamp has closed: after that the stale
        // check refuses a replay on its own.
        Ok((nonce.to_string(), sent + WINDOW + Duration::seconds(1)))
    }
}

/// How the shop names the buyer.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum MemberBody {
    Platform { platform: String, user: String },
    Code { code: String },
}

/// The webhook's JSON body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    order_id: String,
    member: MemberBody,
    amount_cents: i64,
    currency: String,
    #[serde(default)]
    items: Vec<String>,
    #[serde(default)]
    coupon: Option<String>,
    #[serde(default)]
    link_token: Option<String>,
    #[serde(default)]
    refund_of: Option<String>,
}

/// Parses and checks the body; each error names its field (or `body:LINE:COL`).
pub fn parse_order(body: &[u8]) -> Result<IncomingOrder, ApiError> {
    let parsed: OrderBody = serde_json::from_slice(body).map_err(|error| {
        ApiError::invalid(
            format!("body:{}:{}", error.line(), error.column()),
            error.to_string(),
        )
    })?;
    let word = |field: &str, value: &str| -> Result<String, ApiError> {
        let value = value.trim();
        if value.is_empty() || value.len() > 200 {
            return Err(ApiError::invalid(field, "1 to 200 characters"));
        }
        Ok(value.to_string())
    };
    let optional = |field: &str, value: &Option<String>| -> Result<Option<String>, ApiError> {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| word(field, v))
            .transpose()
    };
    let buyer = match &parsed.member {
        MemberBody::Platform { platform, user } => Buyer::Platform {
            platform: Platform::parse(platform)
                .map_err(|error| ApiError::invalid("member.platform", error.to_string()))?,
            user: word("member.user", user)?,
        },
        MemberBody::Code { code } => Buyer::Code(word("member.code", code)?),
    };
    let currency = parsed.currency.trim().to_string();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ApiError::invalid(
            "currency",
            format!("a three-letter ISO 4217 code like CNY, got `{currency}`"),
        ));
    }
    let refund_of = optional("refund_of", &parsed.refund_of)?;
    match (parsed.amount_cents, &refund_of) {
        (0, _) => {
            return Err(ApiError::invalid(
                "amount_cents",
                "an order of 0 is no order",
            ))
        }
        (amount, Some(_)) if amount > 0 => {
            return Err(ApiError::invalid(
                "amount_cents",
                "a refund (with refund_of) is negative",
            ))
        }
        (amount, None) if amount < 0 => {
            return Err(ApiError::invalid(
                "refund_of",
                "a negative amount is a refund: name the order it refunds",
            ))
        }
        _ => {}
    }
    if parsed.items.len() > 100 {
        return Err(ApiError::invalid("items", "at most 100 items"));
    }
    let items = parsed
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| word(&format!("items[{index}]"), item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(IncomingOrder {
        order_id: word("order_id", &parsed.order_id)?,
        buyer,
        amount_cents: parsed.amount_cents,
        currency,
        items,
        coupon: optional("coupon", &parsed.coupon)?,
        link_token: optional("link_token", &parsed.link_token)?,
        refund_of,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_by_field() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                r#"{"order_id":"o1","member":{"platform":"sandbox","user":"@a"},"amount_cents":100,"currency":"CNY"}"#,
                None,
            ),
            (
                r#"{"order_id":"o1","member":{"code":"amy-1"},"amount_cents":100,"currency":"CNY","items":["tea"]}"#,
                None,
            ),
            (
                r#"{"order_id":"r1","member":{"code":"amy-1"},"amount_cents":-100,"currency":"CNY","refund_of":"o1"}"#,
                None,
            ),
            (
                r#"{"order_id":"o1","member":{"platform":"sandbox","user":"@a"},"amount_cents":100"#,
                Some("body:1:"),
            ),
            (
                r#"{"order_id":"o1","member":{"platform":"icq","user":"@a"},"amount_cents":100,"currency":"CNY"}"#,
                Some("member.platform"),
            ),
            (
                r#"{"order_id":"","member":{"code":"x"},"amount_cents":100,"currency":"CNY"}"#,
                Some("order_id"),
            ),
            (
                r#"{"order_id":"o1","member":{"code":"x"},"amount_cents":100,"currency":"yuan"}"#,
                Some("currency"),
            ),
            (
                r#"{"order_id":"o1","member":{"code":"x"},"amount_cents":0,"currency":"CNY"}"#,
                Some("amount_cents"),
            ),
            (
                r#"{"order_id":"o1","member":{"code":"x"},"amount_cents":-5,"currency":"CNY"}"#,
                Some("refund_of"),
            ),
            (
                r#"{"order_id":"o1","member":{"code":"x"},"amount_cents":5,"currency":"CNY","refund_of":"o0"}"#,
                Some("amount_cents"),
            ),
            (
                r#"{"order_id":"o1","member":{"code":"x"},"amount_cents":5,"currency":"CNY","items":["ok",""]}"#,
                Some("items[1]"),
            ),
            (
                r#"{"order_id":"o1","member":{"code":"x"},"amount_cents":5,"currency":"CNY","price":1}"#,
                Some("body:1:"),
            ),
        ];
        for (body, field) in cases {
            let got = parse_order(body.as_bytes());
            match field {
                None => assert!(got.is_ok(), "{body}: {got:?}"),
                Some(field) => {
                    let error = got.expect_err(body);
                    assert!(
                        error
                            .field
                            .as_deref()
                            .unwrap_or_default()
                            .starts_with(field),
                        "{body}: {error:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn signatures_and_windows() {
        let hook = OrdersHook::new(WorkspaceId(1), "s3cret", OrderPolicy::default());
        let now = DateTime::from_timestamp(1_764_000_000, 0).expect("time");
        let body = br#"{"x":1}"#;
        let headers = |timestamp: i64, nonce: &str, signature: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                TIMESTAMP_HEADER,
                timestamp.to_string().parse().expect("header"),
            );
            headers.insert(NONCE_HEADER, nonce.parse().expect("header"));
            headers.insert(SIGNATURE_HEADER, signature.parse().expect("header"));
            headers
        };
        let t = now.timestamp();
        let good = hook.sign(t, "n1", body);
        assert_eq!(
            hook.verify(&headers(t, "n1", &good), body, now)
                .expect("valid")
                .0,
            "n1"
        );
        let code =
            |result: Result<(String, DateTime<Utc>), ApiError>| result.expect_err("refused").code;
        assert_eq!(
            code(hook.verify(&headers(t, "n1", &good), b"{\"x\":2}", now)),
            ErrorCode::BadSignature
        );
        assert_eq!(
            code(hook.verify(&headers(t, "n2", &good), body, now)),
            ErrorCode::BadSignature
        );
        assert_eq!(
            code(hook.verify(&headers(t + 1, "n1", &good), body, now)),
            ErrorCode::BadSignature
        );
        let other = OrdersHook::new(WorkspaceId(1), "other", OrderPolicy::default());
        assert_eq!(
            code(hook.verify(&headers(t, "n1", &other.sign(t, "n1", body)), body, now)),
            ErrorCode::BadSignature
        );
        assert_eq!(
            code(hook.verify(&headers(t, "n1", "sha1=00"), body, now)),
            ErrorCode::BadSignature
        );
        // Within five minutes either way is fine; beyond is stale, even when well signed.
        for (offset, fine) in [(-300, true), (300, true), (-301, false), (301, false)] {
            let at = t + offset;
            let result = hook.verify(&headers(at, "n1", &hook.sign(at, "n1", body)), body, now);
            assert_eq!(result.is_ok(), fine, "offset {offset}");
            if !fine {
                assert_eq!(code(result), ErrorCode::StaleTimestamp);
            }
        }
        assert!(
            !format!("{hook:?}").contains("s3cret"),
            "the secret is never printed"
        );
    }
}
