//! Live codes 活码 in storage (migration 0018): each code's document, the seats it hands out
//! (one per visitor, counted against capacity in the same transaction that takes it), scans per
//! channel, the spare groups it planned and the operator alerts it raised.
//!
//! A group's seats in use are its present members (staff roles owner, admin and service take no
//! seat) plus seats held for visitors who have not joined yet, so room is judged from the member
//! read model, never from history.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// A live code as saved: its document (checked by `qunzhu_growth::parse_livecode` before it
/// is saved) and who saved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCodeRecord {
    pub workspace: WorkspaceId,
    pub code: String,
    pub platform: Platform,
    pub source: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// A group of the set and the seats it may give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub chat: String,
    pub cap: u32,
}

/// A visitor asking for a seat through a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatRequest {
    pub code: String,
    pub platform: Platform,
    pub visitor: String,
    pub channel: String,
    /// The set in routing order.
    pub candidates: Vec<Candidate>,
    pub at: DateTime<Utc>,
    pub hold_until: DateTime<Utc>,
}

/// A visitor's seat in one group of a code's set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seat {
    pub code: String,
    pub platform: Platform,
    pub chat: String,
    pub visitor: String,
    pub channel: String,
    pub at: DateTime<Utc>,
    pub hold_until: DateTime<Utc>,
    /// `false` when the visitor already held this seat (nothing new was taken).
    pub new: bool,
}

/// A spare group a code planned; `chat` once it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpareGroup {
    pub sequence: u32,
    pub key: String,
    pub chat: Option<String>,
    pub planned_at: DateTime<Utc>,
}

/// Scans, seats and joins through one channel of a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelFigures {
    pub channel: String,
    pub scans: u64,
    pub seats: u64,
    /// Seats whose visitor is in (or was in) the group since taking it.
    pub joins: u64,
}

/// Something the operator must act on: the set is about to fill and no spare can be made
/// (`spare_needed`), or a visitor was turned away (`full`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCodeAlert {
    pub code: String,
    pub kind: String,
    /// The set's size the alert is about (the spare's place, or the groups that were full).
    pub sequence: u32,
    pub message: String,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait LiveCodeStore: Send + Sync {
    /// Saves a code's document; a code another workspace owns is a `Conflict` (the public link
    /// has no workspace in it).
    async fn put_livecode(&self, record: LiveCodeRecord) -> Result<LiveCodeRecord>;

    /// A code in any workspace; `NotFound` when none has it.
    async fn livecode(&self, code: &str) -> Result<LiveCodeRecord>;

    async fn livecodes(&self, workspace: WorkspaceId) -> Result<Vec<LiveCodeRecord>>;

    /// Counts one scan of a code through a channel.
    async fn count_scan(&self, workspace: WorkspaceId, code: &str, channel: &str) -> Result<()>;

    /// Gives the visitor the first candidate with a free seat, counting and taking it in one
    /// transaction (serialized per code), so two scans can never both take the last seat. A
    /// visitor who holds a live seat of this code (unexpired, or joined) gets it back with
    /// `new: false`. `None` when every candidate is full.
    async fn take_seat(&self, workspace: WorkspaceId, request: SeatRequest)
        -> Result<Option<Seat>>;

    /// Seats in use per chat (present members without staff, plus unexpired held seats).
    async fn seats_used(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chats: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<u32>>;

    /// The seat that brought `visitor` into `chat`, if a live code gave one.
    async fn seat_in(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        visitor: &str,
    ) -> Result<Option<Seat>>;

    /// Records a planned spare group once per (code, sequence); `true` when this call did.
    async fn plan_spare(
        &self,
        workspace: WorkspaceId,
        code: &str,
        spare: SpareGroup,
    ) -> Result<bool>;

    /// The code's planned spares, by sequence.
    async fn spares(&self, workspace: WorkspaceId, code: &str) -> Result<Vec<SpareGroup>>;

    /// The spare now exists as `chat`.
    async fn adopt_spare(
        &self,
        workspace: WorkspaceId,
        code: &str,
        sequence: u32,
        chat: &str,
    ) -> Result<()>;

    /// Scans, seats and joins per channel, busiest first.
    async fn channel_figures(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<Vec<ChannelFigures>>;

    /// Raises an alert once per (code, kind, sequence); `true` when this call did.
    async fn raise_livecode_alert(
        &self,
        workspace: WorkspaceId,
        alert: LiveCodeAlert,
    ) -> Result<bool>;

    /// Alerts, newest first.
    async fn livecode_alerts(&self, workspace: WorkspaceId) -> Result<Vec<LiveCodeAlert>>;
}
