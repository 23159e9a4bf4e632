//! The brand-wide ban list in the engine: a watcher that recompiles the list when its store
//! revision moves, hands it to every guard, and plans a `Ban` in every group where a member it
//! now covers is present; the guards ban anyone it covers who joins or shows up later.
//!
//! Keys come from the ban and the group (`qunzhu_domain::keys::brand_ban`), so planning again
//! after a restart, or the guard seeing the member too, writes nothing twice.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use qunzhu_domain::{
    ActionKind, ActionStatus, Ban, BanSource, Clock, ListMode, NewAction, Platform, WorkspaceId,
};
use qunzhu_domain::{ActionOrigin, BanStep};
use qunzhu_moderation::{BanList, Refusal};
use qunzhu_storage::{ActionFilter, Presence, Store};
use tokio::sync::watch;

/// The ban list in force, with a version that changes when it does.
#[derive(Clone, Default)]
pub struct BanHandle(Arc<RwLock<(u64, Arc<BanList>)>>);

impl BanHandle {
    pub fn replace(&self, list: BanList) {
        let mut slot = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = (slot.0 + 1, Arc::new(list));
    }

    pub fn current(&self) -> (u64, Arc<BanList>) {
        let slot = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (slot.0, slot.1.clone())
    }
}

/// The workspace's bans, split into those in force (the brand's own and enforced lists') and
/// those of lists still in dry-run, by list room.
#[derive(Debug, Default)]
pub struct BanBook {
    pub in_force: Vec<Ban>,
    pub dry_run: HashMap<String, Vec<Ban>>,
}

/// Reads the bans and which lists count.
pub async fn read_bans(
    store: &dyn Store,
    workspace: WorkspaceId,
) -> qunzhu_storage::Result<BanBook> {
    let modes: HashMap<String, ListMode> = store
        .policy_lists(workspace)
        .await?
        .into_iter()
        .map(|list| (list.room, list.mode))
        .collect();
    let mut book = BanBook::default();
    for ban in store.bans(workspace).await? {
        match &ban.source {
            BanSource::Own => book.in_force.push(ban),
            BanSource::List(room) => match modes.get(room) {
                Some(ListMode::Enforced) => book.in_force.push(ban),
                Some(ListMode::DryRun) => book.dry_run.entry(room.clone()).or_default().push(ban),
                // Rules of a list nobody follows any more are gone with it; none count.
                None => {}
            },
        }
    }
    Ok(book)
}

/// Who a rule must never hit: the brand's staff (roles the ladder exempts) and the bots.
pub async fn protected(
    store: &dyn Store,
    workspace: WorkspaceId,
    bots: &[(Platform, String)],
) -> qunzhu_storage::Result<Vec<(Platform, String)>> {
    let directory = crate::directory::read_directory(store, workspace).await?;
    let mut protected: Vec<(Platform, String)> = directory
        .people
        .into_iter()
        .filter(|(_, (role, _))| role.exempt_by_default())
        .map(|(who, _)| who)
        .collect();
    protected.extend(bots.iter().cloned());
    protected.sort();
    Ok(protected)
}

/// The origin of every action a ban causes: the ban's id, so its actions can be found to undo.
pub fn ban_origin(ban_id: i64) -> ActionOrigin {
    ActionOrigin::Ban {
        ban: ban_id,
        step: BanStep::Enforce,
    }
}

/// A `Ban` for every present member `list` covers, one per group.
pub fn plan_bans(
    list: &BanList,
    workspace: WorkspaceId,
    present: &[Presence],
    now: DateTime<Utc>,
) -> Vec<NewAction> {
    present
        .iter()
        .filter_map(|presence| {
            let hit = list.hit(presence.platform, &presence.member)?;
            Some(NewAction {
                workspace,
                platform: presence.platform,
                chat: presence.chat.clone(),
                key: qunzhu_domain::keys::brand_ban(hit.ban_id, &presence.chat, &presence.member),
                kind: ActionKind::Ban {
                    member: presence.member.clone(),
                    reason: hit.reason.to_string(),
                },
                created_at: now,
                not_before: now,
                expires_at: None,
                dry_run: false,
                origin: ban_origin(hit.ban_id),
                cause: None,
            })
        })
        .collect()
}

/// Compiles the bans in force and plans them where their members are; returns the new
/// actions written and the rules refused by the staff guard.
pub async fn enforce(
    store: &dyn Store,
    workspace: WorkspaceId,
    bots: &[(Platform, String)],
    now: DateTime<Utc>,
) -> qunzhu_storage::Result<(BanList, usize, Vec<Refusal>)> {
    let book = read_bans(store, workspace).await?;
    let protected = protected(store, workspace, bots).await?;
    let compiled = BanList::compile(&book.in_force, &protected);
    let mut platforms: Vec<Platform> = book.in_force.iter().map(|ban| ban.platform).collect();
    platforms.sort();
    platforms.dedup();
    let mut written = 0;
    for platform in platforms {
        let present = store.present_members(workspace, platform, None).await?;
        let actions = plan_bans(&compiled.list, workspace, &present, now);
        if !actions.is_empty() {
            written += store.enqueue(actions).await?;
        }
    }
    Ok((compiled.list, written, compiled.refused))
}

/// What lifting a ban undid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lifted {
    /// Bans not yet carried out, cancelled.
    pub cancelled: usize,
    /// `Unban` actions queued where the ban was carried out.
    pub unbans: usize,
    /// Groups where the member stays banned because another ban in force still covers them.
    pub kept: usize,
}

/// Undoes a ban already removed from the list: its waiting bans are cancelled, and where it
/// was carried out an `Unban` is queued (keyed by the ban and group), except where another
/// ban still in force covers the member, which is then the reason that holds.
pub async fn lift(
    store: &dyn Store,
    ban: &Ban,
    reason: &str,
    bots: &[(Platform, String)],
    now: DateTime<Utc>,
) -> qunzhu_storage::Result<Lifted> {
    let origin = ActionOrigin::ban_prefix(ban.id);
    let cancelled = store
        .cancel_actions(
            ban.workspace,
            &origin,
            DateTime::<Utc>::MIN_UTC,
            "the ban was lifted",
        )
        .await?;
    let carried_out = store
        .actions(
            ban.workspace,
            &ActionFilter {
                status: Some(ActionStatus::Done),
                origin_prefix: Some(origin.clone()),
                limit: Some(100_000),
                ..ActionFilter::default()
            },
        )
        .await?;
    let book = read_bans(store, ban.workspace).await?;
    let protected = protected(store, ban.workspace, bots).await?;
    let still = BanList::compile(&book.in_force, &protected).list;
    let mut kept = 0;
    let unbans: Vec<NewAction> = carried_out
        .iter()
        .filter_map(|action| match &action.kind {
            ActionKind::Ban { member, .. } => {
                if still.hit(action.platform, member).is_some() {
                    kept += 1;
                    return None;
                }
                Some(NewAction {
                    workspace: ban.workspace,
                    platform: action.platform,
                    chat: action.chat.clone(),
                    key: qunzhu_domain::keys::brand_unban(ban.id, &action.chat, member),
                    kind: ActionKind::Unban {
                        member: member.clone(),
                        reason: reason.to_string(),
                    },
                    created_at: now,
                    not_before: now,
                    expires_at: None,
                    dry_run: false,
                    origin: ActionOrigin::Ban {
                        ban: ban.id,
                        step: BanStep::Unban,
                    },
                    cause: Some(action.key.clone()),
                })
            }
            _ => None,
        })
        .collect();
    let unbans = store.enqueue(unbans).await?;
    Ok(Lifted {
        cancelled,
        unbans,
        kept,
    })
}

/// Keeps a [`BanHandle`] current and the bans carried out.
#[derive(Clone)]
pub struct BanWatcher {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub handle: BanHandle,
    /// The bots' own ids, which no rule may match.
    pub bots: Vec<(Platform, String)>,
    pub every: StdDuration,
}

impl BanWatcher {
    /// Recompiles and plans if the revision moved since `seen`; returns the revision now.
    pub async fn sync(&self, seen: Option<i64>) -> qunzhu_storage::Result<i64> {
        let revision = self.store.ban_revision(self.workspace).await?;
        if seen == Some(revision) {
            return Ok(revision);
        }
        let (list, written, refused) =
            enforce(&*self.store, self.workspace, &self.bots, self.clock.now()).await?;
        for refusal in &refused {
            tracing::warn!(%refusal, "ban list rule not enforced");
        }
        tracing::info!(rules = list.len(), new_bans = written, "ban list applied");
        self.handle.replace(list);
        Ok(revision)
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut seen = None;
        loop {
            crate::health::beat();
            match self.sync(seen).await {
                Ok(revision) => seen = Some(revision),
                Err(error) => tracing::error!(%error, "cannot apply the ban list"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
