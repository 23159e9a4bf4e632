//! Console accounts as operations: users with argon2 passwords, API tokens, and their checks.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use qunzhu_domain::WorkspaceId;
use qunzhu_storage::{ApiToken, NewUser, Store, User, UserRole};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{Actor, Ops, OpsError, Result};

/// API token secrets start with this, so a leaked one is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "qz_";

pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// 32 random bytes from the OS, hex-encoded.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Argon2id with the crate's recommended parameters.
pub fn hash_password(password: &str) -> Result<String> {
    hash_password_with(&Argon2::default(), password)
}

pub fn hash_password_with(argon: &Argon2<'_>, password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| OpsError::Internal(error.to_string()))
}

/// Whether `password` matches a stored PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Checks a new login name: what the console and the audit log can show unambiguously.
pub fn validate_login(login: &str) -> Result<()> {
    let ok_chars = login
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if login.len() < 2 || login.len() > 64 || !ok_chars {
        return Err(OpsError::invalid(
            "login",
            "2–64 characters: letters, digits, . _ - @",
        ));
    }
    Ok(())
}

pub fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        return Err(OpsError::invalid("password", "at least 8 characters"));
    }
    Ok(())
}

/// Creates a console user with an argon2 hash of `password`, with no actor to check: the first
/// owner of a fresh install and the demo's login are made this way.
pub async fn create_user(
    store: &dyn Store,
    workspace: WorkspaceId,
    login: &str,
    password: &str,
    role: UserRole,
) -> Result<User> {
    validate_login(login)?;
    validate_password(password)?;
    let password = password.to_string();
    // Hashing takes tens of milliseconds of CPU: never on the async threads.
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| OpsError::Internal(error.to_string()))??;
    let new = NewUser {
        workspace,
        login: login.to_string(),
        display_name: login.to_string(),
        role,
        password_hash,
    };
    Ok(store.create_user(new).await?)
}

impl Ops {
    /// Adds a console user; nobody can grant more rights than they have.
    pub async fn add_user(
        &self,
        who: &Actor,
        login: &str,
        password: &str,
        role: UserRole,
    ) -> Result<User> {
        who.require(UserRole::Admin)?;
        if role > who.role {
            return Err(OpsError::invalid(
                "role",
                "you cannot grant more rights than you have",
            ));
        }
        let user = create_user(
            self.store.as_ref(),
            who.workspace,
            login.trim(),
            password,
            role,
        )
        .await?;
        self.audit(who, "user.create", &user.login, json!({ "role": role }))
            .await?;
        Ok(user)
    }

    /// A new API token; the secret is returned once and only its hash is kept.
    pub async fn create_token(
        &self,
        who: &Actor,
        name: &str,
        role: UserRole,
    ) -> Result<(ApiToken, String)> {
        who.require(UserRole::Admin)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(OpsError::invalid("name", "1–64 characters"));
        }
        if role > who.role {
            return Err(OpsError::invalid(
                "role",
                "a token cannot have more rights than its creator",
            ));
        }
        let secret = format!("{TOKEN_PREFIX}{}", random_secret());
        let token = self
            .store
            .create_api_token(
                who.workspace,
                name,
                role,
                &sha256_hex(&secret),
                self.clock.now(),
            )
            .await?;
        self.audit(
            who,
            "token.create",
            name,
            json!({ "id": token.id, "role": role }),
        )
        .await?;
        Ok((token, secret))
    }

    pub async fn revoke_token(&self, who: &Actor, id: i64) -> Result<()> {
        who.require(UserRole::Admin)?;
        self.store
            .revoke_api_token(who.workspace, id, self.clock.now())
            .await?;
        self.audit(who, "token.revoke", &id.to_string(), json!({}))
            .await
    }
}
