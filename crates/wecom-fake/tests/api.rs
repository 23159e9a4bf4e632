//! The API client against the fake: an expired token is refreshed once and then a clear error,
//! 60020 names the trusted-IP list, 45009 and the client's own per-API window are rate limits,
//! and live codes rotate past full groups.

mod support;

use qunzhu_connector::ConnectorError;
use qunzhu_wecom_fake::FakeMember;
use serde_json::json;
use support::Rig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_cached_refreshed_once_and_errcodes_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::start(dir.path()).await;
    let now = rig.now();
    rig.fake
        .with(|world| world.create_group("wrT", "zhangsan", "T", now));
    let api = rig.connector.api().clone();
    let list = || api.post("externalcontact/groupchat/list", json!({"limit": 10}));
    list().await.unwrap();
    list().await.unwrap();
    assert_eq!(rig.fake.with(|world| world.tokens_issued), 1, "cached");

    // WeCom expired the token early (42001): refreshed once, the call goes through.
    rig.fake.with(|world| world.expire_tokens());
    list().await.unwrap();
    assert_eq!(rig.fake.with(|world| world.tokens_issued), 2);

    // Refused again right after a refresh: a clear error, no loop.
    rig.fake.with(|world| {
        world
            .fail_next
            .insert("externalcontact/groupchat/list".into(), vec![42001, 42001]);
    });
    let error = list().await.unwrap_err();
    assert!(
        matches!(&error, ConnectorError::Auth(text) if text.contains("refused again after a refresh")),
        "{error:?}"
    );

    rig.fake.with(|world| world.refuse_ip = true);
    let error = list().await.unwrap_err().to_string();
    assert!(
        error.contains("add this server's public IP to the app's 企业可信IP"),
        "{error}"
    );
    rig.fake.with(|world| world.refuse_ip = false);

    rig.fake.with(|world| {
        world
            .fail_next
            .insert("externalcontact/groupchat/list".into(), vec![45009]);
    });
    assert!(matches!(
        list().await.unwrap_err(),
        ConnectorError::RateLimited { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fakes_rate_limit_is_a_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::start(dir.path()).await;
    rig.fake.with(|world| world.per_minute = 2);
    let api = rig.connector.api().clone();
    let body = json!({"limit": 10});
    api.post("externalcontact/groupchat/list", body.clone())
        .await
        .unwrap();
    api.post("externalcontact/groupchat/list", body.clone())
        .await
        .unwrap();
    assert!(matches!(
        api.post("externalcontact/groupchat/list", body).await,
        Err(ConnectorError::RateLimited { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_code_rotates_past_full_groups() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::start_with(dir.path(), |config| config.room_full_at = 3).await;
    let now = rig.now();
    rig.fake.with(|world| {
        for chat in ["wr1", "wr2", "wr3"] {
            world.create_group(chat, "zhangsan", chat, now);
        }
        for index in 0..2 {
            let member = FakeMember {
                userid: format!("wm{index}"),
                kind: 2,
                join_time: now,
                join_scene: 3,
                invitor: None,
                state: None,
                name: String::new(),
            };
            world.add_member("wr1", member, 3, false, now);
        }
    });
    let way = rig
        .connector
        .add_join_way("rotating", &["wr1".to_string()], "")
        .await
        .unwrap();
    let candidates = vec!["wr2".to_string(), "wr3".to_string()];
    let rotated = rig
        .connector
        .rotate_join_way(&way.config_id, &candidates)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rotated.chat_ids,
        vec!["wr2", "wr3"],
        "wr1 has 3 members: full"
    );
    let seen = rig
        .fake
        .with(|world| world.ways[&way.config_id].chat_ids.clone());
    assert_eq!(seen, vec!["wr2", "wr3"]);
    assert!(rig
        .connector
        .rotate_join_way(&way.config_id, &candidates)
        .await
        .unwrap()
        .is_none());
    let error = rig
        .connector
        .add_join_way(&"长".repeat(31), &["wr2".to_string()], "")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("longer than 30"), "{error}");
}

const RULES: &str = r#"
[welcome.w]
template = "欢迎 {name} 加入{group}！自我介绍：{intro_template}"
window = "60s"
intro_template = "【姓名】【城市】"

[profiles.p]
default = true
welcome = "w"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_welcome_template_follows_the_rule_file() {
    use qunzhu_wecom::welcome::{template_text, WelcomeSync};
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::start(dir.path()).await;
    let rules = qunzhu_moderation::check(RULES, "rules.toml").unwrap();
    let welcome = rules.profiles[0].welcome.clone().unwrap();
    let text = template_text(&welcome);
    assert_eq!(text, "欢迎 %NICKNAME% 加入本群！自我介绍：【姓名】【城市】");
    let added = rig.connector.sync_welcome_template(&text).await.unwrap();
    let WelcomeSync::Added { template_id } = added else {
        panic!("{added:?}")
    };
    assert!(matches!(
        rig.connector.sync_welcome_template(&text).await.unwrap(),
        WelcomeSync::Unchanged { .. }
    ));
    let edited = rig
        .connector
        .sync_welcome_template("你好 %NICKNAME%")
        .await
        .unwrap();
    assert_eq!(
        edited,
        WelcomeSync::Edited {
            template_id: template_id.clone()
        }
    );
    let stored = rig.fake.with(|world| world.welcome.clone());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[&template_id], "你好 %NICKNAME%");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_store_share_one_token() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::start(dir.path()).await;
    let store: Arc<dyn qunzhu_storage::Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open(&dir.path().join("q.db")).unwrap());
    let clock: Arc<dyn qunzhu_domain::Clock> = Arc::new(rig.clock.clone());
    let make = || {
        qunzhu_wecom::Api::new(
            qunzhu_wecom::ApiConfig {
                base_url: rig.fake.base_url.clone(),
                corp_id: qunzhu_wecom_fake::CORP_ID.into(),
                secret: qunzhu_wecom_fake::SECRET.into(),
                limits: qunzhu_wecom::ApiLimits::default(),
            },
            Arc::new(qunzhu_wecom::StoreTokenCache::new(store.clone())),
            clock.clone(),
        )
        .unwrap()
    };
    let (first, second) = (make(), make());
    first.token().await.unwrap();
    second.token().await.unwrap();
    assert_eq!(rig.fake.with(|world| world.tokens_issued), 1);
    // Refreshed before expiry: 5 minutes before the 7200 s are up, a new one is fetched.
    rig.clock.advance(chrono::Duration::seconds(7200 - 299));
    let renewed = second.token().await.unwrap();
    assert_eq!(renewed, "tok2");
    assert_eq!(first.token().await.unwrap(), "tok2");
    assert_eq!(rig.fake.with(|world| world.tokens_issued), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_that_differ_from_qunzhus_counts_are_reported() {
    use chrono::TimeZone;
    use qunzhu_domain::{Event, EventKind, JoinVia, Platform, WorkspaceId};
    use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path()).await;
    let now = rig.now();
    rig.fake
        .with(|world| world.create_group("wrStat", "zhangsan", "S", now));
    rig.fake.lose_outgoing();
    rig.poll().await;
    rig.poll().await;
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    assert_eq!(workspace, WorkspaceId(1));
    let zone = chrono_tz::Asia::Shanghai;
    let today = rig.clock_now().with_timezone(&zone).date_naive();
    let join = Event {
        workspace,
        platform: Platform::WeCom,
        key: "wecom:wrStat:join:wmA:1".into(),
        chat: "wrStat".into(),
        at: rig.clock_now(),
        kind: EventKind::MemberJoined {
            member: "wmA".into(),
            display_name: None,
            via: JoinVia::Direct,
        },
    };
    store
        .ingest(
            IngestBatch {
                events: vec![NewEvent {
                    event: join,
                    day: today,
                }],
                cursor: None,
            },
            &mut |_| Vec::new(),
        )
        .await
        .unwrap();
    // qunzhu's side is the analytics rollups, which their consumer keeps from the log.
    qunzhu_storage::rollups::fold_new_events(&*store, workspace, zone, 100, &|_| false)
        .await
        .unwrap();
    let midnight = zone
        .from_local_datetime(&today.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .timestamp();
    rig.fake.with(|world| {
        world.statistics.insert(midnight, 2);
    });
    let report = qunzhu_wecom::stats::reconcile_statistics(
        &*store,
        &rig.connector,
        workspace,
        &zone,
        today,
        today,
        rig.clock_now(),
    )
    .await
    .unwrap();
    assert_eq!(report.days, 1);
    assert_eq!(report.differences.len(), 1);
    assert_eq!(
        (
            report.differences[0].wecom_new_members,
            report.differences[0].qunzhu_joins
        ),
        (2, 1)
    );
    assert!(dir.path().join("main-stats.json").exists());
    // The same difference is kept for the console and the API, not only logged.
    let kept = store
        .platform_counts(workspace, today, today)
        .await
        .unwrap();
    assert_eq!(
        kept.iter()
            .map(|row| (
                row.platform,
                row.day,
                row.platform_joins,
                row.qunzhu_joins,
                row.difference()
            ))
            .collect::<Vec<_>>(),
        vec![(Platform::WeCom, today, 2, 1, 1)]
    );
}
