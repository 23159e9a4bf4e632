//! The 排行赛 page and API: a bad race is refused with its line, column and field (422, the
//! typed text kept), a good one is saved and listed, and an opened race shows the live standings
//! (the metric since its baseline) in both languages and through `GET /api/v1/races/{name}`.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use qunzhu_domain::{Account, NewEntry, Platform, Reason};
use qunzhu_storage::{NewRace, UserRole};
use serde_json::json;

use super::TestApp;

/// Points over one group, running around the test clock (2026-03-11T02:00Z).
const RACE: &str = r#"title = "三月积分冲榜"
platform = "sandbox"
groups = ["g"]
metric = "points"
opens = "2026-03-10T00:00:00Z"
closes = "2026-03-20T00:00:00Z"

[[prizes]]
from = 1
points = 100

[[prizes]]
from = 2
to = 3
points = 20
"#;

async fn earn(app: &TestApp, member: &str, points: i64) {
    let entry = NewEntry {
        key: format!("test:{member}:{points}"),
        reason: Reason::Manual,
        cause: None,
        from: Account::Issuance,
        to: Account::member(Platform::Sandbox, member),
        amount: points,
        at: super::start_time(),
        memo: String::new(),
        reverses: None,
    };
    app.store
        .post_entries(app.a.ws, vec![entry])
        .await
        .expect("entry");
}

#[tokio::test]
async fn races_are_checked_saved_and_show_their_live_standings() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;

    // Overlapping ranks through the API: 422 with the place and the field.
    let overlapping = RACE.replace("from = 2\nto = 3", "from = 1\nto = 3");
    let reply = app
        .call(
            &owner,
            Method::PUT,
            "/api/v1/races/march",
            Some(json!({ "source": overlapping })),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert!(reply.body.contains("source:13:8"), "{}", reply.body);
    assert!(reply.body.contains("prizes[1].from"), "{}", reply.body);

    // Closing before it opens through the form: the page answers 422 and keeps the text.
    let backwards = RACE.replace("2026-03-20T00:00:00Z", "2026-03-01T00:00:00Z");
    let refused = app
        .post_form(
            &owner,
            "/races",
            &[("name", "march"), ("source", &backwards)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("closes: must be after opens"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("2026-03-01T00:00:00Z"),
        "the typed text stays"
    );

    let saved = app
        .post_form(
            &owner,
            "/races",
            &[("name", "march"), ("source", RACE)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(
        (saved.status, saved.location().as_str()),
        (StatusCode::SEE_OTHER, "/races/march?ok=saved")
    );

    // The keeper opened it with @x at 10 points; since then @x earned 15 and @y 5.
    app.store
        .open_race(
            app.a.ws,
            NewRace {
                name: "march".into(),
                platform: Platform::Sandbox,
                metric: "points".into(),
                opened_at: super::start_time(),
                baseline: BTreeMap::from([("@x".to_string(), 10)]),
            },
        )
        .await
        .expect("open");
    earn(&app, "@x", 25).await;
    earn(&app, "@y", 5).await;

    for lang in ["zh", "en"] {
        let page = app.page(&owner, "/races/march", lang).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.body.contains(r#"data-phase="running""#),
            "{}",
            page.body
        );
        assert!(page.body.contains("三月积分冲榜"));
        assert!(
            page.body.contains("<td>15</td>"),
            "@x's 25 minus 10: {}",
            page.body
        );
        let list = app.page(&owner, "/races", lang).await;
        assert!(list.body.contains(r#"data-race="march""#), "{}", list.body);
    }
    let one = app
        .call(&owner, Method::GET, "/api/v1/races/march", None)
        .await
        .json();
    assert_eq!(one["phase"], "running");
    assert_eq!(one["standings"][0]["member"], "@x");
    assert_eq!(one["standings"][0]["score"], 15);
    assert_eq!(one["standings"][1]["member"], "@y");
    assert_eq!(one["prizes"][1]["to"], 3);

    // An opened race keeps its metric.
    let switched = app
        .call(
            &owner,
            Method::PUT,
            "/api/v1/races/march",
            Some(json!({ "source": RACE.replace("\"points\"", "\"invites\"") })),
        )
        .await;
    assert_eq!(
        switched.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        switched.body
    );

    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let forbidden = app
        .post_form(
            &viewer,
            "/races",
            &[("name", "other"), ("source", RACE)],
            Some(&viewer.csrf),
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}
