//! Group guardianship in the engine: the pure [`Guardian`] fed with the engine's in-memory facts
//! about groups and members, its decisions fitted to what the platform can do.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::Capabilities;
use qunzhu_domain::{
    Event, EventKind, GroupType, Instant, MemberRole, MemberTier, NewAction, Platform, WorkspaceId,
};
use qunzhu_moderation::{fit_to_platform, Decision, GroupFacts, Guardian, MemberFacts, RuleSet};
use qunzhu_storage::{MemberQuery, NewAuditEntry, Store};

use crate::decide::Decider;
use crate::directory::DirectoryHandle;

/// The rules in force, swapped by the rules watcher and picked up at the next decision.
#[derive(Clone)]
pub struct RulesHandle(Arc<RwLock<(u64, Arc<RuleSet>)>>);

impl RulesHandle {
    pub fn new(rules: RuleSet) -> Self {
        RulesHandle(Arc::new(RwLock::new((0, Arc::new(rules)))))
    }

    pub fn replace(&self, rules: RuleSet) {
        let mut slot = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = (slot.0 + 1, Arc::new(rules));
    }

    /// The rules in force now.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.current().1
    }

    fn current(&self) -> (u64, Arc<RuleSet>) {
        let slot = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (slot.0, slot.1.clone())
    }
}

/// When a member joined a group and under which name, as far as the log tells.
type Seen = (Option<DateTime<Utc>>, Option<String>);

/// The guardian of one connector's groups in one workspace.
pub struct Guard {
    workspace: WorkspaceId,
    platform: Platform,
    capabilities: Capabilities,
    guardian: Guardian,
    rules: RulesHandle,
    rules_version: u64,
    /// Operator edits to groups and members, picked up without a restart.
    directory: Option<DirectoryHandle>,
    directory_version: u64,
    /// The brand-wide ban list, swapped in by the ban watcher.
    bans: Option<crate::banlist::BanHandle>,
    bans_version: u64,
    groups: HashMap<String, GroupFacts>,
    /// Role and tier by member, as the operator set them.
    people: HashMap<String, (MemberRole, MemberTier)>,
    /// Per group and member: when they joined and under which name.
    roster: HashMap<(String, String), Seen>,
    audit: Vec<NewAuditEntry>,
    /// Keys of joins and renames that arrived as history: timers they started (a welcome
    /// batch, a nudge, a nickname reminder) must not fire weeks late.
    history: HashSet<String>,
}

/// How far back the log is replayed on start to rebuild windows, warnings and cooldowns (the
/// roster comes from the memberships read model instead).
const WARM_UP: i64 = 7;

impl Guard {
    /// Loads groups, members and who is present where from the store's read models, then replays
    /// the last days of the log so flood windows, warning counts and cooldowns are as they were
    /// before a restart.
    pub async fn load(
        store: &dyn Store,
        workspace: WorkspaceId,
        platform: Platform,
        capabilities: Capabilities,
        rules: RulesHandle,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<Guard> {
        let (rules_version, current) = rules.current();
        let mut guard = Guard {
            workspace,
            platform,
            capabilities,
            guardian: Guardian::new(current),
            rules,
            rules_version,
            directory: None,
            directory_version: 0,
            bans: None,
            bans_version: 0,
            groups: HashMap::new(),
            people: HashMap::new(),
            roster: HashMap::new(),
            audit: Vec::new(),
            history: HashSet::new(),
        };
        for summary in store.groups(workspace).await? {
            if summary.group.platform == platform {
                guard
                    .groups
                    .insert(summary.group.chat.clone(), GroupFacts::from(&summary.group));
            }
        }
        let everyone = MemberQuery {
            limit: Some(1_000_000),
            ..MemberQuery::default()
        };
        for summary in store.members(workspace, &everyone).await? {
            if summary.member.platform == platform {
                guard.people.insert(
                    summary.member.user.0.clone(),
                    (summary.member.role, summary.member.tier),
                );
            }
        }
        // Who is in which group since when, under which name: from the memberships read model,
        // so a member who joined before the warm-up window is known as well as one who joined today.
        for presence in store.present_members(workspace, platform, None).await? {
            guard.roster.insert(
                (presence.chat, presence.member),
                (presence.joined_at, presence.display_name),
            );
        }
        // The saved memory and the events after it, or (none saved, or too old) the last days.
        match guard.recall(store, now).await? {
            Some(mut after) => loop {
                let events = store.events(workspace, after, REPLAY_BATCH).await?;
                let Some(last) = events.last() else { break };
                after = last.seq;
                for stored in events.iter().filter(|s| s.event.platform == platform) {
                    guard.decide(&stored.event, now);
                }
                guard.audit.clear();
            },
            None => {
                let recent = store
                    .events_since(workspace, now.minus(Duration::days(WARM_UP)), 1_000_000)
                    .await?;
                for stored in recent
                    .iter()
                    .filter(|stored| stored.event.platform == platform)
                {
                    guard.decide(&stored.event, now);
                }
            }
        }
        guard.audit.clear();
        Ok(guard)
    }

    /// Takes back the saved memory if there is one younger than the warm-up window; returns
    /// the log position it is level with. A memory that cannot be read is reported and the
    /// log replayed instead.
    async fn recall(
        &mut self,
        store: &dyn Store,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<Option<i64>> {
        let Some(saved) = store.guard_memory(self.workspace, self.platform).await? else {
            return Ok(None);
        };
        if saved.taken_at < now.minus(Duration::days(WARM_UP)) {
            return Ok(None);
        }
        match serde_json::from_str::<Saved>(&saved.memory) {
            Ok(memory) if memory.format == MEMORY_FORMAT => {
                self.guardian.recall(memory.guardian);
                self.history = memory.history;
                Ok(Some(saved.seq))
            }
            Ok(memory) => {
                tracing::warn!(
                    format = memory.format,
                    "the guard's saved memory is of another format; replaying the log"
                );
                Ok(None)
            }
            Err(error) => {
                tracing::warn!(%error, "the guard's saved memory cannot be read; replaying the log");
                Ok(None)
            }
        }
    }

    fn facts(&self, chat: &str, member: &str) -> MemberFacts {
        let (role, tier) = self
            .people
            .get(member)
            .copied()
            .unwrap_or((MemberRole::Member, MemberTier::Regular));
        let (joined_at, display_name) = self
            .roster
            .get(&(chat.to_string(), member.to_string()))
            .cloned()
            .unwrap_or_default();
        MemberFacts {
            role,
            tier,
            joined_at,
            display_name,
        }
    }

    /// Keeps the roster current with what the event says.
    fn observe(&mut self, event: &Event) {
        let chat = event.chat.clone();
        match &event.kind {
            EventKind::MemberJoined {
                member,
                display_name,
                ..
            }
            | EventKind::MemberPresent {
                member,
                display_name,
            } => {
                let entry = self.roster.entry((chat, member.0.clone())).or_default();
                if matches!(event.kind, EventKind::MemberJoined { .. }) || entry.0.is_none() {
                    entry.0 = Some(event.at);
                }
                if display_name.is_some() {
                    entry.1.clone_from(display_name);
                }
            }
            EventKind::DisplayNameChanged { member, new, .. } => {
                self.roster.entry((chat, member.0.clone())).or_default().1 = Some(new.clone());
            }
            EventKind::JoinRequested {
                member,
                display_name: Some(name),
                ..
            } => {
                self.roster.entry((chat, member.0.clone())).or_default().1 = Some(name.clone());
            }
            EventKind::GroupRenamed { name, .. } => {
                // The first event of a group may be its name (the bot just arrived): `{group}`
                // renders it from then on, not the room id.
                self.groups
                    .entry(event.chat.clone())
                    .or_insert_with(|| GroupFacts {
                        name: event.chat.clone(),
                        group_type: GroupType::Traffic,
                    })
                    .name
                    .clone_from(name);
            }
            _ => {}
        }
    }

    /// Follows `handle` from now on: a changed group type or member role counts at the next
    /// decision.
    pub fn with_directory(mut self, handle: DirectoryHandle) -> Self {
        self.directory = Some(handle);
        self.refresh_directory();
        self
    }

    fn refresh_directory(&mut self) {
        let Some(handle) = &self.directory else {
            return;
        };
        let (version, directory) = handle.current();
        if version == self.directory_version {
            return;
        }
        self.directory_version = version;
        let platform = self.platform;
        for ((group_platform, chat), facts) in &directory.groups {
            if *group_platform == platform {
                self.groups.insert(chat.clone(), facts.clone());
            }
        }
        // Everyone not listed has the default role and tier again.
        self.people = directory
            .people
            .iter()
            .filter(|((member_platform, _), _)| *member_platform == platform)
            .map(|((_, user), facts)| (user.clone(), *facts))
            .collect();
    }

    /// Follows the brand-wide ban list from now on.
    pub fn with_bans(mut self, handle: crate::banlist::BanHandle) -> Self {
        self.bans = Some(handle);
        self.refresh_bans();
        self
    }

    fn refresh_bans(&mut self) {
        let Some(handle) = &self.bans else {
            return;
        };
        let (version, list) = handle.current();
        if version != self.bans_version {
            self.bans_version = version;
            self.guardian.replace_bans(list);
        }
    }

    fn refresh_rules(&mut self) {
        let (version, rules) = self.rules.current();
        if version != self.rules_version {
            self.guardian.replace_rules(rules);
            self.rules_version = version;
        }
    }

    /// Fits decisions to the platform, keeps their reasons for the audit log, returns actions.
    fn settle(&mut self, decisions: Vec<Decision>, now: DateTime<Utc>) -> Vec<NewAction> {
        let mut actions = Vec::new();
        for decision in fit_to_platform(decisions, &self.capabilities) {
            if decision
                .audit
                .event_key
                .as_ref()
                .is_some_and(|key| self.history.contains(key))
            {
                continue;
            }
            let mut detail = serde_json::to_value(&decision.audit).unwrap_or_default();
            if let Some(object) = detail.as_object_mut() {
                object.insert("dry_run".into(), decision.dry_run.into());
                if let Some(action) = &decision.action {
                    object.insert("action_key".into(), action.key.clone().into());
                    object.insert("action".into(), action.kind.name().into());
                }
            }
            self.audit.push(NewAuditEntry {
                workspace: self.workspace,
                at: now,
                actor: "bot".into(),
                action: format!("guard.{}", decision.audit.rule),
                subject: decision
                    .audit
                    .member
                    .clone()
                    .unwrap_or_else(|| decision.audit.chat.clone()),
                detail,
            });
            if let Some(mut action) = decision.action {
                action.dry_run |= decision.dry_run;
                // A timed mute's end is written with it: Matrix has no end time of its own.
                let unmute = qunzhu_moderation::timed_unmute(&action);
                actions.push(action);
                actions.extend(unmute);
            }
        }
        actions
    }
}

/// The message an edit turned a message into, as the moderation rules read a new message; its
/// key is the edit's, so what they decide is keyed by the edit, not the original post.
fn edit_as_post(event: &Event) -> Option<Event> {
    let EventKind::MessageEdited {
        member,
        message_id,
        text,
        links,
        mentions,
    } = &event.kind
    else {
        return None;
    };
    Some(Event {
        kind: EventKind::MessagePosted {
            member: member.clone(),
            message_id: message_id.clone(),
            text: text.clone(),
            links: links.clone(),
            mentions: mentions.clone(),
            reply_to: None,
            message_kind: qunzhu_domain::MessageKind::Text,
            from_bot: false,
        },
        ..event.clone()
    })
}

/// The guard's saved memory (`GuardMemoryStore`), versioned so a format change replays instead.
#[derive(serde::Serialize)]
struct SavedRef<'a> {
    format: u32,
    guardian: qunzhu_moderation::MemoryRef<'a>,
    history: Vec<&'a str>,
}

#[derive(serde::Deserialize)]
struct Saved {
    format: u32,
    guardian: qunzhu_moderation::Memory,
    history: HashSet<String>,
}

const MEMORY_FORMAT: u32 = 1;

/// Events read per round when catching up after a saved memory.
const REPLAY_BATCH: usize = 5_000;

impl Decider for Guard {
    /// The guardian's memory and the history keys its pending timers still name.
    fn memory(&self) -> Vec<crate::decide::Remembered> {
        let held = self.guardian.held_keys();
        let saved = SavedRef {
            format: MEMORY_FORMAT,
            guardian: self.guardian.memory(),
            history: self
                .history
                .iter()
                .map(String::as_str)
                .filter(|key| held.contains(key))
                .collect(),
        };
        match serde_json::to_string(&saved) {
            Ok(memory) => vec![crate::decide::Remembered {
                workspace: self.workspace,
                platform: self.platform,
                memory,
            }],
            Err(error) => {
                tracing::warn!(%error, "the guard's memory cannot be saved");
                Vec::new()
            }
        }
    }

    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        if event.workspace != self.workspace || event.platform != self.platform {
            return Vec::new();
        }
        self.refresh_rules();
        self.refresh_directory();
        self.refresh_bans();
        self.observe(event);
        if event.at < now.minus(crate::ingest::stale_after())
            && matches!(
                event.kind,
                EventKind::MemberJoined { .. }
                    | EventKind::DisplayNameChanged { .. }
                    | EventKind::JoinRequested { .. }
            )
        {
            self.history.insert(event.key.clone());
        }
        let group = self
            .groups
            .entry(event.chat.clone())
            .or_insert_with(|| GroupFacts {
                name: event.chat.clone(),
                group_type: GroupType::Traffic,
            })
            .clone();
        let who = match event.kind.member() {
            Some(member) => self.facts(&event.chat, member.as_str()),
            None => MemberFacts::newcomer(),
        };
        // An edit is judged like a new message, so an ad edited in after posting is removed
        // like one posted outright (the redaction names the same message id).
        let edited = edit_as_post(event);
        let decisions = self
            .guardian
            .on_event(edited.as_ref().unwrap_or(event), &group, &who, now);
        self.settle(decisions, now)
    }

    fn tick(&mut self, now: DateTime<Utc>) -> Vec<NewAction> {
        self.refresh_rules();
        self.refresh_directory();
        let decisions = self.guardian.tick(now);
        self.settle(decisions, now)
    }

    fn take_audit(&mut self) -> Vec<NewAuditEntry> {
        std::mem::take(&mut self.audit)
    }
}
