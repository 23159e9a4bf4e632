//! `qunzhu moderation …`: the join-request queue, undo, and the lurker report from a terminal.

use anyhow::Context;
use clap::Subcommand;
use qunzhu_domain::{ActionKind, Clock, EventKind, NewAction, SystemClock};
use qunzhu_moderation::undo;
use qunzhu_storage::{NewAuditEntry, Store, Workspace};

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

const CLI_ACTOR: &str = "cli";

async fn audit(
    store: &dyn Store,
    workspace: &Workspace,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    let entry = NewAuditEntry {
        workspace: workspace.id,
        at: SystemClock.now(),
        actor: CLI_ACTOR.into(),
        action: action.into(),
        subject: subject.into(),
        detail,
    };
    store.append_audit(entry).await?;
    Ok(())
}

pub async fn run(command: ModerationCommand, config: Config) -> anyhow::Result<()> {
    let store = crate::open::store(&config).await?;
    let workspace = crate::app::ensure_workspace(&*store, &config).await?;
    let now = SystemClock.now();
    match command {
        ModerationCommand::Requests => {
            for stored in store.pending_join_requests(workspace.id).await? {
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
            let pending = store.pending_join_requests(workspace.id).await?;
            let request = pending
                .iter()
                .find(|stored| stored.event.key == key)
                .with_context(|| format!("no waiting join request `{key}`"))?;
            let member = request.event.kind.member().unwrap_or_default().to_string();
            let action = NewAction {
                workspace: workspace.id,
                platform: request.event.platform,
                chat: request.event.chat.clone(),
                key: format!("review:cli:{key}"),
                kind: ActionKind::DecideJoinRequest {
                    member: member.clone(),
                    approve,
                    reason: reason.clone(),
                },
                created_at: now,
                not_before: now,
                expires_at: None,
                dry_run: false,
                origin: format!("{CLI_ACTOR}:review"),
                cause: Some(key.clone()),
            };
            let new = store.enqueue(vec![action]).await?;
            audit(
                &*store,
                &workspace,
                "join_request.decide",
                &member,
                serde_json::json!({"event": key, "approve": approve, "reason": reason}),
            )
            .await?;
            println!(
                "{} {member}{}",
                if approve { "approved" } else { "denied" },
                if new == 0 { " (already decided)" } else { "" }
            );
        }
        ModerationCommand::Undo { action } => {
            let original = store.action(action).await?;
            anyhow::ensure!(
                original.workspace == workspace.id,
                "no action {action} in this workspace"
            );
            let lift = match &original.kind {
                ActionKind::Ban { member, .. } => undo::unban(
                    workspace.id,
                    original.platform,
                    &original.chat,
                    member,
                    CLI_ACTOR,
                    &original.key,
                    now,
                ),
                ActionKind::Mute { member, .. } => undo::unmute(
                    workspace.id,
                    original.platform,
                    &original.chat,
                    member,
                    CLI_ACTOR,
                    &original.key,
                    now,
                ),
                other => anyhow::bail!(
                    "action {action} is a {}; only bans and mutes can be undone",
                    other.name()
                ),
            };
            let new = store.enqueue(vec![lift.clone()]).await?;
            audit(
                &*store,
                &workspace,
                "moderation.undo",
                &original.key,
                serde_json::json!({"action": action, "undo": lift.key}),
            )
            .await?;
            println!(
                "{} queued{}",
                lift.kind.name(),
                if new == 0 { " (already)" } else { "" }
            );
        }
        ModerationCommand::SweepLurkers => {
            let rules = qunzhu_engine::RulesHandle::new(crate::app::empty_rules()?);
            let watcher = qunzhu_engine::RulesWatcher {
                store: store.clone(),
                clock: std::sync::Arc::new(SystemClock),
                workspace: workspace.id,
                handle: rules.clone(),
                file: config.rules.file.clone(),
                every: std::time::Duration::from_secs(2),
            };
            watcher.sync(&mut None, &mut None).await;
            let mut written = 0;
            for platform in [
                qunzhu_domain::Platform::Sandbox,
                qunzhu_domain::Platform::Matrix,
            ] {
                let sweeper = qunzhu_engine::LurkerSweeper {
                    store: store.clone(),
                    clock: std::sync::Arc::new(SystemClock),
                    workspace: workspace.id,
                    platform,
                    rules: rules.clone(),
                    zone: config.zone(),
                    at: config.moderation.lurker_sweep_at,
                };
                written += sweeper.sweep(now).await?;
            }
            println!("{written} new action(s) in the outbox (see `qunzhu actions`)");
        }
    }
    Ok(())
}
