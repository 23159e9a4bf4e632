//! The brand-wide ban list 黑名单 and the Matrix policy lists a workspace follows.
//!
//! Bans are the read model the engine compiles (exact ids in hash maps, globs compiled); a
//! revision per workspace changes with every add or removal, so the engine reloads only then.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Ban, BanSource, ListMode, NewBan, Platform, PolicyList, WorkspaceId};

use crate::Result;

/// A member present in a group: where a new ban must be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub platform: Platform,
    pub chat: String,
    pub member: String,
    /// The name the member goes by in this group, as the last event told.
    pub display_name: Option<String>,
    /// When qunzhu saw them join (or first found them present).
    pub joined_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait BanStore: Send + Sync {
    /// Records a ban; if the same source already bans the same entity on the platform, the
    /// first decision stands and is returned with `false`.
    async fn add_ban(&self, ban: NewBan) -> Result<(Ban, bool)>;

    /// Lifts the ban of `entity` from `source`; returns what was lifted, `None` if nothing was.
    async fn remove_ban(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        source: &BanSource,
        entity: &str,
    ) -> Result<Option<Ban>>;

    /// Every ban of the workspace, oldest first.
    async fn bans(&self, workspace: WorkspaceId) -> Result<Vec<Ban>>;

    /// Changes with every add or removal in the workspace (0 before the first).
    async fn ban_revision(&self, workspace: WorkspaceId) -> Result<i64>;

    /// Follows a list room, or changes how it counts; returns it as it now stands.
    async fn set_policy_list(
        &self,
        workspace: WorkspaceId,
        room: &str,
        mode: ListMode,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<PolicyList>;

    /// Stops following a list: its rules are removed with it. Returns whether it was followed.
    async fn remove_policy_list(&self, workspace: WorkspaceId, room: &str) -> Result<bool>;

    async fn policy_lists(&self, workspace: WorkspaceId) -> Result<Vec<PolicyList>>;

    /// Members present now in the workspace's groups on `platform`, one member's only when
    /// `member` is given.
    async fn present_members(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: Option<&str>,
    ) -> Result<Vec<Presence>>;
}
