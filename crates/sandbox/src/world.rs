//! The sandbox platform's own durable state: its timeline, its people, what the bot did to it.
//!
//! It lives in its own SQLite file, apart from qunzhu's store, like a real homeserver would: a
//! crash of qunzhu loses nothing here, and an action delivered twice (same key) acts once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    ActionKind, ActionRecord, Event, EventKind, JoinVia, LeaveHow, MessageKind, Platform,
    WorkspaceId,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::behaviour::{chat_id, Behaviour, Generator, Person};

/// The bot's account on the sandbox platform.
pub const BOT_ID: &str = "@qunzhu:sandbox";

/// Ticks generated at most per call, so a world left alone for a day does not flood on restart.
const MAX_CATCH_UP_TICKS: i64 = 600;

#[derive(Debug, thiserror::Error)]
#[error("sandbox world: {0}")]
pub struct WorldError(String);

impl From<rusqlite::Error> for WorldError {
    fn from(error: rusqlite::Error) -> Self {
        WorldError(error.to_string())
    }
}

impl From<serde_json::Error> for WorldError {
    fn from(error: serde_json::Error) -> Self {
        WorldError(error.to_string())
    }
}

type Result<T> = std::result::Result<T, WorldError>;

/// One delivery record: how often the platform was asked to do an action, and its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub key: String,
    pub kind: String,
    pub chat: String,
    pub deliveries: i64,
    pub receipt: String,
}

struct Live {
    present: HashMap<String, Vec<Person>>,
    serials: HashMap<String, u64>,
    last_tick: i64,
    generated: u64,
}

/// A simulated community, durable in one SQLite file.
pub struct World {
    conn: Mutex<Connection>,
    live: Mutex<Live>,
    behaviour: Behaviour,
    workspace: WorkspaceId,
    epoch: DateTime<Utc>,
    /// Stop generating after this many world events (for finite test scripts).
    max_events: Option<u64>,
}

/// Simulated past, written once when a world is created, so a new demo already has a month of
/// statistics: one tick per `HISTORY_STEP`, at rates scaled to match.
const HISTORY_STEP_MINUTES: i64 = 10;
const HISTORY_RATE_SCALE: f64 = 8.0;

impl World {
    /// Opens (or creates, with founders present at `now`) the world in `path`.
    pub fn open(
        path: &Path,
        behaviour: Behaviour,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        max_events: Option<u64>,
    ) -> Result<World> {
        World::open_with_history(path, behaviour, workspace, now, max_events, 0)
    }

    /// Like [`World::open`]; a new world also gets `history_days` of simulated past.
    pub fn open_with_history(
        path: &Path,
        behaviour: Behaviour,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        max_events: Option<u64>,
        history_days: u32,
    ) -> Result<World> {
        let conn = Connection::open(path)
            .map_err(|error| WorldError(format!("cannot open {}: {error}", path.display())))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS timeline (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
                 chat TEXT NOT NULL, source TEXT NOT NULL, cause TEXT, json TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS people (chat TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL,
                 present INTEGER NOT NULL, PRIMARY KEY (chat, id));
             CREATE TABLE IF NOT EXISTS received (key TEXT PRIMARY KEY, kind TEXT NOT NULL, chat TEXT NOT NULL,
                 json TEXT NOT NULL, deliveries INTEGER NOT NULL, receipt TEXT NOT NULL);",
        )?;
        let stored_epoch: Option<String> = conn
            .query_row("SELECT v FROM meta WHERE k = 'epoch'", [], |row| row.get(0))
            .optional()?;
        let epoch = match stored_epoch {
            Some(text) => DateTime::parse_from_rfc3339(&text)
                .map_err(|error| WorldError(error.to_string()))?
                .to_utc(),
            None => {
                let epoch = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
                let world = World::new(conn, behaviour, workspace, epoch, max_events);
                world.create(epoch, history_days)?;
                return world.reload();
            }
        };
        World::new(conn, behaviour, workspace, epoch, max_events).reload()
    }

    fn new(
        conn: Connection,
        behaviour: Behaviour,
        workspace: WorkspaceId,
        epoch: DateTime<Utc>,
        max_events: Option<u64>,
    ) -> World {
        let live = Live {
            present: HashMap::new(),
            serials: HashMap::new(),
            last_tick: 0,
            generated: 0,
        };
        World {
            conn: Mutex::new(conn),
            live: Mutex::new(live),
            behaviour,
            workspace,
            epoch,
            max_events,
        }
    }

    fn generator(&self) -> Generator<'_> {
        Generator {
            behaviour: &self.behaviour,
            workspace: self.workspace,
        }
    }

    /// Writes the founders as present members, in the timeline and the roster, atomically.
    fn create(&self, epoch: DateTime<Utc>, history_days: u32) -> Result<()> {
        let mut conn = self.lock_conn();
        let tx = conn.transaction()?;
        let history_ticks = i64::from(history_days) * 24 * 60 / HISTORY_STEP_MINUTES;
        let start = epoch - Duration::minutes(history_ticks * HISTORY_STEP_MINUTES);
        run(
            &tx,
            "INSERT INTO meta (k, v) VALUES ('epoch', ?1), ('last_tick', '0'), ('generated', '0')",
            [epoch.to_rfc3339()],
        )?;
        for group in 0..self.behaviour.groups {
            let chat = chat_id(group);
            for person in self.generator().founders(group) {
                let kind = EventKind::MemberPresent {
                    member: person.id.clone().into(),
                    display_name: Some(person.name.clone()),
                };
                let event = self.event(
                    format!("sb:present:{chat}:{}", person.id),
                    &chat,
                    start,
                    kind,
                );
                insert_timeline(&tx, &event, "world", None)?;
                run(
                    &tx,
                    "INSERT INTO people (chat, id, json, present) VALUES (?1, ?2, ?3, 1)",
                    params![chat, person.id, serde_json::to_string(&person)?],
                )?;
            }
            run(
                &tx,
                "INSERT INTO meta (k, v) VALUES (?1, ?2)",
                params![
                    format!("serial:{chat}"),
                    self.behaviour.members_per_group.to_string()
                ],
            )?;
        }
        tx.commit()?;
        drop(conn);
        if history_ticks > 0 {
            self.reload_live()?;
            self.write_history(start, history_ticks)?;
        }
        Ok(())
    }

    /// Generates the simulated past: ticks numbered below zero so their keys never meet live ones.
    fn write_history(&self, start: DateTime<Utc>, ticks: i64) -> Result<()> {
        let scaled = Behaviour {
            messages_per_second: self.behaviour.messages_per_second * HISTORY_RATE_SCALE,
            join_chance: (self.behaviour.join_chance * HISTORY_RATE_SCALE).min(0.9),
            leave_chance: (self.behaviour.leave_chance * HISTORY_RATE_SCALE).min(0.9),
            // Knocks in the past would all still wait: the demo would open on a month of them.
            knock_share: 0.0,
            ..self.behaviour.clone()
        };
        let generator = Generator {
            behaviour: &scaled,
            workspace: self.workspace,
        };
        let mut conn = self.lock_conn();
        let mut live = self.lock_live();
        let tx = conn.transaction()?;
        for step in 0..ticks {
            let at = start + Duration::minutes(step * HISTORY_STEP_MINUTES);
            for group in 0..self.behaviour.groups {
                let chat = chat_id(group);
                let present = live.present.remove(&chat).unwrap_or_default();
                let before = live.serials.get(&chat).copied().unwrap_or(0);
                let mut serial = before;
                let happenings = generator.tick(-2 - step, at, group, &present, &mut serial);
                live.present.insert(chat.clone(), present);
                for (event, person) in happenings {
                    apply_to_roster(&tx, &mut live, &event, person)?;
                    insert_timeline(&tx, &event, "history", None)?;
                }
                if serial != before {
                    live.serials.insert(chat.clone(), serial);
                    run(
                        &tx,
                        "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)",
                        params![format!("serial:{chat}"), serial.to_string()],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn reload(self) -> Result<World> {
        self.reload_live()?;
        Ok(self)
    }

    /// Reads the roster and counters back from the file into memory.
    fn reload_live(&self) -> Result<()> {
        {
            let conn = self.lock_conn();
            let mut live = self.lock_live();
            live.present.clear();
            live.serials.clear();
            let mut statement =
                conn.prepare("SELECT chat, json FROM people WHERE present = 1 ORDER BY rowid")?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (chat, json) = row?;
                live.present
                    .entry(chat)
                    .or_default()
                    .push(serde_json::from_str(&json)?);
            }
            let mut statement = conn.prepare("SELECT k, v FROM meta")?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (key, value) = row?;
                let number = value.parse::<i64>().unwrap_or(0);
                match key.as_str() {
                    "last_tick" => live.last_tick = number,
                    "generated" => live.generated = number.max(0) as u64,
                    _ => {
                        if let Some(chat) = key.strip_prefix("serial:") {
                            live.serials.insert(chat.to_string(), number.max(0) as u64);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn lock_conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn event(&self, key: String, chat: &str, at: DateTime<Utc>, kind: EventKind) -> Event {
        Event {
            workspace: self.workspace,
            platform: Platform::Sandbox,
            key,
            chat: chat.to_string(),
            at,
            kind,
        }
    }

    /// Lets simulated time run up to `now`: generates every whole second not generated yet.
    /// Returns how many events it added.
    pub fn advance(&self, now: DateTime<Utc>) -> Result<usize> {
        let target = (now - self.epoch).num_seconds();
        let mut live = self.lock_live();
        if target <= live.last_tick || self.max_events.is_some_and(|max| live.generated >= max) {
            return Ok(0);
        }
        let first = (live.last_tick + 1).max(target - MAX_CATCH_UP_TICKS + 1);
        let mut conn = self.lock_conn();
        let tx = conn.transaction()?;
        let mut added = 0usize;
        'ticks: for tick in first..=target {
            let at = self.epoch + Duration::seconds(tick);
            for group in 0..self.behaviour.groups {
                let chat = chat_id(group);
                // Moved out and back rather than cloned: at 10,000 groups a copy of every
                // roster per simulated second was most of the sandbox's cost.
                let present = live.present.remove(&chat).unwrap_or_default();
                let before = live.serials.get(&chat).copied().unwrap_or(0);
                let mut serial = before;
                let happenings = self
                    .generator()
                    .tick(tick, at, group, &present, &mut serial);
                live.present.insert(chat.clone(), present);
                if serial != before {
                    live.serials.insert(chat.clone(), serial);
                    run(
                        &tx,
                        "INSERT OR REPLACE INTO meta (k, v) VALUES (?1, ?2)",
                        params![format!("serial:{chat}"), serial.to_string()],
                    )?;
                }
                for (event, person) in happenings {
                    if self.max_events.is_some_and(|max| live.generated >= max) {
                        break 'ticks;
                    }
                    apply_to_roster(&tx, &mut live, &event, person)?;
                    insert_timeline(&tx, &event, "world", None)?;
                    live.generated += 1;
                    added += 1;
                }
            }
        }
        live.last_tick = target;
        run(
            &tx,
            "INSERT OR REPLACE INTO meta (k, v) VALUES ('last_tick', ?1), ('generated', ?2)",
            params![target.to_string(), live.generated.to_string()],
        )?;
        tx.commit()?;
        Ok(added)
    }

    /// Timeline entries after `seq`, oldest first.
    pub fn read_after(&self, seq: i64, limit: usize) -> Result<Vec<(i64, Event)>> {
        let conn = self.lock_conn();
        let mut statement = conn.prepare_cached(
            "SELECT seq, json FROM timeline WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = statement.query_map(params![seq, limit as i64], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, json) = row?;
            out.push((seq, serde_json::from_str(&json)?));
        }
        Ok(out)
    }

    /// Carries out a bot action once per key: a repeated delivery counts but changes nothing,
    /// and gets the first delivery's receipt (like Matrix's txnId). The flag says whether this
    /// delivery was the first.
    pub fn deliver(&self, action: &ActionRecord, now: DateTime<Utc>) -> Result<(String, bool)> {
        let mut conn = self.lock_conn();
        let mut live = self.lock_live();
        let tx = conn.transaction()?;
        let known: Option<String> = tx
            .query_row(
                "SELECT receipt FROM received WHERE key = ?1",
                [&action.key],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(receipt) = known {
            run(
                &tx,
                "UPDATE received SET deliveries = deliveries + 1 WHERE key = ?1",
                [&action.key],
            )?;
            tx.commit()?;
            return Ok((receipt, false));
        }
        let receipt = format!("sb:bot:{}", action.key);
        if let Some(kind) = effect(&action.kind) {
            let event = self.event(receipt.clone(), &action.chat, now, kind);
            apply_to_roster(&tx, &mut live, &event, None)?;
            insert_timeline(&tx, &event, "bot", Some(&action.key))?;
        }
        run(
                &tx,
            "INSERT INTO received (key, kind, chat, json, deliveries, receipt) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
            params![action.key, action.kind.name(), action.chat, serde_json::to_string(&action.kind)?, receipt],
        )?;
        tx.commit()?;
        Ok((receipt, true))
    }

    /// Every action the platform was asked to do, with how often.
    pub fn received(&self) -> Result<Vec<Received>> {
        let conn = self.lock_conn();
        let mut statement =
            conn.prepare("SELECT key, kind, chat, deliveries, receipt FROM received ORDER BY key")?;
        let rows = statement.query_map([], |row| {
            Ok(Received {
                key: row.get(0)?,
                kind: row.get(1)?,
                chat: row.get(2)?,
                deliveries: row.get(3)?,
                receipt: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many timeline entries each bot action caused (exactly one each, if all is well).
    pub fn effects_per_action(&self) -> Result<HashMap<String, i64>> {
        let conn = self.lock_conn();
        let mut statement = conn.prepare(
            "SELECT cause, COUNT(*) FROM timeline WHERE cause IS NOT NULL GROUP BY cause",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The number of timeline entries the world itself generated (not the bot's doings).
    pub fn generated(&self) -> u64 {
        self.lock_live().generated
    }

    /// Keys of every timeline entry, in order.
    pub fn timeline_keys(&self) -> Result<Vec<String>> {
        let conn = self.lock_conn();
        let mut statement = conn.prepare("SELECT key FROM timeline ORDER BY seq")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// What the platform shows after the bot acts: the event another member would see.
fn effect(kind: &ActionKind) -> Option<EventKind> {
    let bot = BOT_ID.to_string();
    Some(match kind {
        ActionKind::SendMessage {
            text,
            mentions,
            reply_to,
            ..
        } => EventKind::MessagePosted {
            member: bot.into(),
            message_id: String::new(),
            text: text.clone(),
            links: Vec::new(),
            mentions: mentions.clone(),
            reply_to: reply_to.clone(),
            message_kind: MessageKind::Notice,
            from_bot: true,
        },
        ActionKind::Kick { member, .. } => EventKind::MemberLeft {
            member: member.clone().into(),
            how: LeaveHow::Kicked,
            by: Some(bot),
        },
        ActionKind::Ban { member, .. } => EventKind::MemberLeft {
            member: member.clone().into(),
            how: LeaveHow::Banned,
            by: Some(bot),
        },
        ActionKind::Unban { member, .. } => EventKind::MemberUnbanned {
            member: member.clone().into(),
            by: bot,
        },
        ActionKind::Redact { message_id, .. } => EventKind::MessageRedacted {
            target: message_id.clone(),
            by: bot,
        },
        ActionKind::Invite { member } => EventKind::MemberInvited {
            member: member.clone().into(),
            by: bot,
        },
        ActionKind::DecideJoinRequest {
            member,
            approve: true,
            ..
        } => EventKind::MemberJoined {
            member: member.clone().into(),
            display_name: None,
            via: JoinVia::KnockApproved { by: Some(bot) },
        },
        ActionKind::DecideJoinRequest {
            member,
            approve: false,
            ..
        } => EventKind::JoinRequestDenied {
            member: member.clone().into(),
            by: bot,
        },
        ActionKind::SetGroupName { name } => EventKind::GroupRenamed {
            name: name.clone(),
            by: Some(bot),
        },
        _ => return None,
    })
}

/// Runs one statement through the connection's statement cache: the world writes the same few
/// statements millions of times, and parsing each one anew was most of what creating a big world
/// cost.
fn run(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

fn insert_timeline(
    tx: &rusqlite::Transaction<'_>,
    event: &Event,
    source: &str,
    cause: Option<&str>,
) -> Result<()> {
    let mut event = event.clone();
    // A bot message's id is its timeline key, so redactions and replies can point at it.
    if let EventKind::MessagePosted { message_id, .. } = &mut event.kind {
        if message_id.is_empty() {
            message_id.clone_from(&event.key);
        }
    }
    run(
        tx,
        "INSERT INTO timeline (key, chat, source, cause, json) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            event.key,
            event.chat,
            source,
            cause,
            serde_json::to_string(&event)?
        ],
    )?;
    Ok(())
}

fn apply_to_roster(
    tx: &rusqlite::Transaction<'_>,
    live: &mut Live,
    event: &Event,
    person: Option<Person>,
) -> Result<()> {
    let present = live.present.entry(event.chat.clone()).or_default();
    match (&event.kind, person) {
        (EventKind::MemberJoined { .. }, Some(person)) => {
            run(
                tx,
                "INSERT OR REPLACE INTO people (chat, id, json, present) VALUES (?1, ?2, ?3, 1)",
                params![event.chat, person.id, serde_json::to_string(&person)?],
            )?;
            present.push(person);
        }
        // A knocker waits outside (present = 2) until the join request is decided.
        (EventKind::JoinRequested { .. }, Some(person)) => {
            run(
                tx,
                "INSERT OR REPLACE INTO people (chat, id, json, present) VALUES (?1, ?2, ?3, 2)",
                params![event.chat, person.id, serde_json::to_string(&person)?],
            )?;
        }
        (
            EventKind::MemberJoined {
                member,
                via: JoinVia::KnockApproved { .. },
                ..
            },
            None,
        ) => {
            let waiting: Option<String> = tx
                .query_row(
                    "SELECT json FROM people WHERE chat = ?1 AND id = ?2 AND present = 2",
                    params![event.chat, member.as_str()],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(json) = waiting {
                run(
                    tx,
                    "UPDATE people SET present = 1 WHERE chat = ?1 AND id = ?2",
                    params![event.chat, member.as_str()],
                )?;
                present.push(serde_json::from_str(&json)?);
            }
        }
        (EventKind::JoinRequestDenied { member, .. }, _) => {
            run(
                tx,
                "UPDATE people SET present = 0 WHERE chat = ?1 AND id = ?2 AND present = 2",
                params![event.chat, member.as_str()],
            )?;
        }
        (EventKind::MemberLeft { member, .. }, _) => {
            run(
                tx,
                "UPDATE people SET present = 0 WHERE chat = ?1 AND id = ?2",
                params![event.chat, member.as_str()],
            )?;
            present.retain(|person| &person.id != member);
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use qunzhu_domain::ActionStatus;

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn greeting(key: &str, chat: &str) -> ActionRecord {
        ActionRecord {
            id: qunzhu_domain::ActionId(1),
            workspace: WorkspaceId(1),
            platform: Platform::Sandbox,
            chat: chat.into(),
            key: key.into(),
            kind: ActionKind::SendMessage {
                text: "欢迎".into(),
                html: None,
                mentions: vec![],
                reply_to: None,
            },
            origin: qunzhu_domain::ActionOrigin::parse("test"),
            cause: None,
            status: ActionStatus::InFlight,
            attempts: 0,
            created_at: start(),
            not_before: start(),
            next_attempt_at: start(),
            expires_at: None,
            done_at: None,
            last_error: None,
            receipt: None,
        }
    }

    #[test]
    fn a_knocker_waits_until_approved_and_then_takes_part() {
        let dir = tempfile::tempdir().unwrap();
        let behaviour = Behaviour {
            groups: 1,
            members_per_group: 1,
            join_chance: 1.0,
            knock_share: 1.0,
            messages_per_second: 0.0,
            leave_chance: 0.0,
            ..Behaviour::default()
        };
        let world = World::open(
            &dir.path().join("world.db"),
            behaviour,
            WorkspaceId(1),
            start(),
            None,
        )
        .unwrap();
        world.advance(start() + Duration::seconds(1)).unwrap();
        let asked = world
            .read_after(0, 100)
            .unwrap()
            .into_iter()
            .find_map(|(_, event)| match event.kind {
                EventKind::JoinRequested { member, .. } => Some(member),
                _ => None,
            })
            .expect("someone knocked");
        let present = |world: &World| world.lock_live().present[&chat_id(0)].len();
        assert_eq!(present(&world), 1, "a knocker is not in the group yet");
        let mut decide = greeting("approve", &chat_id(0));
        decide.kind = ActionKind::DecideJoinRequest {
            member: asked.0.clone(),
            approve: true,
            reason: "ok".into(),
        };
        world.deliver(&decide, start()).unwrap();
        assert_eq!(present(&world), 2, "approved: now a member");
        assert!(world.lock_live().present[&chat_id(0)]
            .iter()
            .any(|person| person.id == asked));
    }

    #[test]
    fn a_reopened_world_carries_on_and_a_repeated_delivery_acts_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("world.db");
        let behaviour = Behaviour {
            groups: 2,
            members_per_group: 5,
            messages_per_second: 2.0,
            join_chance: 0.3,
            ..Behaviour::default()
        };
        let world =
            World::open(&path, behaviour.clone(), WorkspaceId(1), start(), Some(50)).unwrap();
        assert_eq!(
            world.read_after(0, 100).unwrap().len(),
            10,
            "founders are present from the start"
        );
        world.advance(start() + Duration::seconds(5)).unwrap();
        let after_five = world.timeline_keys().unwrap();
        drop(world);

        let world = World::open(&path, behaviour, WorkspaceId(1), start(), Some(50)).unwrap();
        assert_eq!(
            world.timeline_keys().unwrap(),
            after_five,
            "nothing regenerated on reopen"
        );
        world.advance(start() + Duration::seconds(600)).unwrap();
        assert_eq!(world.generated(), 50, "a finite script stops at its size");

        let chat = chat_id(0);
        let first = world.deliver(&greeting("k1", &chat), start()).unwrap();
        let second = world.deliver(&greeting("k1", &chat), start()).unwrap();
        assert_eq!(
            (first.0.clone(), first.1, second.1),
            (second.0, true, false)
        );
        assert_eq!(world.effects_per_action().unwrap()["k1"], 1);
        assert_eq!(world.received().unwrap()[0].deliveries, 2);
    }

    #[test]
    fn a_new_world_can_start_with_a_month_of_history() {
        let dir = tempfile::tempdir().unwrap();
        let behaviour = Behaviour {
            groups: 2,
            members_per_group: 5,
            ..Behaviour::default()
        };
        let world = World::open_with_history(
            &dir.path().join("w.db"),
            behaviour,
            WorkspaceId(1),
            start(),
            None,
            30,
        )
        .unwrap();
        let events = world.read_after(0, 1_000_000).unwrap();
        let first = events.first().unwrap().1.at;
        assert_eq!(first, start() - Duration::days(30));
        assert!(events.len() > 500, "{} events of history", events.len());
        assert!(events.iter().all(|(_, event)| event.at <= start()));
        assert_eq!(
            world.generated(),
            0,
            "history is not part of a finite script"
        );
    }
}
