//! The growth pages: a lottery opened through its form shows its state, commitment and entries,
//! refuses a draw before it closes and shows its seed and winners after; a drop started through
//! its form is listed with its shares against its cap; the leaderboards render the posted lines;
//! a member's points page shows the balance, the entries with their keys and a revoked coupon;
//! viewers change nothing.

use axum::http::StatusCode;
use chrono::Duration;
use qunzhu_domain::{Account, CouponOffer, DocumentKind, NewCoupon, NewEntry, Platform, Reason};
use qunzhu_storage::UserRole;

use super::TestApp;
use crate::html::url_part;

#[tokio::test]
async fn a_lottery_is_opened_refused_an_early_draw_and_drawn_through_the_console() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let group = app.a.group_id.to_string();
    let closes = (qunzhu_domain::Clock::now(&app.clock) + Duration::hours(2))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let fields = [
        ("request", "form-1"),
        ("name", "周末抽奖"),
        ("group", group.as_str()),
        ("closes_at", closes.as_str()),
        ("rule", "invite"),
        ("rule_number", "1"),
        ("tier", "一等奖"),
        ("winners", "1"),
        ("points", "50"),
        ("pool", ""),
    ];
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let refused = app
        .post_form(&viewer, "/lotteries", &fields, Some(&viewer.csrf))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let reply = app
        .post_form(&owner, "/lotteries", &fields, Some(&owner.csrf))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let at = reply.location();
    assert!(
        at.starts_with("/lotteries/") && at.ends_with("?ok=saved"),
        "{at}"
    );
    // The same form submitted twice (same request id) opens one lottery.
    let again = app
        .post_form(&owner, "/lotteries", &fields, Some(&owner.csrf))
        .await;
    assert_eq!(again.location(), at);
    let path = at.trim_end_matches("?ok=saved").to_string();
    for lang in ["zh", "en"] {
        let page = app.page(&owner, &path, lang).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("周末抽奖") && page.body.contains(r#"data-state="open""#));
        assert!(page.body.contains(r#"id="commitment""#) && !page.body.contains(r#"id="seed""#));
    }
    let list = app.page(&owner, "/lotteries", "zh").await.body;
    assert!(list.contains("周末抽奖") && list.contains("抽奖 aaa"));

    let early = app
        .post_form(&owner, &format!("{path}/draw"), &[], Some(&owner.csrf))
        .await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.body
    );
    app.clock.advance(Duration::hours(3));
    let closed = app.page(&owner, &path, "en").await.body;
    assert!(closed.contains(r#"data-state="closed""#) && closed.contains("Draw"));
    let drawn = app
        .post_form(&owner, &format!("{path}/draw"), &[], Some(&owner.csrf))
        .await;
    assert_eq!(drawn.status, StatusCode::SEE_OTHER, "{}", drawn.body);
    let page = app.page(&owner, &path, "zh").await.body;
    assert!(page.contains(r#"data-state="drawn""#) && page.contains(r#"id="seed""#));
    assert!(page.contains(r#"id="winners""#));
}

#[tokio::test]
async fn a_drop_is_started_through_the_console_and_listed_with_its_cap() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let group = app.a.group_id.to_string();
    let fields = [
        ("request", "drop-1"),
        ("group", group.as_str()),
        ("keyword", "红包"),
        ("shares", "10"),
        ("points", "10"),
        ("minutes", "15"),
        ("starts_at", ""),
    ];
    let viewer = app.session(UserRole::Viewer, "aaa").await;
    let refused = app
        .post_form(&viewer, "/drops", &fields, Some(&viewer.csrf))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let reply = app
        .post_form(&owner, "/drops", &fields, Some(&owner.csrf))
        .await;
    assert_eq!(
        (reply.status, reply.location().as_str()),
        (StatusCode::SEE_OTHER, "/drops?ok=saved")
    );
    let bad = app
        .post_form(
            &owner,
            "/drops",
            &[
                ("request", "drop-2"),
                ("group", group.as_str()),
                ("keyword", "红包"),
                ("shares", "0"),
                ("points", "10"),
                ("minutes", "15"),
            ],
            Some(&owner.csrf),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains(r#"data-error="invalid_input""#)
            && bad.body.contains("must be 1 to 10000, got 0"),
        "{}",
        bad.body
    );
    for lang in ["zh", "en"] {
        let page = app.page(&owner, "/drops", lang).await.body;
        assert!(page.contains(r#"data-phase="running""#), "{page}");
        assert!(page.contains("0 / 10") && page.contains("user:owner-aaa"));
    }
    app.clock.advance(Duration::minutes(20));
    let page = app.page(&owner, "/drops", "zh").await.body;
    assert!(page.contains(r#"data-phase="over""#));
    let other = app.session(UserRole::Owner, "bbb").await;
    assert!(!app
        .page(&other, "/drops", "zh")
        .await
        .body
        .contains("data-drop="));
}

#[tokio::test]
async fn boards_and_a_members_points_page_show_the_ledger_and_coupon_states() {
    let app = TestApp::new().await;
    let owner = app.session(UserRole::Owner, "aaa").await;
    let a = &app.a;
    let now = qunzhu_domain::Clock::now(&app.clock);
    let account = Account::member(Platform::Sandbox, a.member.clone());
    app.store
        .post_entries(
            a.ws,
            vec![NewEntry {
                key: "grant-pages".into(),
                reason: Reason::CheckIn,
                cause: Some("evt-checkin".into()),
                from: Account::Issuance,
                to: account.clone(),
                amount: 30,
                at: now,
                memo: "打卡".into(),
                reverses: None,
            }],
        )
        .await
        .expect("post");
    app.store
        .issue_coupons(
            a.ws,
            vec![NewCoupon {
                key: "task:spring:x:1:0".into(),
                code: "QZ-PAGES-1".into(),
                platform: Platform::Sandbox,
                user: a.member.clone(),
                offer: CouponOffer::AmountOff { cents: 1000 },
                issued_at: now,
                expires_at: None,
                memo: "邀请任务".into(),
            }],
        )
        .await
        .expect("coupon");
    app.store
        .revoke_coupon(a.ws, "task:spring:x:1:0", now, "invitee left")
        .await
        .expect("revoke");
    let path = format!("/members/sandbox/{}/points", url_part(&a.member));
    for lang in ["zh", "en"] {
        let page = app.page(&owner, &path, lang).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains(r#"id="balance">30"#), "{}", page.body);
        assert!(page.body.contains("grant-pages") && page.body.contains("evt-checkin"));
        assert!(page.body.contains("QZ-PAGES-1") && page.body.contains(r#"data-status="revoked""#));
        assert!(page.body.contains("invitee left"));
    }
    let member = app
        .page(
            &owner,
            &format!("/members/sandbox/{}", url_part(&a.member)),
            "zh",
        )
        .await
        .body;
    assert!(
        member.contains(&format!(r#"href="{path}""#)),
        "the member page links it"
    );
    let board = app
        .page(
            &owner,
            &format!("/leaderboards?board=points&group={}", a.group_id),
            "zh",
        )
        .await
        .body;
    assert!(board.contains("🥇 Name aaa 30分"), "{board}");
    let board = app
        .page(&owner, "/leaderboards?board=check_ins", "en")
        .await;
    assert_eq!(board.status, StatusCode::OK);
    // A campaign's board ranks over the campaign's groups.
    let starts = now - Duration::days(1);
    let source = qunzhu_growth::templates::template_source(
        "invite_ten",
        false,
        "sandbox",
        std::slice::from_ref(&a.chat),
        starts,
        starts + Duration::days(30),
    )
    .expect("a shipped template");
    app.store
        .put_document(
            a.ws,
            DocumentKind::Campaign,
            "spring-aaa",
            &source,
            "test",
            now,
        )
        .await
        .expect("campaign");
    for board in ["points", "invites", "check_ins"] {
        let page = app
            .page(
                &owner,
                &format!("/leaderboards?board={board}&campaign=spring-aaa"),
                "zh",
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{board}: {}", page.body);
        if board == "points" {
            assert!(page.body.contains("🥇 Name aaa 30分"), "{}", page.body);
        }
    }
    let other = app.session(UserRole::Owner, "bbb").await;
    assert_eq!(
        app.page(&other, &path, "zh").await.status,
        StatusCode::NOT_FOUND
    );
}
