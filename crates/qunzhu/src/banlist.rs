//! `qunzhu banlist …`: the brand-wide ban list 黑名单 and followed Matrix policy lists from a
//! terminal, through the same `qunzhu-ops` operations as the console and the API.

use std::sync::Arc;

use clap::{Subcommand, ValueEnum};
use qunzhu_domain::{BanSource, BanTarget, Clock, Platform, SystemClock};

use crate::config::Config;

#[derive(Clone, Copy, ValueEnum)]
pub enum PlatformArg {
    Matrix,
    Telegram,
    Wecom,
    Sandbox,
}

impl From<PlatformArg> for Platform {
    fn from(value: PlatformArg) -> Self {
        match value {
            PlatformArg::Matrix => Platform::Matrix,
            PlatformArg::Telegram => Platform::Telegram,
            PlatformArg::Wecom => Platform::WeCom,
            PlatformArg::Sandbox => Platform::Sandbox,
        }
    }
}

#[derive(Subcommand)]
pub enum BanlistCommand {
    /// The ban list, the followed lists, and who each list would ban where.
    List,
    /// Ban a member (an id or a glob such as `@*:spam.example`) from every group.
    Add {
        entity: String,
        #[arg(long)]
        reason: String,
        #[arg(long, value_enum, default_value = "matrix")]
        platform: PlatformArg,
        /// The entity is a server (`m.policy.rule.server`), not a member.
        #[arg(long)]
        server: bool,
    },
    /// Lift a ban in every group where it was carried out.
    Remove {
        entity: String,
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long, value_enum, default_value = "matrix")]
        platform: PlatformArg,
    },
    /// Follow a Matrix policy list room, in dry-run until `enforce`.
    Follow { room: String },
    /// Enforce a followed list (after looking at its dry-run in `list`).
    Enforce { room: String },
    /// Stop following a list.
    Unfollow { room: String },
}

pub async fn run(command: BanlistCommand, config: Config) -> anyhow::Result<()> {
    let store = crate::open::store(&config).await?;
    let workspace = crate::app::ensure_workspace(&*store, &config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ops = qunzhu_ops::Ops::new(store, clock);
    let actor = qunzhu_ops::Actor::cli(workspace.id);
    match command {
        BanlistCommand::List => {
            let overview = ops.ban_overview(&actor).await?;
            if overview.bans.is_empty() {
                println!("the ban list is empty");
            }
            for ban in &overview.bans {
                let from = match &ban.source {
                    BanSource::Own => ban.decided_by.clone(),
                    BanSource::List(room) => format!("{room} ({})", ban.decided_by),
                };
                println!(
                    "{}  {} {}  {}  by {from} at {}",
                    ban.platform.as_str(),
                    ban.target.as_str(),
                    ban.entity,
                    ban.reason,
                    ban.decided_at.to_rfc3339()
                );
            }
            for refusal in &overview.refused {
                println!("refused: {refusal}");
            }
            for view in &overview.lists {
                println!(
                    "list {}  {}  {} rules",
                    view.list.room,
                    view.list.mode.as_str(),
                    view.rules
                );
                for would in &view.would_ban {
                    println!(
                        "  would ban {} in {} ({}: {})",
                        would.member, would.chat, would.entity, would.reason
                    );
                }
                for refusal in &view.refused {
                    println!("  refused: {refusal}");
                }
            }
        }
        BanlistCommand::Add {
            entity,
            reason,
            platform,
            server,
        } => {
            let target = if server {
                BanTarget::Server
            } else {
                BanTarget::User
            };
            let banned = ops
                .ban(&actor, platform.into(), target, &entity, &reason)
                .await?;
            println!(
                "banned {} in every group{}",
                banned.ban.entity,
                if banned.new {
                    ""
                } else {
                    " (already on the list)"
                }
            );
        }
        BanlistCommand::Remove {
            entity,
            reason,
            platform,
        } => {
            let lifted = ops.unban(&actor, platform.into(), &entity, &reason).await?;
            println!(
                "lifted the ban of {}: {} waiting bans cancelled, {} unbans queued",
                lifted.ban.entity, lifted.cancelled, lifted.unbans
            );
        }
        BanlistCommand::Follow { room } => {
            ops.follow_list(&actor, &room).await?;
            println!("following {room} in dry-run; see `qunzhu banlist list`, then `enforce`");
        }
        BanlistCommand::Enforce { room } => {
            ops.enforce_list(&actor, &room).await?;
            println!("{room} is enforced");
        }
        BanlistCommand::Unfollow { room } => {
            ops.unfollow_list(&actor, &room).await?;
            println!("no longer following {room}");
        }
    }
    Ok(())
}
