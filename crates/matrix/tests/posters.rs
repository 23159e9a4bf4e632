//! A member asks for their poster on a real Synapse (`海报`): the bot fetches it from qunzhu's
//! own `/p/{code}.png`, uploads it to the media repository and posts an `m.image`, whose bytes
//! (downloaded as the member) are a PNG of the template's size; asking again the same day sends
//! nothing more, and the poster's code is registered as the member's invite code.

mod support;

use std::sync::Arc;

use qunzhu_connector::Connector;
use qunzhu_domain::invite::poster_code;
use qunzhu_domain::{Clock, Platform, SystemClock};
use qunzhu_engine::{Decider, DispatchConfig, Dispatcher, PosterRequests};
use qunzhu_server::{AppState, ServerOptions};
use qunzhu_storage::{NewWorkspace, Store};
use reqwest::Method;
use support::Server;

fn font() -> Option<Arc<qunzhu_poster::Font>> {
    let (path, index) = qunzhu_poster::DEFAULT_FONT_PATHS[0];
    match std::fs::read(path) {
        Ok(bytes) => Some(Arc::new(
            qunzhu_poster::Font::from_bytes(bytes, index).expect("font"),
        )),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{path} is missing; install fonts-noto-cjk")
        }
        Err(_) => {
            eprintln!("skipped: {path} is missing; install fonts-noto-cjk");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_asks_and_receives_their_poster_as_an_image() {
    let Some(server) = Server::relaxed() else {
        return;
    };
    let Some(font) = font() else { return };
    let (admin, alice, bot) = (
        server.user("admin").await,
        server.user("alice").await,
        server.user("bot").await,
    );
    let room = admin.create_room("12", "invite").await;
    for user in [&alice, &bot] {
        admin.invite(&room, &user.id).await;
        user.join(&room).await;
    }
    let connector = Arc::new(server.connector(&bot, &[], |_| {}).await);
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .expect("ws")
        .id;
    store
        .ensure_group(workspace, Platform::Matrix, &room)
        .await
        .expect("group");

    // qunzhu's own HTTP server, which the connector fetches the poster from.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    let router = qunzhu_server::router_with(
        AppState {
            store: store.clone(),
            clock: clock.clone(),
            base_url: base_url.clone(),
            secure_cookies: false,
        },
        ServerOptions {
            poster_font: Some(font),
            ..ServerOptions::default()
        },
    );
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .expect("serve")
    });

    let decider: Arc<tokio::sync::Mutex<Box<dyn Decider>>> =
        Arc::new(tokio::sync::Mutex::new(Box::new(PosterRequests {
            workspace,
            platform: Platform::Matrix,
            enabled: connector.capabilities().send_images,
            keywords: qunzhu_engine::posters::default_keywords(),
            base_url,
            zone: chrono_tz::Asia::Shanghai,
        })));
    let ingestor = qunzhu_engine::Ingestor::new(
        store.clone(),
        clock.clone(),
        chrono_tz::Asia::Shanghai,
        connector.id(),
        decider,
    );
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        clock.clone(),
        DispatchConfig::default(),
    );
    let mut cursor = None;
    for _ in 0..2 {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        ingestor.ingest(batch).await.expect("ingest");
    }

    alice.say(&room, "海报").await;
    alice.say(&room, "poster").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        cursor = batch.cursor.clone().or(cursor);
        let saw_second = batch.events.iter().any(|event| {
            matches!(&event.kind, qunzhu_domain::EventKind::MessagePosted { text, .. } if text == "poster")
        });
        ingestor.ingest(batch).await.expect("ingest");
        if saw_second {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the bot did not hear both asks"
        );
    }
    let round = dispatcher.run_once().await.expect("dispatch");
    assert_eq!(
        round.done, 1,
        "two asks on one day are one poster: {round:?}"
    );

    // What alice sees: one m.image, whose file is the poster.
    let path = format!(
        "/_matrix/client/v3/rooms/{}/messages?dir=b&limit=100",
        qunzhu_matrix::encode(&room)
    );
    let answer = alice.call(Method::GET, &path, None).await;
    let images: Vec<&serde_json::Value> = answer["chunk"]
        .as_array()
        .expect("chunk")
        .iter()
        .filter(|event| event["content"]["msgtype"] == "m.image")
        .collect();
    assert_eq!(images.len(), 1, "{answer:#}");
    let content = &images[0]["content"];
    assert_eq!(content["info"]["mimetype"], "image/png");
    assert_eq!(
        (content["info"]["w"].as_u64(), content["info"]["h"].as_u64()),
        (Some(750), Some(1334))
    );
    let uri = content["url"].as_str().expect("mxc uri");
    let media = uri.strip_prefix("mxc://").expect("mxc");
    // Authenticated media (Matrix 1.11), or the older unauthenticated path on older servers.
    let http = reqwest::Client::new();
    let mut bytes = Vec::new();
    for path in [
        "/_matrix/client/v1/media/download/",
        "/_matrix/media/v3/download/",
    ] {
        let response = http
            .get(format!("{}{path}{media}", server.url))
            .bearer_auth(&alice.token)
            .send()
            .await
            .expect("download");
        if response.status().is_success() {
            bytes = response.bytes().await.expect("bytes").to_vec();
            break;
        }
    }
    let image = qunzhu_poster::decode(&bytes).expect("a valid PNG");
    assert_eq!((image.width, image.height), (750, 1334));
    let bodies = alice.bodies(&room).await;
    assert!(
        bodies
            .iter()
            .any(|body| body.starts_with("这是你的专属邀请海报")),
        "{bodies:?}"
    );

    // The poster's code is now alice's invite code: joins through /i/{code} count for her.
    let code = poster_code(workspace, Platform::Matrix, &alice.id);
    let known = store
        .invite_code(workspace, &code)
        .await
        .expect("registered");
    assert_eq!(known.member, alice.id);
}
