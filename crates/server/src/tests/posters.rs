//! `GET /p/{code}.png`: a member's poster from the workspace's template, with their name and
//! their invite page's code; an unknown code is 404, and without a font the answer says which
//! package to install.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use qunzhu_domain::{InviteCode, Platform};
use tower::ServiceExt;

use super::TestApp;

async fn fetch(app: &TestApp, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let request = Request::builder().uri(path).body(Body::empty()).unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, bytes.to_vec())
}

fn font() -> Option<Arc<qunzhu_poster::Font>> {
    let (path, index) = qunzhu_poster::DEFAULT_FONT_PATHS[0];
    match std::fs::read(path) {
        Ok(bytes) => Some(Arc::new(
            qunzhu_poster::Font::from_bytes(bytes, index).unwrap(),
        )),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{path} is missing; install fonts-noto-cjk")
        }
        Err(_) => {
            eprintln!("skipped: {path} is missing; install fonts-noto-cjk");
            None
        }
    }
}

async fn with_code(app: &TestApp) {
    let code = InviteCode {
        code: "c0ffee".into(),
        platform: Platform::Matrix,
        member: "@a:hs".into(),
        campaign: None,
    };
    app.store.put_invite_code(app.a.ws, code).await.unwrap();
}

#[tokio::test]
async fn a_members_poster_is_a_png_of_the_templates_size() {
    let Some(font) = font() else { return };
    let app = TestApp::with_options(crate::ServerOptions {
        poster_font: Some(font),
        ..Default::default()
    })
    .await;
    with_code(&app).await;
    let (status, kind, png) = fetch(&app, "/p/c0ffee.png").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind.as_deref(), Some("image/png"));
    let image = qunzhu_poster::decode(&png).unwrap();
    assert_eq!((image.width, image.height), (750, 1334));
    // The second answer comes from the cache and is the same file.
    let (_, _, again) = fetch(&app, "/p/c0ffee.png").await;
    assert_eq!(again, png);

    for path in ["/p/nope.png", "/p/c0ffee", "/p/c0ffee.svg"] {
        assert_eq!(fetch(&app, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn without_a_font_posters_say_what_to_install() {
    let app = TestApp::with_options(crate::ServerOptions::default()).await;
    with_code(&app).await;
    let (status, _, body) = fetch(&app, "/p/c0ffee.png").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("fonts-noto-cjk"), "{body}");
}

/// A small valid PNG (a QR code's).
fn small_png() -> Vec<u8> {
    qunzhu_qr::Qr::encode("background").unwrap().png(4).unwrap()
}

fn data_address(bytes: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[tokio::test]
async fn a_background_is_uploaded_checked_used_and_removed() {
    use qunzhu_storage::UserRole;
    let font = font();
    let app = TestApp::with_options(crate::ServerOptions {
        poster_font: font.clone(),
        ..Default::default()
    })
    .await;
    with_code(&app).await;
    let ops = qunzhu_ops::Ops::new(app.store.clone(), Arc::new(app.clock.clone()));
    let owner = app.session(UserRole::Owner, "aaa").await;
    let upload = |image: String| {
        let app = &app;
        let owner = &owner;
        async move {
            app.post_form(
                owner,
                "/posters/background",
                &[("intent", "upload"), ("image", &image)],
                Some(&owner.csrf),
            )
            .await
        }
    };
    // Refused with why, and nothing kept: not an image, too big, nothing chosen.
    for (image, says) in [
        (data_address(b"GIF89a not ours"), "neither a PNG nor a JPEG"),
        (
            data_address(b"\x89PNG\r\n\x1a\ntruncated"),
            "background image",
        ),
        (data_address(&vec![0u8; 1024 * 1024 + 1]), "at most 1024 KB"),
        (String::new(), "choose a PNG or JPEG"),
    ] {
        let refused = upload(image).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{says}");
        assert!(refused.body.contains(says), "{says}: {}", refused.body);
        assert!(ops.poster_background(app.a.ws).await.unwrap().is_none());
    }
    let before = fetch(&app, "/p/c0ffee.png").await;
    let kept = upload(data_address(&small_png())).await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.body);
    let stored = ops.poster_background(app.a.ws).await.unwrap().unwrap();
    assert_eq!(stored.bytes, small_png());
    for (lang, words) in [("zh", "已上传背景图"), ("en", "A background is uploaded")] {
        let page = app.page(&owner, "/posters", lang).await;
        assert!(page.body.contains(words), "{lang}: {}", page.body);
    }
    if font.is_some() {
        let after = fetch(&app, "/p/c0ffee.png").await;
        assert_eq!(after.0, StatusCode::OK);
        assert_ne!(after.2, before.2, "the poster is drawn over the background");
    }
    let removed = app
        .post_form(
            &owner,
            "/posters/background",
            &[("intent", "remove")],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(ops.poster_background(app.a.ws).await.unwrap().is_none());
}
