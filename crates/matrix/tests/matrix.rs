//! The Matrix connector against a real Synapse, asserting what another user observes.

mod support;

use chrono::Utc;
use qunzhu_connector::{Connector, ConnectorError};
use qunzhu_domain::{
    ActionKind, ActionRecord, ActionStatus, Event, EventKind, LeaveHow, Platform, WorkspaceId,
};
use support::{poll_until, Server, User};

fn action(room: &str, key: &str, kind: ActionKind) -> ActionRecord {
    let now = Utc::now();
    ActionRecord {
        id: qunzhu_domain::ActionId(1),
        workspace: WorkspaceId(1),
        platform: Platform::Matrix,
        chat: room.into(),
        key: key.into(),
        kind,
        origin: qunzhu_domain::ActionOrigin::parse("test"),
        cause: None,
        status: ActionStatus::InFlight,
        attempts: 0,
        created_at: now,
        not_before: now,
        next_attempt_at: now,
        expires_at: None,
        done_at: None,
        last_error: None,
        receipt: None,
    }
}

fn say(text: &str) -> ActionKind {
    ActionKind::SendMessage {
        text: text.into(),
        html: None,
        mentions: vec![],
        reply_to: None,
    }
}

/// A room with an admin, a member and the bot (joined on the admin's invitation).
async fn room_with_bot(
    server: &Server,
    version: &str,
    join_rule: &str,
) -> (
    User,
    User,
    User,
    qunzhu_matrix::MatrixConnector,
    String,
    Option<String>,
    Vec<Event>,
) {
    let (admin, alice, bot) = (
        server.user("admin").await,
        server.user("alice").await,
        server.user("bot").await,
    );
    let room = admin.create_room(version, join_rule).await;
    admin.invite(&room, &alice.id).await;
    alice.join(&room).await;
    let connector = server.connector(&bot, &[&admin], |_| {}).await;
    let mut cursor = None;
    let mut seen = Vec::new();
    poll_until(&connector, &mut cursor, &mut seen, |_| true).await;
    admin.invite(&room, &bot.id).await;
    let (admin_id, alice_id) = (admin.id.clone(), alice.id.clone());
    poll_until(&connector, &mut cursor, &mut seen, |events| {
        let present = |who: &str| events.iter().any(|event| matches!(&event.kind, EventKind::MemberPresent { member, .. } if member == who));
        present(&admin_id) && present(&alice_id)
    })
    .await;
    (admin, alice, bot, connector, room, cursor, seen)
}

#[tokio::test]
async fn invited_bot_joins_and_records_existing_members_once() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, alice, bot, _connector, room, _cursor, seen) =
        room_with_bot(&server, "11", "invite").await;
    assert!(
        admin.joined_members(&room).await.contains(&bot.id),
        "the admin sees the bot in the room"
    );
    let present: Vec<&str> = seen
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::MemberPresent { member, .. } if event.chat == room => Some(member.as_str()),
            _ => None,
        })
        .collect();
    assert!(present.contains(&admin.id.as_str()) && present.contains(&alice.id.as_str()));
    assert_eq!(
        present.iter().filter(|member| **member == alice.id).count(),
        1
    );
    assert!(!seen.iter().any(|event| matches!(event.kind, EventKind::MemberJoined { .. }) && event.chat == room), "existing members are not joins");
}

#[tokio::test]
async fn joins_leaves_and_kicks_by_a_human_become_events_once_each() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, _alice, _bot, connector, room, mut cursor, _) =
        room_with_bot(&server, "12", "public").await;
    let (carol, dave) = (server.user("carol").await, server.user("dave").await);
    carol.join(&room).await;
    carol.leave(&room).await;
    dave.join(&room).await;
    admin.kick(&room, &dave.id).await;
    let mut seen = Vec::new();
    let dave_id = dave.id.clone();
    poll_until(&connector, &mut cursor, &mut seen, |events| {
        events.iter().any(|event| matches!(&event.kind, EventKind::MemberLeft { member, how: LeaveHow::Kicked, .. } if *member == dave_id))
    })
    .await;
    let mine: Vec<(String, String)> = seen
        .iter()
        .filter(|event| event.chat == room)
        .filter_map(|event| {
            event
                .kind
                .member()
                .map(|member| (event.kind.name().to_string(), member.to_string()))
        })
        .collect();
    let expected = vec![
        ("member_joined".to_string(), carol.id.clone()),
        ("member_left".to_string(), carol.id.clone()),
        ("member_joined".to_string(), dave.id.clone()),
        ("member_left".to_string(), dave.id.clone()),
    ];
    assert_eq!(mine, expected);
    let kicked = seen.iter().find(|event| matches!(&event.kind, EventKind::MemberLeft { member, .. } if *member == dave.id)).expect("kick");
    assert_eq!(
        kicked.kind,
        EventKind::MemberLeft {
            member: dave.id.clone().into(),
            how: LeaveHow::Kicked,
            by: Some(admin.id.clone())
        }
    );
}

#[tokio::test]
async fn a_send_retried_after_a_crash_is_seen_once() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (_admin, alice, _bot, connector, room, _cursor, _) =
        room_with_bot(&server, "11", "invite").await;
    let send = action(
        &room,
        "sop:daily:morning:g:2026-11-24T00:00:00Z",
        say("☀️ 早安！今天的早报"),
    );
    let first = connector.execute(&send).await.expect("send");
    let again = connector.execute(&send).await.expect("send again");
    assert_eq!(first, again, "the same transaction id gives the same event");
    let bodies = alice.bodies(&room).await;
    assert_eq!(
        bodies
            .iter()
            .filter(|body| body.as_str() == "☀️ 早安！今天的早报")
            .count(),
        1,
        "{bodies:?}"
    );
}

#[tokio::test]
async fn the_bot_kicks_and_redacts_with_effects_others_see_and_explains_missing_power() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, alice, bot, connector, room, _cursor, _) =
        room_with_bot(&server, "12", "invite").await;
    let spam = alice.say(&room, "加我微信 http://spam.example").await;
    let kick = action(
        &room,
        "mod:kick:1",
        ActionKind::Kick {
            member: alice.id.clone(),
            reason: "广告".into(),
        },
    );
    let refused = connector.execute(&kick).await.expect_err("no power yet");
    assert_eq!(
        refused,
        ConnectorError::Permanent(format!("cannot kick in {room}: bot power 0 < kick 50"))
    );
    admin.set_power(&room, &bot.id, 50).await;
    let redact = action(
        &room,
        "mod:redact:1",
        ActionKind::Redact {
            message_id: spam.clone(),
            reason: "广告".into(),
        },
    );
    connector.execute(&redact).await.expect("redact");
    let event = admin.event(&room, &spam).await;
    assert_eq!(
        event["content"],
        serde_json::json!({}),
        "the admin sees the message emptied: {event}"
    );
    connector.execute(&kick).await.expect("kick");
    assert!(
        !admin.joined_members(&room).await.contains(&alice.id),
        "the admin sees alice gone"
    );
}

#[tokio::test]
async fn a_restarted_bot_records_what_happened_while_it_was_down_exactly_once() {
    use qunzhu_storage::{EventLog, IngestBatch, NewEvent};
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, alice, bot, connector, room, cursor, seen) =
        room_with_bot(&server, "11", "public").await;
    let store = qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store");
    let id = connector.id().to_string();
    let to_new = |events: Vec<Event>| {
        events
            .into_iter()
            .map(|event| NewEvent {
                day: event.at.date_naive(),
                event,
            })
            .collect()
    };
    let mut nothing = |_: &Event| Vec::new();
    let batch = IngestBatch {
        events: to_new(seen),
        cursor: cursor.map(|cursor| (id.clone(), cursor)),
    };
    store.ingest(batch, &mut nothing).await.expect("ingest");
    drop(connector);

    // While the bot is down: five things happen.
    let carol = server.user("carol").await;
    alice.say(&room, "一").await;
    alice.say(&room, "二").await;
    carol.join(&room).await;
    carol.leave(&room).await;
    admin.say(&room, "三").await;

    let restarted = server.connector(&bot, &[&admin], |_| {}).await;
    let mut cursor = store.cursor(&id).await.expect("cursor");
    assert!(cursor.is_some(), "the cursor was stored with the events");
    let before = store.log_stats().await.expect("stats").events;
    let mut seen = Vec::new();
    poll_until(&restarted, &mut cursor, &mut seen, |events| {
        events.iter().filter(|event| event.chat == room).count() >= 5
    })
    .await;
    let report = store
        .ingest(
            IngestBatch {
                events: to_new(seen.clone()),
                cursor: None,
            },
            &mut nothing,
        )
        .await
        .expect("ingest");
    assert_eq!(
        report.appended,
        5,
        "{:#?}",
        seen.iter().map(|event| &event.kind).collect::<Vec<_>>()
    );
    let again = store
        .ingest(
            IngestBatch {
                events: to_new(seen),
                cursor: None,
            },
            &mut nothing,
        )
        .await
        .expect("ingest");
    assert_eq!(
        (again.appended, again.duplicates),
        (0, 5),
        "a redelivery is a counted no-op"
    );
    assert_eq!(store.log_stats().await.expect("stats").events, before + 5);
}

#[tokio::test]
async fn power_levels_are_set_on_v11_and_v12_rooms_without_listing_v12_creators() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    for version in ["11", "12"] {
        let (admin, alice, bot, connector, room, _cursor, _) =
            room_with_bot(&server, version, "invite").await;
        admin.set_power(&room, &bot.id, 100).await;
        let promote = action(
            &room,
            &format!("pl:{version}"),
            ActionKind::SetPowerLevel {
                member: alice.id.clone(),
                level: 50,
            },
        );
        connector
            .execute(&promote)
            .await
            .unwrap_or_else(|error| panic!("v{version}: {error}"));
        let levels = admin.power_levels(&room).await;
        assert_eq!(levels["users"][&alice.id], 50, "v{version}: {levels}");
        if version == "12" {
            assert!(
                levels["users"].get(&admin.id).is_none(),
                "the v12 creator is never listed: {levels}"
            );
            let creator = action(
                &room,
                "pl:creator",
                ActionKind::SetPowerLevel {
                    member: admin.id.clone(),
                    level: 50,
                },
            );
            let refused = connector
                .execute(&creator)
                .await
                .expect_err("creators hold implicit power");
            assert!(refused.to_string().contains("implicit power"), "{refused}");
        }
    }
}

#[tokio::test]
async fn a_knock_is_a_join_request_and_approval_lets_the_member_in() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let (admin, _alice, bot, connector, room, mut cursor, _) =
        room_with_bot(&server, "12", "knock").await;
    admin.set_power(&room, &bot.id, 50).await;
    let erin = server.user("erin").await;
    erin.knock(&room).await;
    let mut seen = Vec::new();
    let erin_id = erin.id.clone();
    poll_until(&connector, &mut cursor, &mut seen, |events| {
        events.iter().any(|event| matches!(&event.kind, EventKind::JoinRequested { member, .. } if *member == erin_id))
    })
    .await;
    let approve = action(
        &room,
        "review:1",
        ActionKind::DecideJoinRequest {
            member: erin.id.clone(),
            approve: true,
            reason: "ok".into(),
        },
    );
    connector.execute(&approve).await.expect("approve");
    erin.join(&room).await;
    poll_until(&connector, &mut cursor, &mut seen, |events| {
        events.iter().any(|event| matches!(&event.kind, EventKind::MemberJoined { member, via: qunzhu_domain::JoinVia::KnockApproved { .. }, .. } if *member == erin_id))
    })
    .await;
    assert!(admin.joined_members(&room).await.contains(&erin.id));
}

#[tokio::test]
async fn a_wrong_password_or_a_revoked_token_is_one_clear_error() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let bot = server.user("bot").await;
    let config = |password: &str, token: &str| qunzhu_matrix::MatrixConfig {
        enabled: true,
        homeserver: server.url.clone(),
        user_id: bot.id.clone(),
        password: qunzhu_matrix::Secret::new(password),
        access_token: qunzhu_matrix::Secret::new(token),
        ..qunzhu_matrix::MatrixConfig::default()
    };
    let wrong = qunzhu_matrix::MatrixConnector::connect(config("wrong", ""), WorkspaceId(1))
        .await
        .expect_err("wrong password");
    assert_eq!(
        wrong,
        ConnectorError::Auth(format!("wrong password for {} on {}", bot.id, server.url))
    );
    let revoked =
        qunzhu_matrix::MatrixConnector::connect(config("", "syt_not_a_token"), WorkspaceId(1))
            .await
            .expect_err("bad token");
    assert!(
        matches!(&revoked, ConnectorError::Auth(message) if message.starts_with("M_UNKNOWN_TOKEN")),
        "{revoked}"
    );
    let right = qunzhu_matrix::MatrixConnector::connect(config(&bot.password, ""), WorkspaceId(1))
        .await
        .expect("right password");
    assert_eq!(right.bot(), bot.id);
}
