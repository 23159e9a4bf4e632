//! The 拼团砍价 page: a play saved through the form is listed, a bad one is refused with its
//! line and field and the typed text kept, and runs show their state and progress in both
//! languages.

use axum::http::StatusCode;
use qunzhu_domain::Platform;
use qunzhu_growth::play::RunState;
use qunzhu_growth::run::{Participant, Run};
use qunzhu_storage::UserRole;

use super::TestApp;

const TEAM: &str = "kind = \"group_buy\"\ntitle = \"三人拼豆\"\nplatform = \"sandbox\"\ngroups = [\"g\"]\nstarts = \"2026-01-01T00:00:00Z\"\nends = \"2026-12-31T00:00:00Z\"\n\n[group_buy]\nitem = \"豆\"\nteam_size = 3\nhours = 24\nprice_cents = 9900\nteam_price_cents = 5900\n";

#[tokio::test]
async fn the_plays_page_saves_checks_and_lists_runs() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let bad = TEAM.replace("team_size = 3", "team_size = 1");
    let refused = app
        .post_form(
            &owner,
            "/plays/save",
            &[("name", "beans"), ("source", &bad)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .body
            .contains("group_buy.team_size: 1 is not between 2 and 1000"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("team_size = 1"),
        "the typed text stays"
    );
    let saved = app
        .post_form(
            &owner,
            "/plays/save",
            &[("name", "beans"), ("source", TEAM)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(
        (saved.status, saved.location().as_str()),
        (StatusCode::SEE_OTHER, "/plays?ok=saved")
    );
    let start = super::start_time();
    let run = Run {
        play: "beans".into(),
        number: 1,
        kind: "group_buy".into(),
        platform: Platform::Sandbox,
        chat: "g".into(),
        starter: "@starter-aaa".into(),
        started_at: start,
        deadline: start + chrono::Duration::hours(24),
        state: RunState::Open,
        participants: vec![
            Participant {
                member: "@starter-aaa".into(),
                at: start,
                cents: 0,
            },
            Participant {
                member: "@friend-aaa".into(),
                at: start,
                cents: 0,
            },
        ],
        price_cents: 5900,
        closed_at: None,
    };
    assert!(app
        .store
        .apply_plays(app.a.ws, 0, 0, vec![run])
        .await
        .unwrap());
    for (lang, open) in [("zh", "进行中"), ("en", "Open")] {
        let page = app.page(&owner, "/plays?state=open", lang).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("beans #1") && page.body.contains("2/3") && page.body.contains(open),
            "{lang}: {}",
            page.body
        );
        assert!(page.body.contains("@friend-aaa") && page.body.contains("三人拼豆"));
    }
    let done = app.page(&owner, "/plays?state=done", "zh").await;
    assert!(!done.body.contains("beans #1"));
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let page = app.page(&viewer, "/plays", "en").await;
    assert!(page.body.contains("beans #1") && !page.body.contains("action=\"/plays/save\""));
}
