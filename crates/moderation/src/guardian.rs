//! The guardian: per-group, per-member memory (windows, warnings, pending welcomes, reminders,
//! cooldowns) and the entry points the engine calls.
//!
//! Windows are measured with the events' own times and actions are stamped with `now`, so
//! replaying the recent log rebuilds the same state and the same action keys.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    Event, EventKind, Group, GroupType, Instant, Member, MemberRole, MemberTier, Platform,
    WorkspaceId,
};

use serde::{Deserialize, Serialize};

use crate::decision::{Decision, Target};
use crate::ruleset::{Profile, RuleSet};

/// What the engine knows about the group an event happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFacts {
    pub name: String,
    pub group_type: GroupType,
}

impl From<&Group> for GroupFacts {
    fn from(group: &Group) -> Self {
        GroupFacts {
            name: group.name.clone(),
            group_type: group.group_type,
        }
    }
}

/// What the engine knows about the member an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFacts {
    pub role: MemberRole,
    pub tier: MemberTier,
    /// When they joined this group, if known.
    pub joined_at: Option<DateTime<Utc>>,
    pub display_name: Option<String>,
}

impl MemberFacts {
    /// An ordinary member nobody knows anything about yet (a first join).
    pub fn newcomer() -> Self {
        MemberFacts {
            role: MemberRole::Member,
            tier: MemberTier::Prospect,
            joined_at: None,
            display_name: None,
        }
    }

    pub fn from_member(member: &Member, joined_at: Option<DateTime<Utc>>) -> Self {
        MemberFacts {
            role: member.role,
            tier: member.tier,
            joined_at,
            display_name: Some(member.display_name.clone()),
        }
    }
}

/// Someone greeted (or about to be) by a welcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Joiner {
    pub member: String,
    pub name: String,
    pub join_key: String,
    /// Their name breaks the nickname convention: remind them in the welcome's wake.
    pub needs_nickname: bool,
}

/// Joins waiting for one shared welcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WelcomeBatch {
    /// The first joiner's event key: the welcome's idempotency key derives from it.
    pub key: String,
    pub opened_at: DateTime<Utc>,
    pub joiners: Vec<Joiner>,
}

/// A greeted wave whose silent members get one nudge when it falls due.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Wave {
    pub key: String,
    pub due: DateTime<Utc>,
    pub joiners: Vec<Joiner>,
}

/// A newcomer, until they have spoken for a while.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Newcomer {
    pub joined_at: DateTime<Utc>,
    pub spoken: bool,
    /// They posted a self-introduction (`intro.rs`).
    pub introduced: bool,
}

/// A member whose name breaks the convention.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NicknameDue {
    pub name: String,
    /// Reminders sent so far.
    pub count: u32,
    /// When the next reminder (or the escalation) is due.
    pub next_at: DateTime<Utc>,
    /// The join or rename event that started it (keys derive from it).
    pub cause: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct MemberState {
    /// Recent messages: time, normalized-text hash and message id, for flood and repeat rules
    /// (the ids let a redaction remove the whole burst).
    pub recent: VecDeque<(DateTime<Utc>, u64, Box<str>)>,
    /// When each flood/repeat rule last fired for this member (it counts from there).
    pub fired: Vec<(usize, DateTime<Utc>)>,
    /// Live warnings (the ladder's count), each decaying on its own.
    pub strikes: Vec<DateTime<Utc>>,
    /// Warnings of dry-run rules, kept apart so a preview never escalates real punishments.
    pub dry_strikes: Vec<(usize, DateTime<Utc>)>,
    pub newcomer: Option<Newcomer>,
    pub nickname: Option<NicknameDue>,
    /// An open human check (`human_check.rs`).
    pub check: Option<crate::human_check::PendingCheck>,
}

impl MemberState {
    fn is_idle(&self) -> bool {
        self.recent.is_empty()
            && self.strikes.is_empty()
            && self.dry_strikes.is_empty()
            && self.newcomer.is_none()
            && self.nickname.is_none()
            && self.check.is_none()
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ChatState {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub group: GroupFacts,
    /// Compiled from the rules when first needed; never saved.
    #[serde(skip)]
    pub profile: Option<Arc<Profile>>,
    pub members: HashMap<String, MemberState>,
    pub welcome: Option<WelcomeBatch>,
    pub waves: Vec<Wave>,
    pub rules_sent_at: Option<DateTime<Utc>>,
    /// FAQ entry index → when it was last answered.
    pub faq_answered: HashMap<usize, DateTime<Utc>>,
}

/// Buffers reused across messages so the hot path does not allocate.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub normalized: String,
    pub hits: Vec<Option<(usize, usize)>>,
}

/// The guardianship state machine; see the crate docs.
#[derive(Debug)]
pub struct Guardian {
    pub(crate) rules: Arc<RuleSet>,
    pub(crate) chats: HashMap<String, ChatState>,
    pub(crate) scratch: Scratch,
    /// The brand-wide ban list in force, swapped whole when it changes.
    pub(crate) bans: Arc<crate::banlist::BanList>,
    /// Raid mode per chat: recent joins and, during a raid, its end.
    pub(crate) raids: HashMap<String, crate::raid::RaidState>,
}

/// A guardian's memory, borrowed for saving ([`Guardian::memory`]).
#[derive(Serialize)]
pub struct MemoryRef<'a> {
    chats: &'a HashMap<String, ChatState>,
    raids: &'a HashMap<String, crate::raid::RaidState>,
}

/// A guardian's memory read back ([`Guardian::recall`]).
#[derive(Deserialize)]
pub struct Memory {
    chats: HashMap<String, ChatState>,
    raids: HashMap<String, crate::raid::RaidState>,
}

/// Newcomer records are kept this long after joining (longer than any sensible nudge or
/// newcomer-link window) so a later message is never mistaken for a first one.
pub(crate) const NEWCOMER_MEMORY: i64 = 7;

impl Guardian {
    pub fn new(rules: Arc<RuleSet>) -> Self {
        Guardian {
            rules,
            chats: HashMap::new(),
            scratch: Scratch::default(),
            bans: Arc::default(),
            raids: HashMap::new(),
        }
    }

    /// What the guardian remembers of its groups (windows, warnings, newcomers, welcomes,
    /// checks, raids), to be saved as is and given back to [`Guardian::recall`] after a
    /// restart. The rules and the ban list are not in it: they are supplied again.
    pub fn memory(&self) -> MemoryRef<'_> {
        MemoryRef {
            chats: &self.chats,
            raids: &self.raids,
        }
    }

    /// The event keys a pending timer still refers to (welcome batches and waves, nickname
    /// reminders, human checks, raids): a decision it makes later names one of these.
    pub fn held_keys(&self) -> std::collections::HashSet<&str> {
        let mut keys = std::collections::HashSet::new();
        for chat in self.chats.values() {
            for batch in chat.welcome.iter() {
                keys.insert(batch.key.as_str());
                keys.extend(batch.joiners.iter().map(|j| j.join_key.as_str()));
            }
            for wave in &chat.waves {
                keys.insert(wave.key.as_str());
                keys.extend(wave.joiners.iter().map(|j| j.join_key.as_str()));
            }
            for member in chat.members.values() {
                keys.extend(member.nickname.iter().map(|n| n.cause.as_str()));
                keys.extend(member.check.iter().map(|c| c.join_key.as_str()));
            }
        }
        for raid in self.raids.values() {
            keys.extend(raid.keys());
        }
        keys
    }

    /// Takes back what [`Guardian::memory`] saved, replacing what this guardian remembers.
    pub fn recall(&mut self, memory: Memory) {
        self.chats = memory.chats;
        self.raids = memory.raids;
    }

    /// Swaps in a new brand-wide ban list (a ban was decided or lifted, a list enforced).
    pub fn replace_bans(&mut self, bans: Arc<crate::banlist::BanList>) {
        self.bans = bans;
    }

    /// Swaps in a new rule set (the operator saved the file); memory is kept.
    pub fn replace_rules(&mut self, rules: Arc<RuleSet>) {
        self.rules = rules;
        for chat in self.chats.values_mut() {
            chat.profile = None;
        }
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// Decides what to do about one event. `group` and `who` are the engine's facts about the
    /// event's group and member; `now` stamps the actions.
    pub fn on_event(
        &mut self,
        event: &Event,
        group: &GroupFacts,
        who: &MemberFacts,
        now: DateTime<Utc>,
    ) -> Vec<Decision> {
        let profile = self
            .rules
            .profile_for(&event.chat, group.group_type)
            .cloned();
        // Looked up before inserting: `entry` would allocate the chat id on every event.
        if !self.chats.contains_key(&event.chat) {
            let state = ChatState {
                workspace: event.workspace,
                platform: event.platform,
                group: group.clone(),
                profile: None,
                members: HashMap::new(),
                welcome: None,
                waves: Vec::new(),
                rules_sent_at: None,
                faq_answered: HashMap::new(),
            };
            self.chats.insert(event.chat.clone(), state);
        }
        let Some(chat) = self.chats.get_mut(&event.chat) else {
            return Vec::new();
        };
        if chat.group != *group {
            chat.group = group.clone();
        }
        chat.profile.clone_from(&profile);
        // The ban list holds in every group, with or without a profile; staff never fall
        // under it (the list refuses such rules, and a role given later still counts).
        if !self.bans.is_empty() && !who.role.exempt_by_default() {
            if let Some(decision) = self.banned(event, now) {
                return vec![decision];
            }
        }
        let Some(profile) = profile else {
            return Vec::new();
        };
        let mut decisions = Vec::new();
        if let Some(policy) = &profile.raid {
            let staff = who.role.exempt_by_default();
            if let crate::raid::RaidVerdict::Held =
                self.raid_on_event(event, policy, staff, now, &mut decisions)
            {
                return decisions;
            }
        }
        match &event.kind {
            EventKind::MessagePosted {
                member,
                message_id,
                text,
                links,
                mentions,
                from_bot: false,
                ..
            } => {
                // Moderation speaks of members as the platform's text.
                let member = member.as_str();
                // A held newcomer's message is their answer to the human check, nothing else.
                if self.answer_check(
                    event,
                    &profile,
                    member,
                    message_id,
                    text,
                    who,
                    now,
                    &mut decisions,
                ) {
                    return decisions;
                }
                self.read_intro(
                    event,
                    &profile,
                    member,
                    message_id,
                    text,
                    who,
                    now,
                    &mut decisions,
                );
                // Bots (qunzhu itself included) are neither moderated nor answered.
                let message = crate::moderate::Message {
                    member,
                    message_id,
                    text,
                    links,
                    mentions,
                };
                self.on_message(event, &profile, &message, who, now, &mut decisions);
            }
            EventKind::MemberJoined {
                member,
                display_name,
                ..
            } => {
                let member = member.as_str();
                let name = display_name
                    .as_deref()
                    .or(who.display_name.as_deref())
                    .unwrap_or(member);
                self.on_join(event, &profile, member, name, who, now, &mut decisions);
                // A join the name rule already removed is not asked anything.
                let admitted = self
                    .chats
                    .get(&event.chat)
                    .and_then(|chat| chat.members.get(member))
                    .and_then(|state| state.newcomer.as_ref())
                    .is_some_and(|newcomer| newcomer.joined_at == event.at);
                if admitted {
                    self.start_check(event, &profile, member, name, who, now, &mut decisions);
                }
            }
            EventKind::DisplayNameChanged { member, new, .. } => {
                self.on_rename(
                    event,
                    &profile,
                    member.as_str(),
                    new,
                    who,
                    now,
                    &mut decisions,
                );
            }
            EventKind::MemberLeft { member, .. } => self.on_leave(&event.chat, member.as_str()),
            EventKind::JoinRequested {
                member,
                display_name,
                reason,
            } => {
                let member = member.as_str();
                let name = display_name
                    .as_deref()
                    .or(who.display_name.as_deref())
                    .unwrap_or(member);
                if let Some(policy) = &profile.review {
                    let target = Target {
                        workspace: event.workspace,
                        platform: event.platform,
                        chat: &event.chat,
                        now,
                    };
                    decisions.push(crate::review::review_decision(
                        policy,
                        &target,
                        event,
                        member,
                        name,
                        reason.as_deref(),
                    ));
                }
            }
            _ => {}
        }
        decisions
    }

    /// A member of the ban list showing up (joining, asking, present, speaking) is banned.
    fn banned(&self, event: &Event, now: DateTime<Utc>) -> Option<Decision> {
        let (member, asking) = match &event.kind {
            EventKind::MemberJoined { member, .. }
            | EventKind::MemberPresent { member, .. }
            | EventKind::DisplayNameChanged { member, .. } => (member, false),
            EventKind::MessagePosted {
                member,
                from_bot: false,
                ..
            } => (member, false),
            EventKind::JoinRequested { member, .. } => (member, true),
            _ => return None,
        };
        let member = member.as_str();
        let hit = self.bans.hit(event.platform, member)?;
        let target = Target {
            workspace: event.workspace,
            platform: event.platform,
            chat: &event.chat,
            now,
        };
        Some(crate::banlist::ban_decision(
            &target, event, member, hit, asking,
        ))
    }

    /// Timers: welcomes whose window closed, nudges and nickname reminders that fell due.
    /// Chats are visited in id order so the output is deterministic.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Decision> {
        let mut decisions = Vec::new();
        let mut chats: Vec<String> = self.chats.keys().cloned().collect();
        chats.sort();
        for chat in chats {
            self.flush_welcome(&chat, now, now, false, &mut decisions);
            self.nudge_due(&chat, now, &mut decisions);
            self.nickname_due(&chat, now, &mut decisions);
            self.forget_idle(&chat, now);
        }
        for chat in self.raid_chats() {
            self.raid_due(&chat, now, &mut decisions);
        }
        decisions
    }

    fn on_leave(&mut self, chat: &str, member: &str) {
        let Some(state) = self.chats.get_mut(chat) else {
            return;
        };
        state.members.remove(member);
        if let Some(batch) = &mut state.welcome {
            batch.joiners.retain(|joiner| joiner.member != member);
            if batch.joiners.is_empty() {
                state.welcome = None;
            }
        }
        for wave in &mut state.waves {
            wave.joiners.retain(|joiner| joiner.member != member);
        }
        state.waves.retain(|wave| !wave.joiners.is_empty());
    }

    /// Drops memory that can no longer matter, so state stays proportional to recent activity.
    fn forget_idle(&mut self, chat: &str, now: DateTime<Utc>) {
        let decay = self.rules.settings.warn_decay;
        let Some(state) = self.chats.get_mut(chat) else {
            return;
        };
        let window = state
            .profile
            .as_ref()
            .map_or(Duration::zero(), |profile| profile.history_window);
        state.members.retain(|_, member| {
            member.recent.retain(|(at, _, _)| at.plus(window) > now);
            member.fired.retain(|(_, at)| at.plus(window) > now);
            member.strikes.retain(|at| at.plus(decay) > now);
            member.dry_strikes.retain(|(_, at)| at.plus(decay) > now);
            if member
                .check
                .as_ref()
                .is_some_and(|check| check.deadline.plus(Duration::days(1)) <= now)
            {
                member.check = None;
            }
            if member.newcomer.as_ref().is_some_and(|newcomer| {
                newcomer.joined_at.plus(Duration::days(NEWCOMER_MEMORY)) <= now
            }) {
                member.newcomer = None;
            }
            !member.is_idle()
        });
    }
}
