//! Accounts an owner manages, through the API and the console's Users page: disable and enable,
//! new passwords, ending sessions and deleting, each ending what it must and refusing what would
//! lock the workspace out.

use axum::http::{Method, StatusCode};
use qunzhu_storage::UserRole;
use serde_json::json;

use super::{json_request, login, TestApp, PASSWORD};

async fn sign_in(app: &TestApp, login: &str, password: &str) -> StatusCode {
    let body = json!({ "login": login, "password": password }).to_string();
    app.send(json_request(Method::POST, "/api/v1/session", None, body))
        .await
        .status
}

async fn me(app: &TestApp, session: &super::Session) -> StatusCode {
    app.call(session, Method::GET, "/api/v1/me", None)
        .await
        .status
}

#[tokio::test]
async fn the_api_disables_repasswords_revokes_and_deletes_users() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let viewer_login = login(UserRole::Viewer, "aaa");
    let viewer = app.session(UserRole::Viewer, "aaa").await;

    let listed = app.call(&owner, Method::GET, "/api/v1/users", None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let row = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == viewer_login.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (row["sessions"].as_u64(), row["disabled"].as_bool()),
        (Some(1), Some(false))
    );
    assert!(!listed.body.contains("argon2"), "{}", listed.body);

    let path = |action: &str| format!("/api/v1/users/{viewer_login}/{action}");
    let reply = app.call(&owner, Method::POST, &path("disable"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.json()["disabled_at"].is_string());
    assert_eq!(
        me(&app, &viewer).await,
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );
    assert_eq!(
        sign_in(&app, &viewer_login, PASSWORD).await,
        StatusCode::FORBIDDEN
    );
    let reply = app.call(&owner, Method::POST, &path("enable"), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(sign_in(&app, &viewer_login, PASSWORD).await, StatusCode::OK);

    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let reply = app
        .call(
            &owner,
            Method::PUT,
            &path("password"),
            Some(json!({ "password": "a brand new one" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(me(&app, &viewer).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in(&app, &viewer_login, PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&app, &viewer_login, "a brand new one").await,
        StatusCode::OK
    );
    let reply = app
        .call(
            &owner,
            Method::PUT,
            &path("password"),
            Some(json!({ "password": "short" })),
        )
        .await;
    assert_eq!(
        (reply.status, reply.json()["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
    );

    let reply = app
        .call(&owner, Method::POST, &path("revoke-sessions"), None)
        .await;
    assert_eq!(reply.json()["sessions_ended"], 1, "{}", reply.body);

    // Refusals: an admin cannot touch the owner; nobody deletes themselves or the last owner.
    let admin = app.session(UserRole::Admin, "aaa").await;
    let owner_login = login(UserRole::Owner, "aaa");
    let reply = app
        .call(
            &admin,
            Method::POST,
            &format!("/api/v1/users/{owner_login}/disable"),
            None,
        )
        .await;
    assert_eq!(
        (reply.status, reply.error_code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let reply = app
        .call(
            &owner,
            Method::DELETE,
            &format!("/api/v1/users/{owner_login}"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.body.contains("you cannot delete yourself"),
        "{}",
        reply.body
    );
    let reply = app
        .call(&admin, Method::DELETE, "/api/v1/users/nobody-here", None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let reply = app
        .call(
            &owner,
            Method::DELETE,
            &format!("/api/v1/users/{viewer_login}"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(
        sign_in(&app, &viewer_login, "a brand new one").await,
        StatusCode::UNAUTHORIZED
    );
    let verbs: Vec<String> = app
        .store
        .audit_log(app.a.ws, None, 20)
        .await
        .unwrap()
        .iter()
        .rev()
        .map(|e| e.action.clone())
        .collect();
    assert_eq!(
        verbs,
        [
            "user.disable",
            "user.enable",
            "user.password",
            "user.revoke_sessions",
            "user.delete"
        ]
    );
}

#[tokio::test]
async fn the_users_page_manages_accounts_in_both_languages() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let operator_login = login(UserRole::Operator, "aaa");
    for (lang, words) in [
        ("zh", ["账号管理", "停用", "全部下线"]),
        ("en", ["Users", "Disable", "End all sessions"]),
    ] {
        let reply = app.page(&owner, "/settings/users", lang).await;
        assert_eq!(reply.status, StatusCode::OK);
        for word in words {
            assert!(reply.body.contains(word), "{lang}: {word}");
        }
        assert!(reply
            .body
            .contains(&format!(r#"data-user="{operator_login}""#)));
        let settings = app.page(&owner, "/settings", lang).await;
        assert!(
            settings.body.contains(r#"href="/settings/users""#),
            "settings links to users"
        );
    }
    // Viewers and operators are told they may not; nothing is listed.
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let reply = app.page(&viewer, "/settings/users", "en").await;
    assert!(!reply.body.contains("data-user="), "{}", reply.body);

    let action = |what: &str| format!("/settings/users/{operator_login}/{what}");
    let reply = app
        .post_form(&owner, &action("disable"), &[], Some(&owner.csrf))
        .await;
    assert_eq!(
        (reply.status, reply.location()),
        (
            StatusCode::SEE_OTHER,
            "/settings/users?ok=saved".to_string()
        )
    );
    assert_eq!(
        sign_in(&app, &operator_login, PASSWORD).await,
        StatusCode::FORBIDDEN
    );
    let reply = app.page(&owner, "/settings/users", "en").await;
    let row = reply
        .body
        .split(&format!(r#"data-user="{operator_login}""#))
        .nth(1)
        .unwrap_or("");
    assert!(
        row.split("</tr>").next().unwrap_or("").contains("disabled"),
        "{row}"
    );
    let reply = app
        .post_form(&owner, &action("enable"), &[], Some(&owner.csrf))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);

    // A new password is generated and shown once; it works, the old one does not.
    let reply = app
        .post_form(&owner, &action("password"), &[], Some(&owner.csrf))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let shown = reply
        .body
        .split("data-new-password>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the password is shown")
        .to_string();
    assert_eq!(shown.chars().count(), 20);
    assert_eq!(
        sign_in(&app, &operator_login, PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sign_in(&app, &operator_login, &shown).await, StatusCode::OK);
    assert!(
        !app.page(&owner, "/settings/users", "en")
            .await
            .body
            .contains(&shown),
        "shown once"
    );

    let reply = app
        .post_form(&owner, &action("revoke"), &[], Some(&owner.csrf))
        .await;
    assert_eq!(
        (reply.status, reply.location()),
        (
            StatusCode::SEE_OTHER,
            "/settings/users?ok=revoked".to_string()
        )
    );

    // Refused on the page itself, with the reason.
    let owner_login = login(UserRole::Owner, "aaa");
    let reply = app
        .post_form(
            &owner,
            &format!("/settings/users/{owner_login}/delete"),
            &[],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply.body.contains("you cannot delete yourself"),
        "{}",
        reply.body
    );
    // Without the CSRF field nothing happens.
    let reply = app.post_form(&owner, &action("delete"), &[], None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app
        .post_form(&owner, &action("delete"), &[], Some(&owner.csrf))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        sign_in(&app, &operator_login, &shown).await,
        StatusCode::UNAUTHORIZED
    );
}
