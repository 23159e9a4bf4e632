//! A connector wired to the fake: its callback router served on 127.0.0.1:0, its files in a
//! temporary directory, the fake clock shared by both sides.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use qunzhu_connector::{Batch, Connector};
use qunzhu_domain::{Clock, FakeClock, WorkspaceId};
use qunzhu_wecom::{MemoryTokenCache, Secret, WecomConfig, WecomConnector};
use qunzhu_wecom_fake::{CallbackTarget, FakeWecom, AES_KEY, CORP_ID, SECRET, TOKEN};

pub struct Rig {
    pub fake: FakeWecom,
    pub clock: FakeClock,
    pub connector: Arc<WecomConnector>,
    pub target: CallbackTarget,
    pub cursor: Option<String>,
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T10:00:00+08:00")
        .unwrap()
        .to_utc()
}

pub fn config(fake: &FakeWecom, dir: &Path) -> WecomConfig {
    WecomConfig {
        enabled: true,
        corp_id: CORP_ID.into(),
        agent_id: 1000002,
        secret: Secret::new(SECRET),
        callback_token: Secret::new(TOKEN),
        encoding_aes_key: Secret::new(AES_KEY),
        api_base: fake.base_url.clone(),
        state_dir: dir.display().to_string(),
        settle_ms: 0,
        poll_wait_ms: 50,
        ..WecomConfig::default()
    }
}

/// Serves a connector's callback router and returns the callback URL.
pub async fn serve(connector: &WecomConnector) -> String {
    let app = axum::Router::new().nest("/hooks/wecom/main", connector.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}/hooks/wecom/main")
}

impl Rig {
    pub async fn start(dir: &Path) -> Rig {
        Rig::start_with(dir, |_| {}).await
    }

    pub async fn start_with(dir: &Path, tweak: impl FnOnce(&mut WecomConfig)) -> Rig {
        let clock = FakeClock::new(start_time());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let fake = FakeWecom::start(shared.clone()).await;
        let connector = Arc::new(
            WecomConnector::open(
                {
                    let mut config = config(&fake, dir);
                    tweak(&mut config);
                    config
                },
                WorkspaceId(1),
                shared,
                Arc::new(MemoryTokenCache::default()),
            )
            .unwrap(),
        );
        let url = serve(&connector).await;
        Rig {
            fake,
            clock,
            connector,
            target: CallbackTarget::new(url),
            cursor: None,
        }
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// One poll, remembering its cursor as the engine would after storing the batch.
    pub async fn poll(&mut self) -> Batch {
        let batch = self.connector.poll(self.cursor.as_deref()).await.unwrap();
        self.cursor = batch.cursor.clone();
        batch
    }
}
