//! The orders webhook on a real `qunzhu serve` over HTTP with a fresh database: a signed order
//! is accepted once, a replayed nonce, a stale timestamp, a bad signature and an unknown member
//! are refused with their codes, and a second delivery of the order counts once.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::{request, serve_with_env};

const SECRET: &str = "shop-secret-for-the-test";

fn sign(secret: &str, timestamp: i64, nonce: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{nonce}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn post(port: u16, secret: &str, timestamp: i64, nonce: &str, body: &str) -> (u16, String) {
    let headers = format!(
        "Content-Type: application/json\r\nX-Qunzhu-Timestamp: {timestamp}\r\nX-Qunzhu-Nonce: {nonce}\r\nX-Qunzhu-Signature: {}\r\n",
        sign(secret, timestamp, nonce, body)
    );
    let (status, _, body) = request(port, "POST", "/api/v1/orders", &headers, body);
    (status, body)
}

fn code(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    value["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn signed_orders_over_http_count_once_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // A first start creates the database and the workspace; the shop's customer is then a
    // member of it, as the platform would have reported them.
    drop(serve_with_env(data, &[]));
    let db = rusqlite::Connection::open(data.join("qunzhu.db")).unwrap();
    db.execute(
        "INSERT INTO members (workspace, platform, user, display_name) SELECT id, 'sandbox', '@buyer', 'Buyer' FROM workspaces",
        [],
    )
    .unwrap();
    drop(db);

    let served = serve_with_env(data, &[("QUNZHU_ORDERS_SECRET", SECRET)]);
    let port = served.port;
    let order = r#"{"order_id":"SHOP-1","member":{"platform":"sandbox","user":"@buyer"},"amount_cents":9900,"currency":"CNY","items":["tea"]}"#;
    let t = now();

    let (status, body) = post(port, SECRET, t, "n-1", order);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""outcome":"accepted""#), "{body}");

    let (status, body) = post(port, SECRET, t, "n-1", order);
    assert_eq!(
        (status, code(&body).as_str()),
        (409, "replayed_nonce"),
        "{body}"
    );

    let (status, body) = post(port, SECRET, t, "n-2", order);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""outcome":"duplicate""#), "{body}");

    let (status, body) = post(port, SECRET, t - 600, "n-3", order);
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "stale_timestamp"),
        "{body}"
    );

    let (status, body) = post(port, "another-secret", t, "n-4", order);
    assert_eq!(
        (status, code(&body).as_str()),
        (401, "bad_signature"),
        "{body}"
    );

    let stranger = r#"{"order_id":"SHOP-2","member":{"platform":"sandbox","user":"@nobody"},"amount_cents":100,"currency":"CNY"}"#;
    let (status, body) = post(port, SECRET, t, "n-5", stranger);
    assert_eq!(
        (status, code(&body).as_str()),
        (422, "unknown_member"),
        "{body}"
    );

    let (status, body) = post(port, SECRET, t, "n-6", r#"{"order_id":"#);
    assert_eq!(
        (status, code(&body).as_str()),
        (422, "invalid_input"),
        "{body}"
    );

    // The log holds the order once.
    drop(served);
    let db = rusqlite::Connection::open(data.join("qunzhu.db")).unwrap();
    let logged: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'order_placed'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(logged, 1);
    let recorded: i64 = db
        .query_row("SELECT count(*) FROM orders", [], |row| row.get(0))
        .unwrap();
    assert_eq!(recorded, 1);
}
