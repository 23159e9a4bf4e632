//! HTTP tests of the whole router on a fresh in-memory SQLite store each: two workspaces (A and
//! B) with users of every role, groups, members, a pending join request, a bot ban, a rule file,
//! a plan and an API token, so every route can be tried across the workspace boundary.

mod analytics;
mod api;
mod authz;
mod banlist;
mod campaigns;
mod cockpit;
mod engine;
mod flash;
mod growth_pages;
mod holes;
mod landing;
mod ledger;
mod livecodes;
mod offers;
mod openapi;
mod orders;
mod pages;
mod people;
mod plays;
mod posters;
mod powers;
mod pushes;
mod races;
mod signin;
mod users;

use std::sync::Arc;

use argon2::Argon2;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use qunzhu_domain::{
    ActionId, ActionKind, DocumentKind, Event, EventKind, FakeClock, GroupId, JoinVia, MessageKind,
    NewAction, Platform, WorkspaceId,
};
use qunzhu_storage::{IngestBatch, NewEvent, NewUser, NewWorkspace, Store, UserRole};
use tower::ServiceExt;

use crate::auth::{hash_password_with, sha256_hex};
use crate::AppState;

pub const PASSWORD: &str = "correct horse battery";

pub const RULES_OK: &str = "[[rules]]\nname = \"ads\"\nkind = \"keywords\"\nwords = [\"加微信\"]\nladder = [\"redact+warn\", \"ban\"]\n";
/// A valid plan: the shipped daily template, posting to every group.
pub fn plan_ok() -> String {
    let template = qunzhu_sop::template("daily-morning").expect("shipped template");
    template.to_toml(qunzhu_sop::Target::all(), chrono_tz::Asia::Shanghai)
}

/// One seeded workspace: what its objects are called, for building URLs and spotting leaks.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub ws: WorkspaceId,
    /// A marker in every name of this workspace, which must never appear in the other's answers.
    pub marker: String,
    pub group_id: GroupId,
    pub chat: String,
    pub member: String,
    pub requester: String,
    pub ban_action: ActionId,
    /// A pending person task (a post to make by hand).
    pub task: ActionId,
    pub token_id: i64,
    pub token: String,
    /// An open lottery in the group.
    pub lottery: i64,
    /// A lead (phone 13800001234) on the landing page `landing-{marker}`.
    pub lead: i64,
    /// A 秒杀 open for a week in the group.
    pub offer: i64,
}

pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn Store>,
    pub clock: FakeClock,
    /// The engine health the router shows (tests register loops and connectors in it).
    pub health: qunzhu_engine::Health,
    pub a: Seeded,
    pub b: Seeded,
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-11T02:00:00Z")
        .map(|t| t.to_utc())
        .unwrap_or_default()
}

fn cheap_hash(password: &str) -> String {
    // Real argon2id, with the smallest parameters: tests create many users in debug builds.
    let params = argon2::Params::new(8, 1, 1, None).expect("fixed argon2 parameters are valid");
    let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    hash_password_with(&argon, password).expect("hashing with fixed parameters works")
}

/// Login name of a user: `<role>-<marker>` (`owner-aaa`, `viewer-bbb`).
pub fn login(role: UserRole, marker: &str) -> String {
    format!("{}-{marker}", role.as_str())
}

async fn seed(store: &Arc<dyn Store>, marker: &str, now: DateTime<Utc>) -> Seeded {
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: marker.into(),
            name: format!("Brand {marker}"),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .expect("workspace");
    let ws = workspace.id;
    for role in [
        UserRole::Viewer,
        UserRole::Operator,
        UserRole::Admin,
        UserRole::Owner,
    ] {
        let new = NewUser {
            workspace: ws,
            login: login(role, marker),
            display_name: login(role, marker),
            role,
            password_hash: cheap_hash(PASSWORD),
        };
        store.create_user(new).await.expect("user");
    }
    let chat = format!("!room-{marker}:sandbox");
    let member = format!("@member-{marker}:sandbox");
    let requester = format!("@asker-{marker}:sandbox");
    let event = |key: &str, minutes: i64, kind: EventKind| NewEvent {
        event: Event {
            workspace: ws,
            platform: Platform::Sandbox,
            key: format!("{marker}-{key}"),
            chat: chat.clone(),
            at: now - Duration::minutes(minutes),
            kind,
        },
        day: qunzhu_domain::local_day(now - Duration::minutes(minutes), chrono_tz::Asia::Shanghai),
    };
    let events = vec![
        event(
            "join",
            600,
            EventKind::MemberJoined {
                member: member.clone().into(),
                display_name: Some(format!("Name {marker}")),
                via: JoinVia::Direct,
            },
        ),
        event(
            "msg",
            300,
            EventKind::MessagePosted {
                member: member.clone().into(),
                message_id: format!("m-{marker}"),
                text: format!("加微信 {marker}"),
                links: vec![],
                mentions: vec![],
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: false,
            },
        ),
        event(
            "knock",
            100,
            EventKind::JoinRequested {
                member: requester.clone().into(),
                display_name: Some(format!("Asker {marker}")),
                reason: Some(format!("hi {marker}")),
            },
        ),
    ];
    let ban_key = format!("ban-{marker}");
    let mut decide = |event: &Event| -> Vec<NewAction> {
        match &event.kind {
            EventKind::MessagePosted { member, .. } => vec![NewAction {
                workspace: event.workspace,
                platform: event.platform,
                chat: event.chat.clone(),
                key: ban_key.clone(),
                kind: ActionKind::Ban {
                    member: member.0.clone(),
                    reason: format!("ads {marker}"),
                },
                created_at: event.at,
                not_before: event.at,
                expires_at: None,
                dry_run: false,
                origin: qunzhu_domain::ActionOrigin::rule("ads"),
                cause: Some(event.key.clone()),
            }],
            _ => vec![],
        }
    };
    store
        .ingest(
            IngestBatch {
                events,
                cursor: None,
            },
            &mut decide,
        )
        .await
        .expect("ingest");
    let group = store
        .ensure_group(ws, Platform::Sandbox, &chat)
        .await
        .expect("group");
    store
        .update_group(
            ws,
            group.id,
            qunzhu_storage::GroupUpdate {
                name: Some(format!("Group {marker}")),
                ..Default::default()
            },
        )
        .await
        .expect("name group");
    let ban_action = store
        .action_by_key(ws, &ban_key)
        .await
        .expect("ban action")
        .id;
    let task_key = format!("task-{marker}");
    store
        .enqueue(vec![NewAction {
            workspace: ws,
            platform: Platform::Sandbox,
            chat: chat.clone(),
            key: task_key.clone(),
            kind: ActionKind::PersonTask {
                text: format!("早报 task-{marker}"),
            },
            created_at: now,
            not_before: now + Duration::hours(1),
            expires_at: None,
            dry_run: false,
            // Not an SOP push: the push lists stay as seeded; 今日 lists tasks by kind.
            origin: qunzhu_domain::ActionOrigin::parse("test:task"),
            cause: None,
        }])
        .await
        .expect("task");
    let task = store.action_by_key(ws, &task_key).await.expect("task").id;
    store
        .put_document(
            ws,
            DocumentKind::Rules,
            &format!("rules-{marker}"),
            RULES_OK,
            "seed",
            now,
        )
        .await
        .expect("rules");
    store
        .put_document(
            ws,
            DocumentKind::SopPlan,
            &format!("plan-{marker}"),
            &plan_ok(),
            "seed",
            now,
        )
        .await
        .expect("plan");
    store
        .put_document(
            ws,
            DocumentKind::Race,
            &format!("race-{marker}"),
            &race_ok(&chat),
            "seed",
            now,
        )
        .await
        .expect("race");
    let token = format!("qz_token_{marker}");
    let token_id = store
        .create_api_token(
            ws,
            &format!("bot-{marker}"),
            UserRole::Operator,
            &sha256_hex(&token),
            now,
        )
        .await
        .expect("token")
        .id;
    let lottery = store
        .create_lottery(
            ws,
            qunzhu_storage::NewLottery {
                key: format!("lottery-{marker}"),
                name: format!("抽奖 {marker}"),
                platform: Platform::Sandbox,
                chat: chat.clone(),
                campaign: None,
                rules: vec![qunzhu_growth::lottery::ChanceRule::Invite { chances: 1 }],
                prizes: vec![qunzhu_growth::lottery::PrizeTier {
                    name: "一等奖".into(),
                    count: 1,
                    prize: qunzhu_growth::lottery::Prize::Points { points: 10 },
                }],
                pool: None,
                seed: "ab".repeat(32),
                commitment: "cd".repeat(32),
                opens_at: now,
                closes_at: now + Duration::days(7),
                baseline: vec![],
            },
        )
        .await
        .expect("lottery")
        .id;
    let page = format!("landing-{marker}");
    store
        .put_document(
            ws,
            DocumentKind::Landing,
            &page,
            qunzhu_growth::landing::EXAMPLE,
            "seed",
            now,
        )
        .await
        .expect("landing page");
    let vault = test_vault();
    let (lead, _) = store
        .record_lead(
            ws,
            qunzhu_storage::NewLead {
                page: page.clone(),
                channel: "xhs".into(),
                phone_hash: vault.hash(ws, "+8613800001234"),
                cipher: vault.seal(ws, &page, "+8613800001234"),
                at: now,
            },
        )
        .await
        .expect("lead");
    let offer = store
        .create_offer(
            ws,
            qunzhu_storage::NewOffer {
                key: format!("offer-{marker}"),
                spec: qunzhu_growth::flash_sale::OfferSpec {
                    title: format!("秒杀 {marker}"),
                    platform: Platform::Sandbox,
                    chat: chat.clone(),
                    keyword: "抢".into(),
                    stock: 5,
                    starts_at: now,
                    ends_at: now + Duration::days(7),
                    countdown_minutes: 0,
                    points: 0,
                    coupon: Some(qunzhu_growth::flash_sale::OfferCoupon {
                        offer: qunzhu_domain::CouponOffer::AmountOff { cents: 500 },
                        valid_days: None,
                    }),
                },
                source: String::new(),
                origin: qunzhu_domain::ActionOrigin::Operator(qunzhu_domain::ActorName::User(
                    "seed".into(),
                )),
                created_at: now,
            },
        )
        .await
        .expect("offer")
        .id;
    Seeded {
        lead,
        lottery,
        offer,
        ws,
        marker: marker.to_string(),
        group_id: group.id,
        chat,
        member,
        requester,
        ban_action,
        task,
        token_id,
        token,
    }
}

/// The phone key every test router seals with.
pub fn test_vault() -> qunzhu_ops::PhoneVault {
    qunzhu_ops::PhoneVault::new([5; 32])
}

impl TestApp {
    /// With the poster font when the machine has it (scripts/test.sh installs it).
    pub async fn new() -> TestApp {
        let (path, index) = qunzhu_poster::DEFAULT_FONT_PATHS[0];
        let poster_font = std::fs::read(path)
            .ok()
            .and_then(|bytes| qunzhu_poster::Font::from_bytes(bytes, index).ok())
            .map(Arc::new);
        TestApp::with_options(crate::ServerOptions {
            poster_font,
            ..Default::default()
        })
        .await
    }

    /// A test app whose router is built with these options (trusted proxy header, sign-in gate).
    pub async fn with_options(options: crate::ServerOptions) -> TestApp {
        let store: Arc<dyn Store> = Arc::new(
            qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"),
        );
        let clock = FakeClock::new(start_time());
        let a = seed(&store, "aaa", start_time()).await;
        let b = seed(&store, "bbb", start_time()).await;
        let state = AppState {
            store: store.clone(),
            clock: Arc::new(clock.clone()),
            base_url: "http://127.0.0.1".into(),
            secure_cookies: false,
        };
        let health = qunzhu_engine::Health::new(Arc::new(clock.clone()));
        TestApp {
            router: crate::router_with(
                state,
                crate::ServerOptions {
                    health: Some(health.clone()),
                    phone_vault: options
                        .phone_vault
                        .clone()
                        .or_else(|| Some(Arc::new(test_vault()))),
                    ..options
                },
            ),
            store,
            clock,
            health,
            a,
            b,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Signs in through the API; returns the session cookie and CSRF token.
    pub async fn session(&self, role: UserRole, marker: &str) -> Session {
        let body =
            serde_json::json!({ "login": login(role, marker), "password": PASSWORD }).to_string();
        let reply = self
            .send(json_request(Method::POST, "/api/v1/session", None, body))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "sign-in failed: {}",
            reply.body
        );
        let cookie = reply.set_cookie("qz_session").expect("session cookie");
        let csrf = reply.json()["csrf_token"]
            .as_str()
            .expect("csrf token")
            .to_string();
        Session { cookie, csrf }
    }

    /// A request as a signed-in user: cookie and (for changes) the CSRF header.
    pub async fn call(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::COOKIE, format!("qz_session={}", session.cookie));
        if method != Method::GET {
            builder = builder.header("x-csrf-token", &session.csrf);
        }
        let request = match body {
            Some(json) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string())),
            None => builder.body(Body::empty()),
        };
        self.send(request.expect("request")).await
    }

    /// A console page as a signed-in user.
    pub async fn page(&self, session: &Session, path: &str, lang: &str) -> Reply {
        let request = Request::get(path)
            .header(
                header::COOKIE,
                format!("qz_session={}; lang={lang}", session.cookie),
            )
            .body(Body::empty());
        self.send(request.expect("request")).await
    }

    /// A console form post; `_csrf` is added unless `csrf` is `None`.
    pub async fn post_form(
        &self,
        session: &Session,
        path: &str,
        fields: &[(&str, &str)],
        csrf: Option<&str>,
    ) -> Reply {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        if let Some(token) = csrf {
            all.push(("_csrf", token));
        }
        let body = all
            .iter()
            .map(|(k, v)| format!("{}={}", crate::html::url_part(k), crate::html::url_part(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::post(path)
            .header(header::COOKIE, format!("qz_session={}", session.cookie))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body));
        self.send(request.expect("request")).await
    }
}

pub fn json_request(
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: String,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::from(body)).expect("request")
}

#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix(&format!("{name}="))
                    .map(|rest| rest.split(';').next().unwrap_or("").to_string())
            })
    }

    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

/// A race document over one group (the authorization and page tests read it back).
pub(crate) fn race_ok(chat: &str) -> String {
    format!(
        "title = \"冲榜\"\nplatform = \"sandbox\"\ngroups = [\"{chat}\"]\nmetric = \"invites\"\nopens = \"2026-12-01 10:00\"\ncloses = \"2026-12-08 10:00\"\n\n[[prizes]]\nfrom = 1\nto = 3\npoints = 50\n"
    )
}
