//! Landing pages over HTTP: the public page counts per channel and takes phones (an invalid one
//! re-rendered with its error, 422, nothing stored), the join button counts and redirects, the
//! console's preview is byte for byte the public page, malformed documents and unknown pages get
//! clear answers, leads are masked, exported by owners only and deleted on request.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use qunzhu_storage::UserRole;
use serde_json::json;

use super::{Reply, TestApp};

/// A visitor's request: no session, a form body when given.
async fn visit(app: &TestApp, method: Method, path: &str, form: Option<&str>) -> Reply {
    let mut builder = Request::builder().method(method).uri(path);
    if form.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let body = form
        .map(|f| Body::from(f.to_string()))
        .unwrap_or_else(Body::empty);
    app.send(builder.body(body).expect("request")).await
}

async fn counts(app: &TestApp, page: &str) -> Vec<(String, i64, i64, i64)> {
    app.store
        .landing_counts(app.a.ws, Some(page))
        .await
        .expect("counts")
        .into_iter()
        .map(|row| (row.channel, row.views, row.phones, row.joins))
        .collect()
}

#[tokio::test]
async fn visitors_are_counted_per_channel_and_phones_are_taken_once() {
    let app = TestApp::new().await;
    let path = "/h5/aaa/landing-aaa";
    for query in ["?ch=xhs", "?ch=xhs", "?ch=store", "", "?ch=madeup"] {
        let reply = visit(&app, Method::GET, &format!("{path}{query}"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}");
        assert!(reply.body.contains("21 天英语打卡营") && reply.body.contains("href=\"#act\""));
    }
    // An invalid number: the same page, 422, the error beside the field, nothing kept.
    let refused = visit(
        &app,
        Method::POST,
        &format!("{path}/phone?ch=xhs"),
        Some("phone=12812345678"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains(r#"id="phone-error""#) && refused.body.contains("13–19"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"value="12812345678""#));
    assert_eq!(
        app.store
            .leads(app.a.ws, "landing-aaa", 10)
            .await
            .unwrap()
            .len(),
        1,
        "only the seeded lead"
    );
    for typed in ["139+0000+1111", "%2B86+139-0000-1111"] {
        let kept = visit(
            &app,
            Method::POST,
            &format!("{path}/phone?ch=xhs"),
            Some(&format!("phone={typed}")),
        )
        .await;
        assert_eq!(kept.status, StatusCode::OK, "{typed}");
        assert!(kept.body.contains("data-thanks") && !kept.body.contains("<form"));
    }
    let leads = app.store.leads(app.a.ws, "landing-aaa", 10).await.unwrap();
    assert_eq!(leads.len(), 2, "the same phone twice is one lead");
    assert!(!leads[0].cipher.contains("13900001111"), "stored sealed");
    assert_eq!(
        counts(&app, "landing-aaa").await,
        [
            ("direct".to_string(), 1, 0, 0),
            ("other".to_string(), 1, 0, 0),
            ("store".to_string(), 1, 0, 0),
            // The seeded lead and the new one; the same phone again added nothing.
            ("xhs".to_string(), 2, 2, 0),
        ]
    );
    // Unknown pages and workspaces, and the other workspace's page under this one's name.
    for missing in [
        "/h5/aaa/nope",
        "/h5/nobody/landing-aaa",
        "/h5/aaa/landing-bbb",
    ] {
        let reply = visit(&app, Method::GET, missing, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
        assert!(reply.body.contains("页面不存在") && reply.body.contains("no such page"));
    }
    let reply = visit(
        &app,
        Method::POST,
        "/h5/aaa/nope/phone",
        Some("phone=13900001111"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_join_button_counts_and_redirects_and_the_preview_is_the_public_page() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let source = "title = \"进群\"\ntheme = \"green\"\nchannels = [\"store\"]\n[top]\nheadline = \"咖啡群\"\nbait = \"入群领券\"\ncta = \"马上进群\"\n[[middle]]\nkind = \"fact\"\nvalue = \"3,000+\"\nlabel = \"群友\"\n[bottom]\naction = \"join\"\ncta = \"进群\"\nurl = \"/j/coffee?ch=store\"\n";
    let saved = app
        .post_form(
            &owner,
            "/landing/coffee",
            &[("source", source)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let public = visit(&app, Method::GET, "/h5/aaa/coffee", None).await;
    assert_eq!(public.status, StatusCode::OK);
    let preview = app
        .post_form(
            &owner,
            "/landing/preview",
            &[("name", "coffee"), ("source", source)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert_eq!(
        preview.body, public.body,
        "the preview is what visitors get"
    );
    let editor = app.page(&owner, "/landing/coffee", "en").await;
    assert_eq!(editor.status, StatusCode::OK);
    assert!(
        editor.body.contains("data-landing-preview")
            && editor.body.contains("srcdoc=\"&lt;!DOCTYPE html&gt;"),
        "the editor draws the preview without script"
    );
    let join = visit(&app, Method::GET, "/h5/aaa/coffee/join?ch=store", None).await;
    assert_eq!(join.status, StatusCode::SEE_OTHER);
    assert_eq!(join.location(), "/j/coffee?ch=store");
    assert_eq!(
        counts(&app, "coffee").await,
        [
            ("direct".to_string(), 1, 0, 0),
            ("store".to_string(), 0, 0, 1)
        ]
    );
    let phone = visit(
        &app,
        Method::POST,
        "/h5/aaa/coffee/phone",
        Some("phone=13900001111"),
    )
    .await;
    assert_eq!(
        phone.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a join page takes no phones"
    );
    // A malformed document: located problems beside the editor, nothing saved, 422.
    let broken = source.replace("theme = \"green\"", "theme = \"pink\"");
    let refused = app
        .post_form(
            &owner,
            "/landing/coffee",
            &[("source", &broken)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("source:2:9") && refused.body.contains("`pink` is not one of"),
        "{}",
        refused.body
    );
    let problems = app
        .post_form(
            &owner,
            "/landing/preview",
            &[("name", "coffee"), ("source", &broken)],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(problems.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(problems.body.contains("data-landing-problems") && problems.body.contains("theme"));
    let api = app
        .call(
            &owner,
            Method::PUT,
            "/api/v1/landing-pages/coffee",
            Some(json!({ "source": broken })),
        )
        .await;
    assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.json()["error"]["field"], "source:2:9", "{}", api.body);
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let forbidden = app
        .post_form(
            &viewer,
            "/landing/coffee",
            &[("source", source)],
            Some(&viewer.csrf),
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn leads_are_masked_exported_by_owners_and_deleted_on_request() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let admin = app.session(UserRole::Admin, "aaa").await;
    let page = app.page(&admin, "/landing/landing-aaa", "zh").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("138****1234") && !page.body.contains("13800001234"));
    assert!(
        !page.body.contains("leads.csv"),
        "no export link for an admin"
    );
    assert!(app
        .page(&owner, "/landing/landing-aaa", "zh")
        .await
        .body
        .contains("leads.csv"));
    let listed = app
        .call(
            &admin,
            Method::GET,
            "/api/v1/landing-pages/landing-aaa/leads",
            None,
        )
        .await;
    assert_eq!(listed.json()[0]["masked"], "138****1234", "{}", listed.body);
    assert!(!listed.body.contains("13800001234") && !listed.body.contains("cipher"));
    for session in [&admin] {
        let csv = app
            .page(session, "/landing/landing-aaa/leads.csv", "zh")
            .await;
        assert_eq!(csv.status, StatusCode::FORBIDDEN);
        let api = app
            .call(
                session,
                Method::GET,
                "/api/v1/landing-pages/landing-aaa/leads.csv",
                None,
            )
            .await;
        assert_eq!(api.status, StatusCode::FORBIDDEN);
    }
    let csv = app
        .page(&owner, "/landing/landing-aaa/leads.csv", "zh")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body.starts_with("id,at,channel,phone\n") && csv.body.contains(",xhs,+8613800001234"),
        "{}",
        csv.body
    );
    // Deleting on request: the row goes, the audit says so without the number.
    let deleted = app
        .post_form(
            &admin,
            &format!("/landing/leads/{}/delete", app.a.lead),
            &[("page", "landing-aaa")],
            Some(&admin.csrf),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert!(app
        .store
        .leads(app.a.ws, "landing-aaa", 10)
        .await
        .unwrap()
        .is_empty());
    let again = app
        .call(
            &owner,
            Method::DELETE,
            &format!("/api/v1/landing-leads/{}", app.a.lead),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let forgot = app
        .call(
            &owner,
            Method::POST,
            "/api/v1/landing-leads/forget",
            Some(json!({ "phone": "not a phone" })),
        )
        .await;
    assert_eq!(forgot.status, StatusCode::UNPROCESSABLE_ENTITY);
    let audit = app.store.audit_log(app.a.ws, None, 20).await.unwrap();
    let text = serde_json::to_string(&audit).unwrap();
    assert!(text.contains("landing.lead.delete") && text.contains("landing.leads.export"));
    assert!(!text.contains("1234"), "{text}");
}
