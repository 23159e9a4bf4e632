//! `qunzhu moderation …`: the join-request queue, undo, and the lurker report from a terminal.

use std::sync::Arc;

use clap::Subcommand;
use qunzhu_domain::{Clock, EventKind, SystemClock};

use crate::config::Config;

#[derive(Subcommand)]
pub enum ModerationCommand {
    /// Join requests (knocks) waiting for a person.
    Requests,
    /// Approve or deny a waiting join request, by its event key (see `requests`).
    Decide {
        key: String,
        #[arg(long, conflicts_with = "deny", required_unless_present = "deny")]
        approve: bool,
        #[arg(long)]
        deny: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Undo a bot ban or mute (by outbox action id): lift it.
    Undo { action: i64 },
    /// Run today's lurker sweep now (the rule file's policy decides dry-run and removal).
    SweepLurkers,
}

pub async fn run(command: ModerationCommand, config: Config) -> anyhow::Result<()> {
    let store = crate::open::store(&config).await?;
    let workspace = crate::app::ensure_workspace(&*store, &config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let ops = qunzhu_ops::Ops::new(store.clone(), clock.clone());
    let actor = qunzhu_ops::Actor::cli(workspace.id);
    match command {
        ModerationCommand::Requests => {
            let waiting = store.pending_join_requests(workspace.id).await?;
            if waiting.is_empty() {
                println!("no join requests are waiting");
            }
            for stored in waiting {
                if let EventKind::JoinRequested {
                    member,
                    display_name,
                    reason,
                } = &stored.event.kind
                {
                    let name = display_name.as_deref().unwrap_or("");
                    println!(
                        "{}  {}  {member} {name}  {}",
                        stored.event.key,
                        stored.event.chat,
                        reason.as_deref().unwrap_or("")
                    );
                }
            }
        }
        ModerationCommand::Decide {
            key,
            approve,
            deny: _,
            reason,
        } => {
            let decided = ops
                .decide_join_request_by_key(&actor, &key, approve, &reason)
                .await?;
            println!(
                "{} {key}{}",
                if approve { "approved" } else { "denied" },
                if decided.new {
                    ""
                } else {
                    " (already decided)"
                }
            );
        }
        ModerationCommand::Undo { action } => {
            let (lift, decided) = ops
                .undo_action(&actor, qunzhu_domain::ActionId(action))
                .await?;
            println!(
                "{} queued{}",
                lift.kind.name(),
                if decided.new { "" } else { " (already)" }
            );
        }
        ModerationCommand::SweepLurkers => {
            let rules = qunzhu_engine::RulesHandle::new(crate::app::empty_rules()?);
            let watcher = qunzhu_engine::RulesWatcher {
                store: store.clone(),
                clock: clock.clone(),
                workspace: workspace.id,
                handle: rules.clone(),
                file: config.rules.file.clone(),
                every: std::time::Duration::from_secs(2),
            };
            watcher.sync(&mut None, &mut None).await;
            let written = ops.sweep_lurkers(&actor, rules, config.zone()).await?;
            println!("{written} new action(s) in the outbox (see `qunzhu actions`)");
        }
    }
    Ok(())
}
