//! Conformance: accounts, documents, links, and workspaces that never see each other.

use super::*;
use qunzhu_domain::DocumentKind;

pub async fn accounts_sessions_tokens_and_audit(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let new = |login: &str| NewUser {
        workspace: ws,
        login: login.into(),
        display_name: "运营".into(),
        role: UserRole::Operator,
        password_hash: "$argon2id$x".into(),
    };
    let user = store.create_user(new("ops")).await.expect("user");
    assert!(matches!(
        store.create_user(new("ops")).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store
            .user_by_login("ops")
            .await
            .expect("login")
            .expect("found")
            .password_hash,
        "$argon2id$x"
    );
    store
        .create_session("s1", user.id, at(60))
        .await
        .expect("session");
    assert_eq!(
        store
            .session_user("s1", at(59))
            .await
            .expect("session")
            .map(|user| user.login),
        Some("ops".into())
    );
    assert_eq!(
        store.session_user("s1", at(60)).await.expect("session"),
        None,
        "expired"
    );
    store.delete_session("s1").await.expect("delete");
    let token = store
        .create_api_token(ws, "ci", UserRole::Viewer, "t1", at(0))
        .await
        .expect("token");
    assert_eq!(
        store
            .api_token("t1")
            .await
            .expect("token")
            .map(|token| token.name),
        Some("ci".into())
    );
    store
        .revoke_api_token(ws, token.id, at(1))
        .await
        .expect("revoke");
    assert_eq!(store.api_token("t1").await.expect("token"), None);
    assert!(store.api_tokens(ws).await.expect("tokens")[0]
        .revoked_at
        .is_some());
    for index in 0..3 {
        let entry = NewAuditEntry {
            workspace: ws,
            at: at(index),
            actor: "user:ops".into(),
            action: "rule.update".into(),
            subject: format!("r{index}"),
            detail: serde_json::json!({"n": index}),
        };
        store.append_audit(entry).await.expect("audit");
    }
    let newest = store.audit_log(ws, None, 2).await.expect("audit");
    assert_eq!(
        newest
            .iter()
            .map(|entry| entry.subject.as_str())
            .collect::<Vec<_>>(),
        ["r2", "r1"]
    );
    let older = store
        .audit_log(ws, Some(newest[1].id), 10)
        .await
        .expect("audit");
    assert_eq!(
        (older.len(), older[0].detail.clone()),
        (1, serde_json::json!({"n": 0}))
    );
}

pub async fn documents_and_links(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    store
        .put_document(ws, DocumentKind::Rules, "rules", "a = 1", "ops", at(0))
        .await
        .expect("put");
    let second = store
        .put_document(ws, DocumentKind::Rules, "rules", "a = 2", "ops", at(1))
        .await
        .expect("put");
    assert_eq!(
        (second.version, second.source.as_str(), second.updated_at),
        (2, "a = 2", at(1))
    );
    assert_eq!(
        store
            .documents(ws, DocumentKind::Rules)
            .await
            .expect("documents")
            .len(),
        1
    );
    assert!(store
        .documents(ws, DocumentKind::SopPlan)
        .await
        .expect("documents")
        .is_empty());
    store
        .delete_document(ws, DocumentKind::Rules, "rules")
        .await
        .expect("delete");
    assert!(matches!(
        store.document(ws, DocumentKind::Rules, "rules").await,
        Err(StoreError::NotFound { .. })
    ));
    let link = |code: &str| NewLink {
        code: code.into(),
        workspace: ws,
        url: "https://shop.example/x".into(),
        push: "push-1".into(),
        chat: "g".into(),
        member: None,
        created_at: at(0),
    };
    store
        .put_links(vec![link("abc"), link("def"), link("abc")])
        .await
        .expect("links");
    assert_eq!(
        store.link("abc").await.expect("link").url,
        "https://shop.example/x"
    );
    for visitor in ["v1", "v1", "v2"] {
        store
            .record_click(LinkClick {
                code: "abc".into(),
                at: at(1),
                visitor: visitor.into(),
            })
            .await
            .expect("click");
    }
    store
        .record_click(LinkClick {
            code: "def".into(),
            at: at(1),
            visitor: "v3".into(),
        })
        .await
        .expect("click");
    assert_eq!(
        store.push_link_stats(ws, "push-1").await.expect("stats"),
        LinkStats {
            clicks: 4,
            unique_visitors: 3
        }
    );
}

pub async fn workspaces_never_see_each_other(store: &dyn Store) {
    let (a, b) = (workspace(store, "a").await, workspace(store, "b").await);
    ingest(
        store,
        vec![
            event(a, "1", "g", 0, joined("@a", "A")),
            event(a, "2", "g", 1, message("@a", "hi")),
        ],
        None,
    )
    .await;
    store
        .enqueue(vec![send(a, "k", "g", 0)])
        .await
        .expect("enqueue");
    let user = store
        .create_user(NewUser {
            workspace: a,
            login: "ops-a".into(),
            display_name: "a".into(),
            role: UserRole::Owner,
            password_hash: "h".into(),
        })
        .await
        .expect("user");
    let token = store
        .create_api_token(a, "t", UserRole::Admin, "ta", at(0))
        .await
        .expect("token");
    store
        .append_audit(NewAuditEntry {
            workspace: a,
            at: at(0),
            actor: "x".into(),
            action: "y".into(),
            subject: "z".into(),
            detail: serde_json::json!({}),
        })
        .await
        .expect("audit");
    store
        .put_document(a, DocumentKind::Rules, "rules", "x", "ops", at(0))
        .await
        .expect("document");
    store
        .put_links(vec![NewLink {
            code: "c".into(),
            workspace: a,
            url: "u".into(),
            push: "p".into(),
            chat: "g".into(),
            member: None,
            created_at: at(0),
        }])
        .await
        .expect("link");
    store
        .record_click(LinkClick {
            code: "c".into(),
            at: at(0),
            visitor: "v".into(),
        })
        .await
        .expect("click");
    let group_id = store.groups(a).await.expect("groups")[0].group.id;

    assert!(store.groups(b).await.expect("groups").is_empty());
    assert!(matches!(
        store.group(b, group_id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .update_group(b, group_id, GroupUpdate::default())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store
        .members(b, &MemberQuery::default())
        .await
        .expect("members")
        .is_empty());
    assert!(matches!(
        store.member(b, Platform::Sandbox, &"@a".into()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.events(b, 0, 10).await.expect("events").is_empty());
    assert!(store
        .actions(b, &ActionFilter::default())
        .await
        .expect("actions")
        .is_empty());
    assert_eq!(
        store.action_counts(b).await.expect("counts"),
        ActionCounts::default()
    );
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).expect("day");
    assert!(store
        .group_days(b, None, day, day)
        .await
        .expect("days")
        .is_empty());
    assert!(store.users(b).await.expect("users").is_empty());
    assert!(store.api_tokens(b).await.expect("tokens").is_empty());
    assert!(matches!(
        store.revoke_api_token(b, token.id, at(1)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store
        .audit_log(b, None, 10)
        .await
        .expect("audit")
        .is_empty());
    assert!(store
        .documents(b, DocumentKind::Rules)
        .await
        .expect("documents")
        .is_empty());
    assert_eq!(
        store.push_link_stats(b, "p").await.expect("stats"),
        LinkStats::default()
    );
    assert_eq!(
        store
            .cancel_actions(b, "", at(-100), "x")
            .await
            .expect("cancel"),
        0
    );
    assert_eq!(store.users(a).await.expect("users")[0].id, user.id);
}

pub async fn a_workspace_takes_the_configured_name_and_zone(store: &dyn Store) {
    let new = |name: &str, zone: chrono_tz::Tz| NewWorkspace {
        slug: "brand".into(),
        name: name.into(),
        time_zone: zone,
    };
    let first = store
        .ensure_workspace(new("品牌", chrono_tz::Asia::Shanghai))
        .await
        .expect("created");
    assert_eq!(first.time_zone, chrono_tz::Asia::Shanghai);
    let moved = store
        .ensure_workspace(new("Brand", chrono_tz::Europe::Berlin))
        .await
        .expect("updated");
    assert_eq!(moved.id, first.id, "the same workspace");
    assert_eq!(
        (moved.name.as_str(), moved.time_zone),
        ("Brand", chrono_tz::Europe::Berlin)
    );
    let read = store.workspace(first.id).await.expect("read");
    assert_eq!(
        read.time_zone,
        chrono_tz::Europe::Berlin,
        "parsed once, when read"
    );
}
