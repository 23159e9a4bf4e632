//! Assembling a running qunzhu: store, workspace, connectors, engine loops and the HTTP server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use qunzhu_connector::Connector;
use std::io::Write;
use std::net::SocketAddr;

use qunzhu_domain::{ActionStatus, Clock, SystemClock};
use qunzhu_engine::{
    Chain, Checkins, ConnectorRuntime, Decider, DispatchConfig, GreetEachJoin, Guard, Planner,
    RulesHandle, RulesWatcher, RuntimeConfig,
};
use qunzhu_sandbox::{SandboxConnector, World};
use qunzhu_server::AppState;
use qunzhu_storage::{ActionFilter, NewWorkspace, Store, Workspace};
use tokio::sync::watch;

use crate::config::Config;
use crate::open;

/// `qunzhu serve`: runs until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open::store(&config).await?;
    let workspace = ensure_workspace(&*store, &config).await?;
    run(config, store, workspace, clock, |_| Ok(())).await
}

/// `qunzhu demo`: a sandbox community on the embedded database, console up.
pub async fn demo(port: u16, data: PathBuf, seed: u64) -> anyhow::Result<()> {
    let mut config = Config::load(None, std::env::vars())?;
    config.data_dir = data;
    config.http.port = port;
    config.workspace.slug = "demo".into();
    config.workspace.name = "演示品牌".into();
    config.sandbox.enabled = true;
    config.sandbox.history_days = 30;
    config.sandbox.behaviour.seed = seed;
    config.sandbox.behaviour.messages_per_second = 0.25;
    config.sandbox.behaviour.join_chance = 0.03;
    config.sandbox.behaviour.spammer_share = 0.25;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open::store(&config).await?;
    let workspace = ensure_workspace(&*store, &config).await?;
    let (login, password) = crate::demo::seed(&*store, &workspace, &config, clock.now()).await?;
    let address = format!("http://{}:{}", config.http.bind, config.http.port);
    run(config, store, workspace, clock, move |_| {
        println!("qunzhu demo is running: open {address}");
        println!("  log in as `{login}` with password `{password}`");
        println!("  a sandbox community of 6 groups is alive; Ctrl-C stops it, data stays in the data directory");
        Ok(())
    })
    .await
}

pub async fn ensure_workspace(store: &dyn Store, config: &Config) -> anyhow::Result<Workspace> {
    Ok(store
        .ensure_workspace(NewWorkspace {
            slug: config.workspace.slug.clone(),
            name: config.workspace.name.clone(),
            time_zone: config.workspace.time_zone.clone(),
        })
        .await?)
}

/// Starts every configured connector's loops, the rules watcher, the SOP planner and the HTTP
/// server; returns when asked to stop.
async fn run(
    config: Config,
    store: Arc<dyn Store>,
    workspace: Workspace,
    clock: Arc<dyn Clock>,
    on_ready: impl FnOnce(&Workspace) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (stop_sender, stop) = watch::channel(false);
    let runtime_config = RuntimeConfig {
        zone: config.zone(),
        dispatch: DispatchConfig {
            max_attempts: config.dispatch.max_attempts,
            backoff_base: chrono::Duration::milliseconds(config.dispatch.backoff_base_ms as i64),
            backoff_max: chrono::Duration::milliseconds(config.dispatch.backoff_max_ms as i64),
            lease: chrono::Duration::seconds(config.dispatch.lease_seconds as i64),
            ..DispatchConfig::default()
        },
        ..RuntimeConfig::default()
    };
    let listener = tokio::net::TcpListener::bind((config.http.bind.as_str(), config.http.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.http.bind, config.http.port))?;

    let rules = RulesHandle::new(empty_rules()?);
    let watcher = RulesWatcher {
        store: store.clone(),
        clock: clock.clone(),
        workspace: workspace.id,
        handle: rules.clone(),
        file: config.rules.file.clone(),
        every: std::time::Duration::from_secs(2),
    };
    // Apply the rules in force before the first event is decided on.
    let (mut applied, mut seen) = (None, None);
    watcher.sync(&mut applied, &mut seen).await;
    let mut tasks = vec![tokio::spawn(watcher.run(applied, seen, stop.clone()))];

    // One ledger worker per instance settles every platform's grants; with several instances on
    // one database their claims never overlap.
    let ledger = qunzhu_engine::LedgerWorker {
        store: store.clone(),
        clock: clock.clone(),
        config: qunzhu_engine::LedgerWorkerConfig::default(),
    };
    tasks.push(tokio::spawn(ledger.run(stop.clone())));
    let invites = qunzhu_engine::InviteTracker {
        store: store.clone(),
        workspace: workspace.id,
        batch: 5_000,
        every: std::time::Duration::from_secs(1),
    };
    tasks.push(tokio::spawn(invites.run(stop.clone())));

    let mut runtimes = Vec::new();
    let mut all = connectors(&config, &workspace, clock.clone())?;
    if config.matrix.enabled {
        // A homeserver that refuses the bot is one clear line in the log; the rest keeps running.
        match qunzhu_matrix::MatrixConnector::connect(config.matrix.clone(), workspace.id).await {
            Ok(matrix) => all.push(Arc::new(matrix)),
            Err(error) => {
                tracing::error!(homeserver = %config.matrix.homeserver, %error, "Matrix connector not started")
            }
        }
    }
    for connector in all {
        tracing::info!(connector = connector.id(), platform = %connector.platform(), "starting connector");
        let decider = deciders(
            &config,
            &*store,
            &workspace,
            &*connector,
            &rules,
            clock.now(),
        )
        .await?;
        let planner = Planner {
            store: store.clone(),
            clock: clock.clone(),
            workspace: workspace.id,
            platform: connector.platform(),
            send_autonomously: connector.capabilities().send_autonomously,
            base_url: config.base_url(),
            horizon: chrono::Duration::hours(i64::from(config.sop.horizon_hours)),
            look_back: chrono::Duration::hours(i64::from(config.sop.look_back_hours)),
            every: std::time::Duration::from_secs(15),
        };
        tasks.push(tokio::spawn(planner.run(stop.clone())));
        let sweeper = qunzhu_engine::LurkerSweeper {
            store: store.clone(),
            clock: clock.clone(),
            workspace: workspace.id,
            platform: connector.platform(),
            rules: rules.clone(),
            zone: config.zone(),
            at: config.moderation.lurker_sweep_at,
        };
        tasks.push(tokio::spawn(sweeper.run(stop.clone())));
        runtimes.push(ConnectorRuntime::spawn(
            store.clone(),
            connector,
            clock.clone(),
            decider,
            runtime_config.clone(),
            stop.clone(),
        ));
    }

    let state = AppState {
        store: store.clone(),
        clock: clock.clone(),
        base_url: config.base_url(),
        secure_cookies: config.http.secure_cookies,
    };
    let router = qunzhu_server::router(state).merge(qunzhu_server::short_links::routes(
        store.clone(),
        clock.clone(),
    ));
    on_ready(&workspace)?;
    let mut http_stop = stop.clone();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = http_stop.changed().await;
    });
    let server = tokio::spawn(async move { server.await });

    shutdown_signal().await;
    tracing::info!("stopping");
    let _ = stop_sender.send(true);
    for runtime in runtimes {
        runtime.join().await;
    }
    for task in tasks {
        let _ = task.await;
    }
    server
        .await
        .context("the HTTP server task failed")?
        .context("the HTTP server failed")?;
    Ok(())
}

/// The rules in force before any rule document exists: none.
pub fn empty_rules() -> anyhow::Result<qunzhu_moderation::RuleSet> {
    qunzhu_moderation::check("", "(no rules)").map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the empty rule set is invalid: {}", lines.join("; "))
    })
}

fn connectors(
    config: &Config,
    workspace: &Workspace,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Vec<Arc<dyn Connector>>> {
    let mut connectors: Vec<Arc<dyn Connector>> = Vec::new();
    if config.sandbox.enabled {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
        let max_events = (config.sandbox.max_events > 0).then_some(config.sandbox.max_events);
        let world = World::open_with_history(
            &config.data_dir.join("sandbox.db"),
            config.sandbox.behaviour.clone(),
            workspace.id,
            clock.now(),
            max_events,
            config.sandbox.history_days,
        )?;
        let sandbox =
            SandboxConnector::new(Arc::new(world), clock, "sandbox").with_clicks(config.base_url());
        connectors.push(Arc::new(sandbox));
    }
    Ok(connectors)
}

/// The decisions the bot makes for one connector: guardianship, check-ins, and the plain
/// greeting when configured.
async fn deciders(
    config: &Config,
    store: &dyn Store,
    workspace: &Workspace,
    connector: &dyn Connector,
    rules: &RulesHandle,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Box<dyn Decider>> {
    let mut chain = Chain::default();
    let platform = connector.platform();
    let guard = Guard::load(
        store,
        workspace.id,
        platform,
        connector.capabilities().clone(),
        rules.clone(),
        now,
    )
    .await?;
    chain.0.push(Box::new(guard));
    chain.0.push(Box::new(
        Checkins::load(store, workspace.id, platform, config.zone(), now).await?,
    ));
    chain.0.push(Box::new(qunzhu_engine::BalanceQuestions {
        workspace: workspace.id,
        platform,
        keywords: config.ledger.balance_keywords.clone(),
    }));
    if let Some(gift) = &config.ledger.join_coupon {
        chain.0.push(Box::new(qunzhu_engine::JoinCoupons {
            workspace: workspace.id,
            platform,
            gift: qunzhu_engine::JoinCoupon {
                offer: gift.offer.clone(),
                valid_days: gift.valid_days,
                inviter: gift.inviter,
            },
        }));
    }
    if !config.sandbox.greeting.is_empty() {
        chain.0.push(Box::new(GreetEachJoin {
            template: config.sandbox.greeting.clone(),
        }));
    }
    Ok(Box::new(chain))
}

/// `qunzhu status`: log and outbox counts.
pub async fn status(config: Config, json: bool) -> anyhow::Result<()> {
    let store = open::store(&config).await?;
    let workspace = ensure_workspace(&*store, &config).await?;
    let log = store.log_stats().await?;
    let actions = store.action_counts(workspace.id).await?;
    if json {
        println!("{}", serde_json::json!({ "log": log, "actions": actions }));
    } else {
        println!(
            "events {} (duplicates refused {})",
            log.events, log.duplicates
        );
        println!(
            "actions pending {} in flight {} done {} dead {}",
            actions.pending, actions.in_flight, actions.done, actions.dead
        );
    }
    Ok(())
}

/// `qunzhu actions`: the outbox, newest first.
pub async fn actions(
    config: Config,
    status: Option<String>,
    limit: usize,
    json: bool,
) -> anyhow::Result<()> {
    let status = match status {
        Some(text) => Some(ActionStatus::parse(&text).with_context(|| {
            format!("unknown status `{text}`; expected pending, in_flight, done, dead, skipped or dry_run")
        })?),
        None => None,
    };
    let store = open::store(&config).await?;
    let workspace = ensure_workspace(&*store, &config).await?;
    let filter = ActionFilter {
        status,
        limit: Some(limit),
        ..ActionFilter::default()
    };
    // Writes stop quietly when the reader goes away (`qunzhu actions | head`).
    let mut out = std::io::stdout().lock();
    for action in store.actions(workspace.id, &filter).await? {
        let line = if json {
            serde_json::to_string(&action)?
        } else {
            let reason = action.last_error.as_deref().unwrap_or("");
            format!(
                "{:>6} {:<9} {:<16} {:<22} attempts {} {} {reason}",
                action.id,
                action.status.as_str(),
                action.kind.name(),
                action.chat,
                action.attempts,
                action.key
            )
        };
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
