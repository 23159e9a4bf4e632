//! Deciders: the pure, in-memory logic that turns events (and the passing of time) into actions.
//!
//! A decider runs inside the ingest transaction, once per event new to the log, so what it
//! decides is written atomically with the event that caused it; it must not do IO.

use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionKind, ActionRecord, Event, EventKind, NewAction};
use qunzhu_storage::NewAuditEntry;

pub trait Decider: Send {
    /// Actions caused by one new event.
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction>;

    /// Actions due to time alone (a batching window closed, a nudge is due).
    fn tick(&mut self, now: DateTime<Utc>) -> Vec<NewAction> {
        let _ = now;
        Vec::new()
    }

    /// Why it decided what it decided since the last call, for the audit log.
    fn take_audit(&mut self) -> Vec<NewAuditEntry> {
        Vec::new()
    }

    /// What this decider remembers that a restart should not lose, for the ingestor to save
    /// beside the log now and then (only the guard keeps such memory; the rest rebuild from
    /// read models).
    fn memory(&self) -> Vec<Remembered> {
        Vec::new()
    }

    /// An engine action come due (an SOP step's game): what it starts, or `None` when this
    /// decider does not run such actions.
    fn scheduled(&mut self, action: &ActionRecord, now: DateTime<Utc>) -> Option<Vec<NewAction>> {
        let _ = (action, now);
        None
    }
}

/// A decider's memory as saved text, for one connector's platform in one workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    pub workspace: qunzhu_domain::WorkspaceId,
    pub platform: qunzhu_domain::Platform,
    pub memory: String,
}

/// Runs several deciders in order and concatenates what they decide.
#[derive(Default)]
pub struct Chain(pub Vec<Box<dyn Decider>>);

impl Decider for Chain {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        self.0
            .iter_mut()
            .flat_map(|decider| decider.decide(event, now))
            .collect()
    }

    fn tick(&mut self, now: DateTime<Utc>) -> Vec<NewAction> {
        self.0
            .iter_mut()
            .flat_map(|decider| decider.tick(now))
            .collect()
    }

    fn take_audit(&mut self) -> Vec<NewAuditEntry> {
        self.0
            .iter_mut()
            .flat_map(|decider| decider.take_audit())
            .collect()
    }

    fn memory(&self) -> Vec<Remembered> {
        self.0.iter().flat_map(|decider| decider.memory()).collect()
    }

    /// The first decider that runs the action decides it.
    fn scheduled(&mut self, action: &ActionRecord, now: DateTime<Utc>) -> Option<Vec<NewAction>> {
        self.0
            .iter_mut()
            .find_map(|decider| decider.scheduled(action, now))
    }
}

/// Decides nothing: the "rules no-op" stage of the ingest benchmark.
pub struct Nothing;

impl Decider for Nothing {
    fn decide(&mut self, _event: &Event, _now: DateTime<Utc>) -> Vec<NewAction> {
        Vec::new()
    }
}

/// Greets every joiner with one message each: the simplest rule that makes the bot act, used by
/// the crash test (one action per join, exactly). The guardianship rules supersede it in `serve`.
pub struct GreetEachJoin {
    pub template: String,
}

impl Decider for GreetEachJoin {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        let EventKind::MemberJoined {
            member,
            display_name,
            ..
        } = &event.kind
        else {
            return Vec::new();
        };
        let name = display_name.as_deref().unwrap_or(member.as_str());
        vec![NewAction {
            workspace: event.workspace,
            platform: event.platform,
            chat: event.chat.clone(),
            key: qunzhu_domain::keys::greeting(&event.key),
            kind: ActionKind::SendMessage {
                text: self.template.replace("{name}", name),
                html: None,
                mentions: vec![member.0.clone()],
                reply_to: None,
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::rule("greet"),
            cause: Some(event.key.clone()),
        }]
    }
}
