//! The invite task (任务宝) book of one campaign: every invitee with their state, every prize
//! with its state, and the pure steps that move them (a join, a post, a leave, the clock, an
//! operator's decision). The engine loads a book from its tables, feeds it the log after its
//! watermark and the clock's now, and writes back the rows it touched with the effects it
//! returned, so nothing replays the log and every timer runs on the injected clock.
//!
//! An invite counts only once the invitee has stayed `stay` and posted; a leave after that
//! deducts it. A prize moves pending → approved → granted (review optional, hold optional); a
//! count that drops below its threshold withdraws a prize still held and reverses one granted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{CampaignId, Instant};
use serde::{Deserialize, Serialize};

use crate::campaign::{Campaign, TaskPrize, Threshold};
use crate::fraud::{join_flags, Flag, JoinFacts};

/// Where one invitee stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    /// Joined; the stay has not run out yet.
    Waiting,
    /// Stayed and posted: counts for the inviter.
    Counted,
    /// Kept with its reasons, does not count.
    Flagged,
    /// Left before counting.
    Left,
    /// Left after counting: the count went down again.
    Deducted,
}

/// Where one earned prize stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrizeState {
    /// Earned, waiting for an operator (campaigns with `review`).
    Pending,
    /// Approved, waiting for the hold to end.
    Approved,
    Granted,
    /// Refused by an operator (or the inviter was suspended), with the reason.
    Rejected,
    /// The count dropped below the threshold during the hold: never paid.
    Withdrawn,
    /// The count dropped below the threshold after it was paid: a reversal entry took the
    /// points back, or the coupon was revoked.
    Reversed,
    /// The count dropped below the threshold after it was paid with a coupon the member had
    /// already redeemed: it could not be taken back, so it stays in the review queue for an
    /// operator, and reaching the threshold again pays nothing more.
    Kept,
}

macro_rules! names {
    ($kind:ident { $($variant:ident => $text:literal),+ }) => {
        impl $kind {
            pub const ALL: &'static [$kind] = &[$($kind::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($kind::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<$kind> {
                match text { $($text => Some($kind::$variant),)+ _ => None }
            }
        }
    };
}

names!(InviteState { Waiting => "waiting", Counted => "counted", Flagged => "flagged", Left => "left", Deducted => "deducted" });
names!(PrizeState { Pending => "pending", Approved => "approved", Granted => "granted", Rejected => "rejected", Withdrawn => "withdrawn", Reversed => "reversed", Kept => "kept" });

/// One invitee of one campaign (a row of the read model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInvite {
    pub campaign: CampaignId,
    pub chat: String,
    pub invitee: String,
    pub inviter: String,
    pub joined_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
    pub state: InviteState,
    pub flags: Vec<Flag>,
    pub counted_at: Option<DateTime<Utc>>,
    pub left_at: Option<DateTime<Utc>>,
}

/// One inviter's prize for one threshold (a row of the read model); `round` grows each time a
/// withdrawn or reversed prize is earned again, so each payment has its own key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPrizeRow {
    pub campaign: CampaignId,
    pub inviter: String,
    pub threshold: u32,
    pub round: u32,
    pub state: PrizeState,
    /// The group to announce it in (where the invite that reached it joined).
    pub chat: String,
    pub earned_at: DateTime<Utc>,
    /// Granted no earlier than this (earned + hold).
    pub due_at: DateTime<Utc>,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// The operator's reason, or why the system moved it.
    pub note: String,
    pub prize: TaskPrize,
    /// The stored version this row was read at (0: not stored yet); a write succeeds only
    /// against that version, so an operator's decision and the consumer never overwrite each other.
    pub version: i64,
}

impl TaskPrizeRow {
    /// The idempotency key of this prize's payment (the ledger entry and its outbox action).
    pub fn grant_key(&self) -> String {
        format!(
            "task:{}:{}:{}:{}",
            self.campaign, self.inviter, self.threshold, self.round
        )
    }

    /// A reversed coupon prize whose coupon the member had already redeemed: the engine could
    /// not revoke it, so the prize is kept, saying why, for an operator to look at.
    pub fn keep_redeemed_coupon(&mut self, code: &str, redeemed_at: DateTime<Utc>) {
        self.state = PrizeState::Kept;
        self.note = format!(
            "the count dropped below the threshold after payment, but coupon {code} was already redeemed at {redeemed_at}: not revoked"
        );
    }
}

/// What the engine should do outside the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Tell the group how far the inviter has come ("@A 还差 2 人").
    Progress {
        chat: String,
        inviter: String,
        counted: u32,
        /// Invites still missing for the next threshold (none: all reached).
        missing: Option<u32>,
        /// Derived from the invite whose change caused it.
        key: String,
    },
    /// Pay a prize (and say so in the group).
    Grant { prize: TaskPrizeRow },
    /// Take a paid prize back with a reversal entry of its grant.
    Reverse { prize: TaskPrizeRow },
    /// A gift once an invite counts (never taken back: they did stay): the invitee's own
    /// (`[invitee]`), or the inviter's for this friend (`[inviter]`, keyed `inviter_gift`).
    Gift {
        chat: String,
        /// Who gets it: the invitee, or for an inviter gift the inviter.
        invitee: String,
        prize: TaskPrize,
        key: String,
    },
}

/// A join the engine attributed to an inviter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub chat: String,
    pub invitee: String,
    pub inviter: String,
    pub display_name: Option<String>,
    pub elsewhere: bool,
    pub at: DateTime<Utc>,
}

/// Why an operator's decision was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("no prize of {inviter} for {threshold} invites in this campaign")]
    NotFound { inviter: String, threshold: u32 },
    #[error("the prize is {}, only a pending prize can be decided", .0.as_str())]
    NotPending(PrizeState),
    #[error("a rejection needs a reason")]
    NoReason,
}

/// A campaign's book, loaded from its rows.
#[derive(Debug, Clone)]
pub struct Book {
    pub campaign: Campaign,
    invites: BTreeMap<(String, String), TaskInvite>,
    prizes: BTreeMap<(String, u32), TaskPrizeRow>,
    touched_invites: BTreeSet<(String, String)>,
    touched_prizes: BTreeSet<(String, u32)>,
}

impl Book {
    pub fn new(campaign: Campaign, invites: Vec<TaskInvite>, prizes: Vec<TaskPrizeRow>) -> Book {
        Book {
            campaign,
            invites: invites
                .into_iter()
                .map(|row| ((row.chat.clone(), row.invitee.clone()), row))
                .collect(),
            prizes: prizes
                .into_iter()
                .map(|row| ((row.inviter.clone(), row.threshold), row))
                .collect(),
            touched_invites: BTreeSet::new(),
            touched_prizes: BTreeSet::new(),
        }
    }

    pub fn invites(&self) -> impl Iterator<Item = &TaskInvite> {
        self.invites.values()
    }

    pub fn prizes(&self) -> impl Iterator<Item = &TaskPrizeRow> {
        self.prizes.values()
    }

    /// Counted invites of one inviter.
    pub fn counted(&self, inviter: &str) -> u32 {
        self.invites
            .values()
            .filter(|row| row.inviter == inviter && row.state == InviteState::Counted)
            .count() as u32
    }

    /// Whether an inviter is suspended: flagged at least `suspend_after` times.
    pub fn suspended(&self, inviter: &str) -> bool {
        self.campaign.suspend_after > 0
            && self
                .invites
                .values()
                .filter(|row| {
                    row.inviter == inviter
                        && row
                            .flags
                            .iter()
                            .any(|flag| !matches!(flag, Flag::Suspended | Flag::NeverSpoke))
                })
                .count()
                >= self.campaign.suspend_after as usize
    }

    /// The rows changed since the last call, to write back.
    pub fn take_changes(&mut self) -> (Vec<TaskInvite>, Vec<TaskPrizeRow>) {
        let invites = std::mem::take(&mut self.touched_invites)
            .into_iter()
            .filter_map(|key| self.invites.get(&key).cloned())
            .collect();
        let prizes = std::mem::take(&mut self.touched_prizes)
            .into_iter()
            .filter_map(|key| self.prizes.get(&key).cloned())
            .collect();
        (invites, prizes)
    }

    /// A join into one of the campaign's groups; the first join of an invitee in a group is the
    /// one that counts (a return after leaving brings nothing new).
    pub fn join(&mut self, join: Join) -> Vec<Effect> {
        if !self.campaign.groups.contains(&join.chat)
            || join.at < self.campaign.starts
            || join.at >= self.campaign.ends
        {
            return Vec::new();
        }
        let key = (join.chat.clone(), join.invitee.clone());
        if self.invites.contains_key(&key) {
            return Vec::new();
        }
        let earlier: Vec<DateTime<Utc>> = self
            .invites
            .values()
            .filter(|row| row.inviter == join.inviter)
            .map(|row| row.joined_at)
            .collect();
        let mut flags = join_flags(
            &self.campaign.fraud,
            &JoinFacts {
                invitee: &join.invitee,
                inviter: &join.inviter,
                display_name: join.display_name.as_deref(),
                elsewhere: join.elsewhere,
                at: join.at,
                earlier_joins: &earlier,
            },
        );
        if self.suspended(&join.inviter) {
            flags.push(Flag::Suspended);
        }
        let state = if flags.is_empty() {
            InviteState::Waiting
        } else {
            InviteState::Flagged
        };
        let inviter = join.inviter.clone();
        self.invites.insert(
            key.clone(),
            TaskInvite {
                campaign: self.campaign.name.clone(),
                chat: join.chat,
                invitee: join.invitee,
                inviter: join.inviter,
                joined_at: join.at,
                posted_at: None,
                state,
                flags,
                counted_at: None,
                left_at: None,
            },
        );
        self.touched_invites.insert(key);
        if self.suspended(&inviter) {
            self.suspend(&inviter, join.at);
        }
        Vec::new()
    }

    /// A message: an invitee who posts has spoken (a `never_spoke` flag is lifted while they
    /// are still here, and the invite waits to count again).
    pub fn posted(&mut self, chat: &str, member: &str, at: DateTime<Utc>) {
        let key = (chat.to_string(), member.to_string());
        let Some(row) = self.invites.get_mut(&key) else {
            return;
        };
        if row.posted_at.is_some() || matches!(row.state, InviteState::Left | InviteState::Deducted)
        {
            return;
        }
        row.posted_at = Some(at);
        if row.state == InviteState::Flagged && row.flags == [Flag::NeverSpoke] {
            row.flags.clear();
            row.state = InviteState::Waiting;
        }
        self.touched_invites.insert(key);
    }

    /// A leave: an invite not yet counted never will; a counted one is deducted.
    pub fn left(&mut self, chat: &str, member: &str, at: DateTime<Utc>) -> Vec<Effect> {
        let key = (chat.to_string(), member.to_string());
        let Some(row) = self.invites.get_mut(&key) else {
            return Vec::new();
        };
        let was_counted = row.state == InviteState::Counted;
        row.state = match row.state {
            InviteState::Counted => InviteState::Deducted,
            InviteState::Waiting | InviteState::Flagged => InviteState::Left,
            InviteState::Left | InviteState::Deducted => return Vec::new(),
        };
        row.left_at = Some(at);
        let inviter = row.inviter.clone();
        let invitee = row.invitee.clone();
        self.touched_invites.insert(key);
        if !was_counted {
            return Vec::new();
        }
        let mut effects = self.progress(&inviter, chat, &format!("{invitee}:deducted"));
        effects.extend(self.settle(&inviter, chat, at));
        effects
    }

    /// The clock: stays that ran out are judged, prizes whose hold ended are paid.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = Vec::new();
        let due: Vec<(String, String)> = self
            .invites
            .iter()
            .filter(|(_, row)| {
                row.state == InviteState::Waiting && row.joined_at.plus(self.campaign.stay) <= now
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            let Some(row) = self.invites.get(&key) else {
                continue;
            };
            let inviter = row.inviter.clone();
            let posted = row.posted_at.is_some() || !self.campaign.must_post;
            let over_cap = self.campaign.cap > 0 && {
                let since = now.minus(Duration::days(i64::from(self.campaign.cap_days)));
                self.invites
                    .values()
                    .filter(|other| {
                        other.inviter == inviter
                            && other.state == InviteState::Counted
                            && other.counted_at.is_some_and(|at| at > since)
                    })
                    .count()
                    >= self.campaign.cap as usize
            };
            let Some(row) = self.invites.get_mut(&key) else {
                continue;
            };
            if !posted {
                row.state = InviteState::Flagged;
                row.flags.push(Flag::NeverSpoke);
            } else if over_cap {
                row.state = InviteState::Flagged;
                row.flags.push(Flag::OverCap);
            } else {
                row.state = InviteState::Counted;
                row.counted_at = Some(now);
            }
            let counted = row.state == InviteState::Counted;
            let invitee = row.invitee.clone();
            self.touched_invites.insert(key.clone());
            if counted {
                if let Some(prize) = &self.campaign.invitee_prize {
                    effects.push(Effect::Gift {
                        chat: key.0.clone(),
                        invitee: invitee.clone(),
                        prize: prize.clone(),
                        key: qunzhu_domain::keys::task_gift(&self.campaign.name, &key.0, &invitee),
                    });
                }
                if let Some(prize) = &self.campaign.inviter_gift {
                    effects.push(Effect::Gift {
                        chat: key.0.clone(),
                        invitee: inviter.clone(),
                        prize: prize.clone(),
                        key: format!(
                            "task:{}:inviter_gift:{}:{invitee}",
                            self.campaign.name, key.0
                        ),
                    });
                }
                effects.extend(self.progress(&inviter, &key.0, &format!("{invitee}:counted")));
                effects.extend(self.settle(&inviter, &key.0, now));
            }
        }
        effects.extend(self.pay_due(now));
        effects
    }

    /// An operator approves or rejects a pending prize.
    pub fn decide(
        &mut self,
        inviter: &str,
        threshold: u32,
        approve: bool,
        by: &str,
        reason: &str,
    ) -> Result<TaskPrizeRow, DecideError> {
        if !approve && reason.trim().is_empty() {
            return Err(DecideError::NoReason);
        }
        let key = (inviter.to_string(), threshold);
        let row = self
            .prizes
            .get_mut(&key)
            .ok_or_else(|| DecideError::NotFound {
                inviter: inviter.to_string(),
                threshold,
            })?;
        if row.state != PrizeState::Pending {
            return Err(DecideError::NotPending(row.state));
        }
        row.state = if approve {
            PrizeState::Approved
        } else {
            PrizeState::Rejected
        };
        row.decided_by = Some(by.to_string());
        row.note = reason.trim().to_string();
        let row = row.clone();
        self.touched_prizes.insert(key);
        Ok(row)
    }

    fn progress(&self, inviter: &str, chat: &str, cause: &str) -> Vec<Effect> {
        let counted = self.counted(inviter);
        vec![Effect::Progress {
            chat: chat.to_string(),
            inviter: inviter.to_string(),
            counted,
            missing: self
                .campaign
                .next_threshold(counted)
                .map(|step| step.invites.saturating_sub(counted)),
            key: qunzhu_domain::keys::task_progress(&self.campaign.name, chat, cause),
        }]
    }

    /// Brings an inviter's prizes in line with their count.
    fn settle(&mut self, inviter: &str, chat: &str, now: DateTime<Utc>) -> Vec<Effect> {
        let counted = self.counted(inviter);
        let suspended = self.suspended(inviter);
        let thresholds: Vec<Threshold> = self.campaign.thresholds.clone();
        let mut effects = Vec::new();
        for step in thresholds {
            let key = (inviter.to_string(), step.invites);
            let reached = counted >= step.invites;
            match self.prizes.get_mut(&key) {
                None if reached && !suspended => {
                    self.prizes
                        .insert(key.clone(), self.fresh_prize(inviter, chat, &step, 0, now));
                    self.touched_prizes.insert(key);
                }
                Some(row)
                    if reached
                        && !suspended
                        && matches!(row.state, PrizeState::Withdrawn | PrizeState::Reversed) =>
                {
                    let (round, version) = (row.round.saturating_add(1), row.version);
                    let mut fresh = self.fresh_prize(inviter, chat, &step, round, now);
                    fresh.version = version;
                    self.prizes.insert(key.clone(), fresh);
                    self.touched_prizes.insert(key);
                }
                Some(row) if !reached => match row.state {
                    PrizeState::Pending | PrizeState::Approved => {
                        row.state = PrizeState::Withdrawn;
                        row.note = "the count dropped below the threshold during the hold".into();
                        self.touched_prizes.insert(key);
                    }
                    PrizeState::Granted => {
                        row.state = PrizeState::Reversed;
                        row.note = "the count dropped below the threshold after payment".into();
                        effects.push(Effect::Reverse { prize: row.clone() });
                        self.touched_prizes.insert(key);
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        effects
    }

    fn fresh_prize(
        &self,
        inviter: &str,
        chat: &str,
        step: &Threshold,
        round: u32,
        now: DateTime<Utc>,
    ) -> TaskPrizeRow {
        TaskPrizeRow {
            campaign: self.campaign.name.clone(),
            inviter: inviter.to_string(),
            threshold: step.invites,
            round,
            state: if self.campaign.review {
                PrizeState::Pending
            } else {
                PrizeState::Approved
            },
            chat: chat.to_string(),
            earned_at: now,
            due_at: now.plus(self.campaign.hold),
            decided_by: None,
            note: String::new(),
            prize: step.prize.clone(),
            version: 0,
        }
    }

    /// Points paid so far (granted and not reversed), against the pool.
    pub fn paid_points(&self) -> i64 {
        self.prizes
            .values()
            .filter(|row| row.state == PrizeState::Granted)
            .map(|row| match row.prize {
                TaskPrize::Points { points } => points,
                TaskPrize::Coupon { .. } => 0,
            })
            .fold(0_i64, i64::saturating_add)
    }

    fn pay_due(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let due: Vec<(String, u32)> = self
            .prizes
            .iter()
            .filter(|(_, row)| row.state == PrizeState::Approved && row.due_at <= now)
            .map(|(key, _)| key.clone())
            .collect();
        let mut effects = Vec::new();
        for key in due {
            let paid = self.paid_points();
            let Some(row) = self.prizes.get_mut(&key) else {
                continue;
            };
            let points = match row.prize {
                TaskPrize::Points { points } => points,
                TaskPrize::Coupon { .. } => 0,
            };
            if self
                .campaign
                .pool
                .is_some_and(|pool| paid.saturating_add(points) > pool)
            {
                // The budget is spent: the prize stays approved (visible) until the pool grows.
                if row.note.is_empty() {
                    row.note = "the campaign's pool is spent".into();
                    self.touched_prizes.insert(key);
                }
                continue;
            }
            row.state = PrizeState::Granted;
            effects.push(Effect::Grant { prize: row.clone() });
            self.touched_prizes.insert(key);
        }
        effects
    }

    fn suspend(&mut self, inviter: &str, _at: DateTime<Utc>) {
        for (key, row) in self.prizes.iter_mut() {
            if row.inviter == inviter
                && matches!(row.state, PrizeState::Pending | PrizeState::Approved)
            {
                row.state = PrizeState::Rejected;
                row.note =
                    "the inviter is suspended from the campaign (repeated flagged invites)".into();
                self.touched_prizes.insert(key.clone());
            }
        }
    }
}

/// The group message for a progress effect or a payment, in the campaign's language.
pub fn progress_text(
    campaign: &Campaign,
    name: &str,
    counted: u32,
    missing: Option<u32>,
) -> String {
    match (campaign.english, missing) {
        (false, Some(missing)) => format!("@{name} 已邀请 {counted} 人，还差 {missing} 人"),
        (false, None) => format!("@{name} 已邀请 {counted} 人，全部任务已完成"),
        (true, Some(missing)) => format!("@{name} has {counted} invites, {missing} more to go"),
        (true, None) => format!("@{name} has {counted} invites: every step reached"),
    }
}

/// The group message when a prize is paid.
pub fn granted_text(campaign: &Campaign, name: &str, prize: &TaskPrizeRow) -> String {
    let what = match (&prize.prize, campaign.english) {
        (TaskPrize::Points { points }, false) => format!("{points} 积分"),
        (TaskPrize::Points { points }, true) => format!("{points} points"),
        (TaskPrize::Coupon { .. }, false) => "一张优惠券".to_string(),
        (TaskPrize::Coupon { .. }, true) => "a coupon".to_string(),
    };
    if campaign.english {
        format!(
            "@{name} reached {} invites in {}: {what}",
            prize.threshold, campaign.title
        )
    } else {
        format!(
            "@{name} 完成「{}」{} 人任务，获得 {what}",
            campaign.title, prize.threshold
        )
    }
}

#[cfg(test)]
#[path = "invite_task_tests.rs"]
mod tests;
