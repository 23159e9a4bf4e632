//! The admin back-room 管理群: one chat of the brand's admins where the bot posts incidents —
//! who, what, which group, which rule — and where staff answer in one step.
//!
//! Incidents are the moderation actions carried out (redactions, kicks, bans, mutes, including
//! the human check's kicks), raid-mode notices, and join requests waiting for a person; each
//! is numbered by its outbox id (`#12`) or, for a request, its log number (`#J7`). Staff answer
//! with a command — `撤销 #12` / `undo 12`, `拉黑 #12` / `ban 12` (a brand-wide ban through
//! [`Ops::ban`]), `通过 #J7` / `approve J7` — and the result is posted back.
//!
//! Every post goes through the outbox keyed by `qunzhu_domain::keys` (the incident's number,
//! or the command's event), and every answer is an operation of this crate, which is
//! idempotent, so a round redone after a restart posts and decides nothing twice. Only staff
//! are obeyed: the configured ids, and members the directory names owner or admin.

use qunzhu_domain::MemberId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    ActionId, ActionKind, ActionRecord, ActionStatus, BanTarget, EventKind, MemberRole, NewAction,
    Platform, WorkspaceId,
};
use qunzhu_storage::{ActionQuery, LiveCodeAlert, StoredEvent, UserRole};
use tokio::sync::watch;

use crate::{Actor, Ops, OpsError};

/// What a staff member asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Undo,
    Ban,
    Approve,
}

/// What an answer names: a moderation action (`#12`) or a join request (`#J7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Action(ActionId),
    Request(i64),
}

/// Reads a back-room message as a command: a verb (Chinese or English, any case) and a
/// number, `#` optional. Anything else is conversation and gets no answer.
pub fn parse_command(text: &str) -> Option<(Verb, Subject)> {
    let mut words = text.split_whitespace();
    let verb = match words.next()?.to_lowercase().as_str() {
        "撤销" | "undo" => Verb::Undo,
        "拉黑" | "ban" => Verb::Ban,
        "通过" | "approve" => Verb::Approve,
        _ => return None,
    };
    let number = words.next()?.trim_start_matches(['#', '＃']);
    if words.next().is_some() {
        return None;
    }
    let subject = match number.strip_prefix(['J', 'j']) {
        Some(seq) => Subject::Request(seq.parse().ok()?),
        None => Subject::Action(ActionId(number.parse().ok()?)),
    };
    Some((verb, subject))
}

/// The member an action is about.
fn member_of(kind: &ActionKind) -> Option<&str> {
    match kind {
        ActionKind::Kick { member, .. }
        | ActionKind::Ban { member, .. }
        | ActionKind::Mute { member, .. } => Some(member),
        _ => None,
    }
}

/// Whether an outbox action is an incident the admins hear of.
pub fn is_incident(action: &ActionRecord, backroom: &str) -> bool {
    if action.chat == backroom || matches!(action.origin, qunzhu_domain::ActionOrigin::Ban { .. }) {
        return false;
    }
    match &action.kind {
        ActionKind::Redact { .. }
        | ActionKind::DeleteMessages { .. }
        | ActionKind::Kick { .. }
        | ActionKind::Ban { .. }
        | ActionKind::Mute { .. } => true,
        ActionKind::SendMessage { .. } => action.key.starts_with("raid:"),
        _ => false,
    }
}

/// The incident post: number, what, who, where, which rule, and how to answer.
pub fn incident_text(action: &ActionRecord, who: Option<&str>, group: &str) -> String {
    let what = match &action.kind {
        ActionKind::Redact { .. } | ActionKind::DeleteMessages { .. } => "撤回消息 redacted",
        ActionKind::Kick { .. } => "移出 kicked",
        ActionKind::Ban { .. } => "封禁 banned",
        ActionKind::Mute { .. } => "禁言 muted",
        ActionKind::SendMessage { .. } => "进群过多，已进入审核 raid mode",
        _ => action.kind.name(),
    };
    let named = who.is_some();
    let who = who.unwrap_or("-");
    let reason = match &action.kind {
        ActionKind::Kick { reason, .. }
        | ActionKind::Ban { reason, .. }
        | ActionKind::Mute { reason, .. } => format!(" · {reason}"),
        _ => String::new(),
    };
    let answers = if named {
        match action.kind {
            ActionKind::Ban { .. } | ActionKind::Mute { .. } => {
                format!("撤销 #{0} / undo {0} · 拉黑 #{0} / ban {0}", action.id)
            }
            _ => format!("拉黑 #{0} / ban {0}", action.id),
        }
    } else {
        String::new()
    };
    format!(
        "#{} {what} · {who} · {group} · 规则 rule {}{reason}\n{answers}",
        action.id, action.origin
    )
    .trim_end()
    .to_string()
}

/// The post about a live code's alert: what is wrong and what to do, in the alert's words.
pub fn livecode_alert_text(alert: &LiveCodeAlert) -> String {
    let what = match alert.kind.as_str() {
        "full" => "活码群已满 live code full",
        "spare_needed" => "活码需要新群 live code needs a group",
        "spare_failed" => "活码备用群创建失败 spare group failed",
        "link_failed" => "活码入群链接失败 join link failed",
        other => other,
    };
    format!("⚠ {what} · {}\n{}", alert.code, alert.message)
}

/// The post about a join request waiting for a person.
pub fn request_text(request: &StoredEvent, group: &str) -> Option<String> {
    let EventKind::JoinRequested {
        member,
        display_name,
        reason,
    } = &request.event.kind
    else {
        return None;
    };
    let name = display_name.as_deref().unwrap_or(member.as_str());
    let reason = reason
        .as_deref()
        .map(|reason| format!(" · “{reason}”"))
        .unwrap_or_default();
    Some(format!(
        "#J{0} 入群申请待审 join request · {name} ({member}) · {group}{reason}\n通过 #J{0} / approve J{0} · 拉黑 #J{0} / ban J{0}",
        request.seq
    ))
}

/// The back-room door: posts incidents and answers staff commands, one round per `every`.
#[derive(Clone)]
pub struct Backroom {
    pub ops: Ops,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    /// The back-room chat (a Matrix room id, a Telegram chat id).
    pub chat: String,
    /// Platform ids obeyed besides the directory's owners and admins.
    pub staff: Vec<String>,
    pub every: StdDuration,
    /// Where the last round got to: actions created since, the log read up to (in memory;
    /// a restart looks an hour back and re-reads commands of the last ten minutes, which
    /// posts and decides nothing twice).
    pub progress: Arc<Mutex<Progress>>,
}

/// Actions created since, and the log read up to; `None` before the first round.
pub type Progress = Option<(DateTime<Utc>, i64)>;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackroomRound {
    pub posted: usize,
    pub answered: usize,
}

impl Backroom {
    pub fn new(ops: Ops, workspace: WorkspaceId, platform: Platform, chat: String) -> Backroom {
        Backroom {
            ops,
            workspace,
            platform,
            chat,
            staff: Vec::new(),
            every: StdDuration::from_secs(2),
            progress: Arc::default(),
        }
    }

    fn post(&self, key: String, text: String, reply_to: Option<String>) -> NewAction {
        let now = self.ops.clock.now();
        NewAction {
            workspace: self.workspace,
            platform: self.platform,
            chat: self.chat.clone(),
            key,
            kind: ActionKind::SendMessage {
                text,
                html: None,
                mentions: Vec::new(),
                reply_to,
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::Backroom,
            cause: None,
        }
    }

    async fn group_names(&self) -> crate::Result<HashMap<String, String>> {
        Ok(self
            .ops
            .store
            .groups(self.workspace)
            .await?
            .into_iter()
            .map(|summary| (summary.group.chat, summary.group.name))
            .collect())
    }

    /// Whether `member` may answer: configured, or an owner or admin in the directory.
    async fn is_staff(&self, member: &str) -> crate::Result<bool> {
        if self.staff.iter().any(|staff| staff == member) {
            return Ok(true);
        }
        let known = self
            .ops
            .store
            .member(self.workspace, self.platform, &MemberId::from(member))
            .await;
        Ok(matches!(
            known.map(|member| member.role),
            Ok(MemberRole::Owner | MemberRole::Admin)
        ))
    }

    /// One round: new incidents posted, new staff commands answered.
    pub async fn sync(&self) -> crate::Result<BackroomRound> {
        let now = self.ops.clock.now();
        let (since, after_seq) = {
            let progress = self
                .progress
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match *progress {
                Some(progress) => progress,
                None => (now - Duration::hours(1), -1),
            }
        };
        let mut round = BackroomRound::default();
        let names = self.group_names().await?;
        let name = |chat: &str| names.get(chat).cloned().unwrap_or_else(|| chat.to_string());
        // Moderation steps, and posts apart (welcomes and SOP posts are many; raid notices few).
        let mut actions = Vec::new();
        for kinds in [
            &["redact", "delete_messages", "kick", "ban", "mute"][..],
            &["send_message"][..],
        ] {
            actions.extend(
                self.ops
                    .store
                    .query_actions(
                        self.workspace,
                        &ActionQuery {
                            kinds: kinds.iter().map(|kind| kind.to_string()).collect(),
                            statuses: vec![ActionStatus::Done],
                            since: Some(since),
                            limit: 2_000,
                            ..ActionQuery::default()
                        },
                    )
                    .await?,
            );
        }
        actions.sort_by_key(|action| std::cmp::Reverse(action.id));
        let mut posts: Vec<NewAction> = Vec::new();
        for action in actions
            .iter()
            .filter(|action| action.platform == self.platform && is_incident(action, &self.chat))
        {
            let who = self.who(action).await?;
            posts.push(self.post(
                qunzhu_domain::keys::backroom_incident(action.id),
                incident_text(action, who.as_deref(), &name(&action.chat)),
                None,
            ));
        }
        for request in self.ops.store.pending_join_requests(self.workspace).await? {
            if request.event.platform != self.platform {
                continue;
            }
            if let Some(text) = request_text(&request, &name(&request.event.chat)) {
                posts.push(self.post(qunzhu_domain::keys::backroom_knock(request.seq), text, None));
            }
        }
        // Live-code alerts (a set about to fill with no spare possible, a visitor turned away)
        // are for the same admins; each once, by its identity.
        for alert in self.ops.store.livecode_alerts(self.workspace).await? {
            if alert.at < since {
                continue;
            }
            posts.push(self.post(
                qunzhu_domain::keys::backroom_livecode_alert(
                    &alert.code,
                    &alert.kind,
                    alert.sequence,
                ),
                livecode_alert_text(&alert),
                None,
            ));
        }
        // Oldest first, so the room reads in order; keys make a post seen again a no-op.
        posts.reverse();
        round.posted = self.ops.store.enqueue(posts).await?;

        let (events, mut last_seq) = if after_seq < 0 {
            // First round: the log's newest event is where the next round starts; commands of
            // the last ten minutes are read again (answered once, by their keys).
            let tip = self
                .ops
                .store
                .events_since(self.workspace, DateTime::<Utc>::MIN_UTC, 1)
                .await?
                .first()
                .map_or(0, |stored| stored.seq);
            let recent = self
                .ops
                .store
                .events_since(self.workspace, now - Duration::minutes(10), 10_000)
                .await?;
            (recent, tip)
        } else {
            let new = self
                .ops
                .store
                .events(self.workspace, after_seq, 10_000)
                .await?;
            (new, after_seq)
        };
        for stored in &events {
            last_seq = last_seq.max(stored.seq);
            let event = &stored.event;
            if event.chat != self.chat || event.platform != self.platform {
                continue;
            }
            let EventKind::MessagePosted {
                member,
                text,
                message_id,
                from_bot: false,
                ..
            } = &event.kind
            else {
                continue;
            };
            let Some((verb, subject)) = parse_command(text) else {
                continue;
            };
            let answer = if self.is_staff(member.as_str()).await? {
                let actor = Actor {
                    workspace: self.workspace,
                    name: qunzhu_domain::ActorName::Staff {
                        platform: self.platform,
                        member: member.to_string(),
                    },
                    role: UserRole::Admin,
                };
                match self.answer(&actor, verb, subject).await {
                    Ok(done) => format!("✅ {done}"),
                    Err(error) => format!("⚠️ {error}"),
                }
            } else {
                format!("⚠️ {member} 不是管理员，未执行 / not staff, nothing done")
            };
            round.answered += self
                .ops
                .store
                .enqueue(vec![self.post(
                    qunzhu_domain::keys::backroom_reply(&event.key),
                    answer,
                    Some(message_id.clone()),
                )])
                .await?;
        }
        let newest = actions
            .iter()
            .map(|action| action.created_at)
            .max()
            .map_or(since, |newest| newest.max(since));
        // A little overlap: an action finished late is created earlier than the newest seen.
        let next_since = newest.min(now) - Duration::minutes(5);
        *self
            .progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some((next_since.max(since), last_seq));
        Ok(round)
    }

    /// Carries out one command; the words say what it did.
    async fn answer(&self, actor: &Actor, verb: Verb, subject: Subject) -> crate::Result<String> {
        match (verb, subject) {
            (Verb::Undo, Subject::Action(id)) => {
                let (undo, decided) = self.ops.undo_action(actor, id).await?;
                Ok(if decided.new {
                    format!("#{id} 已撤销 undone ({})", undo.kind.name())
                } else {
                    format!("#{id} 已撤销过 already undone")
                })
            }
            (Verb::Ban, Subject::Action(id)) => {
                let action = self.ops.store.action(id).await?;
                if action.workspace != self.workspace {
                    return Err(OpsError::NotFound("action"));
                }
                let member = self.who(&action).await?.ok_or_else(|| {
                    OpsError::invalid("incident", format!("#{id} names no member"))
                })?;
                self.ban(actor, &member, &format!("#{id} {}", action.origin))
                    .await
            }
            (Verb::Ban, Subject::Request(seq)) => {
                let request = self.request(seq).await?;
                let member = request
                    .event
                    .kind
                    .member()
                    .map(MemberId::as_str)
                    .unwrap_or_default()
                    .to_string();
                self.ban(actor, &member, &format!("#J{seq} join request"))
                    .await
            }
            (Verb::Approve, Subject::Request(seq)) => {
                let request = self.request(seq).await?;
                let decided = self
                    .ops
                    .decide_join_request_by_key(actor, &request.event.key, true, "")
                    .await?;
                let member = request
                    .event
                    .kind
                    .member()
                    .map(MemberId::as_str)
                    .unwrap_or_default();
                Ok(if decided.new {
                    format!("#J{seq} 已通过 approved {member}")
                } else {
                    format!("#J{seq} 已处理过 already decided")
                })
            }
            (Verb::Approve, Subject::Action(id)) => Err(OpsError::invalid(
                "incident",
                format!("#{id} is not a join request; approve takes #J…"),
            )),
            (Verb::Undo, Subject::Request(seq)) => Err(OpsError::invalid(
                "incident",
                format!("#J{seq} is a join request; approve or ban it"),
            )),
        }
    }

    /// Who an action is about: named in it, or (a redaction) the sender of the message that
    /// caused it, read from the group's recent log.
    async fn who(&self, action: &ActionRecord) -> crate::Result<Option<String>> {
        if let Some(member) = member_of(&action.kind) {
            return Ok(Some(member.to_string()));
        }
        let Some(cause) = &action.cause else {
            return Ok(None);
        };
        let recent = self
            .ops
            .store
            .recent_events(self.workspace, &action.chat, 2_000)
            .await?;
        Ok(recent
            .iter()
            .find(|stored| &stored.event.key == cause)
            .and_then(|stored| stored.event.kind.member())
            .map(|member| member.0.clone()))
    }

    async fn request(&self, seq: i64) -> crate::Result<StoredEvent> {
        self.ops
            .store
            .pending_join_requests(self.workspace)
            .await?
            .into_iter()
            .find(|request| request.seq == seq)
            .ok_or(OpsError::NotFound("join request"))
    }

    async fn ban(&self, actor: &Actor, member: &str, why: &str) -> crate::Result<String> {
        let banned = self
            .ops
            .ban(
                actor,
                self.platform,
                BanTarget::User,
                member,
                &format!("管理群 back-room: {why}"),
            )
            .await?;
        Ok(if banned.new {
            format!("已拉黑 {member}，全品牌生效 banned brand-wide")
        } else {
            format!("{member} 已在黑名单 already banned")
        })
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            qunzhu_engine::health::beat();
            if let Err(error) = self.sync().await {
                tracing::error!(%error, "back-room round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_in_both_languages_and_nothing_else_is() {
        for (text, expected) in [
            (
                "撤销 #12",
                Some((Verb::Undo, Subject::Action(ActionId(12)))),
            ),
            ("undo 12", Some((Verb::Undo, Subject::Action(ActionId(12))))),
            ("Ban #3", Some((Verb::Ban, Subject::Action(ActionId(3))))),
            ("拉黑 ＃3", Some((Verb::Ban, Subject::Action(ActionId(3))))),
            ("通过 #J7", Some((Verb::Approve, Subject::Request(7)))),
            ("approve j7", Some((Verb::Approve, Subject::Request(7)))),
            ("ban", None),
            ("ban twelve", None),
            ("ban 12 please", None),
            ("undo the last one", None),
            ("大家好", None),
            ("", None),
        ] {
            assert_eq!(parse_command(text), expected, "{text}");
        }
    }

    #[tokio::test]
    async fn a_live_code_alert_reaches_the_back_room_once() {
        use chrono::TimeZone;
        use qunzhu_domain::FakeClock;
        use qunzhu_storage::{NewWorkspace, Store};
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("SQLite"));
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "w".into(),
                name: "w".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        let ops = Ops::new(store.clone(), Arc::new(FakeClock::new(now)));
        let alert = |kind: &str, minutes: i64| LiveCodeAlert {
            code: "spring".into(),
            kind: kind.into(),
            sequence: 3,
            message: "live code `spring`: all 2 groups are full".into(),
            at: now - Duration::minutes(minutes),
        };
        store
            .raise_livecode_alert(workspace, alert("full", 1))
            .await
            .unwrap();
        // Raised before the back-room's window (a day ago): left to the console.
        store
            .raise_livecode_alert(workspace, alert("spare_needed", 24 * 60))
            .await
            .unwrap();
        let door = Backroom::new(ops, workspace, Platform::Telegram, "-100admins".into());
        assert_eq!(door.sync().await.unwrap().posted, 1);
        assert_eq!(door.sync().await.unwrap().posted, 0, "posted once");
        let post = store
            .action_by_key(workspace, "backroom:livecode:spring:full:3")
            .await
            .unwrap();
        assert_eq!(post.chat, "-100admins");
        let ActionKind::SendMessage { text, .. } = post.kind else {
            panic!("a message");
        };
        assert!(
            text.starts_with("⚠ 活码群已满 live code full · spring\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_incident_is_posted_once_and_only_staff_are_obeyed() {
        use chrono::TimeZone;
        use qunzhu_domain::{Event, FakeClock, MessageKind};
        use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("SQLite"));
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "w".into(),
                name: "w".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        let ops = Ops::new(store.clone(), Arc::new(FakeClock::new(now)));
        let kick = NewAction {
            workspace,
            platform: Platform::Matrix,
            chat: "!group".into(),
            key: "rule:no-ads:$ad:kick".into(),
            kind: ActionKind::Kick {
                member: "@spam:x".into(),
                reason: "ads".into(),
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::parse("no-ads"),
            cause: Some("$ad".into()),
        };
        store.enqueue(vec![kick]).await.unwrap();
        let kicked = store
            .action_by_key(workspace, "rule:no-ads:$ad:kick")
            .await
            .unwrap();
        store
            .finish_action(
                kicked.id,
                qunzhu_storage::ActionOutcome::Done { receipt: None },
                now,
            )
            .await
            .unwrap();
        let mut door = Backroom::new(ops.clone(), workspace, Platform::Matrix, "!admins".into());
        door.staff = vec!["@lead:x".into()];
        assert_eq!(door.sync().await.unwrap().posted, 1);
        assert_eq!(door.sync().await.unwrap().posted, 0, "posted once");

        let say = |key: &str, member: &str, text: &str| NewEvent {
            event: Event {
                workspace,
                platform: Platform::Matrix,
                key: key.into(),
                chat: "!admins".into(),
                at: now,
                kind: EventKind::MessagePosted {
                    member: member.into(),
                    message_id: key.into(),
                    text: text.into(),
                    links: Vec::new(),
                    mentions: Vec::new(),
                    reply_to: None,
                    message_kind: MessageKind::Text,
                    from_bot: false,
                },
            },
            day: now.date_naive(),
        };
        let ban = format!("ban {}", kicked.id);
        store
            .ingest(
                IngestBatch {
                    events: vec![say("$c1", "@stranger:x", &ban), say("$c2", "@lead:x", &ban)],
                    cursor: None,
                },
                &mut |_| Vec::new(),
            )
            .await
            .unwrap();
        assert_eq!(door.sync().await.unwrap().answered, 2);
        let answer = |key: &str| {
            let store = store.clone();
            let key = qunzhu_domain::keys::backroom_reply(key);
            async move {
                match store.action_by_key(workspace, &key).await.unwrap().kind {
                    ActionKind::SendMessage { text, .. } => text,
                    other => panic!("{other:?}"),
                }
            }
        };
        assert!(answer("$c1").await.contains("not staff"));
        assert!(answer("$c2").await.contains("banned brand-wide"));
        let bans = store.bans(workspace).await.unwrap();
        assert_eq!(
            bans.iter()
                .map(|ban| ban.entity.as_str())
                .collect::<Vec<_>>(),
            ["@spam:x"]
        );
        // Read again by a fresh door (a restart): nothing answered or banned twice.
        let again = Backroom::new(ops, workspace, Platform::Matrix, "!admins".into());
        assert_eq!(again.sync().await.unwrap(), BackroomRound::default());
    }
}
