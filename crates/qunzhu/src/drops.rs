//! `qunzhu drop …`: start a point drop (红包雨) in a group now or later, list drops, and print the
//! ready-made self-introduction drop (article 001).

use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use qunzhu_domain::{Clock, Platform, SystemClock};
use qunzhu_growth::drop::{self_introduction_template, DropSpec};
use qunzhu_growth::lottery::Prize;

use crate::config::Config;

#[derive(Subcommand)]
pub enum DropCommand {
    /// Schedule a drop: the first `--shares` members who send `--keyword` get `--points` each.
    Start {
        #[arg(long)]
        platform: String,
        #[arg(long)]
        chat: String,
        /// Start from a ready-made drop (`self-intro`); the flags below override it.
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        keyword: Option<String>,
        #[arg(long)]
        shares: Option<u32>,
        #[arg(long)]
        points: Option<i64>,
        #[arg(long)]
        minutes: Option<u32>,
        /// RFC 3339; now when left out.
        #[arg(long)]
        at: Option<String>,
        /// Idempotency key: the same id twice schedules one drop.
        #[arg(long)]
        request: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Drops of the last 30 days and later.
    List {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn template(name: &str) -> anyhow::Result<DropSpec> {
    match name {
        "self-intro" => Ok(self_introduction_template()),
        other => anyhow::bail!("no drop template `{other}`; the templates are: self-intro"),
    }
}

pub async fn run(
    command: DropCommand,
    load: fn(Option<&std::path::Path>) -> anyhow::Result<Config>,
) -> anyhow::Result<()> {
    match command {
        DropCommand::Start {
            platform,
            chat,
            template: name,
            keyword,
            shares,
            points,
            minutes,
            at,
            request,
            config,
        } => {
            let mut spec = match &name {
                Some(name) => template(name)?,
                None => DropSpec {
                    keyword: keyword.clone().ok_or_else(|| {
                        anyhow::anyhow!("give --keyword (or --template self-intro)")
                    })?,
                    shares: shares.unwrap_or(10),
                    prize: Prize::Points {
                        points: points.unwrap_or(10),
                    },
                    minutes: minutes.unwrap_or(10),
                },
            };
            if let Some(keyword) = keyword {
                spec.keyword = keyword;
            }
            if let Some(shares) = shares {
                spec.shares = shares;
            }
            if let Some(points) = points {
                spec.prize = Prize::Points { points };
            }
            if let Some(minutes) = minutes {
                spec.minutes = minutes;
            }
            let platform = Platform::parse(&platform)
                .map_err(|error| anyhow::anyhow!("--platform: {error}"))?;
            let starts_at = at
                .map(|text| {
                    chrono::DateTime::parse_from_rfc3339(&text)
                        .map(|at| at.to_utc())
                        .map_err(|error| {
                            anyhow::anyhow!("--at: `{text}` is not an RFC 3339 time ({error})")
                        })
                })
                .transpose()?;
            let config = load(config.as_deref())?;
            let store = crate::open::store(&config).await?;
            let workspace = crate::app::ensure_workspace(&*store, &config).await?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let ops = qunzhu_ops::Ops::new(store, clock);
            let stored = ops
                .schedule_drop(
                    &qunzhu_ops::Actor::cli(workspace.id),
                    qunzhu_ops::ScheduleDrop {
                        platform,
                        chat,
                        spec,
                        starts_at,
                        request,
                    },
                )
                .await?;
            println!(
                "drop {} scheduled in {} at {}: the first {} who send 「{}」 within {} minutes get {}",
                stored.id,
                stored.drop.chat,
                stored.drop.starts_at,
                stored.drop.spec.shares,
                stored.drop.spec.keyword,
                stored.drop.spec.minutes,
                stored.drop.spec.prize.describe()
            );
            Ok(())
        }
        DropCommand::List { config } => {
            let config = load(config.as_deref())?;
            let store = crate::open::store(&config).await?;
            let workspace = crate::app::ensure_workspace(&*store, &config).await?;
            let ops = qunzhu_ops::Ops::new(store, Arc::new(SystemClock));
            let drops = ops.drops(&qunzhu_ops::Actor::cli(workspace.id)).await?;
            if drops.is_empty() {
                println!("no drops in the last 30 days");
            }
            for stored in drops {
                println!(
                    "{}  {}  {}  「{}」 × {}  {}",
                    stored.id,
                    stored.drop.chat,
                    stored.drop.starts_at,
                    stored.drop.spec.keyword,
                    stored.drop.spec.shares,
                    stored.drop.spec.prize.describe()
                );
            }
            Ok(())
        }
    }
}
