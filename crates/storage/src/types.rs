//! The plain records the storage trait takes and returns.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use qunzhu_domain::{
    ActionStatus, Event, GroupDay, GroupId, GroupStatus, GroupType, MemberRole, MemberTier,
    Platform, Positioning, WorkspaceId,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    /// The zone the operator counts days and schedules in, parsed once when read; a stored
    /// name that does not parse is a storage error, never a silent default.
    pub time_zone: Tz,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkspace {
    pub slug: String,
    pub name: String,
    pub time_zone: Tz,
}

/// An event on its way into the log, with the operator's local day it counts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event: Event,
    pub day: NaiveDate,
}

/// A batch a connector delivered, and where it leaves off.
#[derive(Debug, Clone, Default)]
pub struct IngestBatch {
    pub events: Vec<NewEvent>,
    /// `(connector id, cursor)`, stored in the same transaction as the events.
    pub cursor: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub appended: usize,
    pub duplicates: usize,
    pub actions: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LogStats {
    pub events: u64,
    pub duplicates: u64,
}

/// An event as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: Event,
    pub day: NaiveDate,
}

/// A group with its current size and recent activity, for lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupSummary {
    pub group: qunzhu_domain::Group,
    pub members_present: u64,
    /// When the group's last logged event happened: the newest by log order, kept on the
    /// group's row by ingest, so the list costs the same however long the log.
    pub last_event_at: Option<DateTime<Utc>>,
}

/// Operator edits to a group; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub group_type: Option<GroupType>,
    pub status: Option<GroupStatus>,
    pub capacity: Option<u32>,
    pub tags: Option<Vec<String>>,
    pub positioning: Option<Positioning>,
}

impl GroupUpdate {
    /// Applies the edits that are present to `group`.
    pub fn apply_to(self, group: &mut qunzhu_domain::Group) {
        if let Some(name) = self.name {
            group.name = name;
        }
        if let Some(group_type) = self.group_type {
            group.group_type = group_type;
        }
        if let Some(status) = self.status {
            group.status = status;
        }
        if let Some(capacity) = self.capacity {
            group.capacity = capacity;
        }
        if let Some(tags) = self.tags {
            group.tags = tags;
        }
        if let Some(positioning) = self.positioning {
            group.positioning = positioning;
        }
    }
}

/// Operator edits to a member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemberUpdate {
    pub role: Option<MemberRole>,
    pub tier: Option<MemberTier>,
    pub tags: Option<Vec<String>>,
}

impl MemberUpdate {
    /// Applies the edits that are present to `member`.
    pub fn apply_to(self, member: &mut qunzhu_domain::Member) {
        if let Some(role) = self.role {
            member.role = role;
        }
        if let Some(tier) = self.tier {
            member.tier = tier;
        }
        if let Some(tags) = self.tags {
            member.tags = tags;
        }
    }
}

/// Member search: every field narrows; `text` matches display name or platform id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemberQuery {
    pub text: Option<String>,
    pub tag: Option<String>,
    pub tier: Option<MemberTier>,
    pub role: Option<MemberRole>,
    pub group_id: Option<GroupId>,
    /// Only members who spoke at or after this instant (`active_since`) or not (`silent_since`).
    pub active_since: Option<DateTime<Utc>>,
    pub silent_since: Option<DateTime<Utc>>,
    pub limit: Option<usize>,
}

/// A member with activity across the workspace's groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberSummary {
    pub member: qunzhu_domain::Member,
    pub groups: u64,
    pub messages: u64,
    pub last_spoke_at: Option<DateTime<Utc>>,
    pub joined_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupDayRow {
    pub group_id: GroupId,
    pub day: NaiveDate,
    #[serde(flatten)]
    pub counts: GroupDay,
}

/// A worker's request for due work: a platform dispatcher names `ActionTarget::Platform`, the
/// ledger worker `ActionTarget::Ledger`; each only ever gets its own target's actions.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub platform: Platform,
    pub target: qunzhu_domain::ActionTarget,
    pub now: DateTime<Utc>,
    pub limit: usize,
    pub owner: &'a str,
    pub lease_until: DateTime<Utc>,
}

/// What became of one attempt at an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    Done {
        receipt: Option<String>,
    },
    /// Failed, try again at `at`; counts as an attempt.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Not attempted (a rate limit said wait); does not count as an attempt.
    Defer {
        at: DateTime<Utc>,
    },
    /// Given up; the reason is kept.
    Dead {
        error: String,
    },
    /// Deliberately not carried out (expired); the reason is kept. Not an attempt.
    Skip {
        reason: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionFilter {
    pub status: Option<ActionStatus>,
    pub chat: Option<String>,
    /// Prefix match on origin, e.g. `rule:` or `sop:`.
    pub origin_prefix: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ActionCounts {
    pub pending: u64,
    pub in_flight: u64,
    pub done: u64,
    pub dead: u64,
    pub skipped: u64,
    pub dry_run: u64,
}
