//! Leaderboards (排行榜): invites, check-ins and points, ranked from rows the read models already
//! keep (invite counts, the streak table, member balances), never summed from history here.
//!
//! Ranking is standard competition ranking ("1224"): equal scores share a rank and the next rank
//! skips, with ties listed by member id so a post and the console show the same order.

use serde::{Deserialize, Serialize};

/// What a board ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Board {
    /// Invitees still present, per inviter.
    Invites,
    /// Total check-ins.
    CheckIns,
    /// Points balance.
    Points,
}

impl Board {
    pub const ALL: &'static [Board] = &[Board::Invites, Board::CheckIns, Board::Points];

    pub fn as_str(self) -> &'static str {
        match self {
            Board::Invites => "invites",
            Board::CheckIns => "check_ins",
            Board::Points => "points",
        }
    }

    pub fn parse(text: &str) -> Option<Board> {
        Board::ALL
            .iter()
            .copied()
            .find(|board| board.as_str() == text)
    }

    /// The unit after a score in a post line.
    fn unit(self) -> &'static str {
        match self {
            Board::Invites => "人",
            Board::CheckIns => "次",
            Board::Points => "分",
        }
    }

    /// The title of its post.
    pub fn title(self) -> &'static str {
        match self {
            Board::Invites => "邀请榜",
            Board::CheckIns => "打卡榜",
            Board::Points => "积分榜",
        }
    }
}

/// A row a read model gave: who, shown as what, and their score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    pub member: String,
    pub display_name: String,
    pub score: i64,
}

/// A ranked row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked {
    pub rank: u32,
    #[serde(flatten)]
    pub row: Score,
}

/// The top `limit` of `rows` (any order), zero scores left out, ties sharing a rank.
pub fn rank(mut rows: Vec<Score>, limit: usize) -> Vec<Ranked> {
    rows.retain(|row| row.score > 0);
    rows.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.member.cmp(&b.member)));
    let mut out: Vec<Ranked> = Vec::with_capacity(limit.min(rows.len()));
    for (index, row) in rows.into_iter().take(limit).enumerate() {
        let rank = match out.last() {
            Some(previous) if previous.row.score == row.score => previous.rank,
            _ => u32::try_from(index + 1).unwrap_or(u32::MAX),
        };
        out.push(Ranked { rank, row });
    }
    out
}

/// The lines a post shows: `1. 小王 12人`; medals for the first three ranks.
pub fn lines(board: Board, ranked: &[Ranked]) -> Vec<String> {
    ranked
        .iter()
        .map(|row| {
            let place = match row.rank {
                1 => "🥇".to_string(),
                2 => "🥈".to_string(),
                3 => "🥉".to_string(),
                n => format!("{n}."),
            };
            format!(
                "{place} {} {}{}",
                row.row.display_name,
                row.row.score,
                board.unit()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(member: &str, score: i64) -> Score {
        Score {
            member: member.into(),
            display_name: member.trim_start_matches('@').into(),
            score,
        }
    }

    #[test]
    fn ties_share_a_rank_and_zeros_are_left_out() {
        let rows = vec![
            score("@c", 3),
            score("@a", 5),
            score("@d", 0),
            score("@b", 3),
            score("@e", 1),
        ];
        let ranked = rank(rows, 10);
        let shown: Vec<(u32, &str)> = ranked
            .iter()
            .map(|r| (r.rank, r.row.member.as_str()))
            .collect();
        assert_eq!(shown, vec![(1, "@a"), (2, "@b"), (2, "@c"), (4, "@e")]);
        assert_eq!(
            lines(Board::Invites, &ranked),
            vec!["🥇 a 5人", "🥈 b 3人", "🥈 c 3人", "4. e 1人"]
        );
        assert_eq!(rank(vec![score("@a", 2), score("@b", 1)], 1).len(), 1);
    }

    #[test]
    fn boards_round_trip_their_names() {
        for board in Board::ALL {
            assert_eq!(Board::parse(board.as_str()), Some(*board));
        }
        assert_eq!(Board::parse("likes"), None);
    }
}
