//! Groups and members as an operator edits them, a member's history, the lurker report.

use chrono::Duration;
use qunzhu_domain::{Group, GroupId, Member, MemberId, Platform};
use qunzhu_storage::{GroupUpdate, MemberUpdate, StoredEvent, UserRole};
use serde_json::json;

use crate::{Actor, Ops, OpsError, Result};

impl Ops {
    pub async fn update_group(
        &self,
        who: &Actor,
        group_id: GroupId,
        update: GroupUpdate,
    ) -> Result<Group> {
        who.require(UserRole::Operator)?;
        crate::limits::check_group_update(&update)?;
        if update
            .name
            .as_deref()
            .is_some_and(|name| name.trim().is_empty())
        {
            return Err(OpsError::invalid("name", "a group needs a name"));
        }
        if update
            .capacity
            .is_some_and(|capacity| capacity == 0 || capacity > 100_000)
        {
            return Err(OpsError::invalid("capacity", "between 1 and 100000"));
        }
        let group = self
            .store
            .update_group(who.workspace, group_id, update)
            .await?;
        let detail = serde_json::to_value(&group).unwrap_or_default();
        self.audit(who, "group.update", &group.chat, detail).await?;
        Ok(group)
    }

    pub async fn update_member(
        &self,
        who: &Actor,
        platform: Platform,
        user: &MemberId,
        update: MemberUpdate,
    ) -> Result<Member> {
        who.require(UserRole::Operator)?;
        crate::limits::check_member_update(&update)?;
        let member = self
            .store
            .update_member(who.workspace, platform, user, update)
            .await?;
        let detail = json!({ "role": member.role, "tier": member.tier, "tags": member.tags });
        self.audit(who, "member.update", &format!("{platform}:{user}"), detail)
            .await?;
        Ok(member)
    }

    /// One member's events across the workspace's groups, newest first, today's included: read
    /// through the log's member index (`ReportStore::member_events`), never by scanning it.
    pub async fn member_history(
        &self,
        who: &Actor,
        member: &Member,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        Ok(self
            .store
            .member_events(who.workspace, member.platform, &member.user, limit)
            .await?)
    }

    /// Members silent for more than `days` (never newcomers, exempt roles or VIPs), longest first.
    pub async fn lurkers(
        &self,
        who: &Actor,
        days: i64,
    ) -> Result<Vec<qunzhu_moderation::LurkerEntry>> {
        let now = self.clock.now();
        let query = qunzhu_storage::MemberQuery {
            silent_since: Some(now - Duration::days(days)),
            limit: Some(5000),
            ..qunzhu_storage::MemberQuery::default()
        };
        let roster: Vec<qunzhu_moderation::RosterEntry> = self
            .store
            .members(who.workspace, &query)
            .await?
            .into_iter()
            .map(|summary| qunzhu_moderation::RosterEntry {
                member: summary.member.user.0,
                display_name: summary.member.display_name,
                role: summary.member.role,
                tier: summary.member.tier,
                // Without a join time the member is treated as new, so never reported.
                joined_at: summary.joined_at.unwrap_or(now),
                last_spoke_at: summary.last_spoke_at,
            })
            .collect();
        let policy = qunzhu_moderation::LurkerPolicy {
            silent_days: days,
            ..qunzhu_moderation::LurkerPolicy::default()
        };
        Ok(qunzhu_moderation::lurker_report(&policy, &roster, now))
    }
}
