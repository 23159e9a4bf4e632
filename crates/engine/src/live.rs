//! Filling a scheduled post's live variables when it is sent, not when it was planned.
//!
//! The planner writes SOP posts to the outbox as templates (`{member_count}`, `{checkin_leaders}`,
//! `{group}` still open); the dispatcher asks [`LiveRenderer`] for the text just before it
//! calls the connector, with facts from the read models (memberships, check-in streaks), and
//! the text is recorded against the outbox row so the operator sees what was sent.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::{ActionKind, ActionRecord, MemberId, Platform, WorkspaceId};
use qunzhu_growth::leaderboard::{self, Board, Score};
use qunzhu_sop::{has_live_variables, render_live, GroupFacts, LiveFacts};
use qunzhu_storage::{PushRender, Store};
use tokio::sync::Mutex;

/// How many check-in leaders `{checkin_leaders}` lists.
pub const LEADERS_SHOWN: usize = 5;
/// How long one reading of the groups' sizes serves a burst of sends (200 groups at 08:00).
const GROUPS_FRESH_FOR: i64 = 5;

/// Live facts of one group, owned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupLive {
    pub name: String,
    pub member_count: u32,
    pub checkin_leaders: Vec<String>,
    pub invite_leaders: Vec<String>,
    pub points_leaders: Vec<String>,
}

impl GroupLive {
    pub fn facts(&self) -> LiveFacts<'_> {
        LiveFacts {
            group_name: &self.name,
            member_count: self.member_count,
            checkin_leaders: &self.checkin_leaders,
            invite_leaders: &self.invite_leaders,
            points_leaders: &self.points_leaders,
        }
    }
}

/// `{invite_leaders}` / `{points_leaders}` lines from the read models: present invitees per
/// inviter in this group, member balances in the workspace; ranked with shared ranks for ties.
pub async fn board_lines(
    store: &dyn Store,
    workspace: WorkspaceId,
    platform: Platform,
    chat: &str,
    board: Board,
) -> qunzhu_storage::Result<Vec<String>> {
    let ranked = board_rows(store, workspace, platform, chat, board, LEADERS_SHOWN).await?;
    Ok(leaderboard::lines(board, &ranked))
}

/// The top `shown` of the invites or points board (the console's live view and the posts):
/// present invitees per inviter in the group, member balances in the workspace. Check-ins have
/// their own streak board (`leader_lines`), so this board has no rows for them.
pub async fn board_rows(
    store: &dyn Store,
    workspace: WorkspaceId,
    platform: Platform,
    chat: &str,
    board: Board,
    shown: usize,
) -> qunzhu_storage::Result<Vec<leaderboard::Ranked>> {
    // The read models order by their own score; a few more rows let ties at the cut rank fairly.
    let read = shown.saturating_mul(4).max(20);
    let rows: Vec<(String, i64)> = match board {
        Board::Invites => {
            let filter = qunzhu_storage::InviteFilter {
                chat: Some(chat.to_string()),
                campaign: None,
            };
            store
                .invite_counts(workspace, &filter, read)
                .await?
                .into_iter()
                .filter(|count| count.platform == platform)
                .map(|count| {
                    (
                        count.inviter,
                        i64::try_from(count.present).unwrap_or(i64::MAX),
                    )
                })
                .collect()
        }
        Board::Points => store
            .balances(workspace, Some(qunzhu_domain::AccountKind::Member), read)
            .await?
            .into_iter()
            .filter_map(|(account, balance)| match account {
                qunzhu_domain::Account::Member { platform: on, user } if on == platform => {
                    Some((user, balance))
                }
                _ => None,
            })
            .collect(),
        Board::CheckIns => Vec::new(),
    };
    let mut scores = Vec::with_capacity(rows.len());
    for (member, score) in rows {
        let display_name = match store
            .member(workspace, platform, &MemberId(member.clone()))
            .await
        {
            Ok(known) if !known.display_name.is_empty() => known.display_name,
            _ => member.clone(),
        };
        scores.push(Score {
            member,
            display_name,
            score,
        });
    }
    Ok(leaderboard::rank(scores, shown))
}

/// `{checkin_leaders}` lines of one group on the local day of `now`, from the streak read model.
pub async fn leader_lines(
    store: &dyn Store,
    workspace: WorkspaceId,
    platform: Platform,
    chat: &str,
    zone: Tz,
    now: DateTime<Utc>,
) -> qunzhu_storage::Result<Vec<String>> {
    let today = now.with_timezone(&zone).date_naive();
    let rows = store
        .leaderboard(workspace, platform, chat, today, LEADERS_SHOWN)
        .await?;
    Ok(rows
        .iter()
        .filter(|row| row.streak > 0)
        .enumerate()
        .map(|(index, row)| {
            format!(
                "{}. {} 连续{}天 · 累计{}次",
                index + 1,
                row.display_name,
                row.streak,
                row.total
            )
        })
        .collect())
}

/// Every group of the workspace as the planner and the preview see it now: type, tags and
/// status as last edited, creation time (first seen, else the epoch: relative steps stay quiet),
/// size, and — when `with_leaders` — today's check-in leaders.
pub async fn current_facts(
    store: &dyn Store,
    workspace: WorkspaceId,
    now: DateTime<Utc>,
    with_leaders: bool,
) -> qunzhu_storage::Result<Vec<(qunzhu_storage::GroupSummary, GroupFacts)>> {
    let seen: HashMap<(Platform, String), DateTime<Utc>> = store
        .groups_seen(workspace)
        .await?
        .into_iter()
        .map(|seen| ((seen.platform, seen.chat), seen.at))
        .collect();
    let zone = store.workspace(workspace).await?.time_zone;
    let mut out = Vec::new();
    for summary in store.groups(workspace).await? {
        let group = &summary.group;
        let created = seen
            .get(&(group.platform, group.chat.clone()))
            .copied()
            .unwrap_or(DateTime::UNIX_EPOCH);
        let mut facts = GroupFacts::from_group(group, created, true);
        facts.member_count = u32::try_from(summary.members_present).unwrap_or(u32::MAX);
        if with_leaders {
            facts.checkin_leaders =
                leader_lines(store, workspace, group.platform, &group.chat, zone, now).await?;
            facts.invite_leaders = board_lines(
                store,
                workspace,
                group.platform,
                &group.chat,
                Board::Invites,
            )
            .await?;
            facts.points_leaders =
                board_lines(store, workspace, group.platform, &group.chat, Board::Points).await?;
        }
        out.push((summary, facts));
    }
    Ok(out)
}

type Sizes = HashMap<(Platform, String), (String, u32)>;
/// Per workspace: when the sizes were read, and the sizes.
type SizeCache = HashMap<WorkspaceId, (DateTime<Utc>, Arc<Sizes>)>;

/// Fills SOP templates at send time; shared by the dispatcher and anything that shows a post.
pub struct LiveRenderer {
    store: Arc<dyn Store>,
    /// Group names and sizes per workspace, with when they were read.
    groups: Mutex<SizeCache>,
}

impl LiveRenderer {
    pub fn new(store: Arc<dyn Store>) -> Self {
        LiveRenderer {
            store,
            groups: Mutex::new(HashMap::new()),
        }
    }

    async fn sizes(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<Arc<Sizes>> {
        let mut cache = self.groups.lock().await;
        if let Some((read_at, sizes)) = cache.get(&workspace) {
            if now - *read_at < Duration::seconds(GROUPS_FRESH_FOR) && now >= *read_at {
                return Ok(sizes.clone());
            }
        }
        let sizes: Sizes = self
            .store
            .groups(workspace)
            .await?
            .into_iter()
            .map(|summary| {
                let count = u32::try_from(summary.members_present).unwrap_or(u32::MAX);
                (
                    (summary.group.platform, summary.group.chat),
                    (summary.group.name, count),
                )
            })
            .collect();
        let sizes = Arc::new(sizes);
        cache.insert(workspace, (now, sizes.clone()));
        Ok(sizes)
    }

    /// The live facts of one group now.
    pub async fn group_live(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<GroupLive> {
        self.group_facts(workspace, platform, chat, now, true).await
    }

    /// Like [`Self::group_live`]; the leaderboard is read only when `with_leaders`.
    async fn group_facts(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        now: DateTime<Utc>,
        with_leaders: bool,
    ) -> qunzhu_storage::Result<GroupLive> {
        let sizes = self.sizes(workspace, now).await?;
        let (name, member_count) = sizes
            .get(&(platform, chat.to_string()))
            .cloned()
            .unwrap_or_else(|| (chat.to_string(), 0));
        let checkin_leaders = if with_leaders {
            let zone = self.store.workspace(workspace).await?.time_zone;
            leader_lines(&*self.store, workspace, platform, chat, zone, now).await?
        } else {
            Vec::new()
        };
        let (invite_leaders, points_leaders) = if with_leaders {
            (
                board_lines(&*self.store, workspace, platform, chat, Board::Invites).await?,
                board_lines(&*self.store, workspace, platform, chat, Board::Points).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(GroupLive {
            name,
            member_count,
            checkin_leaders,
            invite_leaders,
            points_leaders,
        })
    }

    /// The action as it goes out, if it is an SOP post with live variables, and records the
    /// text against its outbox row; `None` when there is nothing to fill.
    pub async fn render(
        &self,
        action: &ActionRecord,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<Option<ActionRecord>> {
        if !matches!(action.origin, ActionOrigin::Sop { .. }) {
            return Ok(None);
        }
        let template = match &action.kind {
            ActionKind::SendMessage { text, .. }
            | ActionKind::PersonTask { text }
            | ActionKind::SendPoll { question: text, .. } => text,
            _ => return Ok(None),
        };
        let with_leaders = template.contains("_leaders");
        let live = self
            .group_facts(
                action.workspace,
                action.platform,
                &action.chat,
                now,
                with_leaders,
            )
            .await?;
        let text = if has_live_variables(template) {
            render_live(template, &live.facts())
        } else {
            template.clone()
        };
        self.store
            .record_render(PushRender {
                action: action.id,
                workspace: action.workspace,
                chat: action.chat.clone(),
                at: now,
                text: text.clone(),
                reach: u64::from(live.member_count),
            })
            .await?;
        let mut rendered = action.clone();
        match &mut rendered.kind {
            ActionKind::SendMessage { text: slot, .. }
            | ActionKind::PersonTask { text: slot }
            | ActionKind::SendPoll { question: slot, .. } => *slot = text,
            _ => {}
        }
        Ok(Some(rendered))
    }
}
