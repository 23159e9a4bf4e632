//! The sandbox world behind the ordinary [`Connector`] trait: the engine cannot tell it from a
//! real platform, which is the point.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use qunzhu_connector::{Batch, Capabilities, Connector, ConnectorError, Rate, Result};
use qunzhu_domain::{ActionRecord, Clock, Platform};

use crate::world::World;

/// Events handed over per poll at most.
const PAGE: usize = 1000;

/// The connector for a [`World`].
pub struct SandboxConnector {
    world: Arc<World>,
    clock: Arc<dyn Clock>,
    id: String,
    capabilities: Capabilities,
    /// How long a poll waits for something to happen before answering empty.
    long_poll: Duration,
    /// Members click links to this address (qunzhu's own short links) in the bot's posts.
    click_base: Option<String>,
}

impl SandboxConnector {
    pub fn new(world: Arc<World>, clock: Arc<dyn Clock>, id: impl Into<String>) -> Self {
        SandboxConnector {
            world,
            clock,
            id: id.into(),
            capabilities: sandbox_capabilities(),
            long_poll: Duration::from_millis(250),
            click_base: None,
        }
    }

    /// Lets members follow the bot's short links under `base` (and only those: a sandbox
    /// never reaches outside qunzhu).
    pub fn with_clicks(mut self, base: impl Into<String>) -> Self {
        self.click_base = Some(base.into());
        self
    }

    pub fn with_rates(mut self, per_group: Rate, global: Rate) -> Self {
        self.capabilities.per_group_rate = per_group;
        self.capabilities.global_rate = global;
        self
    }

    pub fn world(&self) -> &Arc<World> {
        &self.world
    }
}

/// Everything a platform can do, at a Telegram-like pace.
pub fn sandbox_capabilities() -> Capabilities {
    Capabilities {
        kick: true,
        ban: true,
        mute: true,
        redact: true,
        invite: true,
        send_autonomously: true,
        formatted_messages: true,
        per_member_invite_links: true,
        review_join_requests: true,
        list_members: true,
        set_power_level: true,
        lock_posting: true,
        edit_group: true,
        pin: true,
        idempotent_actions: true,
        per_group_rate: Rate {
            per_second: 1.0,
            burst: 20,
        },
        global_rate: Rate {
            per_second: 30.0,
            burst: 60,
        },
        delete_window_secs: None,
        delete_batch: 0,
        timed_mute: false,
        ban_revokes_messages: false,
        buttons: false,
        games: false,
        policy_lists: false,
        create_groups: false,
        send_images: false,
    }
}

/// Runs blocking SQLite work without stalling other tasks on a multi-threaded runtime.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

fn world_error(error: crate::world::WorldError) -> ConnectorError {
    ConnectorError::Transient(error.to_string())
}

#[async_trait]
impl Connector for SandboxConnector {
    fn platform(&self) -> Platform {
        Platform::Sandbox
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn poll(&self, cursor: Option<&str>) -> Result<Batch> {
        let after = match cursor {
            None => 0,
            Some(text) => text
                .parse::<i64>()
                .map_err(|_| ConnectorError::Permanent(format!("bad sandbox cursor `{text}`")))?,
        };
        let deadline = tokio::time::Instant::now() + self.long_poll;
        loop {
            let page = blocking(|| {
                self.world.advance(self.clock.now())?;
                self.world.read_after(after, PAGE)
            })
            .map_err(world_error)?;
            if let Some((last, _)) = page.last() {
                let cursor = Some(last.to_string());
                return Ok(Batch {
                    events: page.into_iter().map(|(_, event)| event).collect(),
                    cursor,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(Batch {
                    events: Vec::new(),
                    cursor: None,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn execute(&self, action: &ActionRecord) -> Result<Option<String>> {
        let now = self.clock.now();
        let (receipt, first) = blocking(|| self.world.deliver(action, now)).map_err(world_error)?;
        if let (true, Some(base), qunzhu_domain::ActionKind::SendMessage { text, .. }) =
            (first, &self.click_base, &action.kind)
        {
            let prefix = format!("{}/l/", base.trim_end_matches('/'));
            let links: Vec<String> = text
                .split_whitespace()
                .filter(|word| word.starts_with(&prefix))
                .map(str::to_string)
                .collect();
            if !links.is_empty() {
                tokio::spawn(click(links, receipt.clone()));
            }
        }
        Ok(Some(receipt))
    }
}

/// A few members follow each link over the following seconds, each with a browser of their own
/// (no shared cookie), so qunzhu counts clicks and unique visitors as it would for real ones.
async fn click(links: Vec<String>, seed: String) {
    let Ok(http) = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
    else {
        return;
    };
    let visitors = 1 + seed
        .bytes()
        .fold(0u32, |sum, byte| sum.wrapping_add(u32::from(byte)))
        % 4;
    for visitor in 0..visitors {
        tokio::time::sleep(Duration::from_millis(700 + 900 * u64::from(visitor))).await;
        for link in &links {
            if let Err(error) = http.get(link).send().await {
                tracing::debug!(%error, %link, "a simulated click did not reach qunzhu");
            }
        }
    }
}
