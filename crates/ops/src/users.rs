//! Managing console accounts: what the Users page, the `/api/v1/users` routes and the
//! `qunzhu users` commands all call, so each change is checked and audited the same way.
//!
//! An admin manages users whose role is not above their own; nobody can disable or delete
//! themselves, and the last owner who can sign in stays, so a workspace is never left without one.

use chrono::{DateTime, Utc};
use qunzhu_storage::{User, UserRole};
use rand::RngCore;
use serde::Serialize;
use serde_json::json;

use crate::accounts::{hash_password, validate_password};
use crate::{Actor, Ops, OpsError, Result};

/// A user as the console, the API and the CLI list it: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: UserRole,
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Live console sessions right now.
    pub sessions: u64,
}

/// A password for a new account or a reset: 20 characters from an alphabet without look-alikes
/// (no 0/O, 1/l/I), about 115 bits from the OS generator.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| {
            // 2^32 is not a multiple of 56; the bias (< 1e-8 per character) is negligible.
            let index = (rng.next_u32() as usize) % ALPHABET.len();
            char::from(ALPHABET[index])
        })
        .collect()
}

/// Hashes off the async threads: argon2 takes tens of milliseconds of CPU and ~19 MiB.
pub async fn hash_password_blocking(password: &str) -> Result<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| OpsError::Internal(error.to_string()))?
}

fn is_self(who: &Actor, user: &User) -> bool {
    who.name == qunzhu_domain::ActorName::User(user.login.clone())
}

impl Ops {
    /// The workspace's users with their live session counts, oldest account first.
    pub async fn list_users(&self, who: &Actor) -> Result<Vec<UserView>> {
        who.require(UserRole::Admin)?;
        let counts = self
            .store
            .session_counts(who.workspace, self.clock.now())
            .await?;
        Ok(self
            .store
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

    /// The user with this login in the actor's workspace, if the actor may manage them.
    async fn managed(&self, who: &Actor, login: &str) -> Result<User> {
        who.require(UserRole::Admin)?;
        let user = self
            .store
            .user_by_login(login.trim())
            .await?
            .filter(|user| user.workspace == who.workspace)
            .ok_or(OpsError::NotFound("user"))?;
        // Managing someone with more rights would be a way to gain them.
        who.require(user.role)?;
        Ok(user)
    }

    /// Refuses a change that would leave the workspace without an owner who can sign in.
    async fn keep_an_owner(&self, who: &Actor, user: &User) -> Result<()> {
        if user.role != UserRole::Owner || user.is_disabled() {
            return Ok(());
        }
        let owners = self
            .store
            .users(who.workspace)
            .await?
            .into_iter()
            .filter(|other| other.role == UserRole::Owner && !other.is_disabled())
            .count();
        if owners <= 1 {
            return Err(OpsError::invalid(
                "login",
                "this is the last owner who can sign in; add another owner first",
            ));
        }
        Ok(())
    }

    /// Disables a user: their sessions end at once and they cannot sign in until enabled again.
    pub async fn disable_user(&self, who: &Actor, login: &str) -> Result<User> {
        let user = self.managed(who, login).await?;
        if is_self(who, &user) {
            return Err(OpsError::invalid("login", "you cannot disable yourself"));
        }
        self.keep_an_owner(who, &user).await?;
        let now = self.clock.now();
        self.store
            .set_user_disabled(who.workspace, user.id, Some(now))
            .await?;
        self.audit(who, "user.disable", &user.login, json!({ "id": user.id }))
            .await?;
        Ok(User {
            disabled_at: Some(now),
            ..user
        })
    }

    /// Lets a disabled user sign in again.
    pub async fn enable_user(&self, who: &Actor, login: &str) -> Result<User> {
        let user = self.managed(who, login).await?;
        self.store
            .set_user_disabled(who.workspace, user.id, None)
            .await?;
        self.audit(who, "user.enable", &user.login, json!({ "id": user.id }))
            .await?;
        Ok(User {
            disabled_at: None,
            ..user
        })
    }

    /// Sets a new password; every session of the user ends, so a stolen one stops working.
    pub async fn set_password(&self, who: &Actor, login: &str, password: &str) -> Result<User> {
        let user = self.managed(who, login).await?;
        validate_password(password)?;
        let hash = hash_password_blocking(password).await?;
        self.store
            .set_password_hash(who.workspace, user.id, &hash)
            .await?;
        self.audit(who, "user.password", &user.login, json!({ "id": user.id }))
            .await?;
        Ok(user)
    }

    /// Deletes a user and their sessions; what they did stays in the audit log under their name.
    pub async fn delete_user(&self, who: &Actor, login: &str) -> Result<()> {
        let user = self.managed(who, login).await?;
        if is_self(who, &user) {
            return Err(OpsError::invalid("login", "you cannot delete yourself"));
        }
        self.keep_an_owner(who, &user).await?;
        self.store.delete_user(who.workspace, user.id).await?;
        self.audit(
            who,
            "user.delete",
            &user.login,
            json!({ "id": user.id, "role": user.role }),
        )
        .await
    }

    /// Ends every console session of a user (signed in on a lost laptop, say); returns how many.
    pub async fn revoke_sessions(&self, who: &Actor, login: &str) -> Result<u64> {
        let user = self.managed(who, login).await?;
        let ended = self
            .store
            .revoke_user_sessions(who.workspace, user.id)
            .await?;
        self.audit(
            who,
            "user.revoke_sessions",
            &user.login,
            json!({ "id": user.id, "sessions": ended }),
        )
        .await?;
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use qunzhu_domain::{FakeClock, WorkspaceId};
    use qunzhu_storage::{NewWorkspace, Store};

    use super::*;

    async fn setup() -> (Ops, WorkspaceId) {
        let store: Arc<dyn Store> = Arc::new(
            qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"),
        );
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "brand".into(),
                name: "Brand".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap();
        let ops = Ops::new(store, Arc::new(FakeClock::new(now)));
        let cli = Actor::cli(workspace.id);
        for (login, role) in [
            ("boss", UserRole::Owner),
            ("chief", UserRole::Admin),
            ("ops", UserRole::Operator),
        ] {
            ops.add_user(&cli, login, "long enough 1", role)
                .await
                .unwrap();
        }
        (ops, workspace.id)
    }

    fn user(workspace: WorkspaceId, login: &str, role: UserRole) -> Actor {
        Actor {
            workspace,
            name: qunzhu_domain::ActorName::User(login.to_string()),
            role,
        }
    }

    fn refused(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Ok(value) => panic!("expected a refusal, got {value:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[tokio::test]
    async fn roles_self_and_the_last_owner_are_protected() {
        let (ops, ws) = setup().await;
        let chief = user(ws, "chief", UserRole::Admin);
        let boss = user(ws, "boss", UserRole::Owner);
        let operator = user(ws, "ops", UserRole::Operator);
        let cases = [
            (
                refused(ops.disable_user(&operator, "chief").await),
                "your role does not allow this (needs admin)",
            ),
            (
                refused(ops.disable_user(&chief, "boss").await),
                "your role does not allow this (needs owner)",
            ),
            (
                refused(ops.set_password(&chief, "boss", "new password 1").await),
                "your role does not allow this (needs owner)",
            ),
            (
                refused(ops.disable_user(&chief, "chief").await),
                "login: you cannot disable yourself",
            ),
            (
                refused(ops.delete_user(&boss, "boss").await),
                "login: you cannot delete yourself",
            ),
            (
                refused(ops.disable_user(&Actor::cli(ws), "boss").await),
                "login: this is the last owner who can sign in; add another owner first",
            ),
            (
                refused(ops.delete_user(&Actor::cli(ws), "boss").await),
                "login: this is the last owner who can sign in; add another owner first",
            ),
            (
                refused(ops.set_password(&boss, "ops", "short").await),
                "password: at least 8 characters",
            ),
            (
                refused(
                    ops.disable_user(&user(WorkspaceId(999), "x", UserRole::Owner), "ops")
                        .await,
                ),
                "user not found",
            ),
        ];
        for (got, expected) in cases {
            assert_eq!(got, expected);
        }
    }

    #[tokio::test]
    async fn each_change_is_one_audit_entry_and_the_list_shows_it() {
        let (ops, ws) = setup().await;
        let boss = user(ws, "boss", UserRole::Owner);
        ops.disable_user(&boss, "ops").await.unwrap();
        ops.enable_user(&boss, "ops").await.unwrap();
        ops.set_password(&boss, "ops", "brand new pass")
            .await
            .unwrap();
        assert_eq!(ops.revoke_sessions(&boss, "ops").await.unwrap(), 0);
        ops.disable_user(&boss, "chief").await.unwrap();
        let listed = ops.list_users(&boss).await.unwrap();
        let summary: Vec<(&str, bool)> = listed
            .iter()
            .map(|u| (u.login.as_str(), u.disabled))
            .collect();
        assert_eq!(summary, [("boss", false), ("chief", true), ("ops", false)]);
        ops.delete_user(&boss, "chief").await.unwrap();
        let audit = ops.store.audit_log(ws, None, 20).await.unwrap();
        let verbs: Vec<(&str, &str)> = audit
            .iter()
            .rev()
            .skip(3)
            .map(|e| (e.action.as_str(), e.subject.as_str()))
            .collect();
        assert_eq!(
            verbs,
            [
                ("user.disable", "ops"),
                ("user.enable", "ops"),
                ("user.password", "ops"),
                ("user.revoke_sessions", "ops"),
                ("user.disable", "chief"),
                ("user.delete", "chief"),
            ]
        );
        assert!(audit.iter().take(6).all(|e| e.actor == "user:boss"));
        let password = generate_password();
        assert_eq!(password.chars().count(), 20);
        assert!(password
            .chars()
            .all(|c| c.is_ascii_alphanumeric() && !"0O1lI".contains(c)));
        assert_ne!(password, generate_password());
    }
}
