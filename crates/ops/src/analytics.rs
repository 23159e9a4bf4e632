//! Analytics as operators read it: daily rollups, the AARRR funnel (whole, or broken down by
//! group, channel or campaign), the join-week retention triangle and the members behind a cell.
//!
//! Everything is read from the rollup read models; the funnel's windows come from the caller
//! (configuration, or a request's own windows) and are validated before anything is read.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use qunzhu_domain::fate::{GroupFate, GroupTrend, Verdict};
use qunzhu_domain::funnel::{cohorts, in_cohort_cell, week_start, CohortRow, Funnel, FunnelConfig};
use qunzhu_domain::funnel_counts::cohorts_of_counts;
use qunzhu_storage::analytics_models::counted_channel;
use qunzhu_storage::{
    FactsQuery, MemberFactsRow, PlatformCountDay, RollupDay, RollupDayQuery, UserRole,
};
use serde::{Deserialize, Serialize};

use crate::{Actor, Ops, OpsError, Result};

/// The longest range of days one rollup read covers.
pub const MAX_ROLLUP_DAYS: i64 = 400;

/// How a funnel is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunnelBy {
    Group,
    Channel,
    Campaign,
}

/// One funnel with what it is for (`key` is empty for the whole selection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunnelRow {
    pub key: String,
    #[serde(flatten)]
    pub funnel: Funnel,
}

/// The funnel with the windows it was counted by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunnelReport {
    pub config: FunnelConfig,
    pub rows: Vec<FunnelRow>,
}

/// A page of members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactsPage {
    pub total: usize,
    pub rows: Vec<MemberFactsRow>,
}

impl Ops {
    async fn zone(&self, who: &Actor) -> Result<Tz> {
        let workspace = self.store.workspace(who.workspace).await?;
        Ok(workspace.time_zone)
    }

    /// Rollup days in a range of at most [`MAX_ROLLUP_DAYS`], paged.
    pub async fn rollup_days(
        &self,
        who: &Actor,
        query: &RollupDayQuery,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<RollupDay>)> {
        who.require(UserRole::Viewer)?;
        if query.to < query.from {
            return Err(OpsError::invalid("to", "is before `from`"));
        }
        if (query.to - query.from).num_days() >= MAX_ROLLUP_DAYS {
            return Err(OpsError::invalid(
                "to",
                format!("a range is at most {MAX_ROLLUP_DAYS} days"),
            ));
        }
        let rows = qunzhu_storage::click_rollups::rollup_days_with_clicks(
            &*self.store,
            who.workspace,
            query,
        )
        .await?;
        let total = rows.len();
        Ok((
            total,
            rows.into_iter()
                .skip(offset)
                .take(limit.clamp(1, 5000))
                .collect(),
        ))
    }

    /// A platform's own daily counts beside qunzhu's (WeCom's new members against the
    /// rollups' joins), days `from` to `to`, each with its difference.
    pub async fn platform_counts(
        &self,
        who: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PlatformCountDay>> {
        who.require(UserRole::Viewer)?;
        if to < from {
            return Err(OpsError::invalid("to", "is before `from`"));
        }
        if (to - from).num_days() >= MAX_ROLLUP_DAYS {
            return Err(OpsError::invalid(
                "to",
                format!("a range is at most {MAX_ROLLUP_DAYS} days"),
            ));
        }
        Ok(self.store.platform_counts(who.workspace, from, to).await?)
    }

    /// The funnel of the members `query` selects, whole or broken down.
    pub async fn funnel(
        &self,
        who: &Actor,
        query: &FactsQuery,
        config: FunnelConfig,
        by: Option<FunnelBy>,
    ) -> Result<FunnelReport> {
        who.require(UserRole::Viewer)?;
        config
            .validate()
            .map_err(|error| OpsError::invalid(error.field, error.message))?;
        if let Some(rows) = self.counted_funnel(who, query, config, by).await? {
            return Ok(FunnelReport { config, rows });
        }
        let members = self.store.member_facts(who.workspace, query).await?;
        let mut groups: BTreeMap<String, Vec<&MemberFactsRow>> = BTreeMap::new();
        for row in &members {
            let key = match by {
                None => String::new(),
                Some(FunnelBy::Group) => format!("{}:{}", row.platform.as_str(), row.chat),
                Some(FunnelBy::Channel) => row
                    .facts
                    .channel
                    .map_or("direct", |channel| channel.as_str())
                    .to_string(),
                Some(FunnelBy::Campaign) => row.facts.campaign.clone().unwrap_or_default(),
            };
            groups.entry(key).or_default().push(row);
        }
        if by.is_none() && groups.is_empty() {
            groups.insert(String::new(), vec![]);
        }
        let rows = groups
            .into_iter()
            .map(|(key, rows)| FunnelRow {
                key,
                funnel: config.funnel(rows.iter().map(|row| &row.facts)),
            })
            .collect();
        Ok(FunnelReport { config, rows })
    }

    /// The funnel from the workspace counters, when `query` and `by` are questions they answer
    /// (the whole workspace or one channel, whole or by channel) and they are started.
    async fn counted_funnel(
        &self,
        who: &Actor,
        query: &FactsQuery,
        config: FunnelConfig,
        by: Option<FunnelBy>,
    ) -> Result<Option<Vec<FunnelRow>>> {
        let Some(channel) = counted_channel(query) else {
            return Ok(None);
        };
        if !matches!(by, None | Some(FunnelBy::Channel)) {
            return Ok(None);
        }
        let Some(counts) = self.store.funnel_counts(who.workspace).await? else {
            return Ok(None);
        };
        if by.is_none() {
            let funnel = config.funnel_of_counts(&counts, channel);
            return Ok(Some(vec![FunnelRow {
                key: String::new(),
                funnel,
            }]));
        }
        // Keyed as the member rows are: no recorded channel is "direct".
        let mut keyed: BTreeMap<String, Funnel> = BTreeMap::new();
        for each in counts.channels() {
            if channel.is_some_and(|wanted| wanted != each) {
                continue;
            }
            let part = config.funnel_of_counts(&counts, Some(each));
            if part.acquired == 0 {
                continue;
            }
            let sum = keyed
                .entry(each.map_or("direct", |c| c.as_str()).to_string())
                .or_default();
            sum.acquired += part.acquired;
            sum.activated += part.activated;
            sum.retained += part.retained;
            sum.revenue += part.revenue;
            sum.referral += part.referral;
        }
        Ok(Some(
            keyed
                .into_iter()
                .map(|(key, funnel)| FunnelRow { key, funnel })
                .collect(),
        ))
    }

    /// The retention triangle of the members `query` selects, at most `weeks` columns.
    pub async fn cohorts(
        &self,
        who: &Actor,
        query: &FactsQuery,
        weeks: usize,
    ) -> Result<Vec<CohortRow>> {
        who.require(UserRole::Viewer)?;
        let zone = self.zone(who).await?;
        let today = self.clock.now().with_timezone(&zone).date_naive();
        if let Some(channel) = counted_channel(query) {
            if let Some(counts) = self.store.funnel_counts(who.workspace).await? {
                return Ok(cohorts_of_counts(
                    &counts,
                    channel,
                    today,
                    weeks.clamp(1, 26),
                ));
            }
        }
        let members = self.store.member_facts(who.workspace, query).await?;
        Ok(cohorts(
            members.iter().map(|row| &row.facts),
            today,
            zone,
            weeks.clamp(1, 26),
        ))
    }

    /// The members behind one cell of the triangle: joined in `week` (its Monday; absent is
    /// this week), active in week `k` after joining.
    pub async fn cohort_members(
        &self,
        who: &Actor,
        query: &FactsQuery,
        week: Option<NaiveDate>,
        k: u32,
        offset: usize,
        limit: usize,
    ) -> Result<FactsPage> {
        who.require(UserRole::Viewer)?;
        let zone = self.zone(who).await?;
        let week = week.unwrap_or_else(|| week_start(self.clock.now(), zone));
        let rows: Vec<MemberFactsRow> = self
            .store
            .member_facts(who.workspace, query)
            .await?
            .into_iter()
            .filter(|row| in_cohort_cell(&row.facts, zone, week, k))
            .collect();
        Ok(FactsPage {
            total: rows.len(),
            rows: rows
                .into_iter()
                .skip(offset)
                .take(limit.clamp(1, 500))
                .collect(),
        })
    }
}

/// A group with its last 30 days and the verdict on them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupVerdict {
    pub group_id: qunzhu_domain::GroupId,
    pub platform: qunzhu_domain::Platform,
    pub chat: String,
    pub name: String,
    pub trend: GroupTrend,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// An operator's decision on a dying group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FateDecision {
    pub fate: GroupFate,
    /// The topic post that re-activates, or the notice a merge or dissolution posts (a default
    /// notice when absent; re-activation needs one).
    #[serde(default)]
    pub text: Option<String>,
    /// The group a merge sends members to.
    #[serde(default)]
    pub into: Option<qunzhu_domain::GroupId>,
    /// The caller's request id: the same decision sent twice is one action.
    pub request: String,
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FateOutcome {
    pub action_key: String,
    pub status: qunzhu_domain::GroupStatus,
}

const MAX_FATE_TEXT: usize = 2_000;

impl Ops {
    /// Every active group's 30-day trend and verdict, sickest first; `dying_only` keeps the
    /// ones below the line.
    pub async fn group_verdicts(&self, who: &Actor, dying_only: bool) -> Result<Vec<GroupVerdict>> {
        who.require(UserRole::Viewer)?;
        let zone = self.zone(who).await?;
        let today = self.clock.now().with_timezone(&zone).date_naive();
        let days = self
            .store
            .rollup_days(
                who.workspace,
                &RollupDayQuery {
                    group: None,
                    from: today - chrono::Duration::days(29),
                    to: today,
                },
            )
            .await?;
        let mut trends: BTreeMap<
            (qunzhu_domain::Platform, String),
            (GroupTrend, Option<NaiveDate>),
        > = BTreeMap::new();
        for row in &days {
            let (trend, last_spoken) = trends.entry((row.platform, row.chat.clone())).or_default();
            let age = (today - row.day).num_days();
            if age < 7 {
                trend.week_speakers += row.counts.speakers;
                trend.week_messages += row.counts.messages;
                trend.week_net += row.counts.joins() - row.counts.left - row.counts.removed;
            } else {
                trend.earlier_messages += row.counts.messages;
            }
            if row.counts.messages > 0 && last_spoken.is_none_or(|last| row.day > last) {
                *last_spoken = Some(row.day);
            }
        }
        let mut out = Vec::new();
        for summary in self.store.groups(who.workspace).await? {
            let group = summary.group;
            if group.status != qunzhu_domain::GroupStatus::Active {
                continue;
            }
            let (mut trend, last_spoken) = trends
                .remove(&(group.platform, group.chat.clone()))
                .unwrap_or_default();
            trend.members = summary.members_present as i64;
            trend.silent_days = last_spoken.map_or(30, |last| (today - last).num_days().min(30));
            let verdict = trend.verdict();
            if dying_only && !verdict.dying {
                continue;
            }
            out.push(GroupVerdict {
                group_id: group.id,
                platform: group.platform,
                chat: group.chat,
                name: group.name,
                trend,
                verdict,
            });
        }
        out.sort_by(|a, b| {
            a.verdict
                .score
                .cmp(&b.verdict.score)
                .then(a.group_id.cmp(&b.group_id))
        });
        Ok(out)
    }

    /// Applies an operator's decision on a group in one step: the post goes through the outbox
    /// under one key per group, decision and request, a merge archives and a dissolution
    /// dissolves the group, and one audit entry names the decision.
    pub async fn decide_group_fate(
        &self,
        who: &Actor,
        group_id: qunzhu_domain::GroupId,
        decision: FateDecision,
    ) -> Result<FateOutcome> {
        who.require(UserRole::Operator)?;
        let request = decision.request.trim();
        if request.is_empty() || request.len() > 200 {
            return Err(OpsError::invalid(
                "request",
                "a request id of 1 to 200 characters",
            ));
        }
        let text = decision
            .text
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty());
        if text.is_some_and(|text| text.chars().count() > MAX_FATE_TEXT) {
            return Err(OpsError::invalid(
                "text",
                format!("at most {MAX_FATE_TEXT} characters"),
            ));
        }
        let group = self.store.group(who.workspace, group_id).await?;
        let (text, status) = match decision.fate {
            GroupFate::Reactivate => {
                let text = text.ok_or_else(|| {
                    OpsError::invalid("text", "re-activating needs the topic to post")
                })?;
                (text.to_string(), qunzhu_domain::GroupStatus::Active)
            }
            GroupFate::Merge => {
                let into = decision.into.ok_or_else(|| {
                    OpsError::invalid("into", "a merge names the group to merge into")
                })?;
                if into == group_id {
                    return Err(OpsError::invalid(
                        "into",
                        "a group cannot merge into itself",
                    ));
                }
                let target = self.store.group(who.workspace, into).await?;
                if target.status != qunzhu_domain::GroupStatus::Active {
                    return Err(OpsError::invalid(
                        "into",
                        "the group to merge into is not active",
                    ));
                }
                let notice = text.map_or_else(
                    || {
                        format!(
                            "本群将合并到「{}」，欢迎大家移步，那里继续见！",
                            target.name
                        )
                    },
                    str::to_string,
                );
                (notice, qunzhu_domain::GroupStatus::Archived)
            }
            GroupFate::Dissolve => (
                text.unwrap_or("本群即将解散，感谢大家一路以来的陪伴！")
                    .to_string(),
                qunzhu_domain::GroupStatus::Dissolved,
            ),
        };
        let key = qunzhu_domain::keys::group_fate(&group.chat, decision.fate.as_str(), request);
        let now = self.clock.now();
        let fresh = self
            .store
            .enqueue(vec![qunzhu_domain::NewAction {
                workspace: who.workspace,
                platform: group.platform,
                chat: group.chat.clone(),
                key: key.clone(),
                kind: qunzhu_domain::ActionKind::SendMessage {
                    text: text.clone(),
                    html: None,
                    mentions: vec![],
                    reply_to: None,
                },
                created_at: now,
                not_before: now,
                expires_at: None,
                dry_run: false,
                origin: qunzhu_domain::ActionOrigin::Ops(who.name.clone()),
                cause: None,
            }])
            .await?
            > 0;
        // A decision sent again (same request id) is the same action: nothing more happens.
        if !fresh {
            return Ok(FateOutcome {
                action_key: key,
                status,
            });
        }
        if status != group.status {
            self.store
                .update_group(
                    who.workspace,
                    group_id,
                    qunzhu_storage::GroupUpdate {
                        status: Some(status),
                        ..Default::default()
                    },
                )
                .await?;
        }
        self.audit(
            who,
            &format!("group.{}", decision.fate.as_str()),
            &group.chat,
            serde_json::json!({ "key": key, "into": decision.into, "text": text, "status": status.as_str() }),
        )
        .await?;
        Ok(FateOutcome {
            action_key: key,
            status,
        })
    }
}
