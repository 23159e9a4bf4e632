//! Live codes through the server: the console page shows a saved code in both languages with
//! its QR, the public page counts scans per channel, invites a visitor and says clearly when the
//! groups are full, an unknown code is a 404, and the QR comes as PNG and SVG.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use qunzhu_domain::Clock;
use qunzhu_ops::Actor;
use qunzhu_storage::UserRole;

use super::TestApp;

const CODE: &str = "title = \"春季训练营\"\nplatform = \"matrix\"\ngroups = [\"!a:hs\"]\ncap = 1\n";

async fn visit(app: &TestApp, path: &str, id: Option<&str>) -> super::Reply {
    let builder = Request::builder().uri(path);
    let request = match id {
        None => builder.method(Method::GET).body(Body::empty()),
        Some(id) => builder
            .method(Method::POST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "matrix_id={}",
                crate::html::url_part(id)
            ))),
    };
    app.send(request.unwrap()).await
}

#[tokio::test]
async fn a_live_code_is_shown_scanned_joined_and_full_with_a_clear_page() {
    let app = TestApp::new().await;
    let ops = qunzhu_ops::Ops::new(app.store.clone(), std::sync::Arc::new(app.clock.clone()));
    ops.save_livecode(&Actor::cli(app.a.ws), "spring", CODE)
        .await
        .unwrap();
    assert_eq!(
        visit(&app, "/j/nope", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        visit(&app, "/j/nope.png", None).await.status,
        StatusCode::NOT_FOUND
    );
    let scan = visit(&app, "/j/spring?lang=en&ch=store", None).await;
    assert_eq!(scan.status, StatusCode::OK);
    assert!(
        scan.body.contains("春季训练营") && scan.body.contains("Invite me"),
        "{}",
        scan.body
    );
    assert!(scan.body.contains("ch=store"), "the form keeps the channel");
    let sent = visit(&app, "/j/spring?lang=en&ch=store", Some("@v1:hs")).await;
    assert!(sent.body.contains("on its way"), "{}", sent.body);
    let full = visit(&app, "/j/spring?lang=zh&ch=xhs", Some("@v2:hs")).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(full.body.contains("群已满"), "{}", full.body);
    let png = visit(&app, "/j/spring.png", None).await;
    assert_eq!(png.headers[header::CONTENT_TYPE], "image/png");
    let svg = visit(&app, "/j/spring.svg", None).await;
    assert_eq!(svg.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(svg.body.contains("<svg"));

    let owner = app.session(UserRole::Owner, "aaa").await;
    for (lang, words) in [
        ("zh", "各渠道扫码与入群"),
        ("en", "Scans and joins per channel"),
    ] {
        let page = app.page(&owner, "/livecodes", lang).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(words), "{lang}: {}", page.body);
        assert!(page.body.contains("/j/spring.svg") && page.body.contains("data-alert=\"full\""));
        assert!(
            page.body.contains("aria-valuenow=\"1\""),
            "the group's seat is taken"
        );
    }
    let api = app
        .call(&owner, Method::GET, "/api/v1/livecodes", None)
        .await;
    let json = api.json();
    assert_eq!(json["codes"][0]["channels"][0]["channel"], "store");
    assert_eq!(json["codes"][0]["channels"][0]["joins"], 0);
    assert_eq!(json["alerts"][0]["kind"], "full");
    let bad = app
        .call(
            &owner,
            Method::PUT,
            "/api/v1/livecodes/spring",
            Some(serde_json::json!({ "source": "title = \"x\"\nplatform = \"matrix\"\ngroups = []\n" })),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("groups"), "{}", bad.body);
}

const TELEGRAM: &str =
    "title = \"春季训练营\"\nplatform = \"telegram\"\ngroups = [\"-100\", \"-200\"]\ncap = 1\n";

async fn open(app: &TestApp, path: &str, cookie: Option<&str>) -> super::Reply {
    let mut builder = Request::builder().uri(path).method(Method::GET);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    app.send(builder.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn a_telegram_visitor_is_seated_by_cookie_and_handed_the_groups_link() {
    let app = TestApp::new().await;
    let ops = qunzhu_ops::Ops::new(app.store.clone(), std::sync::Arc::new(app.clock.clone()));
    let ws = app.a.ws;
    ops.save_livecode(&Actor::cli(ws), "tg", TELEGRAM)
        .await
        .unwrap();
    // No dispatcher runs here: the page waits, then refreshes itself while the link is made.
    let first = open(&app, "/j/tg?lang=en&ch=store", None).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(
        first.body.contains("being made") && first.body.contains("http-equiv=\"refresh\""),
        "{}",
        first.body
    );
    assert!(
        !first.body.contains("matrix_id"),
        "no Matrix form for Telegram"
    );
    let cookie = first.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.starts_with("qz_lc=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let link = app
        .store
        .action_by_key(ws, "livecode:tg:link:-100:store")
        .await
        .unwrap();
    assert!(matches!(
        &link.kind,
        qunzhu_domain::ActionKind::CreateInviteLink { name, join_request: false, .. } if name == "lc:tg:store"
    ));
    app.store
        .finish_action(
            link.id,
            qunzhu_storage::ActionOutcome::Done {
                receipt: Some("https://t.me/+fake1".into()),
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    // The reload (same cookie) keeps the seat, counts no second scan and shows the link.
    let ready = open(&app, "/j/tg?lang=zh&ch=store", Some(&cookie)).await;
    assert!(
        ready.body.contains("href=\"https://t.me/+fake1\"")
            && ready.body.contains("在 Telegram 中加入"),
        "{}",
        ready.body
    );
    assert!(ready.headers.get(header::SET_COOKIE).is_none());
    // Another visitor goes to the second group; a third finds both full.
    let second = open(&app, "/j/tg?lang=en&ch=xhs", None).await;
    assert!(second.body.contains("being made"), "{}", second.body);
    assert!(app
        .store
        .action_by_key(ws, "livecode:tg:link:-200:xhs")
        .await
        .is_ok());
    let full = open(&app, "/j/tg?lang=en&ch=xhs", None).await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    let figures = app.store.channel_figures(ws, "tg").await.unwrap();
    let scans: Vec<(&str, u64, u64)> = figures
        .iter()
        .map(|row| (row.channel.as_str(), row.scans, row.seats))
        .collect();
    assert_eq!(scans, [("xhs", 2, 1), ("store", 1, 1)]);

    // The alert says in the console that it went nowhere else (no back-room ran).
    let owner = app.session(UserRole::Owner, "aaa").await;
    let page = app.page(&owner, "/livecodes", "en").await;
    assert!(
        page.body.contains("data-alert-route=\"console\""),
        "{}",
        page.body
    );
}
