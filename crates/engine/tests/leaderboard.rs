//! A leaderboard post (排行榜) says who leads when it is SENT: planned in the morning with
//! `{invite_leaders}` and `{points_leaders}` open, filled at 21:00 by the dispatcher from the
//! invites read model and the balances, in rank order; the preview shows the same text.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use qunzhu_connector::{Batch, Capabilities, Connector, Rate};
use qunzhu_domain::{
    Account, ActionKind, ActionRecord, Clock, DocumentKind, Event, EventKind, FakeClock,
    InviteChange, InviteChannel, JoinVia, NewEntry, Platform, Reason,
};
use qunzhu_engine::{DispatchConfig, Dispatcher, Planner};
use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};

const BOARD: &str = "id = \"race\"\nname = \"排行榜\"\n[target]\nall = true\n\n[[steps]]\nid = \"board\"\nrepeat = \"daily\"\nat = \"21:00\"\ntext = \"📊 邀请榜\\n{invite_leaders}\\n💰 积分榜\\n{points_leaders}\"\n";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

struct Recording {
    sent: Mutex<Vec<String>>,
    capabilities: Capabilities,
}

#[async_trait]
impl Connector for Recording {
    fn platform(&self) -> Platform {
        Platform::Sandbox
    }
    fn id(&self) -> &str {
        "recording"
    }
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
    async fn poll(&self, _cursor: Option<&str>) -> qunzhu_connector::Result<Batch> {
        Ok(Batch::default())
    }
    async fn execute(&self, action: &ActionRecord) -> qunzhu_connector::Result<Option<String>> {
        if let ActionKind::SendMessage { text, .. } = &action.kind {
            self.sent.lock().unwrap().push(text.clone());
        }
        Ok(None)
    }
}

fn invited(invitee: &str, inviter: &str, when: DateTime<Utc>) -> InviteChange {
    InviteChange::Joined {
        platform: Platform::Sandbox,
        chat: "g0".into(),
        invitee: invitee.into(),
        inviter: Some(inviter.into()),
        channel: InviteChannel::Invited,
        code: None,
        campaign: None,
        at: when,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaderboard_post_is_ranked_from_the_read_models_at_send_time() {
    let store: Arc<dyn Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
    let workspace = store
        .ensure_workspace(NewWorkspace {
            slug: "w".into(),
            name: "w".into(),
            time_zone: chrono_tz::Asia::Shanghai,
        })
        .await
        .unwrap()
        .id;
    store
        .ensure_group(workspace, Platform::Sandbox, "g0")
        .await
        .unwrap();
    let morning = at("2026-11-24T07:00:00+08:00");
    let clock = FakeClock::new(morning);
    store
        .put_document(
            workspace,
            DocumentKind::SopPlan,
            "race",
            BOARD,
            "ops",
            morning,
        )
        .await
        .unwrap();
    let planner = Planner {
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        workspace,
        platform: Platform::Sandbox,
        send_autonomously: true,
        base_url: "http://q.example".into(),
        horizon: Duration::hours(20),
        look_back: Duration::hours(24),
        every: std::time::Duration::from_secs(15),
    };
    planner.plan_once(&mut HashMap::new()).await.unwrap();

    // During the day: members with names join, invites are attributed, points are granted.
    let events = [("@a", "小王"), ("@b", "小李"), ("@c", "小张")]
        .iter()
        .enumerate()
        .map(|(index, (member, name))| NewEvent {
            day: morning.date_naive(),
            event: Event {
                workspace,
                platform: Platform::Sandbox,
                key: format!("j{index}"),
                chat: "g0".into(),
                at: morning,
                kind: EventKind::MemberJoined {
                    member: member.to_string().into(),
                    display_name: Some(name.to_string()),
                    via: JoinVia::Direct,
                },
            },
        })
        .collect();
    store
        .ingest(
            IngestBatch {
                events,
                cursor: None,
            },
            &mut |_: &Event| Vec::new(),
        )
        .await
        .unwrap();
    let noon = morning + Duration::hours(5);
    store
        .apply_invite_changes(
            workspace,
            vec![
                invited("@x1", "@b", noon),
                invited("@x2", "@b", noon),
                invited("@x3", "@a", noon),
            ],
            3,
        )
        .await
        .unwrap();
    let grants = [("@a", 30), ("@c", 50), ("@b", 30)]
        .iter()
        .map(|(member, points)| NewEntry {
            key: format!("grant:{member}"),
            reason: Reason::CheckIn,
            cause: None,
            from: Account::Issuance,
            to: Account::member(Platform::Sandbox, member.to_string()),
            amount: *points,
            at: noon,
            memo: String::new(),
            reverses: None,
        })
        .collect();
    store.post_entries(workspace, grants).await.unwrap();

    clock.set(at("2026-11-24T21:00:00+08:00"));
    let preview = qunzhu_engine::live::current_facts(&*store, workspace, clock.now(), true)
        .await
        .unwrap();
    let (_, facts) = preview
        .iter()
        .find(|(_, facts)| facts.chat == "g0")
        .unwrap();

    let mut capabilities = qunzhu_sandbox::sandbox_capabilities();
    capabilities.per_group_rate = Rate::UNLIMITED;
    capabilities.global_rate = Rate::UNLIMITED;
    let connector = Arc::new(Recording {
        sent: Mutex::default(),
        capabilities,
    });
    let dispatcher = Dispatcher::new(
        store.clone(),
        connector.clone(),
        Arc::new(clock.clone()),
        DispatchConfig::default(),
    );
    assert_eq!(dispatcher.run_once().await.unwrap().done, 1);
    let sent = connector.sent.lock().unwrap().clone();
    let expected =
        "📊 邀请榜\n🥇 小李 2人\n🥈 小王 1人\n💰 积分榜\n🥇 小张 50分\n🥈 小王 30分\n🥈 小李 30分";
    assert_eq!(sent, [expected], "ties share a rank, listed by member id");
    let previewed = qunzhu_sop::render_live(
        "📊 邀请榜\n{invite_leaders}\n💰 积分榜\n{points_leaders}",
        &qunzhu_sop::LiveFacts {
            group_name: &facts.name,
            member_count: facts.member_count,
            checkin_leaders: &facts.checkin_leaders,
            invite_leaders: &facts.invite_leaders,
            points_leaders: &facts.points_leaders,
        },
    );
    assert_eq!(
        previewed, expected,
        "the operator's preview is what members get"
    );
}
