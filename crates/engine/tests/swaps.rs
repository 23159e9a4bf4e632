//! The swap board (换) from chat on real stores: offers posted with 有X换Y get their numbers,
//! the board is listed on request, an accept closes the offer and the taker's mirror offer once,
//! a second accept hears it is gone, and a restart (the watermark) answers nothing again.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    keys, ActionKind, Event, EventKind, FakeClock, MessageKind, Platform, WorkspaceId,
};
use qunzhu_engine::SwapDesk;
use qunzhu_growth::swap::SwapState;
use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T20:00:00+08:00")
        .map(|at| at.to_utc())
        .unwrap()
}

fn said(workspace: WorkspaceId, key: &str, minute: i64, member: &str, text: &str) -> NewEvent {
    let at = start() + Duration::minutes(minute);
    NewEvent {
        day: qunzhu_domain::local_day(at, chrono_tz::Asia::Shanghai),
        event: Event {
            workspace,
            platform: Platform::Sandbox,
            key: key.into(),
            chat: "g".into(),
            at,
            kind: EventKind::MessagePosted {
                member: member.into(),
                message_id: format!("${key}"),
                text: text.into(),
                links: Vec::new(),
                mentions: Vec::new(),
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: false,
            },
        },
    }
}

async fn story(store: Arc<dyn Store>) {
    let ws = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    let events = vec![
        said(ws, "e1", 1, "@a", "有猫粮换狗粮"),
        said(ws, "e2", 2, "@b", "有狗粮换猫粮"),
        said(ws, "e3", 3, "@c", "换物墙"),
        said(ws, "e4", 4, "@a", "换 #1"),
        said(ws, "e5", 5, "@b", "换 #1"),
        said(ws, "e6", 6, "@c", "换 #2"),
        said(ws, "e7", 7, "@c", "换物墙"),
        said(ws, "e8", 7, "@c", "今天天气不错"),
    ];
    store
        .ingest(
            IngestBatch {
                events,
                cursor: None,
            },
            &mut |_| Vec::new(),
        )
        .await
        .unwrap();
    let desk = SwapDesk {
        store: store.clone(),
        workspace: ws,
        clock: Arc::new(FakeClock::new(start() + Duration::minutes(8))),
        ttl: Duration::days(3),
        batch: 3,
        every: std::time::Duration::from_millis(10),
    };
    assert_eq!(desk.run_once().await.unwrap(), 7);
    let reply = |event: &str| {
        let store = store.clone();
        let key = keys::swap_reply(event);
        async move {
            match store.action_by_key(ws, &key).await.unwrap().kind {
                ActionKind::SendMessage { text, .. } => text,
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(
        reply("e1").await,
        "已挂上换物墙 #1：有猫粮换狗粮（3 天内有效，其他人回复「换 #1」即可交换）"
    );
    assert_eq!(
        reply("e3").await,
        "🔄 换物墙（回复「换 #编号」即可交换）：\n#1 有猫粮换狗粮\n#2 有狗粮换猫粮"
    );
    assert_eq!(reply("e4").await, "不能换自己发布的 #1");
    assert_eq!(
        reply("e5").await,
        "✅ #1 交换成功：@a 的「猫粮」⇄ @b 的「狗粮」，请两位私下联系完成交换。"
    );
    assert_eq!(
        reply("e6").await,
        "#2 已经换掉或撤回了",
        "the taker's mirror closed with #1"
    );
    assert_eq!(reply("e7").await, "🔄 换物墙还空着。发「有X换Y」挂一条吧！");
    assert!(store
        .action_by_key(ws, &keys::swap_reply("e8"))
        .await
        .is_err());
    let board = store
        .group_swaps(ws, Platform::Sandbox, "g", start())
        .await
        .unwrap();
    assert_eq!(
        board[0].state,
        SwapState::Swapped {
            with: "@b".into(),
            at: start() + Duration::minutes(5),
            pair: Some(2)
        }
    );
    assert_eq!(desk.run_once().await.unwrap(), 0, "the watermark kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_on_sqlite() {
    story(Arc::new(
        qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_on_postgres() {
    let Some(base) = qunzhu_storage_conformance::testing::require_postgres() else {
        return;
    };
    let (url, _guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .unwrap();
    story(Arc::new(
        qunzhu_storage_postgres::PostgresStore::connect(&url)
            .await
            .unwrap(),
    ))
    .await;
}
