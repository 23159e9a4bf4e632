//! The WeCom server API client: the access token, the per-API rate limits, and errcodes sorted
//! into [`ConnectorError`]s that say what to do (60020 names the trusted-IP list to fix).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::ConnectorError;
use qunzhu_domain::Clock;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::token::{CachedToken, TokenCache};

/// WeCom's documented limits per corp and per API: 10,000 a minute and 150,000 an hour.
#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    pub per_minute: usize,
    pub per_hour: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            per_minute: 10_000,
            per_hour: 150_000,
        }
    }
}

/// Calls made per API path, to stay under the limits before WeCom says 45009.
#[derive(Debug, Default)]
struct Windows {
    calls: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl Windows {
    /// Records a call now, or says how long to wait before one is allowed.
    fn acquire(
        &mut self,
        path: &str,
        now: DateTime<Utc>,
        limits: ApiLimits,
    ) -> Result<(), StdDuration> {
        let calls = self.calls.entry(path.to_string()).or_default();
        while calls
            .front()
            .is_some_and(|at| now - *at >= Duration::hours(1))
        {
            calls.pop_front();
        }
        let minute_ago = now - Duration::minutes(1);
        let in_minute = calls
            .iter()
            .rev()
            .take_while(|at| **at > minute_ago)
            .count();
        if in_minute >= limits.per_minute {
            let oldest = calls[calls.len() - in_minute];
            return Err((oldest + Duration::minutes(1) - now)
                .to_std()
                .unwrap_or(StdDuration::from_secs(1)));
        }
        if calls.len() >= limits.per_hour {
            let oldest = calls.front().copied().unwrap_or(now);
            return Err((oldest + Duration::hours(1) - now)
                .to_std()
                .unwrap_or(StdDuration::from_secs(1)));
        }
        calls.push_back(now);
        Ok(())
    }
}

/// What the client needs to know about the app.
#[derive(Clone)]
pub struct ApiConfig {
    /// `https://qyapi.weixin.qq.com` in production, the fake's address in tests.
    pub base_url: String,
    pub corp_id: String,
    pub secret: String,
    pub limits: ApiLimits,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("base_url", &self.base_url)
            .field("corp_id", &self.corp_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The errcode of a refused call, mapped to what the dispatcher should do.
pub fn classify(path: &str, errcode: i64, errmsg: &str) -> ConnectorError {
    match errcode {
        60020 => ConnectorError::Auth(format!(
            "{path}: WeCom refused this server's IP (errcode 60020 {errmsg}): add this server's public IP to the app's 企业可信IP"
        )),
        45009 | 45033 | 45011 => ConnectorError::RateLimited {
            retry_after: StdDuration::from_secs(60),
        },
        -1 => ConnectorError::Transient(format!("{path}: WeCom is busy (errcode -1)")),
        40001 | 40013 | 40091 => ConnectorError::Auth(format!(
            "{path}: the corp id or app secret is wrong (errcode {errcode} {errmsg}); check wecom.corp_id and QUNZHU_WECOM_SECRET"
        )),
        48002 => ConnectorError::Permanent(format!(
            "{path}: the app has no permission for this API (errcode 48002 {errmsg}); grant 客户联系 to the app in the admin console"
        )),
        41001 | 40014 | 42001 => ConnectorError::Auth(format!(
            "{path}: the access token was refused again after a refresh (errcode {errcode} {errmsg})"
        )),
        _ => ConnectorError::Permanent(format!("{path}: errcode {errcode}: {errmsg}")),
    }
}

fn token_expired(errcode: i64) -> bool {
    matches!(errcode, 42001 | 40014 | 41001)
}

/// One corp app's API client; cheap to share.
pub struct Api {
    http: reqwest::Client,
    config: ApiConfig,
    tokens: Arc<dyn TokenCache>,
    clock: Arc<dyn Clock>,
    windows: Mutex<Windows>,
    /// Serializes refreshes inside this instance.
    refreshing: Mutex<()>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Api {
    pub fn new(
        config: ApiConfig,
        tokens: Arc<dyn TokenCache>,
        clock: Arc<dyn Clock>,
    ) -> Result<Api, ConnectorError> {
        let http = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(20))
            .build()
            .map_err(|error| ConnectorError::Permanent(format!("HTTP client: {error}")))?;
        Ok(Api {
            http,
            config,
            tokens,
            clock,
            windows: Mutex::new(Windows::default()),
            refreshing: Mutex::new(()),
        })
    }

    pub fn corp_id(&self) -> &str {
        &self.config.corp_id
    }

    fn cache_name(&self) -> String {
        format!("wecom:{}:token", self.config.corp_id)
    }

    /// A token valid for at least [`CachedToken::MARGIN`], from the cache or fetched.
    pub async fn token(&self) -> Result<String, ConnectorError> {
        let now = self.clock.now();
        let name = self.cache_name();
        if let Some(token) = self.load(&name).await? {
            if token.fresh_at(now) {
                return Ok(token.value);
            }
        }
        let _guard = self.refreshing.lock().await;
        // Another task (or instance) may have refreshed while this one waited.
        if let Some(token) = self.load(&name).await? {
            if token.fresh_at(self.clock.now()) {
                return Ok(token.value);
            }
        }
        let fetched = self.fetch_token().await?;
        let kept = self
            .tokens
            .store_if_newer(&name, fetched)
            .await
            .map_err(ConnectorError::Transient)?;
        Ok(kept.value)
    }

    async fn load(&self, name: &str) -> Result<Option<CachedToken>, ConnectorError> {
        self.tokens
            .load(name)
            .await
            .map_err(|error| ConnectorError::Transient(format!("token cache: {error}")))
    }

    async fn fetch_token(&self) -> Result<CachedToken, ConnectorError> {
        let url = format!("{}/cgi-bin/gettoken", self.config.base_url);
        let answer = self
            .send(self.http.get(url).query(&[
                ("corpid", self.config.corp_id.as_str()),
                ("corpsecret", self.config.secret.as_str()),
            ]))
            .await?;
        let errcode = answer.get("errcode").and_then(Value::as_i64).unwrap_or(0);
        if errcode != 0 {
            let errmsg = answer.get("errmsg").and_then(Value::as_str).unwrap_or("");
            return Err(classify("gettoken", errcode, errmsg));
        }
        let value = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ConnectorError::Transient("gettoken answered without a token".into()))?;
        let expires_in = answer
            .get("expires_in")
            .and_then(Value::as_i64)
            .unwrap_or(7200);
        tracing::info!(corp = %self.config.corp_id, expires_in, "fetched a WeCom access token");
        Ok(CachedToken {
            value: value.to_string(),
            expires_at: self.clock.now() + Duration::seconds(expires_in),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, ConnectorError> {
        let response = request
            .send()
            .await
            .map_err(|error| ConnectorError::Transient(format!("WeCom unreachable: {error}")))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(ConnectorError::Transient(format!(
                "WeCom answered {status}"
            )));
        }
        response
            .json::<Value>()
            .await
            .map_err(|error| ConnectorError::Transient(format!("WeCom answered no JSON: {error}")))
    }

    /// Calls `/cgi-bin/{path}` with the token: a POST with `body`, or a GET with `query`.
    /// An expired token is refreshed once; a second refusal is a clear `Auth` error.
    pub async fn call(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, ConnectorError> {
        let wait = self
            .windows
            .lock()
            .await
            .acquire(path, self.clock.now(), self.config.limits);
        if let Err(retry_after) = wait {
            return Err(ConnectorError::RateLimited { retry_after });
        }
        let mut refreshed = false;
        loop {
            let token = self.token().await?;
            let url = format!("{}/cgi-bin/{path}", self.config.base_url);
            let mut params: Vec<(&str, &str)> = vec![("access_token", token.as_str())];
            params.extend_from_slice(query);
            let request = match body {
                Some(body) => self.http.post(url).query(&params).json(body),
                None => self.http.get(url).query(&params),
            };
            let answer = self.send(request).await?;
            let errcode = answer.get("errcode").and_then(Value::as_i64).unwrap_or(0);
            if errcode == 0 {
                return Ok(answer);
            }
            let errmsg = answer
                .get("errmsg")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if token_expired(errcode) && !refreshed {
                refreshed = true;
                tracing::info!(%path, errcode, "WeCom refused the access token; refreshing once");
                self.tokens
                    .forget(&self.cache_name(), &token)
                    .await
                    .map_err(ConnectorError::Transient)?;
                continue;
            }
            let error = classify(path, errcode, &errmsg);
            if matches!(error, ConnectorError::Auth(_)) {
                tracing::error!(%path, errcode, %error, "WeCom refused the app");
            }
            return Err(error);
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, ConnectorError> {
        self.call(path, &[], Some(&body)).await
    }
}

/// `{"text":{"content":…}}`, the shape of every text payload.
pub fn text(content: &str) -> Value {
    json!({ "content": content })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_say_what_to_do() {
        let ip = classify("groupchat/list", 60020, "not allow to access from your ip");
        assert!(matches!(&ip, ConnectorError::Auth(text) if text.contains("企业可信IP")));
        assert!(matches!(
            classify("x", 45009, "api freq out of limit"),
            ConnectorError::RateLimited { .. }
        ));
        assert!(matches!(
            classify("x", -1, "system busy"),
            ConnectorError::Transient(_)
        ));
        assert!(matches!(
            classify("x", 42001, "access_token expired"),
            ConnectorError::Auth(_)
        ));
        assert_eq!(
            classify("x", 40058, "invalid parameter"),
            ConnectorError::Permanent("x: errcode 40058: invalid parameter".into())
        );
    }

    #[test]
    fn the_window_holds_calls_to_the_limit_per_minute_and_hour() {
        let limits = ApiLimits {
            per_minute: 2,
            per_hour: 3,
        };
        let mut windows = Windows::default();
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert!(windows.acquire("a", t0, limits).is_ok());
        assert!(windows.acquire("a", t0, limits).is_ok());
        let wait = windows.acquire("a", t0, limits).unwrap_err();
        assert_eq!(wait, StdDuration::from_secs(60));
        assert!(
            windows.acquire("b", t0, limits).is_ok(),
            "limits are per API"
        );
        let later = t0 + Duration::seconds(61);
        assert!(windows.acquire("a", later, limits).is_ok());
        assert!(windows.acquire("a", later, limits).is_err(), "hourly cap");
        assert!(windows
            .acquire("a", t0 + Duration::minutes(61), limits)
            .is_ok());
    }
}
