//! Live codes 活码 on WeCom against the fake: a scan through each channel plans that channel's
//! join way, the keeper makes it (`add_join_way`, `scene` 2, the first five groups with room,
//! `state` the channel's name) and the page gets its QR image; customers joining through it are
//! attributed to the code and channel from `groupchat/get`'s `state`, and when a group fills the
//! way is rotated (`update_join_way`) past it, once.

mod support;

use std::sync::Arc;

use qunzhu_connector::Connector;
use qunzhu_domain::{Clock, EventKind, JoinVia};
use qunzhu_engine::{Decider, Ingestor, InviteTracker, Nothing};
use qunzhu_ops::{Actor, LinkJoin, Ops};
use qunzhu_storage::{NewWorkspace, Store};
use qunzhu_wecom::livecode_ways::JoinWayKeeper;
use qunzhu_wecom_fake::FakeWay;
use support::Rig;

const CODE: &str = "title = \"春季训练营\"\nplatform = \"wecom\"\ngroups = [\"wr1\", \"wr2\", \"wr3\", \"wr4\", \"wr5\", \"wr6\"]\ncap = 3\n";

fn way(rig: &Rig, state: &str) -> (String, FakeWay) {
    rig.fake.with(|world| {
        world
            .ways
            .iter()
            .find(|(_, way)| way.state == state)
            .map(|(id, way)| (id.clone(), way.clone()))
            .expect("the way exists")
    })
}

fn groups(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_ways_are_made_per_channel_attributed_and_rotated_past_full_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open(&dir.path().join("qunzhu.db")).unwrap());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let clock: Arc<dyn Clock> = Arc::new(rig.clock.clone());
    let now = rig.now();
    rig.fake.with(|world| {
        for chat in ["wr1", "wr2", "wr3", "wr4", "wr5", "wr6"] {
            world.create_group(chat, "zhangsan", chat, now);
        }
    });
    let decider: Arc<tokio::sync::Mutex<Box<dyn Decider>>> =
        Arc::new(tokio::sync::Mutex::new(Box::new(Nothing)));
    let ingestor = Ingestor::new(
        store.clone(),
        clock.clone(),
        chrono_tz::Asia::Shanghai,
        rig.connector.id(),
        decider,
    );
    ingestor.ingest(rig.poll().await).await.unwrap();

    let ops = Ops::new(store.clone(), clock.clone());
    let who = Actor::cli(workspace);
    ops.save_livecode(&who, "spring", CODE).await.unwrap();
    let target = ops.livecode_target("spring").await.unwrap();
    let token = "ab".repeat(16);
    for channel in ["store", "xhs"] {
        ops.count_scan_of(&target, Some(channel)).await.unwrap();
        assert!(matches!(
            ops.link_from_livecode(&target, &token, Some(channel))
                .await
                .unwrap(),
            LinkJoin::Preparing { .. }
        ));
    }
    let keeper = JoinWayKeeper {
        store: store.clone(),
        connector: rig.connector.clone(),
        clock: clock.clone(),
        workspace,
        every: std::time::Duration::from_secs(1),
        rotate_every: 1,
    };
    let round = keeper.run_once(true).await.unwrap();
    assert_eq!(round.made.len(), 2, "{round:?}");
    assert!(
        keeper.run_once(true).await.unwrap().made.is_empty(),
        "made once"
    );
    let (store_way, made) = way(&rig, "lc:spring:store");
    assert_eq!(made.chat_ids, groups(&["wr1", "wr2", "wr3", "wr4", "wr5"]));
    assert_eq!(rig.fake.with(|world| world.ways.len()), 2);
    let LinkJoin::Ready { url, .. } = ops
        .link_from_livecode(&target, &token, Some("store"))
        .await
        .unwrap()
    else {
        panic!("the way is made");
    };
    assert!(url.ends_with(&store_way), "{url}");

    // Three customers scan the store way: they land in wr1, attributed to the code's channel.
    for customer in ["wmA", "wmB", "wmC"] {
        let chat = rig
            .fake
            .with(|world| world.join_via_way(&store_way, customer, customer, now));
        assert_eq!(chat.as_deref(), Some("wr1"));
    }
    rig.fake.deliver_all(&rig.target).await;
    let batch = rig.poll().await;
    let joins: Vec<(String, JoinVia)> = batch
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::MemberJoined { member, via, .. } => Some((member.0.clone(), via.clone())),
            _ => None,
        })
        .collect();
    let through = JoinVia::Link {
        code: "lc:spring:store".into(),
    };
    assert_eq!(
        joins,
        [
            ("wmA".into(), through.clone()),
            ("wmB".into(), through.clone()),
            ("wmC".into(), through)
        ]
    );
    ingestor.ingest(batch).await.unwrap();
    let tracker = InviteTracker {
        store: store.clone(),
        workspace,
        batch: 500,
        every: std::time::Duration::from_secs(1),
    };
    tracker.run_once().await.unwrap();
    let view = ops
        .livecode_in(&who, "spring", "https://ops.example.com")
        .await
        .unwrap();
    let channels: Vec<(&str, u64, u64)> = view
        .channels
        .iter()
        .map(|row| (row.channel.as_str(), row.scans, row.joins))
        .collect();
    assert_eq!(channels, [("store", 1, 3), ("xhs", 1, 0)]);

    // wr1 is full now: both ways rotate past it to wr6, once.
    let round = keeper.run_once(true).await.unwrap();
    assert_eq!(round.rotated.len(), 2, "{round:?}");
    let (_, rotated) = way(&rig, "lc:spring:xhs");
    assert_eq!(
        rotated.chat_ids,
        groups(&["wr2", "wr3", "wr4", "wr5", "wr6"])
    );
    assert_eq!(rotated.updates, 1);
    assert!(keeper.run_once(true).await.unwrap().rotated.is_empty());
}
