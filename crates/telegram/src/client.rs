//! The Bot API over HTTP: `POST {base}/bot{token}/{method}` with a JSON body, and every failure
//! kept with what the dispatcher needs (the description, `retry_after`, whether the request may
//! have reached Telegram). The token is part of the URL, so no error here ever shows a URL.

use std::time::Duration;

use qunzhu_connector::ConnectorError;
use serde_json::Value;

use crate::types::ApiResponse;

/// The longest `retry_after` obeyed; a larger one is taken as this (a bug or a ban, not a wait).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// No answer. `maybe_delivered` is false only when the connection was never made.
    Network {
        message: String,
        maybe_delivered: bool,
    },
    /// Telegram answered `ok: false`.
    Api {
        code: i64,
        description: String,
        retry_after: Option<Duration>,
        migrate_to: Option<i64>,
    },
}

impl CallError {
    /// The generic translation; actions refine 400/403 with their own explanations.
    pub fn into_connector(self, what: &str) -> ConnectorError {
        match self {
            CallError::Network { message, .. } => {
                ConnectorError::Transient(format!("{what}: {message}"))
            }
            CallError::Api {
                code: 429,
                retry_after,
                ..
            } => ConnectorError::RateLimited {
                retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
            },
            CallError::Api {
                code: 401,
                description,
                ..
            }
            | CallError::Api {
                code: 404,
                description,
                ..
            } => ConnectorError::Auth(format!(
                "Telegram refused the bot token ({description}): it was revoked or mistyped; set QUNZHU_TELEGRAM_TOKEN to the token @BotFather gives"
            )),
            CallError::Api {
                migrate_to: Some(new_id),
                description,
                ..
            } => ConnectorError::Permanent(format!(
                "{what}: the group became a supergroup with id {new_id} ({description})"
            )),
            CallError::Api {
                code, description, ..
            } if code >= 500 => ConnectorError::Transient(format!("{what}: {code} {description}")),
            CallError::Api { description, .. } => {
                ConnectorError::Permanent(format!("{what}: {description}"))
            }
        }
    }

    pub fn description(&self) -> &str {
        match self {
            CallError::Network { message, .. } => message,
            CallError::Api { description, .. } => description,
        }
    }
}

/// A client for one bot token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(base: &str, token: &str) -> Result<Client, ConnectorError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| {
                ConnectorError::Permanent(format!("cannot build an HTTP client: {error}"))
            })?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        })
    }

    /// One method call; `timeout` is the whole request's (long polls add their own wait).
    pub async fn call(
        &self,
        method: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let url = format!("{}/bot{}/{method}", self.base, self.token);
        let sent = self
            .http
            .post(&url)
            .timeout(timeout)
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                return Err(CallError::Network {
                    maybe_delivered: !error.is_connect(),
                    message: format!("{method} at {}: {}", self.base, error.without_url()),
                })
            }
        };
        let status = response.status();
        let text = response.text().await.map_err(|error| CallError::Network {
            maybe_delivered: true,
            message: format!("reading the answer to {method}: {}", error.without_url()),
        })?;
        let answer: ApiResponse = match serde_json::from_str(&text) {
            Ok(answer) => answer,
            Err(_) if status.is_server_error() => {
                return Err(CallError::Api {
                    code: i64::from(status.as_u16()),
                    description: format!("{status} from {}", self.base),
                    retry_after: None,
                    migrate_to: None,
                })
            }
            Err(error) => {
                return Err(CallError::Network {
                    maybe_delivered: true,
                    message: format!("{method} answered {status} with something not JSON: {error}"),
                })
            }
        };
        if answer.ok {
            return Ok(answer.result.unwrap_or(Value::Null));
        }
        let parameters = answer.parameters.unwrap_or_default();
        Err(CallError::Api {
            code: answer.error_code.unwrap_or(i64::from(status.as_u16())),
            description: answer
                .description
                .unwrap_or_else(|| format!("{status} without a description")),
            retry_after: parameters
                .retry_after
                .map(|seconds| Duration::from_secs(seconds).min(MAX_RETRY_AFTER)),
            migrate_to: parameters.migrate_to_chat_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_sort_into_what_the_dispatcher_does() {
        let api = |code, retry: Option<u64>| CallError::Api {
            code,
            description: "Too Many Requests: retry after 5".into(),
            retry_after: retry.map(Duration::from_secs),
            migrate_to: None,
        };
        assert_eq!(
            api(429, Some(5)).into_connector("send"),
            ConnectorError::RateLimited {
                retry_after: Duration::from_secs(5)
            }
        );
        assert!(matches!(
            api(401, None).into_connector("getMe"),
            ConnectorError::Auth(_)
        ));
        assert!(matches!(
            api(502, None).into_connector("send"),
            ConnectorError::Transient(_)
        ));
        assert!(matches!(
            api(400, None).into_connector("send"),
            ConnectorError::Permanent(_)
        ));
    }
}
