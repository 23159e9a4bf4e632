//! Console pages: every page renders in both languages, stays in its workspace, sends an ended
//! session to sign in and back, refuses forms without CSRF or from viewers, and keeps what was
//! typed when a form is rejected.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use qunzhu_domain::DocumentKind;
use qunzhu_storage::UserRole;

use super::{Session, TestApp, PASSWORD};
use crate::html::url_part;

fn pages(app: &TestApp) -> Vec<String> {
    let a = &app.a;
    vec![
        "/".into(),
        "/overview/live".into(),
        "/groups".into(),
        format!("/groups/{}", a.group_id),
        "/members".into(),
        "/members?tier=regular&text=Name&silent_days=3".into(),
        format!("/members/sandbox/{}", url_part(&a.member)),
        "/rules".into(),
        "/rules/rules-aaa".into(),
        "/sop".into(),
        "/sop?week=1".into(),
        "/sop/plan-aaa".into(),
        "/moderation".into(),
        format!(
            "/moderation?group={}&class=welcome&kind=ban&from=2026-03-01&to=2026-03-11",
            a.group_id
        ),
        "/audit".into(),
        "/banlist".into(),
        "/livecodes".into(),
        "/flash".into(),
        "/races".into(),
        "/races/race-aaa".into(),
        "/offers".into(),
        format!("/offers/{}", a.offer),
        "/audit?class=all&kind=ban".into(),
        "/today".into(),
        "/groups?sort=messages&dir=asc&period=30d&type=traffic&q=Group".into(),
        "/groups.csv".into(),
        "/members?sort=checkins&page=2&bots=1&gone=1".into(),
        "/settings".into(),
        "/settings/users".into(),
        "/help/matrix".into(),
        "/campaigns".into(),
        "/posters".into(),
        "/roi".into(),
        "/orders".into(),
        "/banlist".into(),
        "/livecodes".into(),
        "/analytics".into(),
        "/analytics/tiers".into(),
        "/analytics/tiers?tier=vip".into(),
        "/analytics/kols?min_referrals=1".into(),
        "/analytics/lurkers?max_messages=3&grace_days=0".into(),
        "/analytics/dying".into(),
        "/landing".into(),
        "/landing/landing-aaa".into(),
        "/landing/new-page".into(),
        "/plays".into(),
        "/plays?state=open".into(),
        "/lotteries".into(),
        format!("/lotteries/{}", a.lottery),
        "/leaderboards".into(),
        format!("/leaderboards?board=points&group={}", a.group_id),
        "/leaderboards?board=check_ins".into(),
        "/drops".into(),
        format!("/members/sandbox/{}/points", url_part(&a.member)),
    ]
}

#[tokio::test]
async fn every_page_renders_in_both_languages_without_the_other_workspace() {
    let app = TestApp::new().await;
    for role in [UserRole::Viewer, UserRole::Owner] {
        let session = app.session(role, "aaa").await;
        for path in pages(&app) {
            for lang in ["zh", "en"] {
                let reply = app.page(&session, &path, lang).await;
                assert_eq!(
                    reply.status,
                    StatusCode::OK,
                    "{role:?} {path} {lang}: {}",
                    reply.body
                );
                for secret in super::authz::secrets(&app.b) {
                    assert!(!reply.body.contains(&secret), "{path} shows B's `{secret}`");
                }
            }
        }
    }
    let owner = app.session(UserRole::Owner, "aaa").await;
    let zh = app.page(&owner, "/", "zh").await.body;
    assert!(zh.contains(r#"<html lang="zh-CN">"#) && zh.contains("概览") && zh.contains("<svg"));
    let en = app.page(&owner, "/", "en").await.body;
    assert!(en.contains(r#"<html lang="en">"#) && en.contains("Overview"));
    let group = app
        .page(&owner, &format!("/groups/{}", app.a.group_id), "zh")
        .await
        .body;
    assert!(
        group.contains("Group aaa") && group.contains("Name aaa") && group.contains("早报"),
        "group page lacks members or calendar"
    );
    assert!(
        !zh.contains("cdn") && !zh.contains("https://"),
        "the console loads nothing from outside"
    );
}

#[tokio::test]
async fn another_workspaces_objects_are_not_found() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let b = &app.b;
    for path in [
        format!("/groups/{}", b.group_id),
        format!("/members/sandbox/{}", url_part(&b.member)),
        "/rules/rules-bbb".to_string(),
        "/sop/plan-bbb".to_string(),
        format!("/members?group_id={}", b.group_id),
        format!("/lotteries/{}", b.lottery),
        format!("/members/sandbox/{}/points", url_part(&b.member)),
        format!("/leaderboards?group={}", b.group_id),
    ] {
        let reply = app.page(&owner, &path, "zh").await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    let csrf = owner.csrf.clone();
    for (path, fields) in [
        (
            format!("/groups/{}", b.group_id),
            vec![
                ("name", "x"),
                ("group_type", "traffic"),
                ("status", "active"),
                ("capacity", "9"),
            ],
        ),
        (format!("/moderation/actions/{}/undo", b.ban_action), vec![]),
        (
            "/moderation/join-requests".to_string(),
            vec![
                ("group_id", "0"),
                ("member", b.requester.as_str()),
                ("decision", "approve"),
            ],
        ),
        (format!("/settings/tokens/{}/revoke", b.token_id), vec![]),
    ] {
        let fields: Vec<(&str, &str)> = fields;
        let reply = app.post_form(&owner, &path, &fields, Some(&csrf)).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn an_ended_session_goes_to_sign_in_and_comes_back() {
    let app = TestApp::new().await;
    let reply = app
        .send(
            Request::get("/groups?x=1")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/login?next=%2Fgroups%3Fx%3D1");

    let session = app.session(UserRole::Viewer, "aaa").await;
    app.clock
        .advance(chrono::Duration::hours(crate::auth::SESSION_HOURS + 1));
    let reply = app.page(&session, "/members", "zh").await;
    assert_eq!(
        (reply.status, reply.location().as_str()),
        (StatusCode::SEE_OTHER, "/login?next=%2Fmembers")
    );

    // The sign-in form carries `next` and its own CSRF cookie; signing in goes back there.
    let form = app
        .send(
            Request::get("/login?next=%2Fmembers")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="next" value="/members""#));
    let token = form.set_cookie("qz_login_csrf").expect("login csrf cookie");
    let sign_in = |csrf: &str, password: &str| {
        let body = format!(
            "_csrf={csrf}&next=%2Fmembers&login=viewer-aaa&password={}",
            url_part(password)
        );
        Request::post("/login")
            .header(header::COOKIE, format!("qz_login_csrf={token}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request")
    };
    let refused = app.send(sign_in("forged", PASSWORD)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let wrong = app.send(sign_in(&token, "nope")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("账号或密码错误") && wrong.body.contains(r#"value="viewer-aaa""#));
    let reply = app.send(sign_in(&token, PASSWORD)).await;
    assert_eq!(
        (reply.status, reply.location().as_str()),
        (StatusCode::SEE_OTHER, "/members"),
        "{}",
        reply.body
    );
    assert!(reply
        .set_cookie("qz_session")
        .is_some_and(|c| !c.is_empty()));
}

#[tokio::test]
async fn forms_without_csrf_or_from_viewers_change_nothing() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let path = format!("/groups/{}", app.a.group_id);
    let fields = [
        ("name", "Renamed"),
        ("group_type", "traffic"),
        ("status", "active"),
        ("capacity", "300"),
    ];
    for csrf in [None, Some("forged")] {
        let reply = app.post_form(&owner, &path, &fields, csrf).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
        assert!(reply.body.contains(r#"data-error="csrf_failed""#));
    }
    let reply = app
        .post_form(&viewer, &path, &fields, Some(&viewer.csrf))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app
        .post_form(
            &viewer,
            "/rules/rules-aaa",
            &[("source", super::RULES_OK)],
            Some(&viewer.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.store
            .group(app.a.ws, app.a.group_id)
            .await
            .expect("group")
            .name,
        "Group aaa"
    );
    let reply = app
        .post_form(&owner, &path, &fields, Some(&owner.csrf))
        .await;
    assert_eq!(
        (reply.status, reply.location()),
        (StatusCode::SEE_OTHER, format!("{path}?ok=saved"))
    );
    assert_eq!(
        app.store
            .group(app.a.ws, app.a.group_id)
            .await
            .expect("group")
            .name,
        "Renamed"
    );
    let audit = app.store.audit_log(app.a.ws, None, 5).await.expect("audit");
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].action.as_str()),
        ("user:owner-aaa", "group.update")
    );
}

async fn expect_kept(
    app: &TestApp,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
    error_field: &str,
    kept: &str,
) -> String {
    let reply = app
        .post_form(session, path, fields, Some(&session.csrf))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{path}: {}",
        reply.body
    );
    assert!(
        reply.body.contains(&format!(r#"id="{error_field}-error""#)),
        "{path}: no error beside `{error_field}`"
    );
    assert!(reply.body.contains(kept), "{path}: typed `{kept}` was lost");
    reply.body
}

#[tokio::test]
async fn rejected_forms_show_the_error_beside_the_field_and_keep_the_text() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let group = format!("/groups/{}", app.a.group_id);
    let fields = [
        ("name", "Still typed"),
        ("group_type", "traffic"),
        ("status", "active"),
        ("capacity", "lots"),
        ("purpose", "卖咖啡"),
    ];
    expect_kept(&app, &owner, &group, &fields, "capacity", r#"value="lots""#).await;

    let broken = "[[rules]]\nname = \"x\"\nkind = \"keyword\"\n";
    let body = expect_kept(
        &app,
        &owner,
        "/rules/rules-aaa",
        &[("source", broken)],
        "source",
        "kind = &quot;keyword&quot;",
    )
    .await;
    assert!(
        body.contains(r#"data-goto="3""#) && body.contains(r#"<span class="bad">3</span>"#),
        "line 3 is not marked"
    );
    assert_eq!(
        app.store
            .document(app.a.ws, DocumentKind::Rules, "rules-aaa")
            .await
            .expect("doc")
            .version,
        1
    );

    expect_kept(
        &app,
        &owner,
        "/rules",
        &[("name", "Bad Name"), ("source", "# mine")],
        "name",
        "# mine",
    )
    .await;
    expect_kept(
        &app,
        &owner,
        "/sop",
        &[("name", "p2"), ("source", "steps = 3")],
        "source",
        "steps = 3",
    )
    .await;
    expect_kept(
        &app,
        &owner,
        "/sop/apply",
        &[("template", "daily-morning"), ("plan", "keep-me")],
        "groups",
        r#"value="keep-me""#,
    )
    .await;
    expect_kept(
        &app,
        &owner,
        &format!("/members/sandbox/{}", url_part(&app.a.member)),
        &[("role", "boss"), ("tier", "vip"), ("tags", "kept-tag")],
        "role",
        "kept-tag",
    )
    .await;
    expect_kept(
        &app,
        &owner,
        "/settings/users",
        &[("login", "x y"), ("password", "short"), ("role", "viewer")],
        "login",
        r#"value="x y""#,
    )
    .await;

    let good = super::RULES_OK;
    let reply = app
        .post_form(
            &owner,
            "/rules/rules-aaa",
            &[("source", good)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(
        (reply.status, reply.location().as_str()),
        (StatusCode::SEE_OTHER, "/rules/rules-aaa?ok=saved")
    );
    let reply = app
        .post_form(
            &owner,
            "/sop/apply",
            &[
                ("template", "daily-morning"),
                ("groups", &app.a.group_id.to_string()),
            ],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let sop = app.page(&owner, "/sop", "zh").await.body;
    assert!(
        sop.contains("daily-morning") && sop.matches(r#"<li class="event""#).count() >= 7,
        "the week shows the applied plan"
    );
}

#[tokio::test]
async fn moderation_and_settings_forms_queue_actions_and_show_secrets_once() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let page = app.page(&owner, "/moderation", "en").await.body;
    assert!(
        page.contains("Asker aaa") && page.contains("ads aaa"),
        "queue and bot actions are listed"
    );
    let gid = app.a.group_id.to_string();
    let reply = app
        .post_form(
            &owner,
            "/moderation/join-requests",
            &[
                ("group_id", &gid),
                ("member", &app.a.requester),
                ("decision", "approve"),
            ],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(
        (reply.status, reply.location().as_str()),
        (StatusCode::SEE_OTHER, "/moderation?ok=decided")
    );
    let reply = app
        .post_form(
            &owner,
            &format!("/moderation/actions/{}/undo", app.a.ban_action),
            &[],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let reply = app
        .post_form(
            &owner,
            "/settings/tokens",
            &[("token_name", "zapier"), ("token_role", "viewer")],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.body.contains("data-copy>qz_"),
        "the new secret is shown once"
    );
    let again = app.page(&owner, "/settings", "zh").await.body;
    assert!(again.contains("zapier") && !again.contains("data-copy>qz_"));
    let reply = app
        .post_form(
            &owner,
            "/settings/users",
            &[
                ("login", "newbie"),
                ("password", "long enough pw"),
                ("role", "viewer"),
            ],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let audit = app.page(&owner, "/audit", "en").await.body;
    for action in [
        "join_request.approve",
        "moderation.undo",
        "token.create",
        "user.create",
    ] {
        assert!(audit.contains(action), "audit lacks {action}");
    }
    let reply = app
        .post_form(&owner, "/logout", &[], Some(&owner.csrf))
        .await;
    assert_eq!(
        (reply.status, reply.location().as_str()),
        (StatusCode::SEE_OTHER, "/login")
    );
    assert_eq!(
        app.page(&owner, "/", "zh").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn assets_are_served_by_the_binary_and_the_language_switch_sticks() {
    let app = TestApp::new().await;
    for (path, kind) in [
        ("/assets/console.css", "text/css"),
        ("/assets/console.js", "text/javascript"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let reply = app
            .send(Request::get(path).body(Body::empty()).expect("request"))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        let content_type = reply
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(
            path.ends_with(".svg")
                || !(reply.body.contains("http://") || reply.body.contains("https://")),
            "{path} refers outside"
        );
    }
    let csp = reply_header(&app, "/login", header::CONTENT_SECURITY_POLICY).await;
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let reply = app
        .send(
            Request::get("/lang?set=en&next=%2Fgroups")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(
        (reply.status, reply.location().as_str()),
        (StatusCode::SEE_OTHER, "/groups")
    );
    assert_eq!(reply.set_cookie("lang").as_deref(), Some("en"));
    let reply = app
        .send(
            Request::get("/lang?set=en&next=https%3A%2F%2Fevil.example")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(reply.location(), "/");
}

async fn reply_header(app: &TestApp, path: &str, name: header::HeaderName) -> String {
    let reply = app
        .send(Request::get(path).body(Body::empty()).expect("request"))
        .await;
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}
