//! The invite-task console and the public invite page over the real router: a template becomes
//! a campaign, a pending prize is approved from the review queue, and a visitor of `/i/{code}` is
//! invited once, with a located refusal for a bad id and a limit per address.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use qunzhu_domain::{ActionKind, DocumentKind, InviteCode, Platform};
use qunzhu_growth::{PrizeState, TaskPrize, TaskPrizeRow};
use qunzhu_storage::{ActionFilter, InviteTaskUpdate, PrizeFilter, UserRole};

use super::TestApp;

const CAMPAIGN: &str = r#"title = "春季邀请"
platform = "matrix"
groups = ["!spring:hs"]
starts = "2026-01-01T00:00:00Z"
ends = "2027-01-01T00:00:00Z"
review = true
[[thresholds]]
invites = 3
points = 100
"#;

async fn visit(app: &TestApp, code: &str, id: Option<&str>) -> super::Reply {
    let builder = Request::builder().uri(format!("/i/{code}?lang=en"));
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
async fn a_template_becomes_a_campaign_and_a_prize_is_approved_from_the_queue() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let form = [
        ("template", "invite_ten"),
        ("name", "ten"),
        ("platform", "sandbox"),
        ("groups", "g-1, g-2"),
        ("starts", "2026-03-01"),
        ("ends", "2026-04-01"),
    ];
    let reply = app
        .post_form(&owner, "/campaigns/template", &form, Some(&owner.csrf))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let stored = app
        .store
        .document(app.a.ws, DocumentKind::Campaign, "ten")
        .await
        .unwrap();
    assert!(
        stored.source.contains(r#"groups = ["g-1", "g-2"]"#),
        "{}",
        stored.source
    );
    // A bad edit is refused with its location, and nothing is stored.
    let broken = stored.source.replace("invites = 10", "invites = 1");
    let reply = app
        .post_form(
            &owner,
            "/campaigns/ten",
            &[("source", &broken)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.body.contains("thresholds[1].invites"),
        "{}",
        reply.body
    );
    assert_eq!(
        app.store
            .document(app.a.ws, DocumentKind::Campaign, "ten")
            .await
            .unwrap()
            .version,
        1
    );

    let pending = TaskPrizeRow {
        campaign: qunzhu_domain::CampaignId("ten".into()),
        inviter: "inviter-aaa".into(),
        threshold: 3,
        round: 0,
        state: PrizeState::Pending,
        chat: "g-1".into(),
        earned_at: super::start_time(),
        due_at: super::start_time(),
        decided_by: None,
        note: String::new(),
        prize: TaskPrize::Points { points: 30 },
        version: 0,
    };
    let update = InviteTaskUpdate {
        watermark: None,
        invites: vec![],
        prizes: vec![pending],
    };
    assert!(app
        .store
        .apply_invite_tasks(app.a.ws, update)
        .await
        .unwrap());
    for lang in ["zh", "en"] {
        let page = app.page(&owner, "/campaigns", lang).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body
                .contains("data-prize=\"task:ten:inviter-aaa:3:0\""),
            "{}",
            page.body
        );
    }
    let decide = [
        ("campaign", "ten"),
        ("inviter", "inviter-aaa"),
        ("threshold", "3"),
        ("decision", "approve"),
    ];
    let reply = app
        .post_form(&owner, "/campaigns/decide", &decide, Some(&owner.csrf))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let queue = PrizeFilter {
        state: Some(PrizeState::Approved),
        ..Default::default()
    };
    let approved = app.store.task_prizes(app.a.ws, &queue, 10).await.unwrap();
    assert_eq!(
        approved[0].decided_by.as_deref(),
        Some(format!("user:{}", super::login(UserRole::Owner, "aaa")).as_str())
    );
    // A viewer sees the page but cannot decide.
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let reply = app
        .post_form(&viewer, "/campaigns/decide", &decide, Some(&viewer.csrf))
        .await;
    assert_ne!(reply.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_invite_page_invites_a_visitor_once_and_refuses_clearly() {
    let app = TestApp::new().await;
    let now = super::start_time();
    app.store
        .put_document(
            app.a.ws,
            DocumentKind::Campaign,
            "spring",
            CAMPAIGN,
            "test",
            now,
        )
        .await
        .unwrap();
    let code = InviteCode {
        code: "c0ffee".into(),
        platform: Platform::Matrix,
        member: "@a:hs".into(),
        campaign: Some("spring".into()),
    };
    app.store.put_invite_code(app.a.ws, code).await.unwrap();

    let page = visit(&app, "c0ffee", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("春季邀请") && page.body.contains("Invite me"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("width=device-width")
            && !page.body.contains("http://")
            && !page.body.contains("https://")
    );
    assert_eq!(
        visit(&app, "nope", None).await.status,
        StatusCode::NOT_FOUND
    );

    let bad = visit(&app, "c0ffee", Some("alice@example.org")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("starts with @"), "{}", bad.body);
    let sent = visit(&app, "c0ffee", Some("@visitor:hs")).await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(sent.body.contains("on its way"), "{}", sent.body);
    let again = visit(&app, "c0ffee", Some("@visitor:hs")).await;
    assert!(again.body.contains("invited already"), "{}", again.body);
    let invites: Vec<_> = app
        .store
        .actions(app.a.ws, &ActionFilter { limit: Some(500), ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .filter(|action| matches!(&action.kind, ActionKind::Invite { member } if member == "@visitor:hs"))
        .collect();
    assert_eq!(invites.len(), 1, "one invite per visitor and group");
    assert_eq!(
        (invites[0].chat.as_str(), invites[0].key.as_str()),
        ("!spring:hs", "invite_page:!spring:hs:@visitor:hs")
    );
    let referral = app
        .store
        .page_referral(app.a.ws, Platform::Matrix, "!spring:hs", "@visitor:hs")
        .await
        .unwrap();
    assert_eq!(
        referral.map(|referral| referral.code),
        Some("c0ffee".to_string())
    );
    // Five requests per address per window (three were made above, this test has no address).
    assert_eq!(
        visit(&app, "c0ffee", Some("@other:hs")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        visit(&app, "c0ffee", Some("@third:hs")).await.status,
        StatusCode::OK
    );
    let limited = visit(&app, "c0ffee", Some("@fourth:hs")).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
}
