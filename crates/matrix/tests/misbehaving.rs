//! A homeserver that misbehaves (issue #11.2): a 429 with a huge `Retry-After` is capped at an
//! hour, an endless 5xx is a transient error (retried with backoff, never fatal), and answers
//! are read with a size cap — against a real HTTP server on loopback that answers that way.

use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use qunzhu_connector::ConnectorError;
use qunzhu_matrix::{Client, MAX_BODY, MAX_RETRY_AFTER, MAX_SYNC_BODY};
use reqwest::Method;

async fn serve() -> String {
    let huge = |size: usize| move || async move { "x".repeat(size) };
    let router = Router::new()
        .route(
            "/_matrix/client/v3/sync",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "99999999999")],
                    r#"{"errcode":"M_LIMIT_EXCEEDED","error":"slow down"}"#,
                )
                    .into_response()
            }),
        )
        .route(
            "/ms",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":18446744073709551615}"#,
                )
            }),
        )
        .route("/down", post(|| async { StatusCode::BAD_GATEWAY }))
        .route("/big", get(huge(MAX_BODY + 1)))
        .route("/fits", get(huge(MAX_BODY - 16)))
        .route("/_matrix/client/v3/sync/big", get(huge(MAX_SYNC_BODY + 1)))
        .route(
            "/chunked",
            // A body without a `Content-Length`, so the cap is enforced while reading.
            get(|| async {
                let chunks = (0..40).map(|_| Ok::<_, std::io::Error>("y".repeat(64 * 1024)));
                axum::body::Body::from_stream(futures::stream::iter(chunks))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

#[tokio::test]
async fn retry_after_is_capped_5xx_is_transient_and_bodies_are_capped() {
    let base = serve().await;
    let client = Client::new(&base, "token".into()).expect("client");
    let call = |method: Method, path: &'static str| {
        let client = client.clone();
        async move {
            client
                .call(method, path, None, Some(Duration::from_secs(10)))
                .await
        }
    };

    match call(Method::GET, "/_matrix/client/v3/sync").await {
        Err(ConnectorError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, MAX_RETRY_AFTER)
        }
        other => panic!("expected a capped rate limit, got {other:?}"),
    }
    match call(Method::GET, "/ms").await {
        Err(ConnectorError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, MAX_RETRY_AFTER)
        }
        other => panic!("expected a capped rate limit, got {other:?}"),
    }
    for _ in 0..3 {
        match call(Method::POST, "/down").await {
            Err(ConnectorError::Transient(message)) => {
                assert!(message.contains("502"), "{message}")
            }
            other => panic!("expected a transient error, got {other:?}"),
        }
    }
    for path in ["/big", "/chunked", "/_matrix/client/v3/sync/big"] {
        match call(Method::GET, path).await {
            Err(ConnectorError::Transient(message)) => {
                assert!(message.contains("larger than"), "{path}: {message}")
            }
            other => panic!("{path}: expected the size cap, got {other:?}"),
        }
    }
    // Under the cap the answer is read (it is not JSON, so it reads as null).
    assert!(matches!(
        call(Method::GET, "/fits").await,
        Ok(serde_json::Value::Null)
    ));
}
