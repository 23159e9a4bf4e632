//! The hot path on PostgreSQL: a batch costs a handful of set-based statements (UNNEST arrays),
//! not a round trip per event; only membership changes (joins, leaves, renames) go one by one,
//! in log order, because their order matters.

// Column arrays for UNNEST are tuples of vectors by nature; naming each would add nothing.
#![allow(clippy::type_complexity)]

use std::collections::{HashMap, HashSet};

use qunzhu_domain::{Event, EventKind, NewAction};
use qunzhu_storage::codec::event_counter;
use qunzhu_storage::{Decide, IngestBatch, IngestReport, NewEvent, Result};
use tokio_postgres::Transaction;

use crate::codec::{day_text, json, micros};
use crate::{backend, get, PostgresStore};

type ChatKey = (i64, String, String);
type MemberKey = (i64, String, String, String);

/// Derived-state changes of a run of new events, applied with set-based statements.
#[derive(Default)]
struct Deltas {
    /// The groups these events name, with the time of each one's last event in log order
    /// (the group's `last_event_at`).
    groups: HashMap<ChatKey, i64>,
    renames: Vec<(ChatKey, String)>,
    members: HashSet<ChatKey>,
    names: Vec<(ChatKey, String)>,
    memberships: Vec<(&'static str, MemberKey, Option<String>, i64)>,
    group_days: HashMap<(ChatKey, String), [i64; 4]>,
    member_days: HashMap<(MemberKey, String), i64>,
    /// Per member and group: messages, the newest message's time and its local day.
    spoke: HashMap<MemberKey, (i64, i64, String)>,
    /// Members who posted as a bot in this run (the bot_members read model).
    bots: HashSet<ChatKey>,
    /// Pending join requests, in log order: `Some(event key)` opens (or renews) a member's
    /// request, `None` closes it (let in, invited or denied).
    requests: Vec<(MemberKey, Option<String>)>,
    /// The bot's powers reported in this run, in log order (the store keeps the newest).
    powers: Vec<(i64, qunzhu_storage::BotPowers)>,
}

const JOINED: &str = "INSERT INTO memberships (workspace, platform, chat, member, display_name, present, joined_at)
     VALUES ($1, $2, $3, $4, $5, 1, $6)
     ON CONFLICT (workspace, platform, chat, member) DO UPDATE SET present = 1, joined_at = $6, left_at = NULL,
         display_name = COALESCE($5, memberships.display_name)";
const PRESENT: &str = "INSERT INTO memberships (workspace, platform, chat, member, display_name, present, joined_at)
     VALUES ($1, $2, $3, $4, $5, 1, $6)
     ON CONFLICT (workspace, platform, chat, member) DO UPDATE SET
         joined_at = CASE WHEN memberships.present = 0 THEN COALESCE(memberships.joined_at, $6) ELSE memberships.joined_at END,
         left_at = CASE WHEN memberships.present = 0 THEN NULL ELSE memberships.left_at END,
         present = 1,
         display_name = COALESCE($5, memberships.display_name)";
const LEFT: &str =
    "INSERT INTO memberships (workspace, platform, chat, member, display_name, present, left_at)
     VALUES ($1, $2, $3, $4, $5, 0, $6)
     ON CONFLICT (workspace, platform, chat, member) DO UPDATE SET present = 0, left_at = $6";
const RENAMED: &str =
    "INSERT INTO memberships (workspace, platform, chat, member, display_name, present)
     VALUES ($1, $2, $3, $4, $5, 0 * $6::bigint)
     ON CONFLICT (workspace, platform, chat, member) DO UPDATE SET display_name = $5";

impl Deltas {
    /// Notes one new event's effect, as `DerivedState::apply` specifies.
    fn note(&mut self, event: &Event, day: &str) {
        let chat: ChatKey = (
            event.workspace.0,
            event.platform.as_str().to_string(),
            event.chat.clone(),
        );
        if event.kind.names_group() {
            self.groups.insert(chat.clone(), micros(event.at));
        }
        if let EventKind::GroupRenamed { name, .. } = &event.kind {
            self.renames.push((chat.clone(), name.clone()));
        }
        if let Some(powers) = qunzhu_storage::BotPowers::from_event(event) {
            self.powers.push((event.workspace.0, powers));
        }
        let Some(member) = event.kind.member() else {
            return;
        };
        let person: ChatKey = (chat.0, chat.1.clone(), member.to_string());
        self.members.insert(person.clone());
        let named = match &event.kind {
            EventKind::MemberJoined { display_name, .. }
            | EventKind::MemberPresent { display_name, .. }
            | EventKind::JoinRequested { display_name, .. } => display_name.clone(),
            EventKind::DisplayNameChanged { new, .. } => Some(new.clone()),
            _ => None,
        };
        if let Some(name) = &named {
            self.names.push((person, name.clone()));
        }
        let key: MemberKey = (chat.0, chat.1.clone(), chat.2.clone(), member.to_string());
        let at = micros(event.at);
        let group_day = (chat, day.to_string());
        match &event.kind {
            EventKind::JoinRequested { .. } => self.requests.push((key, Some(event.key.clone()))),
            EventKind::MemberInvited { .. } | EventKind::JoinRequestDenied { .. } => {
                self.requests.push((key, None))
            }
            EventKind::MemberJoined { .. } => {
                self.requests.push((key.clone(), None));
                self.memberships.push((JOINED, key, named, at));
                self.group_days.entry(group_day).or_default()[0] += 1;
            }
            EventKind::MemberPresent { .. } => self.memberships.push((PRESENT, key, named, at)),
            EventKind::MemberLeft { how, .. } => {
                self.memberships.push((LEFT, key, None, at));
                let counts = self.group_days.entry(group_day).or_default();
                counts[1] += 1;
                counts[3] += i64::from(how.is_removal());
            }
            EventKind::DisplayNameChanged { .. } => {
                self.memberships.push((RENAMED, key, named, at))
            }
            EventKind::MessagePosted { from_bot, .. } => {
                if *from_bot {
                    self.bots.insert((key.0, key.1.clone(), key.3.clone()));
                }
                let spoke = self
                    .spoke
                    .entry(key.clone())
                    .or_insert((0, at, day.to_string()));
                spoke.0 += 1;
                if at >= spoke.1 {
                    spoke.1 = at;
                    day.clone_into(&mut spoke.2);
                }
                *self.member_days.entry((key, day.to_string())).or_default() += 1;
                self.group_days.entry(group_day).or_default()[2] += 1;
            }
            _ => {}
        }
    }

    async fn write(self, tx: &Transaction<'_>) -> Result<()> {
        let (last, groups): (Vec<i64>, Vec<ChatKey>) =
            self.groups.into_iter().map(|(key, at)| (at, key)).unzip();
        let (ws, platform, chat): (Vec<i64>, Vec<String>, Vec<String>) = unzip3(groups.into_iter());
        tx.execute(
            "INSERT INTO groups (workspace, platform, chat, name, last_event_at)
             SELECT w, p, c, c, a FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS t(w, p, c, a)
             ON CONFLICT (workspace, platform, chat) DO UPDATE SET last_event_at = EXCLUDED.last_event_at",
            &[&ws, &platform, &chat, &last],
        )
        .await
        .map_err(backend)?;
        for (ws, powers) in &self.powers {
            crate::bot_powers::record(tx, *ws, powers).await?;
        }
        for ((ws, platform, chat), name) in &self.renames {
            tx.execute(
                "UPDATE groups SET name = $4 WHERE workspace = $1 AND platform = $2 AND chat = $3",
                &[ws, platform, chat, name],
            )
            .await
            .map_err(backend)?;
        }
        let (ws, platform, user): (Vec<i64>, Vec<String>, Vec<String>) =
            unzip3(self.members.into_iter());
        tx.execute(
            "INSERT INTO members (workspace, platform, user_id, display_name) SELECT w, p, u, u FROM UNNEST($1::bigint[], $2::text[], $3::text[]) AS t(w, p, u)
             ON CONFLICT (workspace, platform, user_id) DO NOTHING",
            &[&ws, &platform, &user],
        )
        .await
        .map_err(backend)?;
        for ((ws, platform, user), name) in &self.names {
            tx.execute("UPDATE members SET display_name = $4 WHERE workspace = $1 AND platform = $2 AND user_id = $3", &[ws, platform, user, name])
                .await
                .map_err(backend)?;
        }
        for (sql, (ws, platform, chat, member), name, at) in &self.memberships {
            tx.execute(*sql, &[ws, platform, chat, member, name, at])
                .await
                .map_err(backend)?;
        }
        for ((ws, platform, chat, member), opened) in &self.requests {
            let written = match opened {
                Some(event_key) => {
                    tx.execute(
                        "INSERT INTO pending_join_requests (workspace, platform, chat, member, event_key) VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (workspace, platform, chat, member) DO UPDATE SET event_key = EXCLUDED.event_key",
                        &[ws, platform, chat, member, event_key],
                    )
                    .await
                }
                None => {
                    tx.execute(
                        "DELETE FROM pending_join_requests WHERE workspace = $1 AND platform = $2 AND chat = $3 AND member = $4",
                        &[ws, platform, chat, member],
                    )
                    .await
                }
            };
            written.map_err(backend)?;
        }

        let mut columns: (
            Vec<i64>,
            Vec<String>,
            Vec<String>,
            Vec<String>,
            Vec<String>,
            Vec<i64>,
        ) = Default::default();
        for (((ws, platform, chat, member), day), count) in self.member_days {
            columns.0.push(ws);
            columns.1.push(platform);
            columns.2.push(chat);
            columns.3.push(member);
            columns.4.push(day);
            columns.5.push(count);
        }
        // A row whose total is this batch's count was created now: a new speaker that day.
        let rows = tx
            .query(
                "INSERT INTO member_days (workspace, platform, chat, member, day, messages)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
                 ON CONFLICT (workspace, platform, chat, member, day) DO UPDATE SET messages = member_days.messages + EXCLUDED.messages
                 RETURNING workspace, platform, chat, day, messages, (xmax = 0) AS created",
                &[&columns.0, &columns.1, &columns.2, &columns.3, &columns.4, &columns.5],
            )
            .await
            .map_err(backend)?;
        let mut group_days = self.group_days;
        let mut speakers: HashMap<(ChatKey, String), i64> = HashMap::new();
        for row in rows {
            if get::<bool>(&row, 5)? {
                *speakers
                    .entry(((get(&row, 0)?, get(&row, 1)?, get(&row, 2)?), get(&row, 3)?))
                    .or_default() += 1;
            }
        }
        for key in speakers.keys() {
            group_days.entry(key.clone()).or_default();
        }
        let mut days: (
            Vec<i64>,
            Vec<String>,
            Vec<String>,
            Vec<String>,
            Vec<i64>,
            Vec<i64>,
            Vec<i64>,
            Vec<i64>,
            Vec<i64>,
        ) = Default::default();
        for (key, counts) in group_days {
            let new_speakers = speakers.get(&key).copied().unwrap_or(0);
            let ((ws, platform, chat), day) = key;
            days.0.push(ws);
            days.1.push(platform);
            days.2.push(chat);
            days.3.push(day);
            days.4.push(counts[0]);
            days.5.push(counts[1]);
            days.6.push(counts[2]);
            days.7.push(new_speakers);
            days.8.push(counts[3]);
        }
        tx.execute(
            "INSERT INTO group_days (workspace, platform, chat, day, joins, leaves, messages, speakers, removed)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
             ON CONFLICT (workspace, platform, chat, day) DO UPDATE SET joins = group_days.joins + EXCLUDED.joins,
                 leaves = group_days.leaves + EXCLUDED.leaves, messages = group_days.messages + EXCLUDED.messages,
                 speakers = group_days.speakers + EXCLUDED.speakers, removed = group_days.removed + EXCLUDED.removed",
            &[&days.0, &days.1, &days.2, &days.3, &days.4, &days.5, &days.6, &days.7, &days.8],
        )
        .await
        .map_err(backend)?;
        let (ws, platform, member): (Vec<i64>, Vec<String>, Vec<String>) =
            unzip3(self.bots.into_iter());
        if !ws.is_empty() {
            // New bots first: what they said as people leaves the speaker days before their
            // messages below are left out of them.
            tx.execute(
                "WITH new AS (
                     INSERT INTO bot_members (workspace, platform, member) SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[])
                     ON CONFLICT DO NOTHING RETURNING workspace, platform, member),
                 gone AS (
                     SELECT m.workspace, m.platform, m.chat, m.last_spoke_day AS day, count(*) AS n
                     FROM memberships m JOIN new USING (workspace, platform, member)
                     WHERE m.last_spoke_day IS NOT NULL GROUP BY 1, 2, 3, 4)
                 UPDATE speaker_days s SET speakers = s.speakers - gone.n FROM gone
                 WHERE s.workspace = gone.workspace AND s.platform = gone.platform AND s.chat = gone.chat AND s.day = gone.day",
                &[&ws, &platform, &member],
            )
            .await
            .map_err(backend)?;
        }
        let mut spoke: (
            Vec<i64>,
            Vec<String>,
            Vec<String>,
            Vec<String>,
            Vec<i64>,
            Vec<i64>,
            Vec<String>,
        ) = Default::default();
        for ((ws, platform, chat, member), (count, last, day)) in self.spoke {
            spoke.0.push(ws);
            spoke.1.push(platform);
            spoke.2.push(chat);
            spoke.3.push(member);
            spoke.4.push(count);
            spoke.5.push(last);
            spoke.6.push(day);
        }
        // A member's last day of speaking moves to a later day: one more speaker that day, one
        // fewer on the day before (read before the memberships below are written).
        tx.execute(
            "WITH input AS (
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(workspace, platform, chat, member, day)),
             speaking AS (
                 SELECT i.workspace, i.platform, i.chat, i.day, m.last_spoke_day AS earlier FROM input i
                 LEFT JOIN memberships m ON m.workspace = i.workspace AND m.platform = i.platform AND m.chat = i.chat AND m.member = i.member
                 WHERE (m.last_spoke_day IS NULL OR m.last_spoke_day < i.day)
                   AND NOT EXISTS (SELECT 1 FROM bot_members b WHERE b.workspace = i.workspace AND b.platform = i.platform AND b.member = i.member)),
             moves AS (
                 SELECT workspace, platform, chat, day, 1 AS n FROM speaking
                 UNION ALL SELECT workspace, platform, chat, earlier, -1 FROM speaking WHERE earlier IS NOT NULL)
             INSERT INTO speaker_days (workspace, platform, chat, day, speakers)
             SELECT workspace, platform, chat, day, sum(n) FROM moves GROUP BY workspace, platform, chat, day
             ON CONFLICT (workspace, platform, chat, day) DO UPDATE SET speakers = speaker_days.speakers + EXCLUDED.speakers",
            &[&spoke.0, &spoke.1, &spoke.2, &spoke.3, &spoke.6],
        )
        .await
        .map_err(backend)?;
        tx.execute(
            "INSERT INTO memberships (workspace, platform, chat, member, messages, last_spoke_at, last_spoke_day)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[])
             ON CONFLICT (workspace, platform, chat, member) DO UPDATE SET messages = memberships.messages + EXCLUDED.messages,
                 last_spoke_at = GREATEST(COALESCE(memberships.last_spoke_at, EXCLUDED.last_spoke_at), EXCLUDED.last_spoke_at),
                 last_spoke_day = GREATEST(COALESCE(memberships.last_spoke_day, EXCLUDED.last_spoke_day), EXCLUDED.last_spoke_day)",
            &[&spoke.0, &spoke.1, &spoke.2, &spoke.3, &spoke.4, &spoke.5, &spoke.6],
        )
        .await
        .map_err(backend)?;
        Ok(())
    }
}

fn unzip3(items: impl Iterator<Item = ChatKey>) -> (Vec<i64>, Vec<String>, Vec<String>) {
    let mut out: (Vec<i64>, Vec<String>, Vec<String>) = Default::default();
    for (ws, platform, chat) in items {
        out.0.push(ws);
        out.1.push(platform);
        out.2.push(chat);
    }
    out
}

/// The events table's columns for a run of events, as arrays.
type EventColumns = (
    Vec<i64>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<Option<String>>,
    Vec<i64>,
    Vec<String>,
    Vec<String>,
);

fn event_columns(events: &[NewEvent]) -> Result<EventColumns> {
    let mut columns: EventColumns = Default::default();
    for new in events {
        let event = &new.event;
        columns.0.push(event.workspace.0);
        columns.1.push(event.platform.as_str().to_string());
        columns.2.push(event.key.clone());
        columns.3.push(event.chat.clone());
        columns.4.push(event.kind.name().to_string());
        columns
            .5
            .push(event.kind.member().map(|member| member.0.clone()));
        columns.6.push(micros(event.at));
        columns.7.push(day_text(new.day));
        columns.8.push(json(&event.kind)?);
    }
    Ok(columns)
}

const UNNEST_EVENTS: &str =
    "SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[])";

/// Writes actions, skipping known keys; returns how many were new.
pub(crate) async fn insert_actions(tx: &Transaction<'_>, actions: &[NewAction]) -> Result<usize> {
    if actions.is_empty() {
        return Ok(0);
    }
    let column =
        |value: fn(&NewAction) -> String| actions.iter().map(value).collect::<Vec<String>>();
    let workspaces: Vec<i64> = actions.iter().map(|action| action.workspace.0).collect();
    let platforms = column(|action| action.platform.as_str().to_string());
    let chats = column(|action| action.chat.clone());
    let keys = column(|action| action.key.clone());
    let kinds = column(|action| action.kind.name().to_string());
    let payloads = actions
        .iter()
        .map(|action| json(&action.kind))
        .collect::<Result<Vec<String>>>()?;
    let origins = column(|action| action.origin.to_string());
    let causes: Vec<Option<String>> = actions.iter().map(|action| action.cause.clone()).collect();
    let targets = column(|action| match action.kind.target() {
        qunzhu_domain::ActionTarget::Platform => "platform".into(),
        qunzhu_domain::ActionTarget::Ledger => "ledger".into(),
        qunzhu_domain::ActionTarget::Person => "person".into(),
        qunzhu_domain::ActionTarget::Engine => "engine".into(),
    });
    let statuses = column(|action| {
        if action.dry_run {
            "dry_run".into()
        } else {
            "pending".into()
        }
    });
    let created: Vec<i64> = actions
        .iter()
        .map(|action| micros(action.created_at))
        .collect();
    let not_before: Vec<i64> = actions
        .iter()
        .map(|action| micros(action.not_before))
        .collect();
    let expires: Vec<Option<i64>> = actions
        .iter()
        .map(|action| action.expires_at.map(micros))
        .collect();
    let inserted = tx
        .execute(
            "INSERT INTO actions (workspace, platform, chat, key, kind, payload, origin, cause, target, status, created_at, not_before, next_attempt_at, expires_at)
             SELECT w, p, c, k, kd, pl, o, ca, t, s, cr, nb, nb, ex FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                 $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[]) AS x(w, p, c, k, kd, pl, o, ca, t, s, cr, nb, ex)
             ON CONFLICT (workspace, key) DO NOTHING",
            &[&workspaces, &platforms, &chats, &keys, &kinds, &payloads, &origins, &causes, &targets, &statuses, &created, &not_before, &expires],
        )
        .await
        .map_err(backend)?;
    Ok(inserted as usize)
}

impl PostgresStore {
    pub(crate) async fn ingest_batch(
        &self,
        batch: IngestBatch,
        decide: &mut Decide<'_>,
    ) -> Result<IngestReport> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let mut report = IngestReport::default();
        let c = event_columns(&batch.events)?;
        let inserted = tx
            .query(
                &format!(
                    "INSERT INTO events (workspace, platform, key, chat, kind, member, at, day, payload) {UNNEST_EVENTS}
                     ON CONFLICT (workspace, platform, key) DO NOTHING RETURNING workspace, platform, key"
                ),
                &[&c.0, &c.1, &c.2, &c.3, &c.4, &c.5, &c.6, &c.7, &c.8],
            )
            .await
            .map_err(backend)?;
        let mut new = HashSet::new();
        for row in &inserted {
            new.insert((
                get::<i64>(row, 0)?,
                get::<String>(row, 1)?,
                get::<String>(row, 2)?,
            ));
        }
        let mut deltas = Deltas::default();
        let mut actions = Vec::new();
        for item in &batch.events {
            let event = &item.event;
            // The first copy of a key in the batch is the one appended; later copies are duplicates.
            if !new.remove(&(
                event.workspace.0,
                event.platform.as_str().to_string(),
                event.key.clone(),
            )) {
                report.duplicates += 1;
                continue;
            }
            report.appended += 1;
            deltas.note(event, &day_text(item.day));
            actions.extend(decide(event));
        }
        deltas.write(&tx).await?;
        report.actions = insert_actions(&tx, &actions).await?;
        if report.duplicates > 0 {
            tx.execute(
                "INSERT INTO counters (name, value) VALUES ('duplicates', $1) ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value",
                &[&(report.duplicates as i64)],
            )
            .await
            .map_err(backend)?;
        }
        if report.appended > 0 {
            let name = event_counter(
                batch
                    .cursor
                    .as_ref()
                    .map(|(connector, _)| connector.as_str()),
            );
            tx.execute(
                "INSERT INTO counters (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value",
                &[&name, &(report.appended as i64)],
            )
            .await
            .map_err(backend)?;
        }
        if let Some((connector, cursor)) = &batch.cursor {
            tx.execute(
                "INSERT INTO cursors (connector, cursor) VALUES ($1, $2) ON CONFLICT (connector) DO UPDATE SET cursor = EXCLUDED.cursor",
                &[connector, cursor],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(report)
    }

    pub(crate) async fn baseline(&self, events: &[NewEvent]) -> Result<()> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let c = event_columns(events)?;
        tx.execute(
            &format!("INSERT INTO bench_baseline (workspace, platform, key, chat, kind, member, at, day, payload) {UNNEST_EVENTS}"),
            &[&c.0, &c.1, &c.2, &c.3, &c.4, &c.5, &c.6, &c.7, &c.8],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    /// Wipes derived state and replays the log, in order, through the same code as ingest.
    pub(crate) async fn rebuild(&self) -> Result<()> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.batch_execute(
            "DELETE FROM memberships; DELETE FROM member_days; DELETE FROM group_days; DELETE FROM pending_join_requests; DELETE FROM bot_members; DELETE FROM speaker_days;",
        )
        .await
        .map_err(backend)?;
        let mut after = 0_i64;
        loop {
            let rows = tx
                .query("SELECT workspace, platform, key, chat, at, day, payload, seq FROM events WHERE seq > $1 ORDER BY seq LIMIT 5000", &[&after])
                .await
                .map_err(backend)?;
            let Some(last) = rows.last() else { break };
            after = get(last, 7)?;
            let mut deltas = Deltas::default();
            for row in &rows {
                let event = crate::queries::event_from_row(row)?;
                deltas.note(&event, &get::<String>(row, 5)?);
            }
            deltas.write(&tx).await?;
        }
        tx.commit().await.map_err(backend)
    }
}
