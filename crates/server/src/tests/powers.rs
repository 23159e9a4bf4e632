//! The bot's stored powers against the rules in force: the group page warns, in both
//! languages, of a rule step the bot may not take, the rule save answer lists it, and both
//! follow the saved rules at once.

use super::*;
use qunzhu_domain::Clock;

const MUTES: &str = "[[rules]]\nname = \"flood\"\nkind = \"flood\"\ncount = 3\nwithin = \"10s\"\nactions = \"redact+mute 10m\"\n\n[profiles.all]\ndefault = true\nrules = [\"flood\"]\n";
const REDACTS: &str = "[[rules]]\nname = \"flood\"\nkind = \"flood\"\ncount = 3\nwithin = \"10s\"\nactions = \"redact\"\n\n[profiles.all]\ndefault = true\nrules = [\"flood\"]\n";

/// What a Matrix room at Synapse's private_chat preset lets a moderator bot (PL 50) do.
async fn report_powers(app: &TestApp) {
    let at = app.clock.now();
    let event = Event {
        workspace: app.a.ws,
        platform: Platform::Sandbox,
        key: "aaa-power-levels".into(),
        chat: app.a.chat.clone(),
        at,
        kind: EventKind::BotPowers {
            level: 50,
            can_redact: true,
            can_kick: true,
            can_ban: true,
            can_mute: false,
        },
    };
    let batch = IngestBatch {
        events: vec![NewEvent {
            day: qunzhu_domain::local_day(at, chrono_tz::Asia::Shanghai),
            event,
        }],
        cursor: None,
    };
    app.store
        .ingest(batch, &mut |_: &Event| Vec::new())
        .await
        .expect("ingest");
}

async fn save_rules(app: &TestApp, session: &Session, source: &str) -> serde_json::Value {
    let reply = app
        .call(
            session,
            Method::PUT,
            "/api/v1/rules/rules",
            Some(serde_json::json!({ "source": source })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

#[tokio::test]
async fn a_mute_the_bot_may_not_take_is_warned_until_the_rules_stop_muting() {
    let app = TestApp::new().await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let path = format!("/groups/{}", app.a.group_id);
    let unknown = app.page(&operator, &path, "zh").await.body;
    assert!(
        unknown.contains("尚未读取到机器人在此群的权限"),
        "{unknown}"
    );

    report_powers(&app).await;
    let saved = save_rules(&app, &operator, MUTES).await;
    assert_eq!(
        saved["version"], 1,
        "the saved document is still the answer"
    );
    let warned = &saved["power_warnings"];
    assert_eq!(warned.as_array().map(Vec::len), Some(1), "{saved}");
    assert_eq!(warned[0]["group_id"], app.a.group_id.0);
    assert_eq!(warned[0]["level"], 50);
    assert_eq!(warned[0]["warnings"][0]["rule"], "flood");
    assert_eq!(warned[0]["warnings"][0]["step"], "mute");
    assert_eq!(warned[0]["warnings"][0]["instead"], "kick");

    let zh = app.page(&operator, &path, "zh").await.body;
    assert!(
        zh.contains("机器人没有禁言权限：规则 flood 的禁言不会执行，已改为踢出"),
        "{zh}"
    );
    let en = app.page(&operator, &path, "en").await.body;
    assert!(
        en.contains("The bot may not mute here: rule flood will not mute; it kicks instead"),
        "{en}"
    );
    // The rule editor, where a console save lands, lists it too.
    let editor = app.page(&operator, "/rules/rules", "zh").await.body;
    assert!(
        editor.contains("rule-power-warnings") && editor.contains("规则 flood 的禁言不会执行"),
        "{editor}"
    );

    let saved = save_rules(&app, &operator, REDACTS).await;
    assert_eq!(saved["power_warnings"], serde_json::json!([]));
    let zh = app.page(&operator, &path, "zh").await.body;
    assert!(
        !zh.contains("power-warning") && zh.contains("机器人可以执行规则要求的每一步"),
        "{zh}"
    );
    let editor = app.page(&operator, "/rules/rules", "zh").await.body;
    assert!(!editor.contains("rule-power-warnings"), "{editor}");
    // Another workspace's group knows nothing of these powers.
    let other = app.session(UserRole::Operator, "bbb").await;
    let theirs = app
        .page(&other, &format!("/groups/{}", app.b.group_id), "zh")
        .await
        .body;
    assert!(theirs.contains("尚未读取到机器人在此群的权限"), "{theirs}");
}
