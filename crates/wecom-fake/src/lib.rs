//! A fake WeCom server for tests, built from the official API documents: `gettoken` with expiry,
//! `externalcontact/groupchat/*`, join ways, group-send tasks with their task and result
//! endpoints and reminders, moment tasks, welcome templates, daily statistics, errcodes
//! (42001, 60020, 45009) and per-API rate limits — and the callback sender, which encrypts with
//! the real WXBizMsgCrypt and retries like WeCom (3 tries when there is no answer in 5 s).
//!
//! Tests drive the platform side through methods (`join_via_way`, `leave`, `owner_sends`) and
//! assert what the fake saw (`reminders`, `templates`, `calls`).

mod callbacks;
mod state;

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::routing::any;
use axum::{Json, Router};
use qunzhu_domain::Clock;
use serde_json::{json, Value};

pub use callbacks::{CallbackTarget, Delivery};
pub use state::{FakeGroup, FakeMember, FakeMoment, FakeTemplate, FakeWay, World};

/// The corp the fake pretends to be.
pub const CORP_ID: &str = "wwfakecorp0001";
pub const SECRET: &str = "fake-app-secret";
pub const TOKEN: &str = "fakeCallbackToken";
pub const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

/// The running fake: its address and its world.
#[derive(Clone)]
pub struct FakeWecom {
    pub base_url: String,
    world: Arc<Mutex<World>>,
    clock: Arc<dyn Clock>,
}

type Shared = (Arc<Mutex<World>>, Arc<dyn Clock>);

impl FakeWecom {
    /// Binds 127.0.0.1:0 and serves until the runtime stops.
    pub async fn start(clock: Arc<dyn Clock>) -> FakeWecom {
        let world = Arc::new(Mutex::new(World::new()));
        let app = Router::new()
            .route("/cgi-bin/{*path}", any(api))
            .with_state((world.clone(), clock.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake WeCom");
        let address = listener.local_addr().expect("fake address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeWecom {
            base_url: format!("http://{address}"),
            world,
            clock,
        }
    }

    /// Runs `change` on the world (the platform side of a test).
    pub fn with<T>(&self, change: impl FnOnce(&mut World) -> T) -> T {
        let mut world = self
            .world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut world)
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

async fn api(
    State((world, clock)): State<Shared>,
    Path(path): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    body: Option<Json<Value>>,
) -> Json<Value> {
    let body = body.map(|Json(body)| body).unwrap_or(Value::Null);
    let now = clock.now().timestamp();
    let mut world = world
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    world.calls.push(path.clone());
    Json(world.handle(&path, &query, &body, now))
}

/// `{"errcode":code,"errmsg":msg}`.
pub fn error(code: i64, message: &str) -> Value {
    json!({"errcode": code, "errmsg": message})
}
