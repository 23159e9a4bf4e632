//! 推送效果 and the calendar's cards: a push that went out shows its status, reach, the text it
//! was sent as (escaped) and local times with the zone named, in both languages; a workspace with
//! no pushes says so; with many target groups a card shows their count, not every name.

use chrono::Duration;
use qunzhu_domain::{ActionKind, Platform};
use qunzhu_storage::{ActionOutcome, Claim, PushRender, UserRole};

use super::{plan_ok, start_time, TestApp};

/// Writes yesterday's occurrence of the seeded plan for A's group as the planner would, sends
/// it and records what it was sent as.
pub(super) async fn one_sent_push(app: &TestApp) {
    let plan = qunzhu_ops::check::check_plan("plan-aaa", &plan_ok()).expect("plan");
    let group = app
        .store
        .group(app.a.ws, app.a.group_id)
        .await
        .expect("group");
    let facts = qunzhu_sop::GroupFacts::from_group(&group, chrono::DateTime::UNIX_EPOCH, true);
    let occurrence = qunzhu_sop::materialize(
        &plan,
        &[facts],
        start_time() - Duration::days(1),
        start_time(),
    )
    .into_iter()
    .next()
    .expect("yesterday's post");
    let mut action = occurrence.to_new_action(
        app.a.ws,
        Platform::Sandbox,
        start_time(),
        occurrence.scheduled,
    );
    action.key = format!("{}#v1", occurrence.key);
    action.origin = qunzhu_domain::ActionOrigin::Sop {
        plan: plan.id.clone(),
        version: Some(1),
        step: occurrence.step.clone(),
    };
    action.expires_at = None;
    if let ActionKind::SendMessage { text, .. } = &mut action.kind {
        *text = "template {member_count}".into();
    }
    app.store.enqueue(vec![action]).await.expect("enqueue");
    let claimed = app
        .store
        .claim_actions(Claim {
            target: qunzhu_domain::ActionTarget::Platform,
            platform: Platform::Sandbox,
            now: start_time(),
            limit: 100,
            owner: "test",
            lease_until: start_time() + Duration::minutes(1),
        })
        .await
        .expect("claim");
    let push = claimed
        .iter()
        .find(|claimed| matches!(claimed.origin, qunzhu_domain::ActionOrigin::Sop { .. }))
        .expect("the push is due");
    app.store
        .record_render(PushRender {
            action: push.id,
            workspace: app.a.ws,
            chat: push.chat.clone(),
            at: start_time(),
            text: "群里<b>973</b>位伙伴".into(),
            reach: 973,
        })
        .await
        .expect("render");
    app.store
        .finish_action(push.id, ActionOutcome::Done { receipt: None }, start_time())
        .await
        .expect("done");
}

#[tokio::test]
async fn pushes_page_lists_each_push_in_local_time_with_its_numbers() {
    let app = TestApp::new().await;
    one_sent_push(&app).await;
    let owner = app.session(UserRole::Viewer, "aaa").await;
    let zh = app.page(&owner, "/pushes", "zh").await;
    assert_eq!(zh.status, axum::http::StatusCode::OK, "{}", zh.body);
    let body = zh.body;
    assert!(
        body.contains("推送效果") && body.contains("Asia/Shanghai"),
        "{body}"
    );
    // Sent at 02:00 UTC: 10:00 in Shanghai; late by hours, so 迟发.
    assert!(
        body.contains("2026-03-11 10:00") && body.contains("迟发"),
        "{body}"
    );
    assert!(body.contains(">973<"), "reach: {body}");
    assert!(
        body.contains("群里&lt;b&gt;973&lt;/b&gt;位伙伴") && !body.contains("<b>973"),
        "the sent text, escaped"
    );
    let en = app.page(&owner, "/pushes", "en").await.body;
    assert!(en.contains("Push results") && en.contains("late") && en.contains("Reach"));
    let sop = app.page(&owner, "/sop", "zh").await.body;
    assert!(
        sop.contains(r#"data-status="late""#) && sop.contains("触达 973"),
        "the calendar card shows the outcome: {sop}"
    );
}

#[tokio::test]
async fn no_pushes_is_said_and_many_groups_are_summarised() {
    let app = TestApp::new().await;
    let viewer = app.session(UserRole::Viewer, "bbb").await;
    let en = app.page(&viewer, "/pushes", "en").await.body;
    assert!(en.contains("No pushes yet"), "{en}");
    assert!(!en.contains("<table data-pushes"));
    for index in 0..5 {
        app.store
            .ensure_group(app.b.ws, Platform::Sandbox, &format!("!many{index}:b"))
            .await
            .expect("group");
    }
    let sop = app.page(&viewer, "/sop", "zh").await.body;
    assert!(
        sop.contains(r#"<details class="targets"><summary>6 个群</summary>"#),
        "{sop}"
    );
}
