//! What each scheduled push led to: reach, delivery, lateness, clicks and replies.

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{ActionKind, ActionStatus, EventKind, Instant, WorkspaceId};
use qunzhu_storage::{ActionFilter, MemberQuery, Store};
use serde::Serialize;

/// The numbers of one push (one SOP occurrence in one group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushReport {
    pub key: String,
    pub chat: String,
    pub origin: String,
    pub scheduled: DateTime<Utc>,
    pub status: ActionStatus,
    pub sent_at: Option<DateTime<Utc>>,
    /// Seconds after its scheduled time it went out.
    pub late_seconds: Option<i64>,
    /// Members in the group who had joined by the time it went out (and are still there).
    pub reach: u64,
    pub clicks: u64,
    pub unique_clickers: u64,
    /// Messages by members (not bots) in the group within an hour after it went out.
    pub replies_within_hour: u64,
}

/// The latest `limit` SOP pushes of a workspace, newest first.
pub async fn push_reports(
    store: &dyn Store,
    workspace: WorkspaceId,
    limit: usize,
) -> qunzhu_storage::Result<Vec<PushReport>> {
    let filter = ActionFilter {
        origin_prefix: Some("sop:".into()),
        limit: Some(limit),
        ..ActionFilter::default()
    };
    let groups = store.groups(workspace).await?;
    let mut reports = Vec::new();
    for action in store.actions(workspace, &filter).await? {
        if !matches!(
            action.kind,
            ActionKind::SendMessage { .. } | ActionKind::PersonTask { .. }
        ) {
            continue;
        }
        let stats = store.push_link_stats(workspace, &action.key).await?;
        let (mut reach, mut replies) = (0, 0);
        if let (Some(sent), ActionStatus::Done) = (action.done_at, action.status) {
            if let Some(group) = groups
                .iter()
                .find(|summary| summary.group.chat == action.chat)
            {
                let query = MemberQuery {
                    group_id: Some(group.group.id),
                    limit: Some(1_000_000),
                    ..MemberQuery::default()
                };
                reach = store
                    .members(workspace, &query)
                    .await?
                    .iter()
                    .filter(|member| member.joined_at.is_some_and(|joined| joined <= sent))
                    .count() as u64;
            }
            let until = sent.plus(Duration::hours(1));
            replies = store
                .events_since(workspace, sent, 1_000_000)
                .await?
                .iter()
                .filter(|stored| stored.event.chat == action.chat && stored.event.at <= until)
                .filter(|stored| {
                    matches!(
                        stored.event.kind,
                        EventKind::MessagePosted {
                            from_bot: false,
                            ..
                        }
                    )
                })
                .count() as u64;
        }
        reports.push(PushReport {
            late_seconds: action.lateness().map(|late| late.num_seconds()),
            key: action.key,
            chat: action.chat,
            origin: action.origin,
            scheduled: action.not_before,
            status: action.status,
            sent_at: action.done_at,
            reach,
            clicks: stats.clicks,
            unique_clickers: stats.unique_visitors,
            replies_within_hour: replies,
        });
    }
    Ok(reports)
}
