//! `qunzhu rules …` and `qunzhu sop …`: check and preview what operators write, offline.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use qunzhu_domain::{Clock, Platform, SystemClock};

use crate::config::Config;

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Validate a rule file: every problem as `file:line:col: message`; non-zero exit if any.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
pub enum SopCommand {
    /// The shipped plan templates (早报, 教育周, 餐饮日, 快闪群, 新群 7 天, 黄金时段).
    Templates {
        /// Print one template's plan as TOML, ready to edit and save.
        #[arg(long)]
        show: Option<String>,
    },
    /// What recent pushes led to: reach, delivery, lateness, clicks, replies within an hour.
    Pushes {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long, default_value_t = 30)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Posts waiting for a person (platforms that cannot send by themselves).
    Tasks {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Confirm that a person sent a waiting post (by action id).
    Confirm {
        action: i64,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Validate a plan file and print its calendar for the coming days, in local time.
    Preview {
        #[arg(long)]
        plan: PathBuf,
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// The groups come from this instance's store.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn rules(command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Check { file } => {
            let source = read(&file)?;
            match qunzhu_moderation::check(&source, &file.display().to_string()) {
                Ok(rules) => {
                    println!(
                        "{}: ok ({} keyword lists)",
                        file.display(),
                        rules.keyword_lists().len()
                    );
                    Ok(())
                }
                Err(problems) => {
                    for problem in &problems {
                        println!("{problem}");
                    }
                    anyhow::bail!("{} problem(s) in {}", problems.len(), file.display())
                }
            }
        }
    }
}

pub async fn sop(
    command: SopCommand,
    config: impl FnOnce(Option<&Path>) -> anyhow::Result<Config>,
) -> anyhow::Result<()> {
    match command {
        SopCommand::Templates { show: Some(id) } => {
            let template = qunzhu_sop::template(&id).with_context(|| {
                format!("no template `{id}`; `qunzhu sop templates` lists them")
            })?;
            print!(
                "{}",
                template.to_toml(qunzhu_sop::Target::all(), chrono_tz::Asia::Shanghai)
            );
            Ok(())
        }
        SopCommand::Templates { show: None } => {
            for template in qunzhu_sop::templates() {
                println!(
                    "{:<18} {} / {}\n{:<18} {}",
                    template.id, template.name_zh, template.name_en, "", template.description
                );
            }
            Ok(())
        }
        SopCommand::Pushes {
            config: config_path,
            limit,
            json,
        } => {
            let config = config(config_path.as_deref())?;
            let store = crate::open::store(&config).await?;
            let workspace = crate::app::ensure_workspace(&*store, &config).await?;
            for report in qunzhu_engine::push_reports(&*store, workspace.id, limit).await? {
                if json {
                    println!("{}", serde_json::to_string(&report)?);
                } else {
                    let late = report
                        .late_seconds
                        .map_or("-".to_string(), |seconds| format!("{seconds}s"));
                    println!(
                        "{} {:<9} late {late:>6}  reach {:>4}  clicks {:>3} ({} unique)  replies/1h {:>3}  {}",
                        report.scheduled.format("%m-%d %H:%M"),
                        report.status.as_str(),
                        report.reach,
                        report.clicks,
                        report.unique_clickers,
                        report.replies_within_hour,
                        report.key
                    );
                }
            }
            Ok(())
        }
        SopCommand::Tasks {
            config: config_path,
        } => {
            let config = config(config_path.as_deref())?;
            let store = crate::open::store(&config).await?;
            let workspace = crate::app::ensure_workspace(&*store, &config).await?;
            let filter = qunzhu_storage::ActionFilter {
                status: Some(qunzhu_domain::ActionStatus::Pending),
                origin_prefix: Some("sop:".into()),
                limit: Some(1000),
                ..Default::default()
            };
            for task in store.actions(workspace.id, &filter).await? {
                if let qunzhu_domain::ActionKind::PersonTask { text } = &task.kind {
                    println!(
                        "{:>6}  due {}  {}\n        {}",
                        task.id,
                        task.not_before.format("%Y-%m-%d %H:%M UTC"),
                        task.chat,
                        text.replace('\n', "\n        ")
                    );
                }
            }
            Ok(())
        }
        SopCommand::Confirm {
            action,
            config: config_path,
        } => {
            let config = config(config_path.as_deref())?;
            let store = crate::open::store(&config).await?;
            let workspace = crate::app::ensure_workspace(&*store, &config).await?;
            let ops = qunzhu_ops::Ops::new(store.clone(), Arc::new(SystemClock));
            ops.confirm_task(&qunzhu_ops::Actor::cli(workspace.id), action)
                .await?;
            println!("task {action} confirmed as sent");
            Ok(())
        }
        SopCommand::Preview {
            plan,
            days,
            config: config_path,
        } => {
            let source = read(&plan)?;
            let plan = match qunzhu_sop::parse_plan(&source, &plan.display().to_string()) {
                Ok(plan) => plan,
                Err(problems) => {
                    for problem in &problems {
                        println!("{problem}");
                    }
                    anyhow::bail!("{} problem(s) in the plan", problems.len());
                }
            };
            let config = config(config_path.as_deref())?;
            let store = crate::open::store(&config).await?;
            let workspace = store
                .ensure_workspace(qunzhu_storage::NewWorkspace {
                    slug: config.workspace.slug.clone(),
                    name: config.workspace.name.clone(),
                    time_zone: config.workspace.time_zone.clone(),
                })
                .await?;
            let groups: Vec<qunzhu_sop::GroupFacts> = store
                .groups(workspace.id)
                .await?
                .into_iter()
                .map(|summary| {
                    let mut facts = qunzhu_sop::GroupFacts::from_group(
                        &summary.group,
                        chrono::DateTime::UNIX_EPOCH,
                        summary.group.platform != Platform::WeCom,
                    );
                    facts.member_count = summary.members_present.try_into().unwrap_or(u32::MAX);
                    facts
                })
                .collect();
            if groups.is_empty() {
                println!("(no groups in this workspace yet: the calendar is empty until qunzhu has seen a group)");
            }
            print!(
                "{}",
                qunzhu_sop::render_calendar_text(&qunzhu_sop::preview(
                    &plan,
                    &groups,
                    SystemClock.now(),
                    days
                ))
            );
            Ok(())
        }
    }
}
