//! Test support: a Synapse from `scripts/synapse.sh`, users registered through the shared-secret
//! admin API, and real members driven with plain client-server calls.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use qunzhu_matrix::{encode, Client, MatrixConfig, MatrixConnector, Secret};
use reqwest::Method;
use serde_json::{json, Value};

/// The homeserver named by `{prefix}_URL` and `{prefix}_SECRET`, if the environment has one.
pub struct Server {
    pub url: String,
    secret: String,
}

impl Server {
    ///
    /// Gated by `qunzhu_storage_conformance::testing::require_service`: without it the test is skipped
    /// locally and fails under `CI=true`.
    pub fn from_env(prefix: &str, how: &str) -> Option<Server> {
        let require = |var: String| {
            qunzhu_storage_conformance::testing::require_service("Synapse", &var, how)
        };
        let url = require(format!("{prefix}_URL"))?;
        let secret = require(format!("{prefix}_SECRET"))?;
        Some(Server { url, secret })
    }

    /// The relaxed server, or `None` with a line saying the test was skipped.
    pub fn relaxed() -> Option<Server> {
        Server::from_env(
            "QUNZHU_TEST_SYNAPSE",
            "`eval \"$(scripts/synapse.sh start relaxed)\"`; scripts/test.sh does",
        )
    }

    /// Registers a fresh user with a unique name.
    pub async fn user(&self, name: &str) -> User {
        let client = Client::new(&self.url, String::new()).expect("client");
        let nonce = client
            .call(Method::GET, "/_synapse/admin/v1/register", None, None)
            .await
            .expect("nonce");
        let nonce = nonce["nonce"].as_str().expect("nonce").to_string();
        let username = format!("{name}{:08x}", rand::random::<u32>());
        let password = "correct horse battery staple";
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(self.secret.as_bytes()).expect("hmac");
        mac.update(format!("{nonce}\0{username}\0{password}\0notadmin").as_bytes());
        let mac = hex::encode(mac.finalize().into_bytes());
        let body = json!({"nonce": nonce, "username": username, "password": password, "admin": false, "mac": mac});
        let answer = client
            .call(
                Method::POST,
                "/_synapse/admin/v1/register",
                Some(&body),
                None,
            )
            .await
            .expect("register");
        let id = answer["user_id"].as_str().expect("user id").to_string();
        let token = answer["access_token"].as_str().expect("token").to_string();
        User {
            client: Client::new(&self.url, token.clone()).expect("client"),
            id,
            token,
            password: password.into(),
        }
    }

    /// A connector for `bot`, accepting invitations from `inviters`.
    pub async fn connector(
        &self,
        bot: &User,
        inviters: &[&User],
        tweak: impl FnOnce(&mut MatrixConfig),
    ) -> MatrixConnector {
        let mut config = MatrixConfig {
            enabled: true,
            homeserver: self.url.clone(),
            user_id: bot.id.clone(),
            access_token: Secret::new(bot.token.clone()),
            allowed_inviters: inviters.iter().map(|user| user.id.clone()).collect(),
            sync_timeout_ms: 500,
            ..MatrixConfig::default()
        };
        tweak(&mut config);
        MatrixConnector::connect(config, qunzhu_domain::WorkspaceId(1))
            .await
            .expect("connect")
    }
}

/// A real member of the homeserver.
pub struct User {
    pub id: String,
    pub token: String,
    pub password: String,
    pub client: Client,
}

impl User {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.client
            .call(method, path, body.as_ref(), None)
            .await
            .unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    pub async fn create_room(&self, version: &str, join_rule: &str) -> String {
        let body = json!({"room_version": version, "preset": "private_chat",
            "initial_state": [{"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": join_rule}}]});
        self.call(Method::POST, "/_matrix/client/v3/createRoom", Some(body))
            .await["room_id"]
            .as_str()
            .expect("room id")
            .to_string()
    }

    pub async fn invite(&self, room: &str, user: &str) {
        self.call(
            Method::POST,
            &format!("/_matrix/client/v3/rooms/{}/invite", encode(room)),
            Some(json!({"user_id": user})),
        )
        .await;
    }

    pub async fn join(&self, room: &str) {
        self.call(
            Method::POST,
            &format!("/_matrix/client/v3/join/{}", encode(room)),
            Some(json!({})),
        )
        .await;
    }

    pub async fn leave(&self, room: &str) {
        self.call(
            Method::POST,
            &format!("/_matrix/client/v3/rooms/{}/leave", encode(room)),
            Some(json!({})),
        )
        .await;
    }

    pub async fn kick(&self, room: &str, user: &str) {
        self.call(
            Method::POST,
            &format!("/_matrix/client/v3/rooms/{}/kick", encode(room)),
            Some(json!({"user_id": user, "reason": "test"})),
        )
        .await;
    }

    pub async fn knock(&self, room: &str) {
        self.call(
            Method::POST,
            &format!("/_matrix/client/v3/knock/{}", encode(room)),
            Some(json!({"reason": "想加入"})),
        )
        .await;
    }

    pub async fn say(&self, room: &str, text: &str) -> String {
        let path = format!(
            "/_matrix/client/v3/rooms/{}/send/m.room.message/t{:016x}",
            encode(room),
            rand::random::<u64>()
        );
        self.call(
            Method::PUT,
            &path,
            Some(json!({"msgtype": "m.text", "body": text})),
        )
        .await["event_id"]
            .as_str()
            .expect("event id")
            .to_string()
    }

    pub async fn set_power(&self, room: &str, user: &str, level: i64) {
        let path = format!(
            "/_matrix/client/v3/rooms/{}/state/m.room.power_levels/",
            encode(room)
        );
        let mut levels = self.call(Method::GET, &path, None).await;
        levels["users"][user] = json!(level);
        self.call(Method::PUT, &path, Some(levels)).await;
    }

    pub async fn power_levels(&self, room: &str) -> Value {
        self.call(
            Method::GET,
            &format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.power_levels/",
                encode(room)
            ),
            None,
        )
        .await
    }

    pub async fn joined_members(&self, room: &str) -> Vec<String> {
        let answer = self
            .call(
                Method::GET,
                &format!("/_matrix/client/v3/rooms/{}/joined_members", encode(room)),
                None,
            )
            .await;
        answer["joined"]
            .as_object()
            .map(|joined| joined.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub async fn event(&self, room: &str, event: &str) -> Value {
        self.call(
            Method::GET,
            &format!(
                "/_matrix/client/v3/rooms/{}/event/{}",
                encode(room),
                encode(event)
            ),
            None,
        )
        .await
    }

    /// Message bodies in the room's timeline, oldest first, as this user sees them.
    pub async fn bodies(&self, room: &str) -> Vec<String> {
        let path = format!(
            "/_matrix/client/v3/rooms/{}/messages?dir=b&limit=500",
            encode(room)
        );
        let answer = self.call(Method::GET, &path, None).await;
        let mut bodies: Vec<String> = answer["chunk"]
            .as_array()
            .map(|chunk| {
                chunk
                    .iter()
                    .filter(|event| event["type"] == "m.room.message")
                    .filter_map(|event| event["content"]["body"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        bodies.reverse();
        bodies
    }
}

/// Polls until `done` says the collected events are complete (or 20 s pass).
pub async fn poll_until(
    connector: &MatrixConnector,
    cursor: &mut Option<String>,
    seen: &mut Vec<qunzhu_domain::Event>,
    done: impl Fn(&[qunzhu_domain::Event]) -> bool,
) {
    use qunzhu_connector::Connector;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(seen) {
        assert!(
            Instant::now() < deadline,
            "the bot did not see what was expected; it saw: {:#?}",
            seen.iter().map(|e| e.kind.clone()).collect::<Vec<_>>()
        );
        let batch = connector.poll(cursor.as_deref()).await.expect("poll");
        seen.extend(batch.events);
        if batch.cursor.is_some() {
            *cursor = batch.cursor;
        }
    }
}
