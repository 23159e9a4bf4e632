//! Aggregate read models for the console's unfiltered analytics: the workspace's funnel and
//! cohort counters ([`qunzhu_domain::funnel_counts`]), kept by the rollup consumer in the same
//! transaction as the rollup rows and their watermark, so reading them costs the same whatever
//! the history.
//!
//! A filtered question (one group, a campaign, a join-time range) is still answered from the
//! member rows, which an index narrows to the members asked about.

use async_trait::async_trait;
use qunzhu_domain::funnel_counts::{FunnelCounts, FunnelDelta};
use qunzhu_domain::rollup::{MemberFacts, MemberRef};
use qunzhu_domain::{InviteChannel, WorkspaceId};
use std::collections::BTreeMap;

use crate::{FactsQuery, Result};

#[async_trait]
pub trait FunnelCountStore: Send + Sync {
    /// Whether the workspace's counters were started (the counters of a workspace whose
    /// members were folded before they existed are seeded on the consumer's next step).
    async fn funnel_counted(&self, workspace: WorkspaceId) -> Result<bool>;

    /// The workspace's counters, or `None` while they are not started.
    async fn funnel_counts(&self, workspace: WorkspaceId) -> Result<Option<FunnelCounts>>;
}

/// What storing the members `after` (loaded as `before`) does to the counters: the difference,
/// or, for a workspace not yet counted, every stored member's counters plus the difference.
pub async fn funnel_delta(
    store: &dyn crate::Store,
    workspace: WorkspaceId,
    zone: chrono_tz::Tz,
    before: &BTreeMap<MemberRef, MemberFacts>,
    after: &BTreeMap<MemberRef, MemberFacts>,
) -> Result<FunnelDelta> {
    let change = FunnelCounts::change(before, after, zone);
    if store.funnel_counted(workspace).await? {
        return Ok(FunnelDelta {
            replace: false,
            counts: change,
        });
    }
    // Read before this step writes anything; the watermark compare-and-set discards the seed
    // if another instance folded meanwhile.
    let stored = store
        .member_facts(workspace, &FactsQuery::default())
        .await?;
    let mut counts = FunnelCounts::of(stored.iter().map(|row| &row.facts), zone);
    counts.merge(&change);
    Ok(FunnelDelta {
        replace: true,
        counts,
    })
}

/// The channel filter the counters can answer `query` with (`Some(None)`: every channel), or
/// `None` when it narrows by something the counters do not keep.
pub fn counted_channel(query: &FactsQuery) -> Option<Option<Option<InviteChannel>>> {
    let unfiltered = query.group.is_none()
        && query.campaign.is_none()
        && query.joined_since.is_none()
        && query.joined_until.is_none();
    unfiltered.then_some(query.channel.map(Some))
}
