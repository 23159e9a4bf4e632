//! What operators edit about groups and members (group type and name, member role and tier),
//! kept current for the guard without a restart: a watcher reads it from the store every few
//! seconds and swaps it in; the guard picks up a new version at its next decision.
//!
//! Only members whose role or tier differs from the default are read, so the cost follows the
//! handful of admins, KOLs and VIPs, not the size of the community.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use qunzhu_domain::{MemberRole, MemberTier, Platform, WorkspaceId};
use qunzhu_moderation::GroupFacts;
use qunzhu_storage::{MemberQuery, Store};
use tokio::sync::watch;

/// Groups and the members with a role or tier other than the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub groups: HashMap<(Platform, String), GroupFacts>,
    pub people: HashMap<(Platform, String), (MemberRole, MemberTier)>,
}

/// The directory in force, with a version that changes when it does.
#[derive(Clone, Default)]
pub struct DirectoryHandle(Arc<RwLock<(u64, Arc<Directory>)>>);

impl DirectoryHandle {
    /// Replaces the directory if it differs; true when it did.
    pub fn replace(&self, directory: Directory) -> bool {
        let mut slot = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *slot.1 == directory {
            return false;
        }
        *slot = (slot.0 + 1, Arc::new(directory));
        true
    }

    pub fn current(&self) -> (u64, Arc<Directory>) {
        let slot = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (slot.0, slot.1.clone())
    }
}

/// Reads one workspace's directory from the store.
pub async fn read_directory(
    store: &dyn Store,
    workspace: WorkspaceId,
) -> qunzhu_storage::Result<Directory> {
    let mut directory = Directory::default();
    for summary in store.groups(workspace).await? {
        directory.groups.insert(
            (summary.group.platform, summary.group.chat.clone()),
            GroupFacts::from(&summary.group),
        );
    }
    let special_roles = MemberRole::ALL
        .iter()
        .filter(|role| **role != MemberRole::Member)
        .map(|role| MemberQuery {
            role: Some(*role),
            limit: Some(100_000),
            ..MemberQuery::default()
        });
    let special_tiers = MemberTier::ALL
        .iter()
        .filter(|tier| **tier != MemberTier::Regular)
        .map(|tier| MemberQuery {
            tier: Some(*tier),
            limit: Some(100_000),
            ..MemberQuery::default()
        });
    for query in special_roles.chain(special_tiers) {
        for summary in store.members(workspace, &query).await? {
            let member = summary.member;
            directory
                .people
                .insert((member.platform, member.user.0), (member.role, member.tier));
        }
    }
    Ok(directory)
}

/// Keeps a [`DirectoryHandle`] current.
#[derive(Clone)]
pub struct DirectoryWatcher {
    pub store: Arc<dyn Store>,
    pub workspace: WorkspaceId,
    pub handle: DirectoryHandle,
    pub every: StdDuration,
}

impl DirectoryWatcher {
    /// Reads once; true when something changed.
    pub async fn sync(&self) -> qunzhu_storage::Result<bool> {
        let directory = read_directory(&*self.store, self.workspace).await?;
        Ok(self.handle.replace(directory))
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            // Tells the supervisor this loop is alive (a no-op outside one).
            crate::health::beat();
            match self.sync().await {
                Ok(true) => tracing::info!("group and member edits applied"),
                Ok(false) => {}
                Err(error) => tracing::error!(%error, "cannot read group and member edits"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
