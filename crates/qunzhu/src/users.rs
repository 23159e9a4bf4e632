//! `qunzhu users`: console accounts from a terminal — the first owner on a fresh install, and a
//! way back in when every password is lost. Each command calls the same operation as the console
//! (`qunzhu-ops`), acting as the workspace's owner and audited as `cli`.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use qunzhu_domain::{Clock, SystemClock};
use qunzhu_ops::{generate_password, Actor, Ops, OpsError};
use qunzhu_storage::UserRole;

use crate::config::Config;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a console user; prints a generated password once unless `--password-stdin`.
    Add {
        name: String,
        /// owner, admin, operator or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the console users, their roles, state and live sessions.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: their sessions end and they cannot sign in (`enable` undoes it).
    Disable { name: String },
    /// Let a disabled user sign in again.
    Enable { name: String },
    /// Set a new password (generated and printed once unless `--password-stdin`); sessions end.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

fn parse_role(text: &str) -> anyhow::Result<UserRole> {
    UserRole::parse(text.trim()).with_context(|| {
        format!("unknown role `{text}`; expected owner, admin, operator or viewer")
    })
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        anyhow::bail!("--password-stdin: standard input held no password");
    }
    Ok(password)
}

/// An operation's refusal as one sentence (it already names the field it is about).
fn plain(error: OpsError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

pub async fn run(command: UsersCommand, config: Config) -> anyhow::Result<()> {
    let store = crate::open::store(&config).await?;
    let workspace = crate::app::ensure_workspace(&*store, &config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ops = Ops::new(store, clock);
    // Whoever can run the binary against the database already holds what an owner could reach.
    let who = Actor::cli(workspace.id);
    match command {
        UsersCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let role = parse_role(&role)?;
            let (password, generated) = if password_stdin {
                (read_password()?, false)
            } else {
                (generate_password(), true)
            };
            let user = ops
                .add_user(&who, &name, &password, role)
                .await
                .map_err(plain)?;
            println!(
                "created {} `{}` in workspace `{}`",
                user.role.as_str(),
                user.login,
                workspace.slug
            );
            if generated {
                println!("password (shown once, keep it safe): {password}");
            }
            println!("sign in at {}/login", config.base_url());
        }
        UsersCommand::List { json } => {
            let users = ops.list_users(&who).await.map_err(plain)?;
            if json {
                println!("{}", serde_json::to_string(&users)?);
            } else if users.is_empty() {
                println!(
                    "no users in workspace `{}`; create the first owner with: qunzhu users add NAME --role owner",
                    workspace.slug
                );
            } else {
                println!("{:<24} {:<9} {:<9} sessions", "login", "role", "state");
                for user in users {
                    let state = if user.disabled { "disabled" } else { "active" };
                    println!(
                        "{:<24} {:<9} {:<9} {}",
                        user.login,
                        user.role.as_str(),
                        state,
                        user.sessions
                    );
                }
            }
        }
        UsersCommand::Disable { name } => {
            let user = ops.disable_user(&who, &name).await.map_err(plain)?;
            println!("disabled `{}`; their sessions have ended", user.login);
        }
        UsersCommand::Enable { name } => {
            let user = ops.enable_user(&who, &name).await.map_err(plain)?;
            println!("enabled `{}`; they can sign in again", user.login);
        }
        UsersCommand::Passwd {
            name,
            password_stdin,
        } => {
            let (password, generated) = if password_stdin {
                (read_password()?, false)
            } else {
                (generate_password(), true)
            };
            let user = ops
                .set_password(&who, &name, &password)
                .await
                .map_err(plain)?;
            println!(
                "new password set for `{}`; their sessions have ended",
                user.login
            );
            if generated {
                println!("password (shown once, keep it safe): {password}");
            }
        }
    }
    Ok(())
}

/// What `serve` prints when nobody can sign in yet: the exact command that fixes it.
pub fn first_owner_hint(config_path: Option<&std::path::Path>) -> String {
    let config = config_path
        .map(|path| format!(" --config {}", shell_word(&path.display().to_string())))
        .unwrap_or_default();
    format!("no console user yet; create the first owner with:\n  qunzhu users add admin --role owner{config}")
}

/// Quotes a path for a POSIX shell when it needs it.
fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
