//! The 快闪群 page's editor: a new plan with a mistake is refused with its line, column and
//! field beside the editor and the typed text kept; a good one is saved through `qunzhu-ops`
//! and listed with its stage and how it ends; the saved plan's editor renders in both languages
//! and saves again; viewers cannot save.

use axum::http::StatusCode;
use qunzhu_domain::DocumentKind;
use qunzhu_storage::UserRole;

use super::TestApp;

const PLAN: &str = "title = \"双十二快闪\"\nplatform = \"sandbox\"\nopens = \"2026-12-10 10:00\"\ndays = 2\nlink = \"/j/vip\"\nend = \"dissolve\"\ngrace_hours = 12\n";

#[tokio::test]
async fn a_flash_plan_is_created_and_edited_in_the_console_with_located_problems() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let empty = app.page(&owner, "/flash", "en").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(
        empty.body.contains(r#"id="f-source""#) && empty.body.contains("platform = "),
        "the new-plan editor starts from a template"
    );

    let bad = PLAN.replace("days = 2", "days = 5");
    let refused = app
        .post_form(
            &owner,
            "/flash",
            &[("name", "d12"), ("source", &bad)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains(r#"id="source-error""#) && refused.body.contains(r#"data-goto="4""#),
        "the problem sits beside the editor at line 4: {}",
        refused.body
    );
    assert!(refused.body.contains("days = 5"), "the typed text stays");
    assert!(refused.body.contains("1 to 3 days"), "{}", refused.body);
    let bad_name = app
        .post_form(
            &owner,
            "/flash",
            &[("name", "Bad Name"), ("source", PLAN)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(bad_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_name.body.contains(r#"id="name-error""#));

    let saved = app
        .post_form(
            &owner,
            "/flash",
            &[("name", "d12"), ("source", PLAN)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(
        (saved.status, saved.location().as_str()),
        (StatusCode::SEE_OTHER, "/flash/d12?ok=saved")
    );
    let again = app
        .post_form(
            &owner,
            "/flash",
            &[("name", "d12"), ("source", PLAN)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a taken name"
    );
    assert!(again.body.contains(r#"id="name-error""#));

    for (lang, planned, dissolve) in [("zh", "未开始", "解散"), ("en", "Planned", "Dissolve")]
    {
        let list = app.page(&owner, "/flash", lang).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains(r#"data-flash="d12""#), "{lang}");
        assert!(
            list.body.contains(planned) && list.body.contains(dissolve),
            "{lang}"
        );
        let editor = app.page(&owner, "/flash/d12", lang).await;
        assert_eq!(editor.status, StatusCode::OK, "{lang}");
        assert!(editor.body.contains("grace_hours = 12"), "{lang}");
    }
    assert_eq!(
        app.page(&owner, "/flash/nothing", "en").await.status,
        StatusCode::NOT_FOUND
    );

    let edited = PLAN.replace("grace_hours = 12", "grace_hours = 48");
    let broken = PLAN.replace("end = \"dissolve\"", "end = \"delete\"");
    let refused = app
        .post_form(
            &owner,
            "/flash/d12",
            &[("source", &broken)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains(r#"data-goto="6""#),
        "{}",
        refused.body
    );
    let forbidden = app
        .post_form(
            &viewer,
            "/flash/d12",
            &[("source", &edited)],
            Some(&viewer.csrf),
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let saved = app
        .post_form(
            &owner,
            "/flash/d12",
            &[("source", &edited)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let document = app
        .store
        .document(app.a.ws, DocumentKind::Flash, "d12")
        .await
        .expect("saved");
    assert_eq!(
        (document.version, document.source.as_str()),
        (2, edited.as_str())
    );
}
