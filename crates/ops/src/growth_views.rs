//! What the console's growth pages read beyond the API's answers: each point drop with its
//! shares handed out (from the outbox, as the engine's drop watcher reads them) and where it
//! stands, and a campaign's live leaderboard over its groups, ranked like the SOP posts.

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::Instant;
use qunzhu_domain::MemberId;
use qunzhu_growth::leaderboard::{rank, Board, Ranked, Score};
use qunzhu_storage::{ActionFilter, InviteFilter, StoredDrop, UserRole};
use serde::Serialize;
use std::collections::BTreeMap;

use crate::{Actor, Ops, OpsError, Result};

/// Where a drop stands at the clock's now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropPhase {
    Scheduled,
    Running,
    Over,
}

impl DropPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            DropPhase::Scheduled => "scheduled",
            DropPhase::Running => "running",
            DropPhase::Over => "over",
        }
    }
}

/// A drop as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DropView {
    #[serde(flatten)]
    pub stored: StoredDrop,
    /// Shares handed out so far, against `spec.shares`.
    pub claimed: u32,
    pub phase: DropPhase,
}

/// The phase of a drop that opens at `starts_at` for `minutes`, with `claimed` of `shares` gone.
pub fn drop_phase(
    starts_at: DateTime<Utc>,
    minutes: u32,
    claimed: u32,
    shares: u32,
    now: DateTime<Utc>,
) -> DropPhase {
    if now < starts_at {
        DropPhase::Scheduled
    } else if claimed >= shares || starts_at.plus(Duration::minutes(i64::from(minutes))) <= now {
        DropPhase::Over
    } else {
        DropPhase::Running
    }
}

impl Ops {
    /// [`Ops::drops`] with each drop's shares counted and its phase, newest first.
    pub async fn drop_views(&self, who: &Actor) -> Result<Vec<DropView>> {
        let drops = self.drops(who).await?;
        let now = self.clock.now();
        let mut out = Vec::with_capacity(drops.len());
        for stored in drops.into_iter().rev() {
            let filter = ActionFilter {
                origin_prefix: Some(qunzhu_domain::ActionOrigin::Drop(stored.id).to_string()),
                limit: Some(100_000),
                ..ActionFilter::default()
            };
            // A prefix also matches later ids (`drop:1`, `drop:12`): the key decides.
            let prefix = format!("drop:{}:share:", stored.id);
            let claimed = self
                .store
                .actions(who.workspace, &filter)
                .await?
                .iter()
                .filter(|action| action.key.starts_with(&prefix))
                .count();
            let claimed = u32::try_from(claimed).unwrap_or(u32::MAX);
            let spec = &stored.drop.spec;
            let phase = drop_phase(
                stored.drop.starts_at,
                spec.minutes,
                claimed,
                spec.shares,
                now,
            );
            out.push(DropView {
                stored,
                claimed,
                phase,
            });
        }
        Ok(out)
    }

    /// A campaign's live board over its groups: invites through its codes (present invitees),
    /// check-ins summed over its groups, points from the workspace's balances; ranked by
    /// `qunzhu_growth::leaderboard` as the SOP posts are.
    pub async fn campaign_leaderboard(
        &self,
        who: &Actor,
        board: Board,
        campaign: &str,
        limit: usize,
    ) -> Result<Vec<Ranked>> {
        who.require(UserRole::Viewer)?;
        let view = self.campaign(who, campaign).await?;
        let Some(parsed) = view.campaign else {
            return Err(OpsError::invalid(
                "campaign",
                "the campaign document does not pass its check; fix it first",
            ));
        };
        let limit = limit.clamp(1, 100);
        let platform = parsed.platform;
        let mut scores: BTreeMap<String, i64> = BTreeMap::new();
        match board {
            Board::Invites => {
                let filter = InviteFilter {
                    chat: None,
                    // Invite codes carry the campaign as their attribution text.
                    campaign: Some(parsed.name.to_string()),
                };
                for count in self
                    .store
                    .invite_counts(who.workspace, &filter, limit.saturating_mul(20))
                    .await?
                {
                    if count.platform == platform {
                        *scores.entry(count.inviter).or_default() +=
                            i64::try_from(count.present).unwrap_or(i64::MAX);
                    }
                }
            }
            Board::CheckIns | Board::Points => {
                for chat in &parsed.groups {
                    // A group the campaign names but the bot never saw has no rows.
                    let rows = match self.leaderboard(who, board, platform, chat, 100).await {
                        Ok(rows) => rows,
                        Err(OpsError::NotFound(_)) => continue,
                        Err(error) => return Err(error),
                    };
                    for row in rows {
                        let score = scores.entry(row.row.member).or_default();
                        *score = match board {
                            // Balances are the workspace's: the same in every group.
                            Board::Points => row.row.score,
                            _ => score.saturating_add(row.row.score),
                        };
                    }
                }
            }
        }
        let mut ranked = Vec::with_capacity(scores.len());
        for (member, score) in scores {
            let display_name = match self
                .store
                .member(who.workspace, platform, &MemberId(member.clone()))
                .await
            {
                Ok(known) if !known.display_name.is_empty() => known.display_name,
                _ => member.clone(),
            };
            ranked.push(Score {
                member,
                display_name,
                score,
            });
        }
        Ok(rank(ranked, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_is_scheduled_then_running_until_its_shares_or_its_window_run_out() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let minute = |n: i64| start + Duration::minutes(n);
        for (now, claimed, phase) in [
            (minute(-1), 0, DropPhase::Scheduled),
            (minute(0), 0, DropPhase::Running),
            (minute(9), 9, DropPhase::Running),
            (minute(9), 10, DropPhase::Over),
            (minute(10), 3, DropPhase::Over),
        ] {
            assert_eq!(
                drop_phase(start, 10, claimed, 10, now),
                phase,
                "{now} {claimed}"
            );
        }
    }
}
