//! Member tiers from behaviour, the KOL view and the lurker view (migration 0025).
//!
//! The tier keeper follows the log and the ledger after its marks and the members whose
//! review time has come; for those it reads the inputs from the rollup read models and the
//! ledger balances (never the log), lets [`qunzhu_domain::tier`] decide, and writes the rows,
//! the changed member tiers and the marks in one transaction, compare-and-set on the marks.
//! The two views are reads of the rollup member rows summed per member across groups.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use qunzhu_domain::tier::TierInputs;
use qunzhu_domain::{MemberTier, Platform, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// A member of the workspace on a platform.
pub type MemberKey = (Platform, String);

/// How far the keeper has read the log and the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierMarks {
    pub events_seq: i64,
    pub ledger_id: i64,
}

/// One member's stored tier with the inputs it was decided from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberTierRow {
    pub platform: Platform,
    pub member: String,
    pub tier: MemberTier,
    #[serde(flatten)]
    pub inputs: TierInputs,
    /// When the window next forgets an active day and the member is looked at again.
    pub review_at: Option<DateTime<Utc>>,
    pub computed_at: DateTime<Utc>,
}

/// Members by computed tier, paged; a set field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierQuery {
    pub tier: Option<MemberTier>,
    pub offset: usize,
    pub limit: usize,
}

/// KOLs: members whose invitees stayed, summed across groups; a set field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KolQuery {
    pub group: Option<(Platform, String)>,
    /// At least this many invitees still in the group they were brought into.
    pub min_referrals: i64,
    pub offset: usize,
    pub limit: usize,
}

/// One KOL, most stayed invitees first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KolRow {
    pub platform: Platform,
    pub member: String,
    pub referrals_stayed: i64,
    pub messages: i64,
    pub groups: i64,
}

/// Lurkers: present members who joined before `joined_before` (or were already there) and
/// posted at most `max_messages` in that group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LurkerQuery {
    pub group: Option<(Platform, String)>,
    pub max_messages: i64,
    pub joined_before: DateTime<Utc>,
    pub offset: usize,
    pub limit: usize,
}

/// One lurker in one group, longest-silent first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LurkerRow {
    pub platform: Platform,
    pub chat: String,
    pub member: String,
    /// `None` for a member found already present when qunzhu arrived.
    pub joined_at: Option<DateTime<Utc>>,
    pub messages: i64,
    pub last_active_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait TierStore: Send + Sync {
    async fn tier_marks(&self, workspace: WorkspaceId) -> Result<TierMarks>;

    /// Members named by ledger entries (either side) after entry id `after`, and the last id
    /// read (`None`: nothing new).
    async fn ledger_members_after(
        &self,
        workspace: WorkspaceId,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<MemberKey>, Option<i64>)>;

    /// Members whose review time is at or before `now`, soonest first.
    async fn tiers_due(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<MemberKey>>;

    /// The inputs of each member: spend summed over their rollup rows, the points balance,
    /// active days and check-ins on local days from `since` on.
    async fn tier_inputs(
        &self,
        workspace: WorkspaceId,
        members: &[MemberKey],
        since: NaiveDate,
    ) -> Result<BTreeMap<MemberKey, TierInputs>>;

    /// The stored tiers of these members (absent: never decided).
    async fn stored_tiers(
        &self,
        workspace: WorkspaceId,
        members: &[MemberKey],
    ) -> Result<BTreeMap<MemberKey, MemberTier>>;

    /// Writes `rows`, sets the member record's tier of each member in `changed` (a member the
    /// directory does not know is skipped) and moves the marks from `from` to `to`, in one
    /// transaction; false and nothing written when the marks are no longer `from`.
    async fn apply_tiers(
        &self,
        workspace: WorkspaceId,
        rows: &[MemberTierRow],
        changed: &[MemberKey],
        from: TierMarks,
        to: TierMarks,
    ) -> Result<bool>;

    /// Stored tiers, most spend first, then by member; with the total matching.
    async fn member_tiers(
        &self,
        workspace: WorkspaceId,
        query: &TierQuery,
    ) -> Result<(usize, Vec<MemberTierRow>)>;

    async fn kols(&self, workspace: WorkspaceId, query: &KolQuery) -> Result<(usize, Vec<KolRow>)>;

    async fn lurkers(
        &self,
        workspace: WorkspaceId,
        query: &LurkerQuery,
    ) -> Result<(usize, Vec<LurkerRow>)>;
}

/// What one [`keep_tiers`] step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierStep {
    /// Decided this many members (0: nothing new, nobody due).
    Decided(usize),
    /// Another instance moved the marks first; nothing was written.
    Lost,
}

/// One step of the tier keeper: the members named by the next `batch` events the rollups have
/// already folded, by the next `batch` ledger entries and by due reviews get their tier decided
/// from the read models and written back.
pub async fn keep_tiers(
    store: &dyn crate::Store,
    workspace: WorkspaceId,
    zone: chrono_tz::Tz,
    rules: &qunzhu_domain::tier::TierRules,
    now: DateTime<Utc>,
    batch: usize,
) -> Result<TierStep> {
    use qunzhu_domain::EventKind;

    let batch = batch.max(1);
    let from = store.tier_marks(workspace).await?;
    // The inputs are rollup rows, so only events the rollups have folded are read.
    let folded = store.rollup_watermark(workspace).await?;
    let mut to = from;
    let mut members = std::collections::BTreeSet::new();
    if folded > from.events_seq {
        let events = store.events(workspace, from.events_seq, batch).await?;
        for stored in events.iter().take_while(|stored| stored.seq <= folded) {
            to.events_seq = stored.seq;
            let named = match &stored.event.kind {
                EventKind::MessagePosted {
                    member, from_bot, ..
                } => (!from_bot).then_some(member),
                EventKind::OrderPlaced { member, .. } | EventKind::MemberJoined { member, .. } => {
                    Some(member)
                }
                _ => None,
            };
            if let Some(member) = named {
                // Tier keys are the stored text (`MemberKey`).
                members.insert((stored.event.platform, member.0.clone()));
            }
        }
    }
    let (moved, last_entry) = store
        .ledger_members_after(workspace, from.ledger_id, batch)
        .await?;
    if let Some(last) = last_entry {
        to.ledger_id = last;
    }
    members.extend(moved);
    members.extend(store.tiers_due(workspace, now, batch).await?);
    if members.is_empty() && to == from {
        return Ok(TierStep::Decided(0));
    }
    let members: Vec<MemberKey> = members.into_iter().collect();
    let today = qunzhu_domain::local_day(now, zone);
    let inputs = store
        .tier_inputs(workspace, &members, rules.window_start(today))
        .await?;
    let stored = store.stored_tiers(workspace, &members).await?;
    let mut rows = Vec::with_capacity(members.len());
    let mut changed = Vec::new();
    for key in &members {
        let given = inputs.get(key).copied().unwrap_or_default();
        let tier = rules.tier_of(&given);
        if stored.get(key) != Some(&tier) {
            changed.push(key.clone());
        }
        rows.push(MemberTierRow {
            platform: key.0,
            member: key.1.clone(),
            tier,
            inputs: given,
            review_at: qunzhu_domain::tier::review_at(rules, &given, zone),
            computed_at: now,
        });
    }
    if store
        .apply_tiers(workspace, &rows, &changed, from, to)
        .await?
    {
        // At least one, so a step that only moved the marks does not read as "nothing new".
        Ok(TierStep::Decided(rows.len().max(1)))
    } else {
        Ok(TierStep::Lost)
    }
}
