//! Managing console accounts: what the Users page, the `/api/v1/users` routes and the
//! `qunzhu users` commands all call, so each change is checked and audited the same way.
//!
//! An admin manages users whose role is not above their own; nobody can disable or delete
//! themselves, and the last owner who can sign in stays, so a workspace is never left without one.

use qunzhu_storage::{User, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::auth::{hash_password_blocking, validate_password, Principal};
use crate::error::{ApiError, ApiResult};
use crate::ops::audit;
use crate::Ctx;

/// A user as the console and API list it: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: UserRole,
    pub disabled: bool,
    pub disabled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Live console sessions right now.
    pub sessions: u64,
}

/// The workspace's users with their live session counts, oldest account first.
pub async fn list_users(ctx: &Ctx, who: &Principal) -> ApiResult<Vec<UserView>> {
    who.require(UserRole::Admin)?;
    let now = ctx.app.clock.now();
    let store = ctx.app.store.as_ref();
    let counts = store.session_counts(who.workspace, now).await?;
    Ok(store
        .users(who.workspace)
        .await?
        .into_iter()
        .map(|user| UserView {
            sessions: counts
                .iter()
                .find(|(id, _)| *id == user.id)
                .map_or(0, |(_, count)| *count),
            id: user.id,
            disabled: user.is_disabled(),
            disabled_at: user.disabled_at,
            login: user.login,
            display_name: user.display_name,
            role: user.role,
        })
        .collect())
}

/// The user with this login in the principal's workspace, if the principal may manage it.
async fn managed(ctx: &Ctx, who: &Principal, login: &str) -> ApiResult<User> {
    who.require(UserRole::Admin)?;
    let user = ctx
        .app
        .store
        .user_by_login(login.trim())
        .await?
        .filter(|user| user.workspace == who.workspace)
        .ok_or_else(|| ApiError::not_found("user"))?;
    if user.role > who.role {
        return Err(ApiError::new(
            crate::ErrorCode::Forbidden,
            "you cannot manage a user with more rights than you have",
        ));
    }
    Ok(user)
}

fn is_self(who: &Principal, user: &User) -> bool {
    who.actor == format!("user:{}", user.login)
}

/// Refuses a change that would leave the workspace without an owner who can sign in.
async fn keep_an_owner(ctx: &Ctx, who: &Principal, user: &User) -> ApiResult<()> {
    if user.role != UserRole::Owner || user.is_disabled() {
        return Ok(());
    }
    let owners = ctx
        .app
        .store
        .users(who.workspace)
        .await?
        .into_iter()
        .filter(|other| other.role == UserRole::Owner && !other.is_disabled())
        .count();
    if owners <= 1 {
        return Err(ApiError::invalid(
            "login",
            "this is the last owner who can sign in; add another owner first",
        ));
    }
    Ok(())
}

/// Disables a user: their sessions end at once and they cannot sign in until enabled again.
pub async fn disable_user(ctx: &Ctx, who: &Principal, login: &str) -> ApiResult<User> {
    let user = managed(ctx, who, login).await?;
    if is_self(who, &user) {
        return Err(ApiError::invalid("login", "you cannot disable yourself"));
    }
    keep_an_owner(ctx, who, &user).await?;
    let now = ctx.app.clock.now();
    ctx.app
        .store
        .set_user_disabled(who.workspace, user.id, Some(now))
        .await?;
    audit(
        ctx,
        who,
        "user.disable",
        &user.login,
        json!({ "id": user.id }),
    )
    .await?;
    Ok(User {
        disabled_at: Some(now),
        ..user
    })
}

/// Lets a disabled user sign in again.
pub async fn enable_user(ctx: &Ctx, who: &Principal, login: &str) -> ApiResult<User> {
    let user = managed(ctx, who, login).await?;
    ctx.app
        .store
        .set_user_disabled(who.workspace, user.id, None)
        .await?;
    audit(
        ctx,
        who,
        "user.enable",
        &user.login,
        json!({ "id": user.id }),
    )
    .await?;
    Ok(User {
        disabled_at: None,
        ..user
    })
}

/// Sets a new password; every session of the user ends, so a stolen one stops working.
pub async fn set_password(
    ctx: &Ctx,
    who: &Principal,
    login: &str,
    password: &str,
) -> ApiResult<User> {
    let user = managed(ctx, who, login).await?;
    validate_password(password)?;
    let hash = hash_password_blocking(password).await?;
    ctx.app
        .store
        .set_password_hash(who.workspace, user.id, &hash)
        .await?;
    audit(
        ctx,
        who,
        "user.password",
        &user.login,
        json!({ "id": user.id }),
    )
    .await?;
    Ok(user)
}

/// Deletes a user and their sessions; what they did stays in the audit log under their name.
pub async fn delete_user(ctx: &Ctx, who: &Principal, login: &str) -> ApiResult<()> {
    let user = managed(ctx, who, login).await?;
    if is_self(who, &user) {
        return Err(ApiError::invalid("login", "you cannot delete yourself"));
    }
    keep_an_owner(ctx, who, &user).await?;
    ctx.app.store.delete_user(who.workspace, user.id).await?;
    audit(
        ctx,
        who,
        "user.delete",
        &user.login,
        json!({ "id": user.id, "role": user.role }),
    )
    .await
}

/// Ends every console session of a user (signed in on a lost laptop, say); returns how many.
pub async fn revoke_sessions(ctx: &Ctx, who: &Principal, login: &str) -> ApiResult<u64> {
    let user = managed(ctx, who, login).await?;
    let ended = ctx
        .app
        .store
        .revoke_user_sessions(who.workspace, user.id)
        .await?;
    audit(
        ctx,
        who,
        "user.revoke_sessions",
        &user.login,
        json!({ "id": user.id, "sessions": ended }),
    )
    .await?;
    Ok(ended)
}
