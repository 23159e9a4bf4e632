//! `qunzhu`: the one binary — serve, demo, migrate, config, status, users, benchmarks.

mod app;
mod banlist;
mod bench;
mod bench_analytics;
mod bench_backlog;
mod bench_fuzz;
mod bench_history;
mod bench_ledger;
mod bench_livecode;
mod bench_poster;
mod bench_react;
mod bench_scheduler;
mod bench_signin;
mod bench_soak;
mod config;
mod demo;
mod drops;
mod lottery;
mod moderation;
mod open;
mod orders_config;
mod tools;
mod users;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "qunzhu",
    version,
    about = "群主 qunzhu: runs a brand's chat groups by the operators' playbook"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run qunzhu: connectors, engine, console and API.
    Serve {
        /// TOML config file (see `qunzhu config example`).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run a sandbox community on the embedded database, with the console, to see qunzhu work.
    Demo {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Where the demo keeps its database and simulated platform.
        #[arg(long, default_value = "qunzhu-data/demo")]
        data: PathBuf,
        /// Seed of the simulated community's behaviour.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// How many sandbox groups the community has (1 to 200).
        #[arg(long, default_value_t = demo::DEFAULT_GROUPS, value_parser = clap::value_parser!(u16).range(1..=i64::from(demo::MAX_GROUPS)))]
        groups: u16,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print the event log and outbox counts.
    Status {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// List outbox actions and where each stands (pending, done, dead with its reason…).
    Actions {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// pending, in_flight, done, dead, skipped or dry_run.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Moderation rule files.
    Rules {
        #[command(subcommand)]
        command: tools::RulesCommand,
    },
    /// Console users: add (the first owner too), list, disable, enable, passwd, revoke, delete.
    Users {
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// Join requests, undo and lurker sweeps from a terminal.
    Moderation {
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: moderation::ModerationCommand,
    },
    /// The brand-wide ban list 黑名单 and followed Matrix policy lists.
    Banlist {
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: banlist::BanlistCommand,
    },
    /// SOP plans: templates and calendar previews.
    Sop {
        #[command(subcommand)]
        command: tools::SopCommand,
    },
    /// Lotteries: open, list, draw, print entries, verify a draw.
    Lottery {
        #[command(subcommand)]
        command: lottery::LotteryCommand,
    },
    /// Point drops (红包雨): start one in a group, list them.
    Drop {
        #[command(subcommand)]
        command: drops::DropCommand,
    },
    /// Benchmarks that print figures.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a fully commented config that `serve` accepts.
    Example,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QUNZHU_LOG")
                .unwrap_or_else(|_| "info,hyper=warn,reqwest=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error_text(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve { config } => app::serve(load(config.as_deref())?, config.as_deref()).await,
        Command::Demo {
            port,
            data,
            seed,
            groups,
        } => app::demo(port, data, seed, groups).await,
        Command::Migrate { config } => {
            let config = load(config.as_deref())?;
            let store = open::store(&config).await?;
            println!("migrations applied ({} database)", store.backend());
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Status { config, json } => app::status(load(config.as_deref())?, json).await,
        Command::Actions {
            config,
            status,
            limit,
            json,
        } => app::actions(load(config.as_deref())?, status, limit, json).await,
        Command::Rules { command } => tools::rules(command, load).await,
        Command::Moderation { config, command } => {
            moderation::run(command, load(config.as_deref())?).await
        }
        Command::Users { config, command } => users::run(command, load(config.as_deref())?).await,
        Command::Banlist { config, command } => {
            banlist::run(command, load(config.as_deref())?).await
        }
        Command::Sop { command } => tools::sop(command, load).await,
        Command::Lottery { command } => lottery::run(command, load).await,
        Command::Drop { command } => drops::run(command, load).await,
        Command::Bench { command } => bench::run(command).await,
    }
}

/// An error and its causes on one line, each cause once: many errors already include their
/// source's text (`cannot read x: No such file`), and printing the chain after it would say it
/// twice.
fn error_text(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn load(path: Option<&std::path::Path>) -> anyhow::Result<config::Config> {
    Ok(config::Config::load(path, std::env::vars())?)
}

#[cfg(test)]
mod tests {
    use super::error_text;
    use anyhow::Context;

    #[test]
    fn each_cause_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        // A context that already quotes its cause, then one that does not.
        let quoted: anyhow::Result<()> = Err(anyhow::Error::new(io))
            .context("cannot read config file x.toml: No such file")
            .context("cannot start");
        assert_eq!(
            error_text(&quoted.unwrap_err()),
            "cannot start: cannot read config file x.toml: No such file"
        );
        let plain: anyhow::Result<()> = Err(anyhow::anyhow!("disk full")).context("cannot save");
        assert_eq!(error_text(&plain.unwrap_err()), "cannot save: disk full");
    }
}
