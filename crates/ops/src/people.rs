//! Member tiers, KOLs and lurkers as operators read them: paged reads of the tier read model
//! and the rollup member rows, with each view's definition carried beside the rows so the
//! console and the API show what was counted.

use chrono::Duration;
use qunzhu_domain::{MemberTier, Platform};
use qunzhu_storage::{
    KolQuery, KolRow, LurkerQuery, LurkerRow, MemberTierRow, TierQuery, UserRole,
};
use serde::Serialize;

use crate::{Actor, Ops, OpsError, Result};

/// The most rows one page returns.
pub const MAX_PAGE: usize = 500;

/// A page of rows with the total that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub total: usize,
    pub offset: usize,
    pub rows: Vec<T>,
}

/// What makes a KOL here: invitees who stayed in the group they were brought into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KolDefinition {
    pub min_referrals: i64,
}

/// What makes a lurker here: present, joined at least `grace_days` ago (or already there when
/// qunzhu arrived), at most `max_messages` posted in that group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LurkerDefinition {
    pub max_messages: i64,
    pub grace_days: i64,
}

/// The KOL view's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KolFilter {
    pub group: Option<(Platform, String)>,
    /// Default 3.
    pub min_referrals: Option<i64>,
}

/// The lurker view's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LurkerFilter {
    pub group: Option<(Platform, String)>,
    /// Default 0 (never spoke).
    pub max_messages: Option<i64>,
    /// Default 7.
    pub grace_days: Option<i64>,
}

impl KolFilter {
    pub fn definition(&self) -> KolDefinition {
        KolDefinition {
            min_referrals: self.min_referrals.unwrap_or(3),
        }
    }
}

impl LurkerFilter {
    pub fn definition(&self) -> LurkerDefinition {
        LurkerDefinition {
            max_messages: self.max_messages.unwrap_or(0),
            grace_days: self.grace_days.unwrap_or(7),
        }
    }
}

fn page_size(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

impl Ops {
    /// Members by the tier their behaviour earned, most spend first.
    pub async fn member_tiers(
        &self,
        who: &Actor,
        tier: Option<MemberTier>,
        offset: usize,
        limit: usize,
    ) -> Result<Page<MemberTierRow>> {
        who.require(UserRole::Viewer)?;
        let (total, rows) = self
            .store
            .member_tiers(
                who.workspace,
                &TierQuery {
                    tier,
                    offset,
                    limit: page_size(limit),
                },
            )
            .await?;
        Ok(Page {
            total,
            offset,
            rows,
        })
    }

    /// Members whose invitees stayed, most first.
    pub async fn kols(
        &self,
        who: &Actor,
        filter: &KolFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Page<KolRow>> {
        who.require(UserRole::Viewer)?;
        let definition = filter.definition();
        if !(1..=10_000).contains(&definition.min_referrals) {
            return Err(OpsError::invalid(
                "min_referrals",
                "must be between 1 and 10000",
            ));
        }
        let (total, rows) = self
            .store
            .kols(
                who.workspace,
                &KolQuery {
                    group: filter.group.clone(),
                    min_referrals: definition.min_referrals,
                    offset,
                    limit: page_size(limit),
                },
            )
            .await?;
        Ok(Page {
            total,
            offset,
            rows,
        })
    }

    /// Present members who never (or rarely) spoke, longest-joined first.
    pub async fn lurker_view(
        &self,
        who: &Actor,
        filter: &LurkerFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Page<LurkerRow>> {
        who.require(UserRole::Viewer)?;
        let definition = filter.definition();
        if !(0..=1_000_000).contains(&definition.max_messages) {
            return Err(OpsError::invalid(
                "max_messages",
                "must be between 0 and 1000000",
            ));
        }
        if !(0..=365).contains(&definition.grace_days) {
            return Err(OpsError::invalid("grace_days", "must be between 0 and 365"));
        }
        let (total, rows) = self
            .store
            .lurkers(
                who.workspace,
                &LurkerQuery {
                    group: filter.group.clone(),
                    max_messages: definition.max_messages,
                    joined_before: self.clock.now() - Duration::days(definition.grace_days),
                    offset,
                    limit: page_size(limit),
                },
            )
            .await?;
        Ok(Page {
            total,
            offset,
            rows,
        })
    }
}
