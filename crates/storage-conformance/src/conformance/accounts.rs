//! Conformance: managing accounts — disable, new password, delete, revoke and purge sessions,
//! each scoped to its workspace and each ending the user's sessions where it must.

use super::*;

fn new_user(ws: WorkspaceId, login: &str, role: UserRole) -> NewUser {
    NewUser {
        workspace: ws,
        login: login.into(),
        display_name: login.into(),
        role,
        password_hash: "$argon2id$old".into(),
    }
}

async fn live(store: &dyn Store, session: &str, minute: i64) -> Option<String> {
    store
        .session_user(session, at(minute))
        .await
        .expect("session")
        .map(|user| user.login)
}

pub async fn accounts_are_disabled_repassworded_revoked_and_deleted(store: &dyn Store) {
    let ws = workspace(store, "a").await;
    let other = workspace(store, "b").await;
    let ops = store
        .create_user(new_user(ws, "ops", UserRole::Operator))
        .await
        .expect("user");
    let boss = store
        .create_user(new_user(ws, "boss", UserRole::Owner))
        .await
        .expect("user");
    assert_eq!(ops.disabled_at, None);
    for (session, user) in [("s1", ops.id), ("s2", ops.id), ("s3", boss.id)] {
        store
            .create_session(session, user, at(100))
            .await
            .expect("session");
    }
    assert_eq!(
        store.session_counts(ws, at(0)).await.expect("counts"),
        vec![(ops.id, 2), (boss.id, 1)]
    );
    assert_eq!(
        store.session_counts(other, at(0)).await.expect("counts"),
        vec![]
    );

    // Another workspace cannot touch the user; nothing changes.
    for result in [
        store.set_user_disabled(other, ops.id, Some(at(1))).await,
        store
            .set_password_hash(other, ops.id, "$argon2id$evil")
            .await,
        store.delete_user(other, ops.id).await,
    ] {
        assert!(
            matches!(result, Err(StoreError::NotFound { .. })),
            "{result:?}"
        );
    }
    assert_eq!(
        store
            .revoke_user_sessions(other, ops.id)
            .await
            .expect("revoke"),
        0
    );
    assert_eq!(live(store, "s1", 0).await, Some("ops".into()));

    // Disabling ends the sessions and keeps new ones from working; enabling lets the user back.
    store
        .set_user_disabled(ws, ops.id, Some(at(1)))
        .await
        .expect("disable");
    assert_eq!(live(store, "s1", 2).await, None);
    let found = store
        .user_by_login("ops")
        .await
        .expect("login")
        .expect("found");
    assert_eq!(found.disabled_at, Some(at(1)));
    assert!(found.is_disabled());
    store
        .create_session("s4", ops.id, at(100))
        .await
        .expect("session");
    assert_eq!(
        live(store, "s4", 2).await,
        None,
        "a disabled user has no session"
    );
    store
        .set_user_disabled(ws, ops.id, None)
        .await
        .expect("enable");
    assert_eq!(live(store, "s4", 2).await, Some("ops".into()));
    assert_eq!(
        live(store, "s2", 2).await,
        None,
        "ended sessions stay ended"
    );

    // A new password replaces the hash and ends every session.
    store
        .set_password_hash(ws, ops.id, "$argon2id$new")
        .await
        .expect("passwd");
    assert_eq!(live(store, "s4", 2).await, None);
    assert_eq!(
        store
            .user_by_login("ops")
            .await
            .expect("login")
            .expect("found")
            .password_hash,
        "$argon2id$new"
    );

    // Revoking ends exactly that user's sessions.
    store
        .create_session("s5", ops.id, at(100))
        .await
        .expect("session");
    store
        .create_session("s6", ops.id, at(100))
        .await
        .expect("session");
    assert_eq!(
        store
            .revoke_user_sessions(ws, ops.id)
            .await
            .expect("revoke"),
        2
    );
    assert_eq!(live(store, "s5", 2).await, None);
    assert_eq!(live(store, "s3", 2).await, Some("boss".into()));

    // Purging removes expired sessions only.
    store
        .create_session("old", boss.id, at(10))
        .await
        .expect("session");
    assert_eq!(
        store.purge_expired_sessions(at(10)).await.expect("purge"),
        1
    );
    assert_eq!(
        store.purge_expired_sessions(at(10)).await.expect("purge"),
        0
    );
    assert_eq!(live(store, "s3", 50).await, Some("boss".into()));

    // Deleting removes the user and its sessions; the login is free again.
    store
        .create_session("s7", ops.id, at(100))
        .await
        .expect("session");
    store.delete_user(ws, ops.id).await.expect("delete");
    assert_eq!(store.user_by_login("ops").await.expect("login"), None);
    assert_eq!(live(store, "s7", 2).await, None);
    assert!(matches!(
        store.delete_user(ws, ops.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store
            .users(ws)
            .await
            .expect("users")
            .iter()
            .map(|u| u.login.as_str())
            .collect::<Vec<_>>(),
        ["boss"]
    );
    store
        .create_user(new_user(ws, "ops", UserRole::Viewer))
        .await
        .expect("the login can be reused");
}
