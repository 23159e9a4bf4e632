//! Leaderboards (排行榜) as the console and the API show them live: the same read models and
//! ranking as the SOP posts' `{invite_leaders}` / `{points_leaders}`, plus the check-in board.

use qunzhu_domain::{GroupId, Platform};
use qunzhu_growth::leaderboard::{rank, Board, Ranked, Score};
use qunzhu_storage::UserRole;

use crate::{Actor, Ops, Result};

impl Ops {
    /// The top `limit` of one board for one group (points are the workspace's).
    pub async fn leaderboard(
        &self,
        who: &Actor,
        board: Board,
        platform: Platform,
        chat: &str,
        limit: usize,
    ) -> Result<Vec<Ranked>> {
        who.require(UserRole::Viewer)?;
        self.known_group(who, platform, chat).await?;
        let limit = limit.clamp(1, 100);
        match board {
            Board::Invites | Board::Points => Ok(qunzhu_engine::live::board_rows(
                &*self.store,
                who.workspace,
                platform,
                chat,
                board,
                limit,
            )
            .await?),
            Board::CheckIns => {
                let zone = self.store.workspace(who.workspace).await?.time_zone;
                let today = self.clock.now().with_timezone(&zone).date_naive();
                // Ordered by live streak first; read enough to rank by total.
                let rows = self
                    .store
                    .leaderboard(
                        who.workspace,
                        platform,
                        chat,
                        today,
                        limit.saturating_mul(20),
                    )
                    .await?;
                let scores = rows
                    .into_iter()
                    .map(|row| Score {
                        member: row.member,
                        display_name: row.display_name,
                        score: i64::from(row.total),
                    })
                    .collect();
                Ok(rank(scores, limit))
            }
        }
    }
}

impl Ops {
    /// [`Ops::leaderboard`] for a group named by its id (`NotFound` outside the workspace).
    pub async fn group_leaderboard(
        &self,
        who: &Actor,
        board: Board,
        group: GroupId,
        limit: usize,
    ) -> Result<Vec<Ranked>> {
        who.require(UserRole::Viewer)?;
        let group = self
            .store
            .group(who.workspace, group)
            .await
            .map_err(|error| match error {
                qunzhu_storage::StoreError::NotFound { .. } => crate::OpsError::NotFound("group"),
                other => other.into(),
            })?;
        self.leaderboard(who, board, group.platform, &group.chat, limit)
            .await
    }
}
