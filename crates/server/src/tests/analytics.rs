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
