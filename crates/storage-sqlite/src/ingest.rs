//! The hot path: append a batch to the log, update derived state, write decisions — in one
//! transaction, with per-batch aggregation so a batch of chatter costs a few statements per
//! group-day rather than several per message.

use std::collections::HashMap;

use qunzhu_domain::{Event, EventKind, MemberId, NewAction};
use qunzhu_storage::codec::event_counter;
use qunzhu_storage::{Decide, IngestBatch, IngestReport, NewEvent, Result};
use rusqlite::{params, Transaction};

use crate::codec::{day_text, json, micros};
use crate::{backend, SqliteStore};

type ChatKey = (i64, String, String);
type MemberKey = (i64, String, String, String);

/// Derived-state changes that commute within a batch, summed before they are written.
#[derive(Default)]
pub(crate) struct Deltas {
    group_days: HashMap<(ChatKey, String), [i64; 4]>,
    member_days: HashMap<(MemberKey, String), i64>,
    /// Per member and group: messages, the newest message's time and its local day.
    spoke: HashMap<MemberKey, (i64, i64, String)>,
    /// Members who posted as a bot in this batch (the bot_members read model).
    bots: std::collections::HashSet<ChatKey>,
    /// Each group's last new event in log order: its time becomes the group's `last_event_at`.
    last_event: HashMap<ChatKey, i64>,
    /// Groups and members this batch created, to remember once it commits.
    pub new_groups: Vec<ChatKey>,
    pub new_members: Vec<ChatKey>,
}

const JOINS: usize = 0;
const LEAVES: usize = 1;
const MESSAGES: usize = 2;
const REMOVED: usize = 3;

/// Applies one new event's effect on derived state (memberships now, counts into `deltas`).
pub(crate) fn apply(
    tx: &Transaction<'_>,
    store: &SqliteStore,
    event: &Event,
    day: &str,
    deltas: &mut Deltas,
) -> Result<()> {
    let workspace = event.workspace.0;
    let platform = event.platform.as_str();
    let chat_key: ChatKey = (workspace, platform.to_string(), event.chat.clone());
    if event.kind.names_group() && !store.known().groups.contains(&chat_key) {
        tx.prepare_cached("INSERT OR IGNORE INTO groups (workspace, platform, chat, name) VALUES (?1, ?2, ?3, ?3)")
            .and_then(|mut statement| statement.execute(params![workspace, platform, event.chat]))
            .map_err(backend)?;
        deltas.new_groups.push(chat_key.clone());
    }
    if event.kind.names_group() {
        deltas.last_event.insert(chat_key.clone(), micros(event.at));
    }
    if let EventKind::GroupRenamed { name, .. } = &event.kind {
        tx.prepare_cached(
            "UPDATE groups SET name = ?4 WHERE workspace = ?1 AND platform = ?2 AND chat = ?3",
        )
        .and_then(|mut statement| statement.execute(params![workspace, platform, event.chat, name]))
        .map_err(backend)?;
    }
    crate::bot_powers::record(tx, event)?;
    let Some(member) = event.kind.member() else {
        return Ok(());
    };
    let named = match &event.kind {
        EventKind::MemberJoined { display_name, .. }
        | EventKind::MemberPresent { display_name, .. } => display_name.as_deref(),
        EventKind::DisplayNameChanged { new, .. } => Some(new.as_str()),
        EventKind::JoinRequested { display_name, .. } => display_name.as_deref(),
        _ => None,
    };
    let member_id: ChatKey = (workspace, platform.to_string(), member.to_string());
    if named.is_some() || !store.known().members.contains(&member_id) {
        tx.prepare_cached(
            "INSERT INTO members (workspace, platform, user, display_name) VALUES (?1, ?2, ?3, COALESCE(?4, ?3))
             ON CONFLICT DO UPDATE SET display_name = COALESCE(?4, display_name)",
        )
        .and_then(|mut statement| statement.execute(params![workspace, platform, member.as_str(), named]))
        .map_err(backend)?;
        deltas.new_members.push(member_id);
    }
    let at = micros(event.at);
    let membership = |sql: &str, name: Option<&str>| -> Result<()> {
        tx.prepare_cached(sql)
            .and_then(|mut statement| {
                statement.execute(params![
                    workspace,
                    platform,
                    event.chat,
                    member.as_str(),
                    name,
                    at
                ])
            })
            .map(|_| ())
            .map_err(backend)
    };
    let group_day = (chat_key, day.to_string());
    match &event.kind {
        EventKind::MemberJoined { .. } => {
            membership(
                "INSERT INTO memberships (workspace, platform, chat, member, display_name, present, joined_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)
                 ON CONFLICT DO UPDATE SET present = 1, joined_at = ?6, left_at = NULL, display_name = COALESCE(?5, display_name)",
                named,
            )?;
            deltas.group_days.entry(group_day).or_default()[JOINS] += 1;
            close_request(tx, workspace, platform, &event.chat, member.as_str())?;
        }
        EventKind::MemberPresent { .. } => membership(
            "INSERT INTO memberships (workspace, platform, chat, member, display_name, present, joined_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)
             ON CONFLICT DO UPDATE SET
                 joined_at = CASE WHEN present = 0 THEN COALESCE(joined_at, ?6) ELSE joined_at END,
                 left_at = CASE WHEN present = 0 THEN NULL ELSE left_at END,
                 present = 1,
                 display_name = COALESCE(?5, display_name)",
            named,
        )?,
        EventKind::MemberLeft { how, .. } => {
            membership(
                "INSERT INTO memberships (workspace, platform, chat, member, display_name, present, left_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
                 ON CONFLICT DO UPDATE SET present = 0, left_at = ?6",
                None,
            )?;
            let counts = deltas.group_days.entry(group_day).or_default();
            counts[LEAVES] += 1;
            counts[REMOVED] += i64::from(how.is_removal());
        }
        EventKind::DisplayNameChanged { .. } => {
            tx.prepare_cached(
                "INSERT INTO memberships (workspace, platform, chat, member, display_name, present)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT DO UPDATE SET display_name = ?5",
            )
            .and_then(|mut statement| statement.execute(params![workspace, platform, event.chat, member.as_str(), named]))
            .map_err(backend)?;
        }
        // The pending join requests read model: the newest request per member and group, until
        // the member is let in, invited or denied, so the review queue never scans the log.
        EventKind::JoinRequested { .. } => {
            tx.prepare_cached(
                "INSERT INTO pending_join_requests (workspace, platform, chat, member, event_key) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO UPDATE SET event_key = ?5",
            )
            .and_then(|mut statement| statement.execute(params![workspace, platform, event.chat, member.as_str(), event.key]))
            .map_err(backend)?;
        }
        EventKind::MemberInvited { .. } | EventKind::JoinRequestDenied { .. } => {
            close_request(tx, workspace, platform, &event.chat, member.as_str())?;
        }
        EventKind::MessagePosted { from_bot, .. } => {
            if *from_bot {
                deltas.bots.insert((workspace, platform.to_string(), member.to_string()));
            }
            let member_key: MemberKey = (workspace, platform.to_string(), event.chat.clone(), member.to_string());
            let spoke = deltas.spoke.entry(member_key.clone()).or_insert((0, at, day.to_string()));
            spoke.0 += 1;
            if at >= spoke.1 {
                spoke.1 = at;
                day.clone_into(&mut spoke.2);
            }
            *deltas.member_days.entry((member_key, day.to_string())).or_default() += 1;
            deltas.group_days.entry(group_day).or_default()[MESSAGES] += 1;
        }
        _ => {}
    }
    Ok(())
}

/// Writes the summed counts; a member's first message of a day makes them a speaker that day.
/// The member's join request in this group, if any, is no longer waiting.
fn close_request(
    tx: &Transaction<'_>,
    workspace: i64,
    platform: &str,
    chat: &str,
    member: &str,
) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM pending_join_requests WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND member = ?4",
    )
    .and_then(|mut statement| statement.execute(params![workspace, platform, chat, member]))
    .map(|_| ())
    .map_err(backend)
}

pub(crate) fn flush(tx: &Transaction<'_>, deltas: &mut Deltas) -> Result<()> {
    let mut speakers: HashMap<(ChatKey, String), i64> = HashMap::new();
    // Members whose first message of a day in a group is in this batch.
    let mut first_of_day: std::collections::HashSet<(MemberKey, String)> = Default::default();
    for ((key, day), count) in deltas.member_days.drain() {
        let (workspace, platform, chat, member) = &key;
        // The row's total equals this batch's count only if the row was created now: a first
        // message that day, so one more speaker.
        let total: i64 = tx
            .prepare_cached(
                "INSERT INTO member_days (workspace, platform, chat, member, day, messages) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO UPDATE SET messages = messages + ?6 RETURNING messages",
            )
            .and_then(|mut statement| statement.query_row(params![workspace, platform, chat, member, day, count], |row| row.get(0)))
            .map_err(backend)?;
        if total == count {
            *speakers
                .entry(((*workspace, platform.clone(), chat.clone()), day.clone()))
                .or_default() += 1;
            first_of_day.insert((key, day));
        }
    }
    // New bots first: what they said as people leaves the speaker days before their messages
    // below are left out of them.
    for (workspace, platform, member) in deltas.bots.drain() {
        let new = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO bot_members (workspace, platform, member) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut statement| statement.execute(params![workspace, platform, member]))
            .map_err(backend)?;
        if new == 1 {
            tx.prepare_cached(
                "UPDATE speaker_days SET speakers = speakers - 1
                 WHERE (workspace, platform, chat, day) IN (SELECT workspace, platform, chat, last_spoke_day FROM memberships
                     WHERE workspace = ?1 AND platform = ?2 AND member = ?3 AND last_spoke_day IS NOT NULL)",
            )
            .and_then(|mut statement| statement.execute(params![workspace, platform, member]))
            .map_err(backend)?;
        }
    }
    // A member's last day of speaking moves only on their first message of a later day.
    let mut moves: HashMap<(ChatKey, String), i64> = HashMap::new();
    for (key, (count, last, last_day)) in deltas.spoke.drain() {
        let (workspace, platform, chat, member) = &key;
        let first_of_day = first_of_day.remove(&(key.clone(), last_day.clone()));
        if first_of_day {
            let (earlier, bot): (Option<String>, bool) = tx
                .prepare_cached(
                    "SELECT (SELECT last_spoke_day FROM memberships WHERE workspace = ?1 AND platform = ?2 AND chat = ?3 AND member = ?4),
                            EXISTS (SELECT 1 FROM bot_members WHERE workspace = ?1 AND platform = ?2 AND member = ?4)",
                )
                .and_then(|mut statement| statement.query_row(params![workspace, platform, chat, member], |row| Ok((row.get(0)?, row.get(1)?))))
                .map_err(backend)?;
            let chat_key = (*workspace, platform.clone(), chat.clone());
            match earlier {
                _ if bot => {}
                Some(earlier) if earlier >= last_day => {}
                earlier => {
                    if let Some(earlier) = earlier {
                        *moves.entry((chat_key.clone(), earlier)).or_default() -= 1;
                    }
                    *moves.entry((chat_key, last_day.clone())).or_default() += 1;
                }
            }
        }
        tx.prepare_cached(
            "INSERT INTO memberships (workspace, platform, chat, member, messages, last_spoke_at, last_spoke_day) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO UPDATE SET messages = messages + ?5, last_spoke_at = max(COALESCE(last_spoke_at, ?6), ?6),
                 last_spoke_day = max(COALESCE(last_spoke_day, ?7), ?7)",
        )
        .and_then(|mut statement| statement.execute(params![workspace, platform, chat, member, count, last, last_day]))
        .map_err(backend)?;
    }
    for (((workspace, platform, chat), day), change) in moves {
        if change != 0 {
            tx.prepare_cached(
                "INSERT INTO speaker_days (workspace, platform, chat, day, speakers) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO UPDATE SET speakers = speakers + ?5",
            )
            .and_then(|mut statement| statement.execute(params![workspace, platform, chat, day, change]))
            .map_err(backend)?;
        }
    }
    for ((workspace, platform, chat), at) in deltas.last_event.drain() {
        tx.prepare_cached(
            "UPDATE groups SET last_event_at = ?4 WHERE workspace = ?1 AND platform = ?2 AND chat = ?3",
        )
        .and_then(|mut statement| statement.execute(params![workspace, platform, chat, at]))
        .map_err(backend)?;
    }
    let mut keys: Vec<(ChatKey, String)> = deltas.group_days.keys().cloned().collect();
    keys.extend(
        speakers
            .keys()
            .filter(|key| !deltas.group_days.contains_key(*key))
            .cloned(),
    );
    for key in keys {
        let counts = deltas.group_days.remove(&key).unwrap_or_default();
        let new_speakers = speakers.get(&key).copied().unwrap_or(0);
        let ((workspace, platform, chat), day) = key;
        tx.prepare_cached(
            "INSERT INTO group_days (workspace, platform, chat, day, joins, leaves, messages, speakers, removed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT DO UPDATE SET joins = joins + ?5, leaves = leaves + ?6, messages = messages + ?7, speakers = speakers + ?8, removed = removed + ?9",
        )
        .and_then(|mut statement| {
            statement.execute(params![workspace, platform, chat, day, counts[JOINS], counts[LEAVES], counts[MESSAGES], new_speakers, counts[REMOVED]])
        })
        .map_err(backend)?;
    }
    Ok(())
}

/// Inserts an action unless its key is known; true when it was new.
pub(crate) fn insert_action(tx: &Transaction<'_>, action: &NewAction) -> Result<bool> {
    let status = if action.dry_run { "dry_run" } else { "pending" };
    let target = match action.kind.target() {
        qunzhu_domain::ActionTarget::Platform => "platform",
        qunzhu_domain::ActionTarget::Ledger => "ledger",
        qunzhu_domain::ActionTarget::Person => "person",
        qunzhu_domain::ActionTarget::Engine => "engine",
    };
    let payload = json(&action.kind)?;
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO actions (workspace, platform, chat, key, kind, payload, origin, cause, target, status,
                 created_at, not_before, next_attempt_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                action.workspace.0,
                action.platform.as_str(),
                action.chat,
                action.key,
                action.kind.name(),
                payload,
                action.origin.to_string(),
                action.cause,
                target,
                status,
                micros(action.created_at),
                micros(action.not_before),
                action.expires_at.map(micros),
            ])
        })
        .map_err(backend)?;
    Ok(inserted == 1)
}

fn insert_event(tx: &Transaction<'_>, table_sql: &str, new: &NewEvent) -> Result<usize> {
    let event = &new.event;
    let payload = json(&event.kind)?;
    tx.prepare_cached(table_sql)
        .and_then(|mut statement| {
            statement.execute(params![
                event.workspace.0,
                event.platform.as_str(),
                event.key,
                event.chat,
                event.kind.name(),
                event.kind.member().map(MemberId::as_str),
                micros(event.at),
                day_text(new.day),
                payload,
            ])
        })
        .map_err(backend)
}

impl SqliteStore {
    pub(crate) fn ingest_batch(
        &self,
        batch: IngestBatch,
        decide: &mut Decide<'_>,
    ) -> Result<IngestReport> {
        let mut deltas = Deltas::default();
        let report = self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let mut report = IngestReport::default();
            for new in &batch.events {
                let inserted = insert_event(
                    &tx,
                    "INSERT OR IGNORE INTO events (workspace, platform, key, chat, kind, member, at, day, payload)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    new,
                )?;
                if inserted == 0 {
                    report.duplicates += 1;
                    continue;
                }
                report.appended += 1;
                apply(&tx, self, &new.event, &day_text(new.day), &mut deltas)?;
                for action in decide(&new.event) {
                    if insert_action(&tx, &action)? {
                        report.actions += 1;
                    }
                }
            }
            flush(&tx, &mut deltas)?;
            if report.duplicates > 0 {
                tx.execute(
                    "INSERT INTO counters (name, value) VALUES ('duplicates', ?1) ON CONFLICT DO UPDATE SET value = value + ?1",
                    [report.duplicates as i64],
                )
                .map_err(backend)?;
            }
            if report.appended > 0 {
                let name = event_counter(batch.cursor.as_ref().map(|(connector, _)| connector.as_str()));
                tx.prepare_cached("INSERT INTO counters (name, value) VALUES (?1, ?2) ON CONFLICT DO UPDATE SET value = value + ?2")
                    .and_then(|mut statement| statement.execute(params![name, report.appended as i64]))
                    .map_err(backend)?;
            }
            if let Some((connector, cursor)) = &batch.cursor {
                tx.prepare_cached("INSERT INTO cursors (connector, cursor) VALUES (?1, ?2) ON CONFLICT DO UPDATE SET cursor = ?2")
                    .and_then(|mut statement| statement.execute(params![connector, cursor]))
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(report)
        })?;
        let mut known = self.known();
        known.groups.extend(deltas.new_groups);
        known.members.extend(deltas.new_members);
        Ok(report)
    }

    pub(crate) fn baseline(&self, events: &[NewEvent]) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            for new in events {
                insert_event(
                    &tx,
                    "INSERT INTO bench_baseline (workspace, platform, key, chat, kind, member, at, day, payload)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    new,
                )?;
            }
            tx.commit().map_err(backend)
        })
    }

    /// Wipes derived state and replays the whole log through the same code as ingest.
    pub(crate) fn rebuild(&self) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            tx.execute_batch("DELETE FROM memberships; DELETE FROM member_days; DELETE FROM group_days; DELETE FROM pending_join_requests; DELETE FROM bot_members; DELETE FROM speaker_days;").map_err(backend)?;
            let mut deltas = Deltas::default();
            {
                let mut statement = tx.prepare("SELECT workspace, platform, key, chat, at, day, payload FROM events ORDER BY seq").map_err(backend)?;
                let mut rows = statement.query([]).map_err(backend)?;
                while let Some(row) = rows.next().map_err(backend)? {
                    let event = crate::queries::event_from_row(row)?;
                    let day: String = row.get(5).map_err(backend)?;
                    apply(&tx, self, &event, &day, &mut deltas)?;
                }
            }
            flush(&tx, &mut deltas)?;
            tx.commit().map_err(backend)
        })
    }
}
