//! The 黑名单 page: a ban through the form is listed with its reason and lifted by its button,
//! a rule over staff is refused with the reason, a followed list starts in dry-run.

use axum::http::StatusCode;
use qunzhu_storage::UserRole;

use super::TestApp;

#[tokio::test]
async fn the_ban_list_page_bans_unbans_and_follows_in_dry_run() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let reply = app
        .post_form(
            &owner,
            "/banlist/ban",
            &[
                ("entity", "spammer-aaa"),
                ("reason", "广告 spam"),
                ("platform", "sandbox"),
            ],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(
        (reply.status, reply.location().as_str()),
        (StatusCode::SEE_OTHER, "/banlist?ok=saved")
    );
    for lang in ["zh", "en"] {
        let page = app.page(&owner, "/banlist", lang).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("spammer-aaa") && page.body.contains("广告 spam"));
    }
    let everyone = app
        .post_form(
            &owner,
            "/banlist/ban",
            &[("entity", "*"), ("reason", "x"), ("platform", "sandbox")],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(
        everyone.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        everyone.body
    );
    assert!(
        everyone.body.contains("would ban everyone"),
        "{}",
        everyone.body
    );

    let reply = app
        .post_form(
            &owner,
            "/banlist/unban",
            &[("entity", "spammer-aaa"), ("platform", "sandbox")],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let page = app.page(&owner, "/banlist", "en").await.body;
    assert!(!page.contains("spammer-aaa"));

    let reply = app
        .post_form(
            &owner,
            "/banlist/follow",
            &[("room", "!policy:example.org")],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let page = app.page(&owner, "/banlist", "en").await.body;
    assert!(page.contains("!policy:example.org") && page.contains("Dry-run"));
    let verbs: Vec<String> = app
        .store
        .audit_log(app.a.ws, None, 10)
        .await
        .expect("audit")
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    for verb in ["banlist.ban", "banlist.unban", "banlist.follow"] {
        assert!(verbs.iter().any(|seen| seen == verb), "{verbs:?}");
    }
}
