//! Authorization over every documented API route, table-driven from the OpenAPI route list:
//! who may call it, and that workspace A can never read or change workspace B through it.

use axum::http::{Method, StatusCode};
use qunzhu_storage::UserRole;
use serde_json::{json, Value};

use super::{plan_ok, Seeded, TestApp, RULES_OK};
use crate::api::openapi::{Access, ROUTES};
use crate::html::url_part;

/// The concrete path and body of a route, aimed at `target`'s objects.
fn aim(method: &str, path: &str, target: &Seeded) -> (Method, String, Option<Value>) {
    let m = &target.marker;
    let concrete = path
        .replace("/groups/{id}", &format!("/groups/{}", target.group_id))
        .replace(
            "/moderation/actions/{id}",
            &format!("/moderation/actions/{}", target.ban_action),
        )
        .replace("/tokens/{id}", &format!("/tokens/{}", target.token_id))
        .replace("/lotteries/{id}", &format!("/lotteries/{}", target.lottery))
        .replace("/offers/{id}", &format!("/offers/{}", target.offer))
        .replace("{board}", "invites")
        .replace("/tasks/{id}", &format!("/tasks/{}", target.task))
        .replace("/templates/{id}", "/templates/daily-morning")
        .replace("{login}", &format!("viewer-{m}"))
        .replace("/rewards/{code}", &format!("/rewards/mug-{m}"))
        .replace("/coupons/{code}", &format!("/coupons/QZ-{m}"))
        .replace(
            "/ledger/entries/{key}",
            &format!("/ledger/entries/manual:{m}"),
        )
        .replace("{campaign}", &format!("spring-{m}"))
        .replace("{platform}", "sandbox")
        .replace("{user}", &url_part(&target.member))
        .replace("/rules/{name}", &format!("/rules/rules-{m}"))
        .replace("/plans/{name}", &format!("/plans/plan-{m}"))
        .replace("/campaigns/{name}", &format!("/campaigns/campaign-{m}"))
        .replace(
            "/landing-pages/{name}",
            &format!("/landing-pages/landing-{m}"),
        )
        .replace("{lead}", &target.lead.to_string())
        .replace("/plays/{name}", &format!("/plays/play-{m}"))
        .replace("/livecodes/{code}", &format!("/livecodes/lc-{m}"))
        .replace("/flash-groups/{name}", &format!("/flash-groups/flash-{m}"))
        .replace("/races/{name}", &format!("/races/race-{m}"));
    assert!(
        !concrete.contains('{'),
        "route {path} has a parameter this test does not fill"
    );
    let body = match (method, path) {
        ("patch", "/groups/{id}") => Some(json!({ "name": "renamed" })),
        ("patch", "/members/{platform}/{user}") => Some(json!({ "tier": "vip" })),
        ("post", "/rules/validate") => Some(json!({ "source": RULES_OK })),
        ("post", "/plans/validate") => Some(json!({ "source": plan_ok() })),
        ("put", "/rules/{name}") => Some(json!({ "source": RULES_OK })),
        ("put", "/livecodes/{code}") => {
            Some(json!({ "source": "title = \"x\"\nplatform = \"sandbox\"\ngroups = [\"g\"]\n" }))
        }
        ("put", "/plans/{name}") => Some(json!({ "source": plan_ok() })),
        ("put", "/races/{name}") => Some(json!({ "source": super::race_ok("g") })),
        ("put", "/flash-groups/{name}") => Some(json!({
            "source": "title = \"x\"\nplatform = \"sandbox\"\nopens = \"2026-12-10 10:00\"\nlink = \"/j/vip\"\n"
        })),
        ("post", "/templates/{id}/apply") => {
            Some(json!({ "groups": [target.group_id], "name": "applied" }))
        }
        ("post", "/join-requests/decide") => Some(
            json!({ "group_id": target.group_id, "member": target.requester, "approve": true }),
        ),
        ("post", "/tokens") => Some(json!({ "name": "new token", "role": "viewer" })),
        ("post", "/users") => Some(
            json!({ "login": format!("new-{m}"), "password": "long enough password", "role": "viewer" }),
        ),
        ("post", "/ledger/members/{platform}/{user}/adjust") => {
            Some(json!({ "points": 5, "request": format!("req-{m}") }))
        }
        ("post", "/ledger/entries/{key}/reverse") => Some(json!({ "memo": "undo" })),
        ("put", "/rewards/{code}") => Some(json!({ "name": format!("Mug {m}"), "cost": 10 })),
        ("post", "/rewards/{code}/redeem") => Some(
            json!({ "platform": "sandbox", "user": target.member, "request": format!("order-{m}") }),
        ),
        ("post", "/coupons/members/{platform}/{user}") => Some(
            json!({ "offer": { "type": "amount_off", "cents": 500 }, "request": format!("c-{m}") }),
        ),
        ("post", "/invites/members/{platform}/{user}/code") => {
            Some(json!({ "campaign": format!("spring-{m}") }))
        }
        ("post", "/coupons/{code}/redeem") => Some(
            json!({ "platform": "sandbox", "user": target.member, "request": format!("order-{m}") }),
        ),
        ("post", "/campaigns/{campaign}/costs") => {
            Some(json!({ "amount_cents": 100, "request": format!("cost-{m}") }))
        }
        ("put", "/groups/{id}/owner") => Some(json!({ "owner": target.member })),
        ("put", "/poster") | ("post", "/poster/preview") => {
            Some(json!({ "source": qunzhu_poster::DEFAULT_TEMPLATE }))
        }
        ("put", "/campaigns/{name}") => Some(json!({ "source": campaign_ok("campaign-group") })),
        ("put", "/plays/{name}") => Some(json!({ "source": play_ok() })),
        ("post", "/campaigns/apply-template") => Some(json!({
            "template": "invite_ten", "name": format!("tpl-{m}"), "platform": "sandbox", "groups": ["campaign-group"],
            "starts": "2026-12-01T00:00:00Z", "ends": "2026-12-31T00:00:00Z"
        })),
        ("post", "/campaign-prizes/decide") => Some(
            json!({ "campaign": format!("campaign-{m}"), "inviter": target.member, "threshold": 3, "approve": true }),
        ),
        ("post", "/lotteries") => Some(json!({
            "name": format!("抽奖 new {m}"), "platform": "sandbox", "chat": target.chat,
            "rules": [{ "per": "invite", "chances": 1 }],
            "prizes": [{ "name": "一等奖", "count": 1, "prize": { "type": "points", "points": 10 } }],
            "closes_at": "2099-01-01T00:00:00Z", "request": format!("l-{m}")
        })),
        ("post", "/lotteries/{id}/chances") => Some(
            json!({ "platform": "sandbox", "user": target.member, "points": 10, "request": format!("b-{m}") }),
        ),
        ("post", "/drops") => Some(json!({
            "platform": "sandbox", "chat": target.chat, "keyword": "红包", "shares": 3,
            "prize": { "type": "points", "points": 5 }, "minutes": 10, "request": format!("d-{m}")
        })),
        ("post", "/offers") => Some(json!({
            "source": format!("title = \"秒杀 new {m}\"\nplatform = \"sandbox\"\ngroup = \"{}\"\nstock = 3\nstarts = \"2099-01-01 20:00\"\nends = \"2099-01-01 21:00\"\npoints = 10\n", target.chat),
            "request": format!("o-{m}")
        })),
        ("post", "/offers/{id}/claims") => Some(
            json!({ "platform": "sandbox", "user": target.member, "request": format!("oc-{m}") }),
        ),
        ("post", "/groups/{id}/fate") => Some(
            json!({ "fate": "reactivate", "text": format!("topic {m}"), "request": format!("f-{m}") }),
        ),
        ("post", "/session") => Some(json!({ "login": "nobody", "password": "x" })),
        ("post", "/banlist/bans") => Some(
            json!({ "platform": "sandbox", "entity": format!("spammer-{m}"), "reason": "ads" }),
        ),
        ("post", "/banlist/bans/remove") => {
            Some(json!({ "platform": "sandbox", "entity": format!("spammer-{m}") }))
        }
        ("post", "/banlist/lists")
        | ("post", "/banlist/lists/enforce")
        | ("post", "/banlist/lists/remove") => Some(json!({ "room": format!("!policy-{m}:x") })),
        ("put", "/users/{login}/password") => Some(json!({ "password": "a new long password" })),
        ("put", "/landing-pages/{name}") => {
            Some(json!({ "source": qunzhu_growth::landing::EXAMPLE }))
        }
        ("post", "/landing-pages/validate") => {
            Some(json!({ "name": "spring", "source": qunzhu_growth::landing::EXAMPLE }))
        }
        ("post", "/landing-leads/forget") => Some(json!({ "phone": "13800001234" })),
        _ => None,
    };
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .expect("documented methods are valid");
    (method, format!("/api/v1{concrete}"), body)
}

/// A group-buy play document.
fn play_ok() -> String {
    "kind = \"group_buy\"\ntitle = \"拼\"\nplatform = \"sandbox\"\ngroups = [\"g\"]\nstarts = \"2026-12-01T00:00:00Z\"\nends = \"2026-12-31T00:00:00Z\"\n\n[group_buy]\nitem = \"豆\"\nteam_size = 2\nhours = 24\nprice_cents = 900\nteam_price_cents = 500\n".into()
}

/// A campaign document for one group.
fn campaign_ok(chat: &str) -> String {
    let starts = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .map(|at| at.to_utc())
        .expect("time");
    qunzhu_growth::templates::template_source(
        "invite_ten",
        false,
        "sandbox",
        &[chat.to_string()],
        starts,
        starts + chrono::Duration::days(30),
    )
    .expect("a shipped template")
}

/// Strings only workspace `s` holds; none may appear in another workspace's answers.
pub(super) fn secrets(s: &Seeded) -> Vec<String> {
    let m = &s.marker;
    vec![
        format!("Group {m}"),
        s.member.clone(),
        s.chat.clone(),
        s.requester.clone(),
        format!("ads {m}"),
        format!("bot-{m}"),
        s.token.clone(),
    ]
}

#[tokio::test]
async fn every_route_is_refused_without_credentials() {
    let app = TestApp::new().await;
    for route in ROUTES.iter().filter(|r| r.access != Access::Public) {
        let (method, path, body) = aim(route.method, route.path, &app.a);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let reply = app
            .send(super::json_request(method.clone(), &path, None, body))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.error_code(), "unauthorized", "{method} {path}");
        let forged = app
            .send(super::json_request(
                method.clone(),
                &path,
                Some("qz_forged"),
                String::new(),
            ))
            .await;
        assert_eq!(
            forged.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a forged token"
        );
    }
}

#[tokio::test]
async fn viewers_read_but_never_change_and_operators_do_not_administer() {
    let app = TestApp::new().await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let admin = app.session(UserRole::Admin, "aaa").await;
    for route in ROUTES
        .iter()
        .filter(|r| r.access != Access::Public && r.path != "/session")
    {
        let (method, path, body) = aim(route.method, route.path, &app.a);
        let reply = app.call(&viewer, method.clone(), &path, body.clone()).await;
        match route.access {
            Access::Read => assert!(
                reply.status.is_success(),
                "viewer {method} {path}: {} {}",
                reply.status,
                reply.body
            ),
            Access::Edit | Access::Admin | Access::Owner => {
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "viewer {method} {path}: {}",
                    reply.body
                );
                assert_eq!(reply.error_code(), "forbidden");
            }
            Access::Public => {}
        }
        if route.access == Access::Owner {
            let reply = app.call(&admin, method.clone(), &path, body.clone()).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "admin {method} {path}: {}",
                reply.body
            );
        }
        if matches!(route.access, Access::Admin | Access::Owner) {
            let reply = app.call(&operator, method.clone(), &path, body).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "operator {method} {path}: {}",
                reply.body
            );
        }
    }
    // Nothing a viewer tried left a trace: the only audit entries are none at all.
    assert!(app
        .store
        .audit_log(app.a.ws, None, 10)
        .await
        .expect("audit")
        .is_empty());
}

#[tokio::test]
async fn workspace_a_never_reads_or_changes_workspace_b_on_any_route() {
    let app = TestApp::new().await;
    let owner_a = app.session(UserRole::Owner, "aaa").await;
    let leaks = secrets(&app.b);
    for route in ROUTES
        .iter()
        .filter(|r| r.access != Access::Public && r.path != "/session")
    {
        let (method, path, body) = aim(route.method, route.path, &app.b);
        let reply = app
            .call(&owner_a, method.clone(), &path, body.clone())
            .await;
        for secret in &leaks {
            assert!(
                !reply.body.contains(secret.as_str()),
                "{method} {path} leaked `{secret}`: {}",
                reply.body
            );
        }
        let aims_at_b_object = ["{id}", "{platform}", "{login}", "{lead}"]
            .iter()
            .any(|p| route.path.contains(p))
            && !route.path.starts_with("/templates")
            || body.as_ref().is_some_and(|b| b.get("group_id").is_some());
        if aims_at_b_object {
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                reply.body
            );
            assert_eq!(reply.error_code(), "not_found");
        }
        if route.path == "/templates/{id}/apply" {
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "applying to B's group: {}",
                reply.body
            );
        }
    }
    // B is exactly as seeded.
    let b = &app.b;
    let store = &app.store;
    assert_eq!(
        store.group(b.ws, b.group_id).await.expect("group").name,
        "Group bbb"
    );
    let member = store
        .member(
            b.ws,
            qunzhu_domain::Platform::Sandbox,
            &b.member.as_str().into(),
        )
        .await
        .expect("member");
    assert_eq!(
        member.tier,
        qunzhu_domain::MemberTier::Regular,
        "tier changed across workspaces"
    );
    for (kind, name) in [
        (qunzhu_domain::DocumentKind::Rules, "rules-bbb"),
        (qunzhu_domain::DocumentKind::SopPlan, "plan-bbb"),
    ] {
        assert_eq!(
            store
                .document(b.ws, kind, name)
                .await
                .expect("document")
                .version,
            1,
            "{name} changed"
        );
    }
    assert_eq!(
        store
            .documents(b.ws, qunzhu_domain::DocumentKind::SopPlan)
            .await
            .expect("plans")
            .len(),
        1
    );
    assert_eq!(
        store
            .pending_join_requests(b.ws)
            .await
            .expect("requests")
            .len(),
        1,
        "B's join request was decided"
    );
    let b_actions = store
        .actions(b.ws, &qunzhu_storage::ActionFilter::default())
        .await
        .expect("actions");
    assert_eq!(
        b_actions.len(),
        2,
        "an action was queued in B: {b_actions:?}"
    );
    assert_eq!(
        store.action(b.task).await.expect("task").status,
        qunzhu_domain::ActionStatus::Pending,
        "B's task was confirmed"
    );
    assert!(store
        .api_tokens(b.ws)
        .await
        .expect("tokens")
        .iter()
        .all(|t| t.revoked_at.is_none()));
    assert_eq!(store.users(b.ws).await.expect("users").len(), 4);
    assert!(
        store
            .ledger_entries(b.ws, None, 10)
            .await
            .expect("entries")
            .is_empty(),
        "points moved in B"
    );
    assert!(store.rewards(b.ws).await.expect("rewards").is_empty());
    assert_eq!(
        store
            .leads(b.ws, "landing-bbb", 10)
            .await
            .expect("leads")
            .len(),
        1,
        "B's lead was deleted"
    );
    assert!(store
        .member_coupons(b.ws, qunzhu_domain::Platform::Sandbox, &b.member)
        .await
        .expect("coupons")
        .is_empty());
    assert!(store
        .audit_log(b.ws, None, 10)
        .await
        .expect("audit")
        .is_empty());
    // B's own token still works and still sees only B.
    let reply = app
        .send(super::json_request(
            Method::GET,
            "/api/v1/groups",
            Some(&b.token),
            String::new(),
        ))
        .await;
    assert!(
        reply.body.contains("Group bbb") && !reply.body.contains("Group aaa"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_header_to_change_anything() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    for route in ROUTES
        .iter()
        .filter(|r| r.method != "get" && r.access != Access::Public)
    {
        let (method, path, body) = aim(route.method, route.path, &app.a);
        for header in [None, Some("forged-token")] {
            let mut builder = axum::http::Request::builder()
                .method(method.clone())
                .uri(&path)
                .header("cookie", format!("qz_session={}", owner.cookie))
                .header("content-type", "application/json");
            if let Some(value) = header {
                builder = builder.header("x-csrf-token", value);
            }
            let body = body.as_ref().map(Value::to_string).unwrap_or_default();
            let reply = app
                .send(builder.body(axum::body::Body::from(body)).expect("request"))
                .await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{method} {path} csrf={header:?}: {}",
                reply.body
            );
            assert_eq!(reply.error_code(), "csrf_failed");
        }
    }
    assert!(app
        .store
        .audit_log(app.a.ws, None, 10)
        .await
        .expect("audit")
        .is_empty());
}
