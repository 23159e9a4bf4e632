//! The people views and dying groups through the API and the console: tiers decided by the
//! keeper from the read models, KOLs and lurkers with their definitions, CSV, bad thresholds
//! refused at their field, and a dying group's fate applied from the console form once.

use axum::http::{header, Method, StatusCode};
use qunzhu_domain::tier::TierRules;
use qunzhu_domain::Clock;
use qunzhu_storage::rollups::{fold_new_events, FoldStep};
use qunzhu_storage::tiers::{keep_tiers, TierStep};
use qunzhu_storage::UserRole;

use super::TestApp;

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

async fn kept(app: &TestApp) {
    let now = app.clock.now();
    for ws in [app.a.ws, app.b.ws] {
        while fold_new_events(&*app.store, ws, ZONE, 100, &|_| false)
            .await
            .expect("fold")
            != FoldStep::Folded(0)
        {}
        while keep_tiers(&*app.store, ws, ZONE, &TierRules::default(), now, 100)
            .await
            .expect("keep")
            != TierStep::Decided(0)
        {}
    }
}

#[tokio::test]
async fn tiers_kols_and_lurkers_read_one_workspace_with_their_definitions() {
    let app = TestApp::new().await;
    kept(&app).await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let tiers = app
        .call(&viewer, Method::GET, "/api/v1/analytics/tiers", None)
        .await;
    assert_eq!(tiers.status, StatusCode::OK, "{}", tiers.body);
    let body = tiers.json();
    assert!(body["page"]["total"].as_u64().unwrap_or(0) >= 1, "{body}");
    assert!(tiers.body.contains(&app.a.member) && !tiers.body.contains(&app.b.member));
    assert_eq!(
        body["rules"]["vip"]["min_points"], 5000,
        "the rules ride along"
    );
    let csv = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/analytics/tiers.csv?tier=prospect",
            None,
        )
        .await;
    assert!(csv.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap_or("")
        .starts_with("text/csv"));
    assert!(
        csv.body.contains("platform,member,tier,spend_cents"),
        "{}",
        csv.body
    );

    let lurkers = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/analytics/lurkers?grace_days=0&max_messages=100000",
            None,
        )
        .await;
    assert_eq!(
        lurkers.json()["definition"]["grace_days"],
        0,
        "{}",
        lurkers.body
    );
    assert!(lurkers.body.contains(&app.a.member) && !lurkers.body.contains(&app.b.member));
    let kols = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/analytics/kols?min_referrals=2&limit=5",
            None,
        )
        .await;
    assert_eq!(
        kols.json()["definition"]["min_referrals"],
        2,
        "{}",
        kols.body
    );
    let cases = [
        ("/api/v1/analytics/kols?min_referrals=0", "min_referrals"),
        ("/api/v1/analytics/lurkers?grace_days=400", "grace_days"),
        ("/api/v1/analytics/lurkers?chat=x", "chat"),
        ("/api/v1/analytics/tiers?tier=gold", "gold"),
    ];
    for (path, field) in cases {
        let bad = app.call(&viewer, Method::GET, path, None).await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            bad.body
        );
        assert!(bad.body.contains(field), "{path}: {}", bad.body);
    }

    let en = app.page(&viewer, "/analytics/tiers", "en").await;
    assert!(
        en.body.contains("data-tier-rules")
            && en.body.contains("Member tiers")
            && en.body.contains(&app.a.member),
        "{}",
        en.body
    );
    let zh = app
        .page(
            &viewer,
            "/analytics/lurkers?grace_days=0&max_messages=100000",
            "zh",
        )
        .await;
    assert!(
        zh.body.contains("data-lurker-definition")
            && zh.body.contains("潜水成员")
            && zh.body.contains(&app.a.member),
        "{}",
        zh.body
    );
    let kol_page = app.page(&viewer, "/analytics/kols", "zh").await;
    assert!(
        kol_page.body.contains("data-kol-definition"),
        "{}",
        kol_page.body
    );
}

#[tokio::test]
async fn the_dying_page_lists_scores_and_applies_a_fate_in_one_step_once() {
    let app = TestApp::new().await;
    kept(&app).await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let verdicts = app
        .call(
            &operator,
            Method::GET,
            "/api/v1/analytics/groups?dying=true",
            None,
        )
        .await;
    let page = app.page(&operator, "/analytics/dying", "en").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("data-dying-definition"), "{}", page.body);
    for verdict in verdicts.json().as_array().expect("a list") {
        let id = verdict["group_id"].as_i64().expect("id");
        assert!(
            page.body.contains(&format!("data-dying=\"{id}\"")),
            "{}",
            page.body
        );
        let suggestion = verdict["suggestion"].as_str().expect("a suggestion");
        assert!(page
            .body
            .contains(&format!("data-suggestion=\"{suggestion}\"")));
    }
    assert!(!page.body.contains(&app.b.marker));

    let group = app.a.group_id.to_string();
    let fields = [
        ("group", group.as_str()),
        ("fate", "reactivate"),
        ("text", "周末去哪儿玩？"),
        ("into", ""),
        ("request", "console:test"),
    ];
    for _ in 0..2 {
        let reply = app
            .post_form(
                &operator,
                "/analytics/dying/fate",
                &fields,
                Some(&operator.csrf),
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    }
    let audit = app
        .store
        .audit_entries(
            app.a.ws,
            &qunzhu_storage::AuditQuery {
                action: Some("group.reactivate".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1, "the same form twice is one decision");
    let forged = app
        .post_form(&operator, "/analytics/dying/fate", &fields, None)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF, no decision");
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let refused = app
        .post_form(
            &viewer,
            "/analytics/dying/fate",
            &fields,
            Some(&viewer.csrf),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
}

#[tokio::test]
async fn a_tracked_link_click_reaches_the_days_and_their_csv() {
    let app = TestApp::new().await;
    let now = app.clock.now();
    app.store
        .put_links(vec![qunzhu_storage::NewLink {
            code: "peopleclick".into(),
            workspace: app.a.ws,
            url: "https://shop.example/".into(),
            push: "push-people".into(),
            chat: app.a.chat.clone(),
            member: None,
            created_at: now,
        }])
        .await
        .expect("link");
    app.store
        .record_click(qunzhu_storage::LinkClick {
            code: "peopleclick".into(),
            at: now,
            visitor: "v1".into(),
        })
        .await
        .expect("click");
    kept(&app).await;
    for ws in [app.a.ws, app.b.ws] {
        while qunzhu_storage::click_rollups::fold_new_clicks(&*app.store, ws, ZONE, 10)
            .await
            .expect("fold clicks")
            != FoldStep::Folded(0)
        {}
    }
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let days = app
        .call(&viewer, Method::GET, "/api/v1/analytics/days", None)
        .await;
    let clicks: i64 = days.json()["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["clicks"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(clicks, 1, "{}", days.body);
    let csv = app
        .call(&viewer, Method::GET, "/api/v1/analytics/days.csv", None)
        .await;
    assert!(csv.body.contains(",revenue_cents,clicks"), "{}", csv.body);
    let other = app.session(UserRole::Viewer, "bbb").await;
    let theirs = app
        .call(&other, Method::GET, "/api/v1/analytics/days", None)
        .await;
    assert!(!theirs.body.contains("\"clicks\":1"), "{}", theirs.body);
}
