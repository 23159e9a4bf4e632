//! Read models for the console's reports: per-group day rows with check-ins and link clicks,
//! distinct speakers over a range, one member's history, members paged and sorted, and the
//! outbox filtered by group, kind and time.
//!
//! Every query here is served by an index or a table kept at ingest (migration 0005); none of
//! them replays the event log.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::{
    ActionRecord, ActionStatus, GroupId, MemberId, MemberRole, MemberTier, Platform, WorkspaceId,
};
use serde::{Deserialize, Serialize};

use crate::{MemberSummary, Result, StoredEvent};

/// One of the operator's local days as an instant range `[start, end)`, so a backend can count
/// timestamps (clicks, check-ins) into the workspace's days without knowing its time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySpan {
    pub day: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// One group on one local day. `left` walked out (主动退群); `removed` were kicked or banned
/// (被移出); `joins`, `messages` and `speakers` are the derived daily counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GroupDayReport {
    pub group_id: GroupId,
    pub day: NaiveDate,
    pub joins: u64,
    pub left: u64,
    pub removed: u64,
    pub messages: u64,
    pub speakers: u64,
    pub checkins: u64,
    pub link_clicks: u64,
}

impl GroupDayReport {
    /// The group's day with nothing counted yet (there is no default group to make a
    /// `Default` of).
    pub fn empty(group_id: GroupId, day: NaiveDate) -> Self {
        GroupDayReport {
            group_id,
            day,
            joins: 0,
            left: 0,
            removed: 0,
            messages: 0,
            speakers: 0,
            checkins: 0,
            link_clicks: 0,
        }
    }
}

/// Distinct members who spoke within a range of days, bots left out: in the workspace and per group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SpeakerCounts {
    pub total: u64,
    pub per_group: BTreeMap<GroupId, u64>,
}

/// How the member list is ordered; each sort is descending (most first, latest first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberSort {
    #[default]
    LastSpoke,
    Messages,
    Checkins,
    Clicks,
    Joined,
}

impl MemberSort {
    pub const ALL: &'static [MemberSort] = &[
        MemberSort::LastSpoke,
        MemberSort::Messages,
        MemberSort::Checkins,
        MemberSort::Clicks,
        MemberSort::Joined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberSort::LastSpoke => "last_spoke",
            MemberSort::Messages => "messages",
            MemberSort::Checkins => "checkins",
            MemberSort::Clicks => "clicks",
            MemberSort::Joined => "joined",
        }
    }

    pub fn parse(text: &str) -> Option<MemberSort> {
        MemberSort::ALL.iter().copied().find(|s| s.as_str() == text)
    }
}

/// A page of the member list. Bots (members who posted as a bot) and members present in no
/// group (left or removed everywhere) are hidden unless asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberPageQuery {
    pub text: Option<String>,
    pub tag: Option<String>,
    pub tier: Option<MemberTier>,
    pub role: Option<MemberRole>,
    pub group_id: Option<GroupId>,
    pub active_since: Option<DateTime<Utc>>,
    pub silent_since: Option<DateTime<Utc>>,
    pub include_bots: bool,
    pub include_gone: bool,
    pub sort: MemberSort,
    pub offset: usize,
    pub limit: usize,
}

/// A member with what the list sorts by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRow {
    #[serde(flatten)]
    pub summary: MemberSummary,
    /// Groups the member is in now (of `summary.groups` ever).
    pub present_in: u64,
    pub checkins: u64,
    /// Clicks on links made personal for this member.
    pub clicks: u64,
    pub bot: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberPage {
    /// How many members match, over all pages.
    pub total: u64,
    pub rows: Vec<MemberRow>,
}

/// The outbox filtered for the moderation, audit and 今日 pages; every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionQuery {
    pub chat: Option<String>,
    /// Action kinds by name (`kick`, `ban`, …); empty means any.
    pub kinds: Vec<String>,
    /// Origin prefixes (`rule:`, `sop:`, `checkin`, …); empty means any.
    pub origins: Vec<String>,
    pub statuses: Vec<ActionStatus>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    /// Due (`not_before`) at or after, and before: the day a post is for, not when it was planned.
    pub due_since: Option<DateTime<Utc>>,
    pub due_until: Option<DateTime<Utc>>,
    pub limit: usize,
}

/// The audit log filtered: every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Verb prefix (`rule.`, `join_request.approve`).
    pub action: Option<String>,
    /// Exactly this actor (`user:ops`, `token:ci`, `cli`, `bot`).
    pub actor: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Entries with ids below this (the next page).
    pub before: Option<i64>,
    pub limit: usize,
}

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Every group's rows for the given days (days with nothing are left out).
    async fn group_day_report(
        &self,
        workspace: WorkspaceId,
        days: &[DaySpan],
    ) -> Result<Vec<GroupDayReport>>;

    /// Per group id, its distinct speakers (never a bot) since the start of each local day of
    /// `since`, one count per day in order: exact for windows ending now, read from each group's
    /// members by the day they last spoke (kept at ingest), so the cost is a few rows per group
    /// and day of the window (the group table's today, week and month).
    async fn speakers_since(
        &self,
        workspace: WorkspaceId,
        since: &[NaiveDate],
    ) -> Result<BTreeMap<GroupId, Vec<u64>>>;

    /// Distinct speakers (never a bot) between two local days inclusive.
    async fn distinct_speakers(
        &self,
        workspace: WorkspaceId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<SpeakerCounts>;

    /// Per group id, its present members (never a bot) who have said nothing in any group since
    /// `since`: the member list's `silent_since` count for every group in one query.
    async fn silent_per_group(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> Result<BTreeMap<GroupId, u64>>;

    /// The events about one member in every group, newest first.
    async fn member_events(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>>;

    /// One page of members with the total count.
    async fn member_page(
        &self,
        workspace: WorkspaceId,
        query: &MemberPageQuery,
    ) -> Result<MemberPage>;

    /// Audit entries matching the query, newest first (audit_by_workspace).
    async fn audit_entries(
        &self,
        workspace: WorkspaceId,
        query: &AuditQuery,
    ) -> Result<Vec<crate::AuditEntry>>;

    /// Outbox actions matching the query, newest first.
    async fn query_actions(
        &self,
        workspace: WorkspaceId,
        query: &ActionQuery,
    ) -> Result<Vec<ActionRecord>>;
}
