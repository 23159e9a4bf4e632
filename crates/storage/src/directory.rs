//! The directory: workspaces, their groups and members, as operators see and edit them.

use async_trait::async_trait;
use qunzhu_domain::{Group, GroupId, Member, MemberId, Platform, WorkspaceId};

use crate::*;

/// Workspaces, groups and members (derived from the log at ingest, edited by operators).
#[async_trait]
pub trait Directory: Send + Sync {
    /// Returns the workspace with this slug, creating it if missing.
    async fn ensure_workspace(&self, new: NewWorkspace) -> Result<Workspace>;
    async fn workspace(&self, id: WorkspaceId) -> Result<Workspace>;
    async fn workspaces(&self) -> Result<Vec<Workspace>>;

    async fn groups(&self, workspace: WorkspaceId) -> Result<Vec<GroupSummary>>;
    async fn group(&self, workspace: WorkspaceId, group_id: GroupId) -> Result<Group>;
    /// Creates the group if missing (first event or operator registration), else returns it.
    async fn ensure_group(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Group>;
    async fn update_group(
        &self,
        workspace: WorkspaceId,
        group_id: GroupId,
        update: GroupUpdate,
    ) -> Result<Group>;

    async fn members(
        &self,
        workspace: WorkspaceId,
        query: &MemberQuery,
    ) -> Result<Vec<MemberSummary>>;
    async fn member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
    ) -> Result<Member>;
    async fn update_member(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        user: &MemberId,
        update: MemberUpdate,
    ) -> Result<Member>;
}
