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
    /// With `--room`, also ask the configured Matrix homeserver whether the bot's power level
    /// in that room allows every step the rules take there.
    Check {
        file: PathBuf,
        /// A Matrix room id (`!abc:example.org`).
        #[arg(long)]
        room: Option<String>,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
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

pub async fn rules(
    command: RulesCommand,
    config: impl FnOnce(Option<&Path>) -> anyhow::Result<Config>,
) -> anyhow::Result<()> {
    match command {
        RulesCommand::Check {
            file,
            room,
            config: config_path,
        } => {
            let source = read(&file)?;
            let rules = match qunzhu_moderation::check(&source, &file.display().to_string()) {
                Ok(rules) => rules,
                Err(problems) => {
                    for problem in &problems {
                        println!("{problem}");
                    }
                    anyhow::bail!("{} problem(s) in {}", problems.len(), file.display())
                }
            };
            println!(
                "{}: ok ({} keyword lists)",
                file.display(),
                rules.keyword_lists().len()
            );
            let Some(room) = room else {
                return Ok(());
            };
            let config = config(config_path.as_deref())?;
            let matrix = qunzhu_matrix::MatrixConnector::connect(
                config.matrix.clone(),
                qunzhu_domain::WorkspaceId(0),
            )
            .await
            .map_err(|error| anyhow::anyhow!("cannot reach the Matrix homeserver: {error}"))?;
            let lacking = matrix.lacking_powers(&room).await.map_err(|error| {
                anyhow::anyhow!("cannot read the power levels of {room}: {error}")
            })?;
            let cannot = room_check(&rules, &room, &lacking);
            for line in &cannot {
                println!("{line}");
            }
            if cannot.is_empty() {
                println!("{room}: the bot may take every step the rules ask for");
                Ok(())
            } else {
                anyhow::bail!("{} step(s) the bot cannot take in {room}", cannot.len())
            }
        }
    }
}

/// One line per step the rules take in `room` that the bot's power does not allow.
fn room_check(
    rules: &qunzhu_moderation::RuleSet,
    room: &str,
    lacking: &[qunzhu_matrix::powers::Lacking],
) -> Vec<String> {
    rules
        .steps_for(room, qunzhu_domain::GroupType::Traffic)
        .into_iter()
        .filter_map(|(step, rule)| {
            let lacking = lacking.iter().find(|lacking| lacking.verb == step)?;
            let fallback = if step == "mute" {
                "mutes fall back to a kick"
            } else {
                "the step fails"
            };
            Some(format!(
                "{room}: rule `{rule}` asks to {step}, {lacking}: {fallback}"
            ))
        })
        .collect()
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
            let zone = workspace.time_zone;
            let reports = qunzhu_engine::push_reports(&*store, workspace.id, limit).await?;
            if json {
                for report in &reports {
                    println!("{}", serde_json::to_string(report)?);
                }
                return Ok(());
            }
            if reports.is_empty() {
                println!("no pushes yet: posts of SOP plans are listed here once they are planned (`qunzhu sop templates` to start one)");
                return Ok(());
            }
            println!("times in {} (the workspace's time zone)", zone.name());
            for report in reports {
                let late = report
                    .late_seconds
                    .map_or("-".to_string(), |seconds| format!("{seconds}s"));
                let sent = report.sent_at.map_or("-".to_string(), |at| {
                    at.with_timezone(&zone).format("%H:%M:%S").to_string()
                });
                println!(
                    "{} sent at {sent:>8}  {:<7} late {late:>6}  reach {:>4}  clicks {:>3} ({} unique)  replies/1h {:>3}  {}",
                    report.scheduled.with_timezone(&zone).format("%Y-%m-%d %H:%M"),
                    format!("{:?}", report.outcome()).to_lowercase(),
                    report.reach,
                    report.clicks,
                    report.unique_clickers,
                    report.replies_within_hour,
                    report.key
                );
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
            let zone = workspace.time_zone;
            let renderer = qunzhu_engine::LiveRenderer::new(store.clone());
            let mut waiting = 0;
            for task in store.actions(workspace.id, &filter).await? {
                if !matches!(task.kind, qunzhu_domain::ActionKind::PersonTask { .. }) {
                    continue;
                }
                // What the person should send is what is true now: fill its live variables.
                let group = renderer
                    .group_live(task.workspace, task.platform, &task.chat, SystemClock.now())
                    .await?;
                let qunzhu_domain::ActionKind::PersonTask { text } = &task.kind else {
                    continue;
                };
                let text = qunzhu_sop::render_live(text, &group.facts());
                waiting += 1;
                println!(
                    "{:>6}  due {} ({})  {}\n        {}",
                    task.id,
                    task.not_before
                        .with_timezone(&zone)
                        .format("%Y-%m-%d %H:%M"),
                    zone.name(),
                    group.name,
                    text.replace('\n', "\n        ")
                );
            }
            if waiting == 0 {
                println!("no posts are waiting for a person to send them");
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
            ops.confirm_task(
                &qunzhu_ops::Actor::cli(workspace.id),
                qunzhu_domain::ActionId(action),
            )
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
            let config = config(config_path.as_deref())?;
            let plan = match qunzhu_sop::parse_plan_in(
                &source,
                &plan.display().to_string(),
                config.zone(),
            ) {
                Ok(plan) => plan,
                Err(problems) => {
                    for problem in &problems {
                        println!("{problem}");
                    }
                    anyhow::bail!("{} problem(s) in the plan", problems.len());
                }
            };
            let store = crate::open::store(&config).await?;
            let workspace = store
                .ensure_workspace(qunzhu_storage::NewWorkspace {
                    slug: config.workspace.slug.clone(),
                    name: config.workspace.name.clone(),
                    time_zone: config.workspace.time_zone,
                })
                .await?;
            // The same facts the console's preview uses: creation times, sizes, today's leaders.
            let with_leaders = source.contains("checkin_leaders");
            let groups: Vec<qunzhu_sop::GroupFacts> = qunzhu_engine::live::current_facts(
                &*store,
                workspace.id,
                SystemClock.now(),
                with_leaders,
            )
            .await?
            .into_iter()
            .map(|(summary, mut facts)| {
                facts.send_autonomously = summary.group.platform != Platform::WeCom;
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

#[cfg(test)]
mod room_check_tests {
    use super::room_check;
    use qunzhu_matrix::powers::lacking;
    use serde_json::json;

    #[test]
    fn steps_the_room_does_not_allow_are_named_with_their_rule() {
        let rules = qunzhu_moderation::check(
            "[[rules]]\nname = \"flood\"\nkind = \"flood\"\ncount = 3\nwithin = \"10s\"\nactions = \"redact+mute 10m\"\n\n[profiles.p]\ndefault = true\nrules = [\"flood\"]\n",
            "rules.toml",
        )
        .expect("rules");
        let levels = json!({"users": {"@bot:x": 50}, "events": {"m.room.power_levels": 100}});
        assert_eq!(
            room_check(&rules, "!r:x", &lacking(&levels, "@bot:x")),
            ["!r:x: rule `flood` asks to mute, cannot mute: bot power 50 < m.room.power_levels 100: mutes fall back to a kick"]
        );
        let moderator = json!({"users": {"@bot:x": 100}});
        assert!(room_check(&rules, "!r:x", &lacking(&moderator, "@bot:x")).is_empty());
    }
}
