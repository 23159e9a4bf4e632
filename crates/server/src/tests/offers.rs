//! 秒杀 through the API and the console: a document with a mistake is answered with its line and
//! column (API and page, the typed document kept), a good one is created once per request id
//! with its posts queued, the shop claims for a member (one item, then `409 already_claimed`),
//! an unknown member is not found, and the pages show the stock left in both languages.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use qunzhu_domain::{keys, Clock};
use qunzhu_storage::UserRole;
use serde_json::json;

use super::TestApp;

fn document(app: &TestApp, chat: &str, stock: u32) -> String {
    let local = |at: chrono::DateTime<chrono::Utc>| {
        at.with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let now = app.clock.now();
    format!(
        "title = \"保温杯 aaa\"\nplatform = \"sandbox\"\ngroup = \"{chat}\"\nkeyword = \"抢\"\nstock = {stock}\nstarts = \"{}\"\nends = \"{}\"\npoints = 0\ncoupon = {{ offer = {{ type = \"amount_off\", cents = 500 }} }}\n",
        local(now - Duration::minutes(1)),
        local(now + Duration::hours(1)),
    )
}

#[tokio::test]
async fn offers_are_created_claimed_once_and_shown() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let chat = app.a.chat.clone();
    let bad = document(&app, &chat, 1).replace("stock = 1", "stock = -4");
    let reply = app
        .call(
            &owner,
            Method::POST,
            "/api/v1/offers",
            Some(json!({ "source": bad, "request": "r0" })),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(
        reply.json()["error"]["field"],
        "source:5:9",
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("stock: must be 1 to 100000, got -4"),
        "{}",
        reply.body
    );

    let good = json!({ "source": document(&app, &chat, 1), "request": "r1" });
    let created = app
        .call(&owner, Method::POST, "/api/v1/offers", Some(good.clone()))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let id = created.json()["id"].as_i64().expect("id");
    let again = app
        .call(&owner, Method::POST, "/api/v1/offers", Some(good))
        .await;
    assert_eq!(
        again.json()["id"].as_i64(),
        Some(id),
        "a retry creates nothing"
    );
    // Already open: no countdown, the opening post queued now.
    let open = app
        .store
        .action_by_key(app.a.ws, &keys::offer_post(id, "open"))
        .await
        .expect("open post");
    assert!(format!("{:?}", open.kind).contains("剩余 1 件"));
    assert!(app
        .store
        .action_by_key(app.a.ws, &keys::offer_post(id, "countdown"))
        .await
        .is_err());

    let claim = |user: &str, request: &str| json!({ "platform": "sandbox", "user": user, "request": request });
    let path = format!("/api/v1/offers/{id}/claims");
    let won = app
        .call(
            &owner,
            Method::POST,
            &path,
            Some(claim(&app.a.member, "c1")),
        )
        .await;
    assert_eq!(won.status, StatusCode::OK, "{}", won.body);
    assert_eq!(won.json()["won"]["remaining"], 0);
    assert!(app
        .store
        .action_by_key(app.a.ws, &keys::offer_coupon(id, &app.a.member))
        .await
        .is_ok());
    let twice = app
        .call(
            &owner,
            Method::POST,
            &path,
            Some(claim(&app.a.member, "c2")),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    assert_eq!(twice.json()["error"]["field"], "already_claimed");
    let stranger = app
        .call(&owner, Method::POST, &path, Some(claim("@nobody:x", "c3")))
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "{}", stranger.body);

    for lang in ["zh", "en"] {
        let list = app.page(&owner, "/offers", lang).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(
            list.body.contains("保温杯 aaa") && list.body.contains("0 / 1"),
            "{}",
            list.body
        );
        let one = app.page(&owner, &format!("/offers/{id}"), lang).await;
        assert!(one.body.contains(&app.a.member), "{}", one.body);
    }
    let page = app.page(&owner, "/offers", "zh").await.body;
    assert!(page.contains("已抢光"));

    // The swap board (换物墙) is listed on the same page and through the API.
    app.store
        .post_swap(
            app.a.ws,
            qunzhu_storage::NewSwap {
                key: "swap-e1".into(),
                platform: qunzhu_domain::Platform::Sandbox,
                chat: chat.clone(),
                member: app.a.member.clone(),
                have: "猫粮".into(),
                want: "狗粮".into(),
                at: app.clock.now(),
            },
        )
        .await
        .expect("swap");
    let page = app.page(&owner, "/offers", "en").await.body;
    assert!(
        page.contains("Swap board") && page.contains("猫粮"),
        "{page}"
    );
    let listed = app.call(&owner, Method::GET, "/api/v1/swaps", None).await;
    assert_eq!(listed.json()[0]["have"], "猫粮", "{}", listed.body);
    assert_eq!(listed.json()[0]["state"], "open");

    // The console form: a bad document comes back with its problem and the typed text.
    let reply = app
        .post_form(
            &owner,
            "/offers",
            &[("source", "title = \"x\"\nstock = 1\n"), ("request", "p1")],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(reply.body.contains("missing field"), "{}", reply.body);
    assert!(reply.body.contains("stock = 1"));
    let verbs: Vec<String> = app
        .store
        .audit_log(app.a.ws, None, 10)
        .await
        .expect("audit")
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(verbs.iter().filter(|v| *v == "offer.create").count(), 1);
    assert_eq!(verbs.iter().filter(|v| *v == "offer.claim").count(), 1);
}
