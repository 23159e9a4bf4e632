//! Live codes 活码 on WeCom: a code's page plans one join way per channel (a link row with chat
//! `""`, its name the way's `state`); this keeper makes each planned way over the first groups
//! of the set with room (`add_join_way`, `scene` 2, at most five groups, then `get_join_way`
//! for its QR image, kept in the row with the `config_id`), and rotates made ways as groups fill
//! (`update_join_way`: full groups out, the next with room in), so the QR keeps landing on a
//! group with room. WeCom puts the `state` on each member it lets in, which `groupchat/get`
//! reports and the roster turns into `JoinVia::Link { code: state }`: the join's attribution.
//!
//! Room is the member read model's (`seats_used`: present members without staff), against the
//! code's `cap` (WeCom's default 200, what joining by scan allows). A way made by WeCom whose row
//! could not be written (a crash between the two) is made again next round; the orphan way
//! stays in WeCom's admin until deleted by hand.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use qunzhu_connector::ConnectorError;
use qunzhu_domain::{Clock, Platform, WorkspaceId};
use qunzhu_growth::livecode::{parse_livecode, LiveCode};
use qunzhu_storage::{LiveCodeLink, SpareGroup, Store, StoreError};
use tokio::sync::watch;

use crate::joinways::rotation;
use crate::WecomConnector;

/// Why a round stopped.
#[derive(Debug, thiserror::Error)]
pub enum WayError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one round did: (code, channel) pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WayRound {
    pub made: Vec<(String, String)>,
    pub rotated: Vec<(String, String)>,
    /// Ways the platform refused to make or change this round (retried next round).
    pub failed: Vec<(String, String)>,
}

pub struct JoinWayKeeper {
    pub store: Arc<dyn Store>,
    pub connector: Arc<WecomConnector>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub every: Duration,
    /// Made ways are looked at (one `get_join_way` each) every this many rounds.
    pub rotate_every: u32,
}

/// A code's set in routing order: its groups, then the spares made so far.
fn set_of(code: &LiveCode, spares: &[SpareGroup]) -> Vec<String> {
    let mut set = code.groups.clone();
    for chat in spares.iter().filter_map(|spare| spare.chat.clone()) {
        if !set.contains(&chat) {
            set.push(chat);
        }
    }
    set
}

impl JoinWayKeeper {
    /// One pass: planned ways made; with `rotate`, made ways rotated where a group filled.
    pub async fn run_once(&self, rotate: bool) -> Result<WayRound, WayError> {
        let mut round = WayRound::default();
        for record in self.store.livecodes(self.workspace).await? {
            if record.platform != Platform::WeCom {
                continue;
            }
            let Ok(code) = parse_livecode(&record.code, &record.source) else {
                tracing::warn!(code = %record.code, "live code does not parse; its join ways wait");
                continue;
            };
            let ways: Vec<LiveCodeLink> = self
                .store
                .livecode_links(self.workspace, &record.code)
                .await?
                .into_iter()
                .filter(|way| way.chat.is_empty() && (way.handle.is_none() || rotate))
                .collect();
            if ways.is_empty() {
                continue;
            }
            let spares = self.store.spares(self.workspace, &record.code).await?;
            let set = set_of(&code, &spares);
            let used = self
                .store
                .seats_used(self.workspace, Platform::WeCom, &set, self.clock.now())
                .await?;
            let sizes: HashMap<String, u32> = set.iter().cloned().zip(used).collect();
            for way in ways {
                let pair = (record.code.clone(), way.channel.clone());
                match self.keep(&way, &set, &sizes, code.cap).await {
                    Ok(Kept::Made) => round.made.push(pair),
                    Ok(Kept::Rotated) => round.rotated.push(pair),
                    Ok(Kept::Nothing) => {}
                    Err(Failure::Store(error)) => return Err(error.into()),
                    Err(Failure::Platform(error)) => {
                        tracing::warn!(code = %record.code, channel = %way.channel, %error, "WeCom join way not kept; retried next round");
                        round.failed.push(pair);
                    }
                }
            }
        }
        Ok(round)
    }

    async fn keep(
        &self,
        way: &LiveCodeLink,
        set: &[String],
        sizes: &HashMap<String, u32>,
        cap: u32,
    ) -> Result<Kept, Failure> {
        match &way.handle {
            None => {
                let chosen = rotation(&[], set, sizes, cap);
                if chosen.is_empty() {
                    // Every group is full: the live-code keeper alerts; nothing to point at.
                    return Ok(Kept::Nothing);
                }
                let made = self
                    .connector
                    .add_join_way(&way.name, &chosen, "")
                    .await
                    .map_err(Failure::Platform)?;
                self.store
                    .set_livecode_link_url(
                        self.workspace,
                        &way.code,
                        "",
                        &way.channel,
                        &made.qr_code,
                        Some(&made.config_id),
                    )
                    .await
                    .map_err(Failure::Store)?;
                Ok(Kept::Made)
            }
            Some(config_id) => {
                let current = self
                    .connector
                    .join_way(config_id)
                    .await
                    .map_err(Failure::Platform)?;
                let chosen = rotation(&current.chat_ids, set, sizes, cap);
                if chosen.is_empty() || chosen == current.chat_ids {
                    return Ok(Kept::Nothing);
                }
                self.connector
                    .update_join_way(config_id, &way.name, &chosen)
                    .await
                    .map_err(Failure::Platform)?;
                tracing::info!(code = %way.code, channel = %way.channel, groups = ?chosen, "live code join way rotated");
                Ok(Kept::Rotated)
            }
        }
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut rounds: u32 = 0;
        loop {
            if *stop.borrow() {
                return;
            }
            let rotate = rounds.is_multiple_of(self.rotate_every.max(1));
            rounds = rounds.wrapping_add(1);
            if let Err(error) = self.run_once(rotate).await {
                tracing::error!(%error, "WeCom join-way round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

enum Kept {
    Made,
    Rotated,
    Nothing,
}

enum Failure {
    Store(StoreError),
    Platform(ConnectorError),
}
