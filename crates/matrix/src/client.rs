//! The client-server API over HTTP: paths with percent-encoded ids, and every failure sorted
//! into what the dispatcher should do next (wait, retry, give up, re-authenticate).

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use qunzhu_connector::ConnectorError;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Everything but unreserved characters is encoded in path segments (`! $ # : @`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest a homeserver's `Retry-After` (or `retry_after_ms`) is obeyed: an hour, so a
/// misbehaving server cannot park the bot for good.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3_600);
/// The largest `/sync` answer (or a room's whole state or member list, which grow with the room)
/// read; a bigger one is refused (and retried) rather than letting a homeserver fill memory.
pub const MAX_SYNC_BODY: usize = 16 << 20;
/// The largest answer read from any other endpoint.
pub const MAX_BODY: usize = 1 << 20;
/// The largest image fetched to post (a poster is a few hundred KiB).
pub const MAX_IMAGE: usize = 8 << 20;

/// The size cap of one endpoint's answer.
pub fn body_limit(path: &str) -> usize {
    let path = path.split('?').next().unwrap_or(path);
    let large = path.starts_with("/_matrix/client/v3/sync")
        || path.ends_with("/state")
        || path.ends_with("/members")
        || path.ends_with("/joined_members");
    if large {
        MAX_SYNC_BODY
    } else {
        MAX_BODY
    }
}

pub fn encode(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// A logged-in client: base URL and access token.
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
    pub fn new(base: &str, token: String) -> Result<Client, ConnectorError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| {
                ConnectorError::Permanent(format!("cannot build an HTTP client: {error}"))
            })?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// Logs in with a password; returns the access token.
    pub async fn login(
        base: &str,
        user: &str,
        password: &str,
        device_id: &str,
    ) -> Result<String, ConnectorError> {
        let anonymous = Client::new(base, String::new())?;
        let body = serde_json::json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "device_id": device_id,
            "initial_device_display_name": "qunzhu",
        });
        let answer = anonymous
            .call(Method::POST, "/_matrix/client/v3/login", Some(&body), None)
            .await
            .map_err(|error| match error {
                ConnectorError::Permanent(message) if message.contains("M_FORBIDDEN") => {
                    ConnectorError::Auth(format!("wrong password for {user} on {base}"))
                }
                other => other,
            })?;
        answer
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ConnectorError::Auth(format!("{base} answered the login without an access token"))
            })
    }

    /// One request; `timeout` overrides the default (long polls).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, ConnectorError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .timeout(timeout.unwrap_or(Duration::from_secs(30)));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| {
            let what = if error.is_connect() {
                "cannot connect to"
            } else {
                "request failed at"
            };
            ConnectorError::Transient(format!("{what} {}: {error}", self.base))
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let limit = body_limit(path);
        let text = self.read_capped(response, limit).await?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        let code = json.get("errcode").and_then(Value::as_str).unwrap_or("");
        let message = json
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or(text.as_str());
        Err(match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let from_body = json
                    .get("retry_after_ms")
                    .and_then(Value::as_u64)
                    .map(Duration::from_millis);
                ConnectorError::RateLimited {
                    retry_after: retry_after
                        .or(from_body)
                        .unwrap_or(Duration::from_secs(1))
                        .min(MAX_RETRY_AFTER),
                }
            }
            StatusCode::UNAUTHORIZED => ConnectorError::Auth(format!(
                "{code}: {message} (access token expired or revoked?)"
            )),
            status if status.is_server_error() => {
                ConnectorError::Transient(format!("{status} from {}: {message}", self.base))
            }
            _ => ConnectorError::Permanent(format!("{code}: {message}")),
        })
    }

    /// Reads the body chunk by chunk and stops at `limit` bytes (a `Content-Length` above it is
    /// refused before anything is read).
    async fn read_capped(
        &self,
        response: reqwest::Response,
        limit: usize,
    ) -> Result<String, ConnectorError> {
        let body = self.read_capped_bytes(response, limit).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Downloads an image to post (a member's poster, from qunzhu's own HTTP server), at most
    /// [`MAX_IMAGE`] bytes; returns its bytes and content type.
    pub async fn fetch_image(&self, url: &str) -> Result<(Vec<u8>, String), ConnectorError> {
        let response = self
            .http
            .get(url)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|error| ConnectorError::Transient(format!("fetching {url}: {error}")))?;
        let status = response.status();
        let kind = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = self.read_capped_bytes(response, MAX_IMAGE).await?;
        if status.is_server_error() {
            return Err(ConnectorError::Transient(format!(
                "{status} fetching {url}"
            )));
        }
        if !status.is_success() {
            return Err(ConnectorError::Permanent(format!(
                "{status} fetching {url}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        if !kind.starts_with("image/") {
            return Err(ConnectorError::Permanent(format!(
                "{url} is not an image ({kind})"
            )));
        }
        Ok((body, kind))
    }

    /// Uploads bytes to the homeserver's media repository; returns their `mxc://` URI.
    pub async fn upload(
        &self,
        bytes: Vec<u8>,
        content_type: &str,
        filename: &str,
    ) -> Result<String, ConnectorError> {
        let url = format!(
            "{}/_matrix/media/v3/upload?filename={}",
            self.base,
            encode(filename)
        );
        let response = self
            .http
            .post(&url)
            .timeout(Duration::from_secs(60))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes)
            .send()
            .await
            .map_err(|error| {
                ConnectorError::Transient(format!("uploading to {}: {error}", self.base))
            })?;
        let status = response.status();
        let text = self.read_capped(response, MAX_BODY).await?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match json.get("content_uri").and_then(Value::as_str) {
            Some(uri) if status.is_success() => Ok(uri.to_string()),
            _ if status == StatusCode::TOO_MANY_REQUESTS => Err(ConnectorError::RateLimited {
                retry_after: Duration::from_secs(1),
            }),
            _ if status.is_server_error() => Err(ConnectorError::Transient(format!(
                "{status} uploading to {}: {text}",
                self.base
            ))),
            _ => Err(ConnectorError::Permanent(format!(
                "the upload to {} was refused ({status}): {text}",
                self.base
            ))),
        }
    }

    pub(crate) async fn read_capped_bytes(
        &self,
        mut response: reqwest::Response,
        limit: usize,
    ) -> Result<Vec<u8>, ConnectorError> {
        let too_big = || {
            ConnectorError::Transient(format!(
                "the answer from {} is larger than {} KiB; not read",
                self.base,
                limit / 1024
            ))
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| {
            ConnectorError::Transient(format!("reading the answer from {}: {error}", self.base))
        })? {
            if body.len() + chunk.len() > limit {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_grow_with_a_room_get_the_large_cap() {
        let cases = [
            ("/_matrix/client/v3/sync?timeout=0&since=s1", MAX_SYNC_BODY),
            ("/_matrix/client/v3/rooms/%21r/state", MAX_SYNC_BODY),
            ("/_matrix/client/v3/rooms/%21r/members", MAX_SYNC_BODY),
            (
                "/_matrix/client/v3/rooms/%21r/joined_members",
                MAX_SYNC_BODY,
            ),
            (
                "/_matrix/client/v3/rooms/%21r/state/m.room.power_levels/",
                MAX_BODY,
            ),
            ("/_matrix/client/v3/account/whoami", MAX_BODY),
        ];
        for (path, limit) in cases {
            assert_eq!(body_limit(path), limit, "{path}");
        }
    }

    #[test]
    fn ids_are_percent_encoded_in_paths() {
        assert_eq!(encode("!abc:localhost"), "%21abc%3Alocalhost");
        assert_eq!(encode("$ev/ent#1"), "%24ev%2Fent%231");
        assert_eq!(encode("@bot:ex.org"), "%40bot%3Aex.org");
    }
}
