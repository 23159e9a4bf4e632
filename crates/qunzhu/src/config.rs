//! Configuration: defaults, then a TOML file, then `QUNZHU_…` environment variables.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default), and every error
//! names the file, line and column, or the environment variable, it comes from.

use std::path::{Path, PathBuf};

use qunzhu_sandbox::Behaviour;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the embedded database and the sandbox world live.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; empty means SQLite at `{data_dir}/qunzhu.db`.
    pub database_url: String,
    pub workspace: WorkspaceConfig,
    pub http: HttpConfig,
    pub dispatch: DispatchSection,
    pub cluster: ClusterSection,
    pub rules: RulesSection,
    pub moderation: ModerationSection,
    pub sop: SopSection,
    pub ledger: LedgerSection,
    pub orders: crate::orders_config::OrdersSection,
    pub analytics: AnalyticsSection,
    pub poster: PosterSection,
    pub sandbox: SandboxSection,
    pub matrix: qunzhu_matrix::MatrixConfig,
    pub telegram: qunzhu_telegram::TelegramConfig,
    pub wecom: qunzhu_wecom::WecomConfig,
    /// The file this was read from, re-read while running for what applies without a restart
    /// (`matrix.allowed_inviters`).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// The landing pages' phone key (`QUNZHU_PHONE_KEY`, 64 hex characters), only from the
    /// environment so it never sits in a config file; empty uses `{data_dir}/phone.key`.
    #[serde(skip)]
    pub phone_key: qunzhu_matrix::Secret,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("qunzhu-data"),
            database_url: String::new(),
            workspace: WorkspaceConfig::default(),
            http: HttpConfig::default(),
            dispatch: DispatchSection::default(),
            cluster: ClusterSection::default(),
            rules: RulesSection::default(),
            moderation: ModerationSection::default(),
            sop: SopSection::default(),
            ledger: LedgerSection::default(),
            orders: crate::orders_config::OrdersSection::default(),
            analytics: AnalyticsSection::default(),
            poster: PosterSection::default(),
            sandbox: SandboxSection::default(),
            matrix: qunzhu_matrix::MatrixConfig::default(),
            telegram: qunzhu_telegram::TelegramConfig::default(),
            wecom: qunzhu_wecom::WecomConfig::default(),
            source: None,
            phone_key: qunzhu_matrix::Secret::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkspaceConfig {
    pub slug: String,
    pub name: String,
    /// Parsed when the configuration is read (TOML or `QUNZHU_TIME_ZONE`), so nothing later can
    /// fall back to a default zone.
    pub time_zone: chrono_tz::Tz,
}

impl Default for WorkspaceConfig {
    fn default() -> Self {
        WorkspaceConfig {
            slug: "default".into(),
            name: "我的社群".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub bind: String,
    pub port: u16,
    /// The address members and operators reach qunzhu at (for short links); default from bind/port.
    pub base_url: String,
    /// Mark cookies `Secure`; also on by itself when `base_url` is `https://…`.
    pub secure_cookies: bool,
    /// The header a trusted reverse proxy sets to the client's address (`X-Forwarded-For`);
    /// empty: the socket peer, and no header is believed.
    pub trusted_proxy_header: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: "127.0.0.1".into(),
            port: 8080,
            base_url: String::new(),
            secure_cookies: false,
            trusted_proxy_header: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchSection {
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    pub lease_seconds: u64,
}

impl Default for DispatchSection {
    fn default() -> Self {
        DispatchSection {
            max_attempts: 8,
            backoff_base_ms: 1000,
            backoff_max_ms: 300_000,
            lease_seconds: 60,
        }
    }
}

/// Several instances on one PostgreSQL: each connector account is polled by one at a time.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSection {
    /// This instance's name in poll leases; empty means `<hostname>:<http port>`, which stays the
    /// same across restarts so a restarted instance takes its own lease back at once.
    pub instance: String,
    /// How long a poll lease lasts without renewal: the longest a dead instance's connector waits
    /// before another instance takes it over.
    pub poll_lease_seconds: u64,
}

impl Default for ClusterSection {
    fn default() -> Self {
        ClusterSection {
            instance: String::new(),
            poll_lease_seconds: 15,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerSection {
    /// Whole messages with which a member asks the bot for their points balance.
    pub balance_keywords: Vec<String>,
    /// A coupon for every newcomer (and their inviter); off when absent.
    pub join_coupon: Option<JoinCouponSection>,
}

/// `[analytics]`: the funnel's windows and the daily digest.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsSection {
    /// `[analytics.funnel]`: `activation_days` (7), `retention_week` (4), `revenue_days` (0 = any time).
    pub funnel: qunzhu_domain::funnel::FunnelConfig,
    /// `[analytics.digest]`: `enabled`, `at = "09:00:00"` (workspace zone), `back_room` (a chat
    /// id), `to_group`, `leaders`, `language = "zh"|"en"` (the group's copy) and
    /// `back_room_language` (the back-room's, default `language`).
    pub digest: qunzhu_domain::digest::DigestConfig,
    /// `[analytics.tiers]`: `enabled` (true), `window_days` (30), `[analytics.tiers.vip]` and
    /// `[analytics.tiers.regular]` with `min_spend_cents`, `min_points`, `min_active_days`,
    /// `min_checkins` and `match = "any"|"all"`.
    pub tiers: qunzhu_domain::tier::TierRules,
}

/// `[poster]`: the CJK font posters are drawn with. Unset, the Debian paths of
/// `qunzhu_poster::DEFAULT_FONT_PATHS` are tried (`apt-get install fonts-noto-cjk`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PosterSection {
    /// A TrueType/OpenType file or collection.
    pub font: Option<PathBuf>,
    /// The face inside a collection (`.ttc`); 0 for a single font.
    pub font_index: u32,
    /// Whole messages that ask the bot for one's poster (default `海报`, `poster`, `/poster`).
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinCouponSection {
    /// `{ type = "amount_off", cents = 500 }`, `{ type = "percent_off", percent = 10 }` or
    /// `{ type = "free_item", item = "咖啡" }`.
    pub offer: qunzhu_domain::CouponOffer,
    /// Days it stays valid; absent never expires.
    #[serde(default)]
    pub valid_days: Option<u32>,
    /// Also give one to the member who invited the newcomer.
    #[serde(default)]
    pub inviter: bool,
}

impl Default for LedgerSection {
    fn default() -> Self {
        LedgerSection {
            balance_keywords: vec!["积分".into(), "我的积分".into()],
            join_coupon: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesSection {
    /// A rule file (TOML) applied on every change, after validation; empty: rules are edited in
    /// the console only.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModerationSection {
    /// Local time of the daily lurker sweep (report, warning, removal as the policy says).
    pub lurker_sweep_at: chrono::NaiveTime,
    /// The admin back-room 管理群 (a chat id, e.g. a Matrix room id): incidents are posted
    /// there and staff answer them; empty means none.
    pub backroom: String,
    /// The platform the back-room is on.
    pub backroom_platform: qunzhu_domain::Platform,
    /// Ids obeyed in the back-room besides the directory's owners and admins.
    pub backroom_staff: Vec<String>,
}

impl Default for ModerationSection {
    fn default() -> Self {
        ModerationSection {
            lurker_sweep_at: chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default(),
            backroom: String::new(),
            backroom_platform: qunzhu_domain::Platform::Matrix,
            backroom_staff: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SopSection {
    /// Occurrences are written to the outbox this many hours ahead.
    pub horizon_hours: u32,
    /// After downtime, occurrences this far back are looked at again (late within their grace,
    /// else skipped with the reason).
    pub look_back_hours: u32,
}

impl Default for SopSection {
    fn default() -> Self {
        SopSection {
            horizon_hours: 48,
            look_back_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSection {
    /// Run the simulated platform (the demo turns it on).
    pub enabled: bool,
    /// Stop the simulation after this many events (0: never); for finite test scripts.
    pub max_events: u64,
    /// Greet each joiner with this message (`{name}` is replaced); empty: no greeting rule.
    pub greeting: String,
    /// Days of simulated past a new world starts with (statistics to look at from minute one).
    pub history_days: u32,
    #[serde(flatten)]
    pub behaviour: Behaviour,
}

/// A configuration problem, located.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

/// Sets one field from an environment variable's text, or says what is wrong with it.
type Setter = fn(&mut Config, String) -> Result<(), String>;

/// Environment variables that override the file, and how each sets its field.
const ENV_KEYS: &[(&str, Setter)] = &[
    ("QUNZHU_DATA_DIR", |config, value| {
        config.data_dir = PathBuf::from(value);
        Ok(())
    }),
    ("QUNZHU_DATABASE_URL", |config, value| {
        config.database_url = value;
        Ok(())
    }),
    ("QUNZHU_WORKSPACE_SLUG", |config, value| {
        config.workspace.slug = value;
        Ok(())
    }),
    ("QUNZHU_WORKSPACE_NAME", |config, value| {
        config.workspace.name = value;
        Ok(())
    }),
    ("QUNZHU_TIME_ZONE", |config, value| {
        config.workspace.time_zone = value
            .parse()
            .map_err(|_| format!("`{value}` is not an IANA time zone (e.g. Asia/Shanghai)"))?;
        Ok(())
    }),
    ("QUNZHU_HTTP_BIND", |config, value| {
        config.http.bind = value;
        Ok(())
    }),
    ("QUNZHU_HTTP_PORT", |config, value| {
        config.http.port = value
            .parse()
            .map_err(|_| format!("`{value}` is not a port number"))?;
        Ok(())
    }),
    ("QUNZHU_MATRIX_HOMESERVER", |config, value| {
        config.matrix.homeserver = value;
        Ok(())
    }),
    ("QUNZHU_MATRIX_USER_ID", |config, value| {
        config.matrix.user_id = value;
        Ok(())
    }),
    ("QUNZHU_MATRIX_PASSWORD", |config, value| {
        config.matrix.password = qunzhu_matrix::Secret::new(value);
        Ok(())
    }),
    ("QUNZHU_MATRIX_ACCESS_TOKEN", |config, value| {
        config.matrix.access_token = qunzhu_matrix::Secret::new(value);
        Ok(())
    }),
    ("QUNZHU_ORDERS_SECRET", |config, value| {
        config.orders.secret = qunzhu_matrix::Secret::new(value);
        Ok(())
    }),
    ("QUNZHU_PHONE_KEY", |config, value| {
        config.phone_key = qunzhu_matrix::Secret::new(value);
        Ok(())
    }),
    ("QUNZHU_INSTANCE", |config, value| {
        config.cluster.instance = value.to_string();
        Ok(())
    }),
    ("QUNZHU_TELEGRAM_TOKEN", |config, value| {
        config.telegram.token = qunzhu_telegram::Secret::new(value);
        Ok(())
    }),
    ("QUNZHU_TELEGRAM_WEBHOOK_SECRET", |config, value| {
        config.telegram.webhook_secret = qunzhu_telegram::Secret::new(value);
        Ok(())
    }),
    ("QUNZHU_TELEGRAM_MODE", |config, value| {
        config.telegram.mode = match value.as_str() {
            "poll" => qunzhu_telegram::Mode::Poll,
            "webhook" => qunzhu_telegram::Mode::Webhook,
            _ => return Err(format!("`{value}` is not poll or webhook")),
        };
        Ok(())
    }),
    ("QUNZHU_WECOM_CORP_ID", |config, value| {
        config.wecom.corp_id = value;
        Ok(())
    }),
    ("QUNZHU_WECOM_SECRET", |config, value| {
        config.wecom.secret = qunzhu_wecom::Secret::new(value);
        Ok(())
    }),
    ("QUNZHU_WECOM_TOKEN", |config, value| {
        config.wecom.callback_token = qunzhu_wecom::Secret::new(value);
        Ok(())
    }),
    ("QUNZHU_WECOM_AES_KEY", |config, value| {
        config.wecom.encoding_aes_key = qunzhu_wecom::Secret::new(value);
        Ok(())
    }),
    ("QUNZHU_BASE_URL", |config, value| {
        config.http.base_url = value;
        Ok(())
    }),
    ("QUNZHU_TRUSTED_PROXY_HEADER", |config, value| {
        config.http.trusted_proxy_header = value;
        Ok(())
    }),
    ("QUNZHU_SECURE_COOKIES", |config, value| {
        config.http.secure_cookies = value
            .parse()
            .map_err(|_| format!("`{value}` is not true or false"))?;
        Ok(())
    }),
];

/// Variables that belong to qunzhu's tests and tools, not to a running instance.
const ENV_IGNORED_PREFIXES: &[&str] = &["QUNZHU_TEST_", "QUNZHU_LOG"];

impl Config {
    /// Defaults, then `file` if given, then the environment.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                Config::parse(&text, path)?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        config.source = file.map(Path::to_path_buf);
        Ok(config)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|error| {
            let (line, column) = error
                .span()
                .map_or((1, 1), |span| line_column(text, span.start));
            ConfigError::Parse {
                path: path.into(),
                line,
                column,
                message: error.message().trim().to_string(),
            }
        })
    }

    fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (name, value) in env {
            if !name.starts_with("QUNZHU_")
                || ENV_IGNORED_PREFIXES
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
            {
                continue;
            }
            let Some((_, set)) = ENV_KEYS.iter().find(|(known, _)| *known == name) else {
                let known: Vec<&str> = ENV_KEYS.iter().map(|(known, _)| *known).collect();
                return Err(ConfigError::Env {
                    name,
                    message: format!("unknown variable; known: {}", known.join(", ")),
                });
            };
            set(self, value).map_err(|message| ConfigError::Env { name, message })?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let header = self.http.trusted_proxy_header.trim();
        if !header.is_empty() && axum::http::HeaderName::try_from(header).is_err() {
            return Err(ConfigError::Env {
                name: "http.trusted_proxy_header".into(),
                message: format!("`{header}` is not an HTTP header name (e.g. X-Forwarded-For)"),
            });
        }
        if let Some(gift) = &self.ledger.join_coupon {
            gift.offer.validate().map_err(|error| ConfigError::Env {
                name: "ledger.join_coupon.offer".into(),
                message: error.to_string(),
            })?;
        }
        if let Err(message) = self.orders.policy() {
            let (name, message) = message.split_once(": ").unwrap_or(("orders", &message));
            return Err(ConfigError::Env {
                name: name.into(),
                message: message.into(),
            });
        }
        self.analytics
            .funnel
            .validate()
            .map_err(|error| ConfigError::Env {
                name: format!("analytics.{}", error.field),
                message: error.message,
            })?;
        self.analytics
            .tiers
            .validate()
            .map_err(|error| ConfigError::Env {
                name: format!("analytics.{}", error.field),
                message: error.message,
            })?;
        Ok(())
    }

    /// `Secure` cookies and HSTS: asked for, or implied by an `https://` public address.
    pub fn secure_cookies(&self) -> bool {
        self.http.secure_cookies || self.base_url().starts_with("https://")
    }

    pub fn zone(&self) -> chrono_tz::Tz {
        self.workspace.time_zone
    }

    /// This instance's name in poll leases (see [`ClusterSection::instance`]).
    pub fn instance(&self) -> String {
        if !self.cluster.instance.is_empty() {
            return self.cluster.instance.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|host| host.trim().to_string())
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| "localhost".into());
        format!("{host}:{}", self.http.port)
    }

    pub fn base_url(&self) -> String {
        if self.http.base_url.is_empty() {
            format!("http://{}:{}", self.http.bind, self.http.port)
        } else {
            self.http.base_url.trim_end_matches('/').to_string()
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |tail| tail.chars().count())
        + 1;
    (line, column)
}

/// The commented example `qunzhu config example` prints; `serve` accepts it as it is.
pub const EXAMPLE: &str = include_str!("../qunzhu.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_is_accepted() {
        let config = Config::parse(EXAMPLE, Path::new("qunzhu.toml")).unwrap();
        assert_eq!(config.http.port, 8080);
        assert_eq!(config.workspace.time_zone, chrono_tz::Asia::Shanghai);
        assert!(!config.wecom.enabled);
    }

    #[test]
    fn wecom_secrets_come_from_the_environment_and_never_print() {
        let env = vec![
            ("QUNZHU_WECOM_SECRET".to_string(), "s3cret-app".to_string()),
            ("QUNZHU_WECOM_TOKEN".to_string(), "cb-token".to_string()),
            ("QUNZHU_WECOM_AES_KEY".to_string(), "aes-key-43".to_string()),
            ("QUNZHU_WECOM_CORP_ID".to_string(), "ww123".to_string()),
        ];
        let config = Config::load(None, env).unwrap();
        assert_eq!(config.wecom.secret.expose(), "s3cret-app");
        assert_eq!(config.wecom.corp_id, "ww123");
        let printed = format!("{config:?}");
        for secret in ["s3cret-app", "cb-token", "aes-key-43"] {
            assert!(!printed.contains(secret), "{secret} printed");
        }
    }

    #[test]
    fn an_unknown_key_is_an_error_with_file_line_and_column() {
        let text = "data_dir = \"x\"\n[http]\nprot = 80\n";
        let error = Config::parse(text, Path::new("q.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("q.toml:3:1: unknown field `prot`"),
            "{error}"
        );
    }

    #[test]
    fn a_join_coupon_is_read_and_a_bad_offer_is_refused() {
        let text = "[ledger.join_coupon]\noffer = { type = \"percent_off\", percent = 10 }\ninviter = true\n";
        let config = Config::parse(text, Path::new("q.toml")).unwrap();
        let gift = config.ledger.join_coupon.unwrap();
        assert_eq!(
            gift.offer,
            qunzhu_domain::CouponOffer::PercentOff { percent: 10 }
        );
        assert!(gift.inviter);
        let bad = text.replace("10", "150");
        let error = Config::parse(&bad, Path::new("q.toml"))
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "ledger.join_coupon.offer: invalid offer percent: must be 1 to 100, got 150"
            ),
            "{error}"
        );
    }

    #[test]
    fn tier_rules_and_the_digest_language_are_read_and_bad_ones_located() {
        let text = "[analytics.digest]\nlanguage = \"en\"\n[analytics.tiers]\nwindow_days = 14\n[analytics.tiers.vip]\nmin_points = 800\nmin_checkins = 10\nmatch = \"all\"\n";
        let config = Config::parse(text, Path::new("q.toml")).unwrap();
        config.validate().unwrap();
        assert_eq!(config.analytics.tiers.window_days, 14);
        assert_eq!(
            config.analytics.tiers.vip.combine,
            qunzhu_domain::tier::Combine::All
        );
        assert_eq!(
            config.analytics.digest.language,
            qunzhu_domain::digest::DigestLanguage::En
        );
        let typo = Config::parse(
            "[analytics.tiers.vip]\nmin_pints = 1\n",
            Path::new("q.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            typo.starts_with("q.toml:2:1: unknown field `min_pints`"),
            "{typo}"
        );
        let negative = Config::parse(
            "[analytics.tiers.regular]\nmin_points = -5\n",
            Path::new("q.toml"),
        )
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            negative.contains("analytics.tiers.regular.min_points: must not be negative"),
            "{negative}"
        );
    }

    #[test]
    fn a_time_zone_is_parsed_once_with_its_place_or_its_variable() {
        let error = Config::parse(
            "[workspace]\ntime_zone = \"Asia/Shangai\"\n",
            Path::new("q.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("q.toml:2:13:"), "{error}");
        assert!(error.contains("Asia/Shangai"), "{error}");
        let env = vec![("QUNZHU_TIME_ZONE".to_string(), "Mars/Olympus".to_string())];
        let error = Config::load(None, env).unwrap_err().to_string();
        assert!(error.contains("QUNZHU_TIME_ZONE"), "{error}");
        assert!(
            error.contains("`Mars/Olympus` is not an IANA time zone"),
            "{error}"
        );
        let env = vec![("QUNZHU_TIME_ZONE".to_string(), "Europe/Berlin".to_string())];
        assert_eq!(
            Config::load(None, env).unwrap().zone(),
            chrono_tz::Europe::Berlin
        );
    }

    #[test]
    fn a_wrong_type_names_its_place() {
        let error = Config::parse("[http]\nport = \"eighty\"\n", Path::new("q.toml"))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("q.toml:2:8: invalid type"), "{error}");
    }

    #[test]
    fn environment_overrides_the_file_and_unknown_variables_are_refused() {
        let env = vec![
            ("QUNZHU_HTTP_PORT".to_string(), "9999".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        assert_eq!(Config::load(None, env).unwrap().http.port, 9999);
        let error = Config::load(None, vec![("QUNZHU_HTTP_PROT".into(), "1".into())])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("environment variable QUNZHU_HTTP_PROT: unknown variable"),
            "{error}"
        );
        let error = Config::load(None, vec![("QUNZHU_HTTP_PORT".into(), "x".into())])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "environment variable QUNZHU_HTTP_PORT: `x` is not a port number"
        );
    }

    #[test]
    fn https_base_url_implies_secure_cookies_and_the_proxy_header_is_checked() {
        let config = Config::parse(
            "[http]\nbase_url = \"https://ops.example.com/\"\ntrusted_proxy_header = \"X-Forwarded-For\"\n",
            Path::new("q.toml"),
        )
        .unwrap();
        assert!(config.secure_cookies());
        assert!(config.validate().is_ok());
        assert!(!Config::default().secure_cookies());
        let mut bad = Config::default();
        bad.http.trusted_proxy_header = "X Forwarded".into();
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "environment variable http.trusted_proxy_header: `X Forwarded` is not an HTTP header name (e.g. X-Forwarded-For)"
        );
    }

    #[test]
    fn the_telegram_token_comes_from_the_environment_and_never_shows() {
        let env = vec![
            (
                "QUNZHU_TELEGRAM_TOKEN".to_string(),
                "123:very-secret".to_string(),
            ),
            ("QUNZHU_TELEGRAM_MODE".to_string(), "webhook".to_string()),
        ];
        let config = Config::load(None, env).unwrap();
        assert_eq!(config.telegram.token.expose(), "123:very-secret");
        assert_eq!(config.telegram.mode, qunzhu_telegram::Mode::Webhook);
        assert!(!format!("{config:?}").contains("very-secret"));
        let error = Config::load(None, vec![("QUNZHU_TELEGRAM_MODE".into(), "push".into())])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "environment variable QUNZHU_TELEGRAM_MODE: `push` is not poll or webhook"
        );
    }

    #[test]
    fn the_data_directory_and_database_come_from_the_environment() {
        let env = vec![
            ("QUNZHU_DATA_DIR".to_string(), "/srv/q".to_string()),
            (
                "QUNZHU_DATABASE_URL".to_string(),
                "postgres://x".to_string(),
            ),
        ];
        let config = Config::load(None, env).unwrap();
        assert_eq!(
            (config.data_dir.as_path(), config.database_url.as_str()),
            (Path::new("/srv/q"), "postgres://x")
        );
    }
}
