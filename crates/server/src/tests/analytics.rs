//! Analytics through the API and the console: the funnel, cohorts and days read the folded
//! rollups of the caller's workspace only, windows are validated, CSV is served.

use axum::http::{header, Method, StatusCode};
use qunzhu_storage::rollups::{fold_new_events, FoldStep};
use qunzhu_storage::UserRole;

use super::TestApp;

async fn folded(app: &TestApp) {
    for ws in [app.a.ws, app.b.ws] {
        loop {
            let step = fold_new_events(&*app.store, ws, chrono_tz::Asia::Shanghai, 100, &|_| false)
                .await
                .expect("fold");
            if step == FoldStep::Folded(0) {
                break;
            }
        }
    }
}

#[tokio::test]
async fn the_funnel_cohorts_and_days_read_the_folded_rollups_of_one_workspace() {
    let app = TestApp::new().await;
    folded(&app).await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let funnel = app
        .call(&viewer, Method::GET, "/api/v1/analytics/funnel", None)
        .await;
    assert_eq!(funnel.status, StatusCode::OK, "{}", funnel.body);
    let body = funnel.json();
    assert_eq!(body["config"]["activation_days"], 7);
    assert_eq!(
        (
            body["rows"][0]["acquired"].as_u64(),
            body["rows"][0]["activated"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let by_chat = app
        .call(
            &viewer,
            Method::GET,
            &format!(
                "/api/v1/analytics/funnel?platform=sandbox&chat={}&by=channel",
                app.a.chat
            ),
            None,
        )
        .await;
    assert_eq!(
        by_chat.json()["rows"][0]["key"],
        "direct",
        "{}",
        by_chat.body
    );

    let bad = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/analytics/funnel?retention_week=99",
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("funnel.retention_week"), "{}", bad.body);

    let half = app
        .call(&viewer, Method::GET, "/api/v1/analytics/days?chat=x", None)
        .await;
    assert_eq!(
        half.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        half.body
    );

    let cohorts = app
        .call(&viewer, Method::GET, "/api/v1/analytics/cohorts", None)
        .await;
    assert_eq!(cohorts.json()[0]["size"], 1, "{}", cohorts.body);
    let week = cohorts.json()[0]["week"]
        .as_str()
        .expect("week")
        .to_string();
    let members = app
        .call(
            &viewer,
            Method::GET,
            &format!("/api/v1/analytics/cohorts/members?week={week}&k=0"),
            None,
        )
        .await;
    assert_eq!(
        members.json()["rows"][0]["member"],
        app.a.member.as_str(),
        "{}",
        members.body
    );
    assert!(!members.body.contains(&app.b.member));

    let csv = app
        .call(&viewer, Method::GET, "/api/v1/analytics/days.csv", None)
        .await;
    assert!(csv.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap_or("")
        .starts_with("text/csv"));
    assert!(
        csv.body.contains(&app.a.chat) && !csv.body.contains(&app.b.chat),
        "{}",
        csv.body
    );

    let page = app.page(&viewer, "/analytics", "en").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-definitions") && page.body.contains("within 7 days"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<figure class=\"chart funnel\">") && page.body.contains("data-cohorts")
    );
    let cell = app
        .page(&viewer, &format!("/analytics/cohort?week={week}&k=0"), "zh")
        .await;
    assert!(
        cell.body.contains(&app.a.member) && cell.body.contains("同期群成员"),
        "{}",
        cell.body
    );
}

#[tokio::test]
async fn a_dying_group_is_listed_and_its_fate_applied_once_per_request() {
    let app = TestApp::new().await;
    folded(&app).await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let verdicts = app
        .call(&viewer, Method::GET, "/api/v1/analytics/groups", None)
        .await;
    let list = verdicts.json();
    let mine = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|v| v["group_id"] == app.a.group_id.0)
        .unwrap_or_else(|| panic!("the group: {}", verdicts.body));
    assert!(mine["score"].as_u64().is_some() && mine["trend"]["members"].is_i64());

    let path = format!("/api/v1/groups/{}/fate", app.a.group_id);
    let topic =
        serde_json::json!({ "fate": "reactivate", "text": "今天聊聊周末去哪", "request": "r1" });
    let first = app
        .call(&operator, Method::POST, &path, Some(topic.clone()))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = app.call(&operator, Method::POST, &path, Some(topic)).await;
    assert_eq!(first.json()["action_key"], again.json()["action_key"]);
    let key = first.json()["action_key"]
        .as_str()
        .expect("key")
        .to_string();
    let action = app
        .store
        .action_by_key(app.a.ws, &key)
        .await
        .expect("one post");
    assert_eq!(action.chat, app.a.chat);
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
    assert_eq!(audit.len(), 1, "one audit entry for one decision");

    let no_topic = app
        .call(
            &operator,
            Method::POST,
            &path,
            Some(serde_json::json!({ "fate": "reactivate", "request": "r2" })),
        )
        .await;
    assert_eq!(no_topic.status, StatusCode::UNPROCESSABLE_ENTITY);
    let itself = app
        .call(
            &operator,
            Method::POST,
            &path,
            Some(serde_json::json!({ "fate": "merge", "into": app.a.group_id, "request": "r3" })),
        )
        .await;
    assert!(itself.body.contains("into"), "{}", itself.body);
    let other_workspace = app
        .call(
            &operator,
            Method::POST,
            &path,
            Some(serde_json::json!({ "fate": "merge", "into": app.b.group_id, "request": "r4" })),
        )
        .await;
    assert_eq!(
        other_workspace.status,
        StatusCode::NOT_FOUND,
        "{}",
        other_workspace.body
    );
    let dissolve = app
        .call(
            &operator,
            Method::POST,
            &path,
            Some(serde_json::json!({ "fate": "dissolve", "request": "r5" })),
        )
        .await;
    assert_eq!(dissolve.json()["status"], "dissolved", "{}", dissolve.body);
    let group = app
        .store
        .group(app.a.ws, app.a.group_id)
        .await
        .expect("group");
    assert_eq!(group.status, qunzhu_domain::GroupStatus::Dissolved);
}

#[tokio::test]
async fn a_platform_count_that_differs_is_shown_on_the_api_and_the_page() {
    use qunzhu_domain::Clock;
    let app = TestApp::new().await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let page = app.page(&viewer, "/analytics", "en").await;
    assert!(
        page.body.contains("data-reconcile=\"none\""),
        "{}",
        page.body
    );
    let today = app.clock.now().date_naive();
    let day =
        |back: i64, platform_joins: i64, qunzhu_joins: i64| qunzhu_storage::PlatformCountDay {
            platform: qunzhu_domain::Platform::WeCom,
            day: today - chrono::Duration::days(back),
            platform_joins,
            qunzhu_joins,
            checked_at: app.clock.now(),
        };
    app.store
        .record_platform_counts(app.a.ws, &[day(2, 4, 4), day(1, 5, 3)])
        .await
        .expect("record");
    let api = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/analytics/platform-counts",
            None,
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let body = api.json();
    assert_eq!(body["differing"], 1, "{}", api.body);
    assert_eq!(body["rows"][1]["difference"], 2, "{}", api.body);
    assert_eq!(body["rows"][1]["platform_joins"], 5, "{}", api.body);
    let page = app.page(&viewer, "/analytics", "zh").await;
    assert!(
        page.body.contains("data-reconcile-days")
            && page.body.contains("+2")
            && page.body.contains("平台对账"),
        "{}",
        page.body
    );
    // Another workspace sees none of it.
    let other = app.session(UserRole::Viewer, "bbb").await;
    let theirs = app
        .call(
            &other,
            Method::GET,
            "/api/v1/analytics/platform-counts",
            None,
        )
        .await;
    assert_eq!(theirs.json()["differing"], 0, "{}", theirs.body);
}
