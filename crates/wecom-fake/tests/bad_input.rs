//! Callbacks that must be refused — bad signature, wrong receive id, bad padding, replays,
//! stale timestamps — answered 4xx and counted, and arbitrary or mutated bodies never panic.

mod support;

use aes_free::*;
use proptest::prelude::*;
use qunzhu_wecom::{open_callback, CallbackQuery, MsgCrypt};
use qunzhu_wecom_fake::{AES_KEY, CORP_ID, TOKEN};
use support::Rig;

/// Helpers that build broken ciphertexts with the public API only.
mod aes_free {
    use super::*;

    pub fn crypt() -> MsgCrypt {
        MsgCrypt::new(TOKEN, AES_KEY, CORP_ID).unwrap()
    }

    pub fn body(encrypted: &str) -> String {
        format!("<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>")
    }

    pub const EVENT: &str = "<xml><ToUserName><![CDATA[wwfakecorp0001]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrZ]]></ChatId><ChangeType><![CDATA[create]]></ChangeType></xml>";
}

async fn post(url: &str, query: &[(&str, String)], body: String) -> u16 {
    reqwest::Client::new()
        .post(url)
        .query(query)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_callbacks_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let rig = Rig::start(dir.path()).await;
    let url = rig.target.url.clone();
    let crypt = crypt();
    let timestamp = rig.now().to_string();
    let signed = |encrypted: &str, nonce: &str| {
        vec![
            (
                "msg_signature",
                crypt.signature(&timestamp, nonce, encrypted),
            ),
            ("timestamp", timestamp.clone()),
            ("nonce", nonce.to_string()),
        ]
    };

    // Bad signature.
    let good = crypt.encrypt(EVENT, [3; 16]);
    let mut query = signed(&good, "1");
    query[0].1 = "0".repeat(40);
    assert_eq!(post(&url, &query, body(&good)).await, 403);

    // Wrong receive id, correctly signed.
    let other = crypt.encrypt_for(EVENT, [3; 16], "wwsomeoneelse");
    assert_eq!(post(&url, &signed(&other, "2"), body(&other)).await, 400);

    // Bad padding: the last block tampered, then signed (as an insider could).
    let mut raw = base64_decode(&good);
    let last = raw.len() - 1;
    raw[last] ^= 0x55;
    let tampered = base64_encode(&raw);
    assert_eq!(
        post(&url, &signed(&tampered, "3"), body(&tampered)).await,
        400
    );

    // A replay of an accepted request: same nonce and timestamp.
    let query = signed(&good, "4");
    assert_eq!(post(&url, &query, body(&good)).await, 200);
    assert_eq!(post(&url, &query, body(&good)).await, 403);

    // A stale timestamp (outside the 300 s window).
    let old = (rig.now() - 3600).to_string();
    let query = vec![
        ("msg_signature", crypt.signature(&old, "5", &good)),
        ("timestamp", old.clone()),
        ("nonce", "5".to_string()),
    ];
    assert_eq!(post(&url, &query, body(&good)).await, 400);

    // Not XML at all.
    assert_eq!(
        post(&url, &signed("x", "6"), "{\"json\":1}".into()).await,
        400
    );

    assert_eq!(rig.connector.callbacks().refused(), 6);

    // URL verification answers the bare plaintext.
    let echo = crypt.encrypt("1616140317555161061", [9; 16]);
    let answer = reqwest::Client::new()
        .get(&url)
        .query(&[
            ("msg_signature", crypt.signature(&timestamp, "7", &echo)),
            ("timestamp", timestamp.clone()),
            ("nonce", "7".to_string()),
            ("echostr", echo.clone()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.text().await.unwrap(), "1616140317555161061");
}

fn base64_decode(text: &str) -> Vec<u8> {
    // A tiny decoder keeps the test free of another dependency.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes().filter(|byte| *byte != b'=') {
        let value = ALPHABET.iter().position(|c| *c == byte).unwrap() as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * index)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn signed_query(crypt: &MsgCrypt, encrypted: &str) -> CallbackQuery {
    CallbackQuery {
        msg_signature: crypt.signature("1700000000", "42", encrypted),
        timestamp: "1700000000".into(),
        nonce: "42".into(),
        echostr: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bodies_never_panic(body in ".{0,400}", signature in "[0-9a-f]{0,40}") {
        let query = CallbackQuery { msg_signature: signature, timestamp: "1".into(), nonce: "2".into(), echostr: None };
        let _ = open_callback(&crypt(), &query, &body);
    }

    #[test]
    fn mutated_ciphertexts_are_refused_or_read_never_panic(
        flips in proptest::collection::vec((0usize..512, any::<u8>()), 1..6),
        cut in 0usize..64,
    ) {
        let crypt = crypt();
        let mut raw = base64_decode(&crypt.encrypt(EVENT, [1; 16]));
        for (index, value) in flips {
            let index = index % raw.len();
            raw[index] ^= value;
        }
        raw.truncate(raw.len().saturating_sub(cut));
        let encrypted = base64_encode(&raw);
        // Signed over the mutated text, so every later check (padding, length, receive id,
        // UTF-8, XML) is reached.
        let query = signed_query(&crypt, &encrypted);
        let _ = open_callback(&crypt, &query, &body(&encrypted));
    }

    #[test]
    fn arbitrary_plaintexts_encrypted_correctly_never_panic(plain in ".{0,300}") {
        let crypt = crypt();
        let encrypted = crypt.encrypt(&plain, [2; 16]);
        let query = signed_query(&crypt, &encrypted);
        let _ = open_callback(&crypt, &query, &body(&encrypted));
    }
}
