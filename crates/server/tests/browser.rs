//! The console in a real browser: serves the router on 127.0.0.1:0 over a seeded in-memory store
//! and runs `node e2e/console.mjs URL LOGIN PASSWORD` (playwright-core driving Debian's
//! Chromium). Runs only when `QUNZHU_TEST_BROWSER=1`, which `scripts/test.sh` sets after
//! installing Chromium and running `npm ci` in `e2e/`. `node e2e/landing.mjs` does the same for
//! a landing page's phone capture at phone size, and the owner's masked view of it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, Utc};
use qunzhu_domain::{
    local_day, ActionKind, Clock, DocumentKind, Event, EventKind, JoinVia, MessageKind, NewAction,
    Platform, SystemClock, WorkspaceId,
};
use qunzhu_server::{create_user, router, AppState};
use qunzhu_storage::{GroupUpdate, IngestBatch, NewEvent, NewWorkspace, Store, UserRole};

const LOGIN: &str = "demo";
const PASSWORD: &str = "demo-password";

const RULES: &str = r#"# 广告与刷屏
[[rules]]
name = "ads"
kind = "keywords"
words = ["加微信", "代购", "兼职"]
ladder = ["redact+warn", "mute", "ban"]
"#;

/// A small community: three groups with a fortnight of chat, a join request, a bot ban.
async fn seed(store: &Arc<dyn Store>) -> WorkspaceId {
    let zone = chrono_tz::Asia::Shanghai;
    let ws = store
        .ensure_workspace(NewWorkspace {
            slug: "demo".into(),
            name: "演示品牌".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .expect("workspace")
        .id;
    let now = Utc::now();
    let groups = [
        ("!coffee:sandbox", "咖啡爱好者 1 群"),
        ("!checkin:sandbox", "21 天早起打卡"),
        ("!vip:sandbox", "VIP 会员群"),
    ];
    let mut events = Vec::new();
    let mut seq = 0;
    let mut push = |chat: &str, at: chrono::DateTime<Utc>, kind: EventKind| {
        seq += 1;
        events.push(NewEvent {
            event: Event {
                workspace: ws,
                platform: Platform::Sandbox,
                key: format!("e{seq}"),
                chat: chat.into(),
                at,
                kind,
            },
            day: local_day(at, zone),
        });
    };
    for (index, (chat, _)) in groups.iter().enumerate() {
        for person in 0..12 {
            let member = format!("@p{index}-{person}:sandbox");
            let joined = now - Duration::days(20 - person as i64);
            push(
                chat,
                joined,
                EventKind::MemberJoined {
                    member: member.clone().into(),
                    display_name: Some(format!("上海-用户{index}{person}")),
                    via: JoinVia::Direct,
                },
            );
            for day in 0..14 {
                if (person + day) % (index + 2) == 0 {
                    let at =
                        now - Duration::days(day as i64) - Duration::minutes(person as i64 * 7 + 5);
                    let text = if person == 3 && day == 1 {
                        "加微信领优惠".to_string()
                    } else {
                        format!("第 {day} 天打卡")
                    };
                    push(
                        chat,
                        at,
                        EventKind::MessagePosted {
                            member: member.clone().into(),
                            message_id: format!("m{index}-{person}-{day}"),
                            text,
                            links: vec![],
                            mentions: vec![],
                            reply_to: None,
                            message_kind: MessageKind::Text,
                            from_bot: false,
                        },
                    );
                }
            }
        }
    }
    push(
        groups[0].0,
        now - Duration::minutes(30),
        EventKind::JoinRequested {
            member: "@newbie:sandbox".into(),
            display_name: Some("AAA 推广".into()),
            reason: Some("想了解咖啡".into()),
        },
    );
    let mut decide = |event: &Event| match &event.kind {
        EventKind::MessagePosted { member, text, .. } if text.contains("加微信") => {
            vec![NewAction {
                workspace: event.workspace,
                platform: event.platform,
                chat: event.chat.clone(),
                key: format!("ban:{}", event.key),
                kind: ActionKind::Ban {
                    member: member.0.clone(),
                    reason: "广告".into(),
                },
                created_at: event.at,
                not_before: event.at,
                expires_at: None,
                dry_run: false,
                origin: qunzhu_domain::ActionOrigin::rule("ads"),
                cause: Some(event.key.clone()),
            }]
        }
        _ => vec![],
    };
    store
        .ingest(
            IngestBatch {
                events,
                cursor: None,
            },
            &mut decide,
        )
        .await
        .expect("ingest");
    for (chat, name) in groups {
        let group = store
            .ensure_group(ws, Platform::Sandbox, chat)
            .await
            .expect("group");
        let update = GroupUpdate {
            name: Some(name.into()),
            // The VIP group is nearly full, so the table shows its warning colour.
            capacity: Some(if chat == "!vip:sandbox" { 13 } else { 200 }),
            ..GroupUpdate::default()
        };
        store
            .update_group(ws, group.id, update)
            .await
            .expect("name group");
    }
    // A post a person must make today, a welcome (not moderation), a dry-run lurker removal.
    let action = |key: &str, chat: &str, origin: &str, kind: ActionKind, dry_run: bool| NewAction {
        workspace: ws,
        platform: Platform::Sandbox,
        chat: chat.into(),
        key: key.into(),
        kind,
        created_at: now - Duration::hours(1),
        not_before: now + Duration::minutes(20),
        expires_at: None,
        dry_run,
        origin: qunzhu_domain::ActionOrigin::parse(origin),
        cause: None,
    };
    store
        .enqueue(vec![
            action(
                "sop:e2e:task",
                groups[1].0,
                "sop:morning",
                ActionKind::PersonTask {
                    text: "【早安打卡】今天也一起早起吧！回复「打卡」参加。".into(),
                },
                false,
            ),
            action(
                "welcome:e2e",
                groups[0].0,
                "rule:welcome",
                ActionKind::SendMessage {
                    text: "欢迎新朋友！".into(),
                    html: None,
                    mentions: vec![],
                    reply_to: None,
                },
                false,
            ),
            action(
                "lurker:e2e:kick:@p2-0:sandbox",
                groups[2].0,
                "rule:lurker:default",
                ActionKind::Kick {
                    member: "@p2-0:sandbox".into(),
                    reason: "超过 30 天未发言".into(),
                },
                true,
            ),
        ])
        .await
        .expect("actions");
    // A 秒杀 running now with some items claimed, and a swap on the board, for /offers.
    let offer = store
        .create_offer(
            ws,
            qunzhu_storage::NewOffer {
                key: "offer:e2e".into(),
                spec: qunzhu_growth::flash_sale::OfferSpec {
                    title: "限量保温杯（晚八点秒杀）".into(),
                    platform: Platform::Sandbox,
                    chat: groups[0].0.into(),
                    keyword: "抢".into(),
                    stock: 10,
                    starts_at: now - Duration::minutes(5),
                    ends_at: now + Duration::minutes(25),
                    countdown_minutes: 30,
                    points: 100,
                    coupon: Some(qunzhu_growth::flash_sale::OfferCoupon {
                        offer: qunzhu_domain::CouponOffer::AmountOff { cents: 500 },
                        valid_days: Some(7),
                    }),
                },
                source: "title = \"限量保温杯\"".into(),
                origin: qunzhu_domain::ActionOrigin::parse("seed"),
                created_at: now - Duration::hours(1),
            },
        )
        .await
        .expect("offer");
    for member in ["@p0-1:sandbox", "@p0-2:sandbox", "@p0-3:sandbox"] {
        store
            .claim_offer(ws, offer.id, member, "chat:e2e", now)
            .await
            .expect("claim");
    }
    store
        .post_swap(
            ws,
            qunzhu_storage::NewSwap {
                key: "swap:e2e".into(),
                platform: Platform::Sandbox,
                chat: groups[0].0.into(),
                member: "@p0-4:sandbox".into(),
                have: "两张电影票".into(),
                want: "一本好书".into(),
                at: now - Duration::minutes(3),
            },
        )
        .await
        .expect("swap");
    store
        .put_document(ws, DocumentKind::Rules, "default", RULES, "seed", now)
        .await
        .expect("rules");
    create_user(store.as_ref(), ws, LOGIN, PASSWORD, UserRole::Owner)
        .await
        .expect("demo user");
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_works_in_a_real_browser() {
    if !qunzhu_storage_conformance::testing::require_browser() {
        return;
    }
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"));
    seed(&store).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let state = AppState {
        store,
        clock,
        base_url: format!("http://{address}"),
        secure_cookies: false,
    };
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let e2e = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
    let output = tokio::process::Command::new("node")
        .arg(e2e.join("console.mjs"))
        .args([
            format!("http://{address}"),
            LOGIN.to_string(),
            PASSWORD.to_string(),
        ])
        .output()
        .await
        .expect("node runs (install Node.js to run the browser test)");
    server.abort();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landing_page_phone_capture_works_in_a_real_browser() {
    if !qunzhu_storage_conformance::testing::require_browser() {
        return;
    }
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"));
    let ws = seed(&store).await;
    store
        .put_document(
            ws,
            DocumentKind::Landing,
            "spring",
            qunzhu_growth::landing::EXAMPLE,
            "seed",
            Utc::now(),
        )
        .await
        .expect("landing page");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let state = AppState {
        store,
        clock,
        base_url: format!("http://{address}"),
        secure_cookies: false,
    };
    let key = tempfile::tempdir().expect("key directory");
    let vault = qunzhu_ops::PhoneVault::open(None, key.path()).expect("phone key");
    let options = qunzhu_server::ServerOptions {
        phone_vault: Some(Arc::new(vault)),
        ..qunzhu_server::ServerOptions::default()
    };
    let app = qunzhu_server::router_with(state, options)
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let e2e = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
    let output = tokio::process::Command::new("node")
        .arg(e2e.join("landing.mjs"))
        .args([
            format!("http://{address}"),
            LOGIN.to_string(),
            PASSWORD.to_string(),
        ])
        .output()
        .await
        .expect("node runs (install Node.js to run the browser test)");
    server.abort();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the landing browser test failed:\n{stdout}"
    );
}
