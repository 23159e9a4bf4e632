//! Daily rollups and member facts: the pure reducer behind the analytics read models.
//!
//! An incremental consumer folds each logged event into the few rows it touches (the group's
//! live size, the group's local day, the member's facts in that group, the member's day), so a
//! rollup costs what the new events cost, never a rescan. Folding the whole log into an empty
//! [`RollupState`] is the specification the stored rows are tested against.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind, LeaveHow};
use crate::invite::{InviteChange, InviteChannel};
use crate::model::Platform;
use crate::state::local_day;

/// Weeks after a join that member facts remember activity for (one bit each).
pub const TRACKED_WEEKS: i64 = 64;

/// A group on a platform.
pub type GroupRef = (Platform, String);
/// One group on one local day.
pub type DayRef = (Platform, String, NaiveDate);
/// One member in one group.
pub type MemberRef = (Platform, String, String);
/// One member in one group on one local day.
pub type MemberDayRef = (Platform, String, String, NaiveDate);

/// One group's numbers for one local day. `members_end` is the size after the day's last
/// change; a day without events has no row and keeps the previous day's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRollup {
    pub members_end: i64,
    pub joins_invited: i64,
    pub joins_link: i64,
    pub joins_knock: i64,
    pub joins_direct: i64,
    /// Walked out (主动退群).
    pub left: i64,
    /// Kicked or banned (被移出).
    pub removed: i64,
    /// Distinct members who posted (bots never count).
    pub speakers: i64,
    pub messages: i64,
    /// Members who checked in (once per member and day).
    pub checkins: i64,
    /// Joins someone is credited for (an invitation or their personal link).
    pub invites: i64,
    /// Orders attributed to the group; a refund counts as a negative amount, not an order.
    pub orders: i64,
    pub revenue_cents: i64,
    /// Messages per local hour, for the digest's most active hour.
    pub hours: [i64; 24],
}

impl DayRollup {
    pub fn joins(&self) -> i64 {
        self.joins_invited + self.joins_link + self.joins_knock + self.joins_direct
    }

    /// The busiest local hour, earliest on a tie; `None` on a silent day.
    pub fn busiest_hour(&self) -> Option<u32> {
        let (hour, count) = self
            .hours
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))?;
        (*count > 0).then_some(hour as u32)
    }
}

/// What analytics knows of one member in one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFacts {
    /// The first join qunzhu saw (acquisition); `None` for a member found already present.
    pub joined_at: Option<DateTime<Utc>>,
    pub channel: Option<InviteChannel>,
    pub campaign: Option<String>,
    pub inviter: Option<String>,
    pub present: bool,
    /// First message or check-in at or after the join.
    pub first_active_at: Option<DateTime<Utc>>,
    pub last_active_at: Option<DateTime<Utc>>,
    /// Bit `k` is set when the member was active in week `k` after joining (0-based).
    pub active_weeks: u64,
    pub messages: i64,
    pub checkins: i64,
    pub orders: i64,
    pub spend_cents: i64,
    pub first_order_at: Option<DateTime<Utc>>,
    /// Members this one brought into the group who are still in it.
    pub referrals_stayed: i64,
}

impl MemberFacts {
    /// Active in week `k` after joining (0-based)?
    pub fn active_in_week(&self, week: u32) -> bool {
        week < TRACKED_WEEKS as u32 && self.active_weeks & (1u64 << week) != 0
    }
}

/// One member's day in one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDayFacts {
    pub messages: i64,
    pub checkins: i64,
}

/// The rows a batch of events touches, or (folded from the whole log) all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupState {
    /// Members present now, per group.
    pub groups: BTreeMap<GroupRef, i64>,
    pub days: BTreeMap<DayRef, DayRollup>,
    pub members: BTreeMap<MemberRef, MemberFacts>,
    pub member_days: BTreeMap<MemberDayRef, MemberDayFacts>,
    /// What storing these rows does to the workspace's funnel counters; empty when loaded or
    /// folded, set by the consumer from the members before and after a batch.
    pub funnel: crate::funnel_counts::FunnelDelta,
}

/// Which rows to load before folding a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupKeys {
    pub groups: BTreeSet<GroupRef>,
    pub days: BTreeSet<DayRef>,
    pub members: BTreeSet<MemberRef>,
    pub member_days: BTreeSet<MemberDayRef>,
}

impl RollupKeys {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
            && self.days.is_empty()
            && self.members.is_empty()
            && self.member_days.is_empty()
    }
}

/// One logged event as the rollup reads it: the event, its invite attribution (for a join or
/// leave, from [`crate::invite::invite_change`]) and whether a message is a check-in.
#[derive(Debug, Clone, Copy)]
pub struct RollupInput<'a> {
    pub event: &'a Event,
    pub attribution: Option<&'a InviteChange>,
    pub checkin: bool,
}

/// Does this event change any rollup row?
pub fn counts(event: &Event) -> bool {
    match &event.kind {
        EventKind::MemberJoined { .. }
        | EventKind::MemberPresent { .. }
        | EventKind::MemberLeft { .. } => true,
        EventKind::MessagePosted { from_bot, .. } => !from_bot,
        EventKind::OrderPlaced { .. } => !event.chat.is_empty(),
        _ => false,
    }
}

/// The rows `input` touches, except the inviter of a leave, which only the loaded member
/// facts name ([`inviter_keys`]).
pub fn keys_of(input: &RollupInput<'_>, zone: Tz, keys: &mut RollupKeys) {
    let event = input.event;
    if !counts(event) {
        return;
    }
    let Some(member) = event.kind.member() else {
        return;
    };
    let day = local_day(event.at, zone);
    let group = (event.platform, event.chat.clone());
    keys.groups.insert(group.clone());
    keys.days.insert((group.0, group.1.clone(), day));
    keys.members
        .insert((group.0, group.1.clone(), member.to_string()));
    keys.member_days
        .insert((group.0, group.1.clone(), member.to_string(), day));
    if let Some(InviteChange::Joined {
        inviter: Some(inviter),
        ..
    }) = input.attribution
    {
        keys.members.insert((group.0, group.1, inviter.clone()));
    }
}

/// The inviters of the loaded members, whose stayed-referral counts a leave or return moves.
pub fn inviter_keys(state: &RollupState) -> BTreeSet<MemberRef> {
    state
        .members
        .iter()
        .filter_map(|((platform, chat, _), facts)| {
            facts
                .inviter
                .as_ref()
                .map(|inviter| (*platform, chat.clone(), inviter.clone()))
        })
        .collect()
}

impl RollupState {
    /// Folds one event in. Every row it touches must be loaded first (a missing row starts
    /// at zero, which is right only when the store has none).
    pub fn apply(&mut self, input: &RollupInput<'_>, zone: Tz) {
        let event = input.event;
        if !counts(event) {
            return;
        }
        let Some(member) = event.kind.member() else {
            return;
        };
        let day = local_day(event.at, zone);
        let group: GroupRef = (event.platform, event.chat.clone());
        let member_ref: MemberRef = (event.platform, event.chat.clone(), member.to_string());
        let day_ref: DayRef = (event.platform, event.chat.clone(), day);
        match &event.kind {
            EventKind::MemberJoined { .. } | EventKind::MemberPresent { .. } => {
                let joined = matches!(event.kind, EventKind::MemberJoined { .. });
                let facts = self.members.entry(member_ref.clone()).or_default();
                let was_present = facts.present;
                facts.present = true;
                if joined && facts.joined_at.is_none() {
                    facts.joined_at = Some(event.at);
                    if let Some(InviteChange::Joined {
                        channel,
                        campaign,
                        inviter,
                        ..
                    }) = input.attribution
                    {
                        facts.channel = Some(*channel);
                        facts.campaign = campaign.clone();
                        facts.inviter = inviter.clone();
                    } else {
                        facts.channel = Some(InviteChannel::Direct);
                    }
                }
                let inviter = facts.inviter.clone();
                if was_present {
                    return;
                }
                let size = self.groups.entry(group).or_default();
                *size += 1;
                let size = *size;
                let row = self.days.entry(day_ref).or_default();
                row.members_end = size;
                if joined {
                    let channel = match input.attribution {
                        Some(InviteChange::Joined { channel, .. }) => *channel,
                        _ => InviteChannel::Direct,
                    };
                    match channel {
                        InviteChannel::Invited => row.joins_invited += 1,
                        InviteChannel::Link => row.joins_link += 1,
                        InviteChannel::KnockApproved => row.joins_knock += 1,
                        InviteChannel::Direct => row.joins_direct += 1,
                    }
                    if matches!(
                        input.attribution,
                        Some(InviteChange::Joined {
                            inviter: Some(_),
                            ..
                        })
                    ) {
                        row.invites += 1;
                    }
                }
                self.move_referral(event, inviter, 1);
            }
            EventKind::MemberLeft { how, .. } => {
                let facts = self.members.entry(member_ref).or_default();
                if !facts.present {
                    return;
                }
                facts.present = false;
                let inviter = facts.inviter.clone();
                let size = self.groups.entry(group).or_default();
                *size -= 1;
                let size = *size;
                let row = self.days.entry(day_ref).or_default();
                row.members_end = size;
                match how {
                    LeaveHow::Left => row.left += 1,
                    LeaveHow::Kicked | LeaveHow::Banned => row.removed += 1,
                }
                self.move_referral(event, inviter, -1);
            }
            EventKind::MessagePosted { .. } => {
                let member_day = self
                    .member_days
                    .entry((event.platform, event.chat.clone(), member.to_string(), day))
                    .or_default();
                let first_message = member_day.messages == 0;
                let first_checkin = input.checkin && member_day.checkins == 0;
                member_day.messages += 1;
                if first_checkin {
                    member_day.checkins += 1;
                }
                let size = self.groups.get(&group).copied().unwrap_or_default();
                let row = self.days.entry(day_ref).or_insert_with(|| DayRollup {
                    members_end: size,
                    ..DayRollup::default()
                });
                row.messages += 1;
                row.hours[event.at.with_timezone(&zone).hour() as usize] += 1;
                row.speakers += i64::from(first_message);
                row.checkins += i64::from(first_checkin);
                let facts = self.members.entry(member_ref).or_default();
                facts.messages += 1;
                facts.checkins += i64::from(first_checkin);
                facts.last_active_at = Some(event.at);
                if let Some(joined) = facts.joined_at {
                    if event.at >= joined {
                        facts.first_active_at.get_or_insert(event.at);
                        let week = (event.at - joined).num_days() / 7;
                        if week < TRACKED_WEEKS {
                            facts.active_weeks |= 1u64 << week;
                        }
                    }
                }
            }
            EventKind::OrderPlaced { amount_cents, .. } => {
                let size = self.groups.get(&group).copied().unwrap_or_default();
                let row = self.days.entry(day_ref).or_insert_with(|| DayRollup {
                    members_end: size,
                    ..DayRollup::default()
                });
                let order = *amount_cents >= 0;
                row.orders += i64::from(order);
                row.revenue_cents += amount_cents;
                let facts = self.members.entry(member_ref).or_default();
                facts.orders += i64::from(order);
                facts.spend_cents += amount_cents;
                if order {
                    facts.first_order_at.get_or_insert(event.at);
                }
            }
            _ => {}
        }
    }

    fn move_referral(&mut self, event: &Event, inviter: Option<String>, by: i64) {
        if let Some(inviter) = inviter {
            self.members
                .entry((event.platform, event.chat.clone(), inviter))
                .or_default()
                .referrals_stayed += by;
        }
    }

    /// The rows of `self` named by `keys` (the slice a store would load).
    pub fn slice(&self, keys: &RollupKeys) -> RollupState {
        RollupState {
            groups: pick(&self.groups, &keys.groups),
            days: pick(&self.days, &keys.days),
            members: pick(&self.members, &keys.members),
            member_days: pick(&self.member_days, &keys.member_days),
            funnel: Default::default(),
        }
    }
}

fn pick<K: Ord + Clone, V: Clone>(rows: &BTreeMap<K, V>, keys: &BTreeSet<K>) -> BTreeMap<K, V> {
    keys.iter()
        .filter_map(|key| rows.get(key).map(|row| (key.clone(), row.clone())))
        .collect()
}

/// Folds a whole log from nothing: the specification of the stored rollups.
pub fn fold(inputs: &[RollupInput<'_>], zone: Tz) -> RollupState {
    let mut state = RollupState::default();
    for input in inputs {
        state.apply(input, zone);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{JoinVia, MessageKind};
    use crate::model::WorkspaceId;

    pub(crate) fn at(day: u32, hour: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-03-{day:02}T{hour:02}:00:00+08:00"))
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn event(key: &str, when: DateTime<Utc>, kind: EventKind) -> Event {
        Event {
            workspace: WorkspaceId(1),
            platform: Platform::Matrix,
            key: key.into(),
            chat: "!g".into(),
            at: when,
            kind,
        }
    }

    fn message(key: &str, member: &str, when: DateTime<Utc>) -> Event {
        event(
            key,
            when,
            EventKind::MessagePosted {
                member: member.into(),
                message_id: key.into(),
                text: "hi".into(),
                links: vec![],
                mentions: vec![],
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: false,
            },
        )
    }

    #[test]
    fn a_day_counts_joins_by_channel_leaves_speakers_and_size() {
        let zone: Tz = chrono_tz::Asia::Shanghai;
        let join = |key: &str, member: &str, hour| {
            event(
                key,
                at(2, hour),
                EventKind::MemberJoined {
                    member: member.into(),
                    display_name: None,
                    via: JoinVia::Direct,
                },
            )
        };
        let events = [
            join("1", "@a", 9),
            join("2", "@b", 9),
            join("3", "@b", 10), // already present: no change
            message("4", "@a", at(2, 11)),
            message("5", "@a", at(2, 11)),
            message("6", "@b", at(2, 20)),
            event(
                "7",
                at(2, 21),
                EventKind::MemberLeft {
                    member: "@b".into(),
                    how: LeaveHow::Kicked,
                    by: Some("@mod".into()),
                },
            ),
            // 00:30 local on the 3rd is still the 2nd in UTC: the local day decides.
            message("8", "@a", at(3, 0)),
        ];
        let inputs: Vec<_> = events
            .iter()
            .map(|event| RollupInput {
                event,
                attribution: None,
                checkin: event.key == "5",
            })
            .collect();
        let state = fold(&inputs, zone);
        let day2 = state.days[&(Platform::Matrix, "!g".into(), at(2, 12).date_naive())];
        assert_eq!(
            (
                day2.joins_direct,
                day2.removed,
                day2.left,
                day2.speakers,
                day2.messages,
                day2.checkins,
                day2.members_end
            ),
            (2, 1, 0, 2, 3, 1, 1)
        );
        assert_eq!(day2.busiest_hour(), Some(11));
        let day3 = state.days[&(
            Platform::Matrix,
            "!g".into(),
            NaiveDate::from_ymd_opt(2026, 3, 3).unwrap_or_default(),
        )];
        assert_eq!((day3.messages, day3.speakers, day3.members_end), (1, 1, 1));
        let a = &state.members[&(Platform::Matrix, "!g".into(), "@a".into())];
        assert_eq!((a.messages, a.checkins, a.active_weeks), (3, 1, 1));
    }
}
