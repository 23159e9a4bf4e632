//! The API's one error type: stable snake_case codes the console and scripts can rely on.
//!
//! Internal failures are logged with their cause and answered with a generic message, so no
//! database detail ever reaches a client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use qunzhu_storage::StoreError;
use serde_json::json;

/// The codes a client may see; their strings never change once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    NotFound,
    InvalidInput,
    Conflict,
    RateLimited,
    PayloadTooLarge,
    CsrfFailed,
    Unavailable,
    Internal,
    /// The orders webhook: signature missing or wrong.
    BadSignature,
    /// The orders webhook: timestamp more than 5 minutes off.
    StaleTimestamp,
    /// The orders webhook: a nonce seen within the window.
    ReplayedNonce,
    /// The orders webhook: no such member in the workspace.
    UnknownMember,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::CsrfFailed => "csrf_failed",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::StaleTimestamp => "stale_timestamp",
            ErrorCode::ReplayedNonce => "replayed_nonce",
            ErrorCode::UnknownMember => "unknown_member",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::Unauthorized | ErrorCode::BadSignature | ErrorCode::StaleTimestamp => {
                StatusCode::UNAUTHORIZED
            }
            ErrorCode::ReplayedNonce => StatusCode::CONFLICT,
            ErrorCode::UnknownMember => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Forbidden | ErrorCode::CsrfFailed => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answered as `{ "error": { "code", "message", "field"? } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// The input field (a JSON path or form field name) the error is about.
    pub field: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::InvalidInput,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn forbidden() -> Self {
        ApiError::new(ErrorCode::Forbidden, "your role does not allow this")
    }

    pub fn unauthorized() -> Self {
        ApiError::new(ErrorCode::Unauthorized, "sign in or send a valid API token")
    }

    pub fn csrf() -> Self {
        ApiError::new(
            ErrorCode::CsrfFailed,
            "missing or wrong CSRF token; reload the page and try again",
        )
    }

    /// A day from a query, refused unless it lies in years 2000–2999: far-off days overflow the
    /// date arithmetic that follows, and no community has data there.
    pub fn check_day(field: &str, day: chrono::NaiveDate) -> Result<chrono::NaiveDate, ApiError> {
        use chrono::Datelike;
        if (2000..=2999).contains(&day.year()) {
            Ok(day)
        } else {
            Err(ApiError::invalid(
                field,
                "a day between 2000-01-01 and 2999-12-31",
            ))
        }
    }

    /// Logs the cause and hides it from the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error answering a console or API request");
        ApiError::new(
            ErrorCode::Internal,
            "something went wrong on the server; it has been logged",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { object, .. } => ApiError::not_found(object),
            StoreError::Conflict { object, id } => ApiError::new(
                ErrorCode::Conflict,
                format!("{object} `{id}` already exists"),
            ),
            StoreError::Invalid { field, message } => ApiError::invalid(field, message),
            StoreError::Unavailable(message) => {
                tracing::error!(%message, "store unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the database is unavailable; try again shortly",
                )
            }
            StoreError::Backend(cause) => ApiError::internal(cause),
        }
    }
}

impl From<qunzhu_ops::OpsError> for ApiError {
    fn from(error: qunzhu_ops::OpsError) -> Self {
        use qunzhu_ops::OpsError;
        match error {
            OpsError::Forbidden { .. } => ApiError::forbidden(),
            OpsError::NotFound(what) => ApiError::not_found(what),
            OpsError::Invalid { field, message } => ApiError::invalid(field, message),
            OpsError::Problems(problems) => {
                let field = problems
                    .first()
                    .map_or("source".into(), qunzhu_ops::Problem::field);
                ApiError::invalid(field, OpsError::Problems(problems).to_string())
            }
            OpsError::Store(error) => error.into(),
            OpsError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code.as_str(), "message": self.message });
        if let Some(field) = &self.field {
            body["field"] = json!(field);
        }
        (self.code.status(), Json(json!({ "error": body }))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_stable_codes_and_backend_detail_is_hidden() {
        let cases = [
            (
                StoreError::NotFound {
                    object: "group",
                    id: "7".into(),
                },
                "not_found",
                404,
            ),
            (
                StoreError::Conflict {
                    object: "user",
                    id: "a".into(),
                },
                "conflict",
                409,
            ),
            (
                StoreError::Invalid {
                    field: "name",
                    message: "empty".into(),
                },
                "invalid_input",
                422,
            ),
            (StoreError::Unavailable("down".into()), "unavailable", 503),
            (
                StoreError::Backend("SELECT secret FROM t".into()),
                "internal",
                500,
            ),
        ];
        for (store_error, code, status) in cases {
            let api = ApiError::from(store_error);
            assert_eq!(api.code.as_str(), code);
            assert_eq!(api.code.status().as_u16(), status);
            assert!(!api.message.contains("SELECT"), "leaked: {}", api.message);
        }
    }
}
