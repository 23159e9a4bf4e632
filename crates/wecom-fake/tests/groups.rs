//! Customer groups against the fake WeCom: attribution through join ways, gap recovery,
//! retried callbacks recorded once, leaves with their reason, renames and dismissals.

mod support;

use qunzhu_domain::{EventKind, JoinVia, LeaveHow};
use qunzhu_wecom_fake::FakeMember;
use support::Rig;

fn joined(batch: &qunzhu_connector::Batch) -> Vec<(String, JoinVia)> {
    batch
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::MemberJoined { member, via, .. } => Some((member.0.clone(), via.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_through_a_join_way_is_attributed_to_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let now = rig.now();
    rig.fake
        .with(|world| world.create_group("wrSpring", "zhangsan", "春季群", now));
    rig.fake.lose_outgoing();

    // First poll: reconciliation finds the group; its members are present, not joins.
    let first = rig.poll().await;
    assert!(
        matches!(&first.events[..], [event] if matches!(&event.kind, EventKind::MemberPresent { member, .. } if member == "zhangsan"))
    );

    let way = rig
        .connector
        .add_join_way("poster_spring", &["wrSpring".to_string()], "spring poster")
        .await
        .unwrap();
    assert_eq!(way.state, "poster_spring");
    assert!(way.qr_code.starts_with("https://"));

    let chat = rig
        .fake
        .with(|world| world.join_via_way(&way.config_id, "wmCustomer1", "小王", now));
    assert_eq!(chat.as_deref(), Some("wrSpring"));
    let deliveries = rig.fake.deliver_all(&rig.target).await;
    assert!(deliveries
        .iter()
        .all(|delivery| delivery.tries == 1 && delivery.accepted()));

    let batch = rig.poll().await;
    assert_eq!(
        joined(&batch),
        vec![(
            "wmCustomer1".to_string(),
            JoinVia::Link {
                code: "poster_spring".into()
            }
        )]
    );
    assert_eq!(rig.connector.gaps().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_callback_is_recovered_through_the_member_version_gap() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let now = rig.now();
    rig.fake
        .with(|world| world.create_group("wrA", "zhangsan", "A", now));
    rig.fake.lose_outgoing();
    rig.poll().await;
    rig.poll().await;

    // WeCom loses the first join's callback; the second one's LastMemVer gives it away.
    rig.fake.with(|world| {
        let member = FakeMember {
            userid: "wmLost".into(),
            kind: 2,
            join_time: now + 1,
            join_scene: 1,
            invitor: Some("zhangsan".into()),
            state: None,
            name: "lost".into(),
        };
        world.add_member("wrA", member, 0, false, now + 1);
        let member = FakeMember {
            userid: "wmSeen".into(),
            kind: 2,
            join_time: now + 2,
            join_scene: 3,
            invitor: None,
            state: Some("flyer".into()),
            name: "seen".into(),
        };
        world.add_member("wrA", member, 3, true, now + 2);
    });
    rig.fake.deliver_all(&rig.target).await;
    let batch = rig.poll().await;
    let mut found = joined(&batch);
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        found,
        vec![
            (
                "wmLost".to_string(),
                JoinVia::Invited {
                    by: "zhangsan".into()
                }
            ),
            (
                "wmSeen".to_string(),
                JoinVia::Link {
                    code: "flyer".into()
                }
            ),
        ]
    );
    rig.poll().await;
    assert_eq!(rig.connector.gaps().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_callback_is_recorded_once_and_leaves_say_how() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let now = rig.now();
    rig.fake.with(|world| {
        world.create_group("wrB", "zhangsan", "B", now);
        for name in ["wmStays", "wmQuits", "wmRemoved"] {
            let member = FakeMember {
                userid: name.into(),
                kind: 2,
                join_time: now,
                join_scene: 1,
                invitor: Some("zhangsan".into()),
                state: None,
                name: name.into(),
            };
            world.add_member("wrB", member, 0, false, now);
        }
    });
    rig.fake.lose_outgoing();
    rig.poll().await;
    rig.poll().await;

    rig.fake.with(|world| {
        world.leave("wrB", "wmQuits", false, true, now + 5);
        world.leave("wrB", "wmRemoved", true, true, now + 6);
    });
    let queued = rig.fake.with(|world| world.take_outgoing());
    for plain in &queued {
        // WeCom retries when it thinks an answer got lost: same event, fresh encryption.
        assert!(rig.fake.deliver(&rig.target, plain).await.accepted());
        assert!(rig.fake.deliver(&rig.target, plain).await.accepted());
    }
    assert_eq!(rig.connector.duplicate_callbacks(), 2);
    let batch = rig.poll().await;
    let leaves: Vec<(String, LeaveHow)> = batch
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::MemberLeft { member, how, .. } => Some((member.0.clone(), *how)),
            _ => None,
        })
        .collect();
    assert_eq!(
        leaves,
        vec![
            ("wmQuits".to_string(), LeaveHow::Left),
            ("wmRemoved".to_string(), LeaveHow::Kicked)
        ]
    );

    // Renamed, then dismissed: both reach the log.
    rig.fake.with(|world| {
        world.rename("wrB", "B 二群", now + 7);
    });
    rig.fake.deliver_all(&rig.target).await;
    let renamed = rig.poll().await;
    assert!(renamed.events.iter().any(
        |event| matches!(&event.kind, EventKind::GroupRenamed { name, .. } if name == "B 二群")
    ));
    rig.fake.with(|world| {
        world.change_owner("wrB", "lisi", now + 8);
        world.change_notice("wrB", "本周六线下活动", now + 8);
    });
    rig.fake.deliver_all(&rig.target).await;
    let changed = rig.poll().await;
    let kinds: Vec<&EventKind> = changed.events.iter().map(|event| &event.kind).collect();
    assert!(
        kinds.contains(&&EventKind::GroupOwnerChanged {
            owner: "lisi".into()
        }),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&&EventKind::GroupTopicChanged {
            topic: "本周六线下活动".into()
        }),
        "{kinds:?}"
    );
    rig.fake.with(|world| world.dismiss("wrB", now + 9));
    rig.fake.deliver_all(&rig.target).await;
    let dismissed = rig.poll().await;
    assert!(dismissed
        .events
        .iter()
        .any(|event| event.kind == EventKind::GroupDismissed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncommitted_batch_is_derived_again_with_the_same_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let now = rig.now();
    rig.fake
        .with(|world| world.create_group("wrC", "zhangsan", "C", now));
    rig.fake.lose_outgoing();
    rig.poll().await;
    rig.poll().await;
    let way = rig
        .connector
        .add_join_way("qr_c", &["wrC".to_string()], "")
        .await
        .unwrap();
    rig.fake
        .with(|world| world.join_via_way(&way.config_id, "wmX", "x", now + 3));
    rig.fake.deliver_all(&rig.target).await;
    let before = rig.cursor.clone();
    let first = rig.poll().await;
    assert_eq!(joined(&first).len(), 1);
    // The engine died before storing that batch: it polls again with its old cursor.
    rig.cursor = before;
    let again = rig.poll().await;
    assert_eq!(first.events, again.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_tries_three_times_when_no_answer_comes_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::start(dir.path()).await;
    // A server that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let mut target = qunzhu_wecom_fake::CallbackTarget::new(format!("http://{address}/hooks"));
    target.answer_within = std::time::Duration::from_millis(200);
    let delivery = rig.fake.deliver(&target, "<xml/>").await;
    assert_eq!(delivery.tries, 3);
    assert_eq!(delivery.statuses, vec![0, 0, 0]);
    assert!(!delivery.accepted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_change_is_read_back_only_after_the_settling_delay() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start_with(dir.path(), |config| config.settle_ms = 2_000).await;
    let now = rig.now();
    rig.fake
        .with(|world| world.create_group("wrSettle", "zhangsan", "settle", now));
    rig.fake.lose_outgoing();
    rig.poll().await;
    rig.poll().await;
    let way = rig
        .connector
        .add_join_way("settle_code", &["wrSettle".to_string()], "")
        .await
        .unwrap();
    rig.fake
        .with(|world| world.join_via_way(&way.config_id, "wmLate", "late", now));
    rig.fake.deliver_all(&rig.target).await;
    let early = rig.poll().await;
    assert!(joined(&early).is_empty(), "not before WeCom settles");
    let still = rig.poll().await;
    assert!(joined(&still).is_empty());
    rig.clock.advance(chrono::Duration::seconds(3));
    let settled = rig.poll().await;
    assert_eq!(
        joined(&settled),
        vec![(
            "wmLate".to_string(),
            JoinVia::Link {
                code: "settle_code".into()
            }
        )]
    );
}
