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
