//! The cockpit pages: the group table (numbers, sort, filters, CSV), 今日 (join requests,
//! person tasks), moderation and audit filters, members (hidden bots, totals, complete history),
//! the lurker "确认移出" step, and escaping by construction.

use axum::http::StatusCode;
use chrono::Duration;
use qunzhu_domain::{
    ActionKind, ActionStatus, Event, EventKind, GroupId, LeaveHow, MessageKind, NewAction, Platform,
};
use qunzhu_storage::{IngestBatch, LinkClick, NewEvent, NewLink, UserRole};

use super::{start_time, TestApp};
use crate::html::url_part;

fn event(app: &TestApp, key: &str, minutes_ago: i64, kind: EventKind) -> NewEvent {
    let at = start_time() - Duration::minutes(minutes_ago);
    NewEvent {
        event: Event {
            workspace: app.a.ws,
            platform: Platform::Sandbox,
            key: format!("cockpit-{key}"),
            chat: app.a.chat.clone(),
            at,
            kind,
        },
        day: qunzhu_domain::local_day(at, chrono_tz::Asia::Shanghai),
    }
}

fn action(app: &TestApp, key: &str, origin: &str, kind: ActionKind, dry_run: bool) -> NewAction {
    NewAction {
        workspace: app.a.ws,
        platform: Platform::Sandbox,
        chat: app.a.chat.clone(),
        key: key.into(),
        kind,
        created_at: start_time() - Duration::minutes(5),
        not_before: start_time() + Duration::hours(1),
        expires_at: None,
        dry_run,
        origin: qunzhu_domain::ActionOrigin::parse(origin),
        cause: None,
    }
}

/// Adds to workspace A: a second group, a member who left and one kicked, a bot post, a
/// check-in, a click, a welcome message, a person task and a dry-run lurker kick.
async fn enrich(app: &TestApp) {
    let store = &app.store;
    let kinds = vec![
        event(app, "j1", 90, joined("@leaver:sandbox", "Leaver")),
        event(app, "j2", 80, joined("@kicked:sandbox", "Kicked")),
        event(app, "l1", 70, left("@leaver:sandbox", LeaveHow::Left)),
        event(app, "l2", 60, left("@kicked:sandbox", LeaveHow::Kicked)),
        event(
            app,
            "bot",
            50,
            EventKind::MessagePosted {
                member: "@qunzhu:sandbox".into(),
                message_id: "m-bot".into(),
                text: "欢迎".into(),
                links: vec![],
                mentions: vec![],
                reply_to: None,
                message_kind: MessageKind::Notice,
                from_bot: true,
            },
        ),
        // Today's event (minutes ago) must be in the member's history.
        event(
            app,
            "late",
            2,
            EventKind::MessagePosted {
                member: app.a.member.clone().into(),
                message_id: "m-late".into(),
                text: "刚刚的消息".into(),
                links: vec![],
                mentions: vec![],
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: false,
            },
        ),
    ];
    let mut none = |_: &Event| Vec::new();
    store
        .ingest(
            IngestBatch {
                events: kinds,
                cursor: None,
            },
            &mut none,
        )
        .await
        .expect("ingest");
    let second = store
        .ensure_group(app.a.ws, Platform::Sandbox, "!quiet-aaa:sandbox")
        .await
        .expect("group");
    store
        .update_group(
            app.a.ws,
            second.id,
            qunzhu_storage::GroupUpdate {
                name: Some("<script>alert(1)</script> 瑜伽".into()),
                group_type: Some(qunzhu_domain::GroupType::Content),
                tags: Some(vec!["yoga".into()]),
                ..Default::default()
            },
        )
        .await
        .expect("name");
    let message = |text: &str| ActionKind::SendMessage {
        text: text.into(),
        html: None,
        mentions: vec![],
        reply_to: None,
    };
    store
        .enqueue(vec![
            action(
                app,
                "checkin-1",
                "checkin",
                ActionKind::GrantReward {
                    member: app.a.member.clone(),
                    points: 1,
                    reason: "check-in".into(),
                },
                false,
            ),
            action(
                app,
                "welcome-1",
                "rule:welcome",
                message("欢迎新朋友 welcome-aaa"),
                false,
            ),
            action(
                app,
                "task-1",
                "sop:plan-aaa",
                ActionKind::PersonTask {
                    text: "请手动发送：今日早报 task-enrich".into(),
                },
                false,
            ),
            action(
                app,
                "lurker:x:2026-03-11:kick:@member-aaa",
                "rule:lurker:default",
                ActionKind::Kick {
                    member: app.a.member.clone(),
                    reason: "超过 30 天未发言".into(),
                },
                true,
            ),
        ])
        .await
        .expect("actions");
    store
        .put_links(vec![NewLink {
            code: "c-aaa".into(),
            workspace: app.a.ws,
            url: "https://example.com/".into(),
            push: "sop:plan-aaa".into(),
            chat: app.a.chat.clone(),
            member: None,
            created_at: start_time() - Duration::hours(1),
        }])
        .await
        .expect("link");
    store
        .record_click(LinkClick {
            code: "c-aaa".into(),
            at: start_time() - Duration::minutes(30),
            visitor: "v".into(),
        })
        .await
        .expect("click");
}

fn joined(member: &str, name: &str) -> EventKind {
    EventKind::MemberJoined {
        member: member.into(),
        display_name: Some(name.into()),
        via: qunzhu_domain::JoinVia::Direct,
    }
}

fn left(member: &str, how: LeaveHow) -> EventKind {
    EventKind::MemberLeft {
        member: member.into(),
        how,
        by: None,
    }
}

/// The cells of the table row of one group.
fn row_of(body: &str, group_id: GroupId) -> &str {
    let start = body
        .find(&format!(r#"<tr data-group="{group_id}">"#))
        .unwrap_or_else(|| panic!("no row for group {group_id}"));
    let rest = &body[start..];
    &rest[..rest.find("</tr>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn the_group_table_counts_sorts_filters_and_exports() {
    let app = TestApp::new().await;
    enrich(&app).await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    for lang in ["zh", "en"] {
        let page = app.page(&owner, "/groups?period=today", lang).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let row = row_of(&page.body, app.a.group_id);
        // Joins 3 (seed + 2), left 1, removed 1, net +1; messages: seed, bot, late = 3.
        let cells: Vec<&str> = row
            .split(r#"<td class="num"#)
            .skip(1)
            .map(|cell| {
                let text = &cell[cell.find('>').map_or(0, |i| i + 1)..];
                &text[..text.find('<').unwrap_or(text.len())]
            })
            .collect();
        assert_eq!(
            &cells[..10],
            ["1", "+1", "3", "1", "1", "1", "100.0%", "3", "1", "1"],
            "{lang}: {row}"
        );
        let (left, removed) = if lang == "zh" {
            ("主动退群", "被移出")
        } else {
            ("Left", "Removed")
        };
        assert!(page.body.contains(left) && page.body.contains(removed));
        assert!(
            page.body
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; 瑜伽")
                && !page.body.contains("<script>alert(1)"),
            "names are escaped by construction"
        );
    }
    // Dormant groups sort first by default; messages descending on request.
    let sicker = app.page(&owner, "/groups", "zh").await.body;
    let quiet = sicker.find("瑜伽").expect("quiet group");
    let busy = sicker.find("Group aaa").expect("busy group");
    assert!(quiet < busy, "the dormant group is on top");
    let by_messages = app
        .page(&owner, "/groups?sort=messages&dir=desc", "en")
        .await
        .body;
    assert!(by_messages.find("Group aaa") < by_messages.find("瑜伽"));
    assert!(by_messages.contains(r#"aria-sort="descending""#));
    // Filters: type, tag, text.
    let content = app.page(&owner, "/groups?type=content", "zh").await.body;
    assert!(content.contains("瑜伽") && !content.contains("Group aaa"));
    let tagged = app
        .page(&owner, "/groups?tag=yoga&q=%E7%91%9C", "zh")
        .await
        .body;
    assert!(tagged.contains("瑜伽") && !tagged.contains("Group aaa"));
    for bad in [
        "/groups?sort=size",
        "/groups?period=9d",
        "/groups?type=party",
    ] {
        let reply = app.page(&owner, bad, "en").await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // CSV: every period, the filter applied, a formula defused.
    let csv = app.page(&owner, "/groups.csv?type=content", "zh").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv
        .headers
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/csv")));
    let mut lines = csv.body.trim_start_matches('\u{feff}').lines();
    let header = lines.next().unwrap_or("");
    assert!(header.starts_with("id,name,platform") && header.contains("removed_30d"));
    let data: Vec<&str> = lines.collect();
    assert_eq!(data.len(), 1, "{data:?}");
    assert!(data[0].contains("<script>alert(1)</script> 瑜伽") && data[0].contains("yoga"));
    // B's groups never show.
    assert!(!app
        .page(&owner, "/groups.csv", "zh")
        .await
        .body
        .contains("Group bbb"));
}

#[tokio::test]
async fn the_group_page_opens_with_its_numbers_and_charts() {
    let app = TestApp::new().await;
    enrich(&app).await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    for (lang, numbers) in [("zh", "近 30 天"), ("en", "Last 30 days")] {
        let page = app
            .page(&owner, &format!("/groups/{}", app.a.group_id), lang)
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let body = &page.body;
        let charts = body.find("<svg").expect("chart");
        let form = body.find(r#"action="/groups/"#).expect("form");
        assert!(charts < form, "numbers and charts come first");
        assert!(body.contains(numbers) && body.matches("class=\"chart").count() >= 3);
        // Names, not ids, in the event list.
        assert!(body.contains("Leaver") && body.contains("Kicked"));
        // The calendar's posts can be read as members will see them.
        assert!(body.contains(r#"<div class="preview-bubble">"#));
    }
}

#[tokio::test]
async fn today_lists_what_happened_requests_posts_and_tasks() {
    let app = TestApp::new().await;
    enrich(&app).await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    for (lang, title, confirm) in [
        ("zh", "今日", "确认已发送"),
        ("en", "Today", "Confirm sent"),
    ] {
        let page = app.page(&owner, "/today", lang).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let body = &page.body;
        assert!(body.contains(title) && body.contains(confirm));
        // The ban since yesterday, under the group's name, with the member's name.
        assert!(body.contains(r#"<div class="today-group" data-chat="!room-aaa:sandbox">"#));
        assert!(body.contains("Group aaa") && body.contains("Name aaa"));
        // The knock, by name, with both buttons.
        assert!(body.contains("Asker aaa") && body.contains(r#"value="approve""#));
        assert!(body.contains("task-enrich") && body.contains("task-aaa"));
        assert!(!body.contains("bbb"), "{lang}: B leaks into A's 今日");
    }
    // Approve from 今日: back to 今日, action queued.
    let reply = app
        .post_form(
            &owner,
            "/moderation/join-requests",
            &[
                ("group_id", &app.a.group_id.to_string()),
                ("member", &app.a.requester),
                ("decision", "approve"),
                ("back", "/today"),
            ],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/today?ok=decided");
    let decided = app
        .store
        .action_by_key(app.a.ws, "decide:aaa-knock")
        .await
        .expect("decision queued");
    assert!(matches!(
        decided.kind,
        ActionKind::DecideJoinRequest { approve: true, .. }
    ));
    // Confirm the person task: viewers cannot, B cannot see it, A's operator can, once.
    let task = app
        .store
        .action_by_key(app.a.ws, "task-1")
        .await
        .expect("task");
    let path = format!("/today/tasks/{}/confirm", task.id);
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let reply = app.post_form(&viewer, &path, &[], Some(&viewer.csrf)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let other = app.session(UserRole::Owner, "bbb").await;
    let reply = app.post_form(&other, &path, &[], Some(&other.csrf)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let operator = app.session(UserRole::Operator, "aaa").await;
    let reply = app
        .post_form(&operator, &path, &[], Some(&operator.csrf))
        .await;
    assert_eq!(reply.location(), "/today?ok=confirmed");
    let done = app.store.action(task.id).await.expect("task");
    assert_eq!(done.status, ActionStatus::Done);
    assert_eq!(done.receipt.as_deref(), Some("confirmed:user:operator-aaa"));
    let again = app
        .post_form(&operator, &path, &[], Some(&operator.csrf))
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "already done"
    );
    let audit = app
        .store
        .audit_log(app.a.ws, None, 10)
        .await
        .expect("audit");
    assert!(audit.iter().any(|e| e.action == "sop.task_confirm"));
    let page = app.page(&owner, "/today?ok=confirmed", "zh").await.body;
    assert!(page.contains("已确认发送") && !page.contains("task-enrich"));
}

#[tokio::test]
async fn moderation_lists_filter_and_keep_welcomes_apart() {
    let app = TestApp::new().await;
    enrich(&app).await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    for lang in ["zh", "en"] {
        let page = app.page(&owner, "/moderation", lang).await.body;
        let bot = &page[page.find(r#"id="bot-actions""#).expect("bot actions")..];
        assert!(bot.contains("ads aaa"), "the ban is moderation");
        assert!(!bot.contains("welcome-aaa"), "a welcome is not 审核处理");
        assert!(
            bot.contains("Group aaa") && bot.contains("Name aaa"),
            "group and member names"
        );
        let welcome = app
            .page(&owner, "/moderation?class=welcome", lang)
            .await
            .body;
        let welcome = &welcome[welcome.find(r#"id="bot-actions""#).expect("list")..];
        assert!(welcome.contains("welcome-aaa") && !welcome.contains("ads aaa"));
    }
    let ban_only = app.page(&owner, "/moderation?kind=kick", "zh").await.body;
    assert!(!ban_only[ban_only.find(r#"id="bot-actions""#).unwrap_or(0)..].contains("ads aaa"));
    let old = app
        .page(&owner, "/moderation?from=2026-01-01&to=2026-01-31", "zh")
        .await
        .body;
    assert!(!old.contains("ads aaa"), "time filter");
    let group = format!("/audit?group={}&class=all", app.a.group_id);
    let audit = app.page(&owner, &group, "en").await.body;
    assert!(audit.contains("ads aaa") && audit.contains("welcome-aaa"));
    for bad in [
        "/moderation?kind=explode",
        "/audit?from=yesterday",
        "/moderation?class=x",
    ] {
        assert_eq!(
            app.page(&owner, bad, "zh").await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
    // The overview counts the ban, not the welcome: one moderation action today.
    let overview = app.page(&owner, "/overview/live", "zh").await.body;
    let card = &overview[overview
        .find(r#"data-metric="metric.moderation""#)
        .expect("card")..];
    assert!(card.contains(r#"<p class="num">1</p>"#), "{card}");
}

#[tokio::test]
async fn lurker_reports_turn_into_removals_once() {
    let app = TestApp::new().await;
    enrich(&app).await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    for (lang, button) in [("zh", "确认移出"), ("en", "Confirm removal")] {
        let page = app.page(&owner, "/moderation", lang).await.body;
        assert!(page.contains(button) && page.contains("Name aaa"), "{lang}");
        assert!(
            page.contains(r#"<table id="silent-per-group">"#),
            "lurker totals per group"
        );
    }
    let path = format!("/moderation/lurkers/{}/confirm", app.a.group_id);
    let reply = app.post_form(&owner, &path, &[], Some(&owner.csrf)).await;
    assert_eq!(reply.location(), "/moderation?ok=removed");
    let kick = app
        .store
        .action_by_key(app.a.ws, "lurker:x:2026-03-11:kick:@member-aaa:confirmed")
        .await
        .expect("real kick queued");
    assert_eq!(kick.status, ActionStatus::Pending);
    app.post_form(&owner, &path, &[], Some(&owner.csrf)).await;
    let kicks = app
        .store
        .actions(
            app.a.ws,
            &qunzhu_storage::ActionFilter {
                origin_prefix: Some("rule:lurker:".into()),
                status: Some(ActionStatus::Pending),
                ..Default::default()
            },
        )
        .await
        .expect("kicks");
    assert_eq!(kicks.len(), 1, "confirming twice removes once");
    let b_path = format!("/moderation/lurkers/{}/confirm", app.b.group_id);
    let reply = app.post_form(&owner, &b_path, &[], Some(&owner.csrf)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn members_hide_bots_and_leavers_sort_page_and_show_today() {
    let app = TestApp::new().await;
    enrich(&app).await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    for (lang, total) in [("zh", "共"), ("en", "Total")] {
        let page = app.page(&owner, "/members", lang).await.body;
        assert!(page.contains(total) && page.contains("Name aaa"));
        assert!(!page.contains("@qunzhu:sandbox"), "the bot is hidden");
        assert!(
            !page.contains("Leaver") && !page.contains("Kicked"),
            "leavers hidden"
        );
        let all = app.page(&owner, "/members?bots=1&gone=1", lang).await.body;
        assert!(all.contains("@qunzhu:sandbox") && all.contains("Leaver"));
    }
    let sorted = app
        .page(&owner, "/members?sort=checkins&gone=1", "en")
        .await
        .body;
    assert!(sorted.find("Name aaa") < sorted.find("Leaver"));
    assert!(sorted.contains(r#"data-sort="checkins""#));
    let beyond = app.page(&owner, "/members?page=9", "zh").await;
    assert_eq!(beyond.status, StatusCode::OK);
    let path = format!("/members/sandbox/{}", url_part(&app.a.member));
    for lang in ["zh", "en"] {
        let member = app.page(&owner, &path, lang).await.body;
        assert!(
            member.contains("刚刚的消息"),
            "today's events are in the history"
        );
        assert!(member.contains("Group aaa"), "with group names");
    }
}

#[tokio::test]
async fn settings_text_is_escaped() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let en = app.page(&owner, "/settings", "en").await.body;
    assert!(en.contains("Bearer &lt;token&gt;") && !en.contains("<token>"));
    let zh = app.page(&owner, "/settings", "zh").await.body;
    assert!(zh.contains("Bearer &lt;令牌&gt;"));
}

#[tokio::test]
async fn the_api_serves_the_table_tasks_and_lurker_confirmation() {
    use axum::http::Method;
    let app = TestApp::new().await;
    enrich(&app).await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let table = app
        .call(
            &operator,
            Method::GET,
            "/api/v1/group-table?sort=name",
            None,
        )
        .await
        .json();
    let rows = table.as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    let busy = rows
        .iter()
        .find(|r| r["group"]["id"] == app.a.group_id.0)
        .expect("group aaa");
    assert_eq!(
        (
            busy["today"]["left"].as_u64(),
            busy["today"]["removed"].as_u64(),
            busy["month"]["checkins"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{busy}"
    );
    let bad = app
        .call(
            &operator,
            Method::GET,
            "/api/v1/group-table?dir=sideways",
            None,
        )
        .await;
    assert_eq!(
        (bad.status, bad.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input")
    );
    let tasks = app
        .call(&operator, Method::GET, "/api/v1/tasks", None)
        .await
        .json();
    let id = tasks[0]["id"].as_i64().expect("task id");
    let done = app
        .call(
            &operator,
            Method::POST,
            &format!("/api/v1/tasks/{id}/confirm"),
            None,
        )
        .await
        .json();
    assert_eq!(done["status"], "done");
    let reports = app
        .call(
            &operator,
            Method::GET,
            "/api/v1/moderation/lurker-reports",
            None,
        )
        .await
        .json();
    assert_eq!(reports.as_array().map(Vec::len), Some(1));
    let path = format!("/api/v1/groups/{}/lurkers/confirm", app.a.group_id);
    let first = app.call(&operator, Method::POST, &path, None).await.json();
    let second = app.call(&operator, Method::POST, &path, None).await.json();
    assert_eq!(
        (first["queued"].as_u64(), second["queued"].as_u64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn the_rule_editor_previews_messages_and_links_the_reference() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    for (lang, title) in [("zh", "成员将看到的消息"), ("en", "What members will see")] {
        let page = app.page(&owner, "/rules/rules-aaa", lang).await.body;
        assert!(page.contains(title), "{lang}");
        // The shipped warning, filled as the guardian fills it, for the workspace's group.
        assert!(
            page.contains("@小王 请注意：请勿发布广告或违禁内容。这是第 1 次提醒"),
            "{page}"
        );
        assert!(page.contains("Group aaa") && page.contains(r#"href="/help/rules""#));
        assert!(page.contains(r#"wrap="soft""#), "soft-wrapped by default");
    }
    let reference = app.page(&owner, "/help/rules", "zh").await;
    assert_eq!(reference.status, StatusCode::OK);
    assert!(
        reference.body.contains("规则文件参考") && reference.body.contains("Rule file reference")
    );
}

#[test]
fn the_reference_examples_make_a_valid_rule_file() {
    let doc = include_str!("../../../../docs/rules.md");
    let mut source = String::new();
    let mut inside = false;
    for line in doc.lines() {
        match (inside, line.trim()) {
            (false, "```toml") => inside = true,
            (true, "```") => inside = false,
            (true, _) => {
                source.push_str(line);
                source.push('\n');
            }
            _ => {}
        }
    }
    assert!(source.contains("[profiles.default]"));
    if let Err(problems) = qunzhu_moderation::check(&source, "docs.toml") {
        panic!("docs/rules.md examples: {problems:?}\n{source}");
    }
}

#[tokio::test]
async fn the_audit_log_filters_by_verb_actor_and_time() {
    let app = TestApp::new().await;
    let operator = app.session(UserRole::Operator, "aaa").await;
    let path = format!("/today/tasks/{}/confirm", app.a.task);
    app.post_form(&operator, &path, &[], Some(&operator.csrf))
        .await;
    let people = |body: &str| {
        let start = body.find(r#"id="people""#).unwrap_or(0);
        let end = body[start..]
            .find("</section>")
            .map_or(body.len(), |e| start + e);
        body[start..end].to_string()
    };
    let owner = app.session(UserRole::Owner, "aaa").await;
    for lang in ["zh", "en"] {
        let all = people(&app.page(&owner, "/audit", lang).await.body);
        assert!(all.contains("sop.task_confirm"), "{lang}");
        assert!(
            all.contains(">Group aaa</a>"),
            "the subject by its group's name"
        );
        let sop = people(
            &app.page(&owner, "/audit?verb=sop.&actor=user%3Aoperator-aaa", lang)
                .await
                .body,
        );
        assert!(sop.contains("sop.task_confirm"));
        let rules = people(&app.page(&owner, "/audit?verb=rule.", lang).await.body);
        assert!(!rules.contains("sop.task_confirm"));
        let other = people(&app.page(&owner, "/audit?actor=cli", lang).await.body);
        assert!(!other.contains("sop.task_confirm"));
        let old = people(&app.page(&owner, "/audit?to=2026-03-01", lang).await.body);
        assert!(!old.contains("sop.task_confirm"), "time filter");
    }
}

#[tokio::test]
async fn the_member_page_api_sorts_pages_and_hides_bots() {
    use axum::http::Method;
    let app = TestApp::new().await;
    enrich(&app).await;
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let page = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/member-page?sort=messages",
            None,
        )
        .await
        .json();
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["rows"][0]["member"]["user"], app.a.member.as_str());
    let all = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/member-page?bots=1&gone=1&page=1",
            None,
        )
        .await
        .json();
    // The bot, the two who left and the one still asking to join show too.
    assert_eq!(all["total"], 5, "{all}");
    let bad = app
        .call(
            &viewer,
            Method::GET,
            "/api/v1/member-page?sort=height",
            None,
        )
        .await;
    assert_eq!(bad.error_code(), "invalid_input");
}

/// A flood of knocks: 今日 shows the hundred waiting longest and counts the rest, so the page
/// does not look up every request.
#[tokio::test]
async fn today_shows_the_longest_waiting_requests_and_counts_the_rest() {
    let app = TestApp::new().await;
    let now = start_time();
    let knocks: Vec<NewEvent> = (0..101)
        .map(|n| NewEvent {
            event: Event {
                workspace: app.a.ws,
                platform: Platform::Sandbox,
                key: format!("flood-{n}"),
                chat: app.a.chat.clone(),
                at: now - Duration::minutes(50),
                kind: EventKind::JoinRequested {
                    member: format!("@flood-{n}:sandbox").into(),
                    display_name: None,
                    reason: None,
                },
            },
            day: qunzhu_domain::local_day(now, chrono_tz::Asia::Shanghai),
        })
        .collect();
    app.store
        .ingest(
            IngestBatch {
                events: knocks,
                cursor: None,
            },
            &mut |_: &Event| Vec::new(),
        )
        .await
        .expect("knocks");
    let owner = app.session(UserRole::Owner, "aaa").await;
    let page = app.page(&owner, "/today", "en").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    // The seeded knock and 101 more: 100 shown, oldest first, the seeded one among them.
    assert_eq!(page.body.matches(r#"value="approve""#).count(), 100);
    assert!(
        page.body.contains("Asker aaa"),
        "the longest waiting is shown"
    );
    assert!(
        page.body.contains(r#"data-more-requests="2""#),
        "the rest are counted"
    );
    assert!(page.body.contains("2 more requests are waiting"));
}
