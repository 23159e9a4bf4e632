//! Assembling a running qunzhu: store, workspace, connectors, engine loops and the HTTP server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use qunzhu_connector::Connector;
use qunzhu_domain::{ActionStatus, Clock, GroupType, Platform, SystemClock};
use qunzhu_engine::{Chain, ConnectorRuntime, Decider, DispatchConfig, GreetEachJoin, RuntimeConfig};
use qunzhu_sandbox::{chat_id, SandboxConnector, World};
use qunzhu_storage::{ActionFilter, GroupUpdate, NewWorkspace, Store, Workspace};
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
    config.sandbox.greeting = "欢迎 {name} 加入！请先看群公告，按「城市-姓名」改好群名片哦～".into();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open::store(&config).await?;
    let workspace = ensure_workspace(&*store, &config).await?;
    name_demo_groups(&*store, &workspace, config.sandbox.behaviour.groups).await?;
    let address = format!("http://{}:{}", config.http.bind, config.http.port);
    run(config, store, workspace, clock, move |_| {
        println!("qunzhu demo is running: open {address}");
        Ok(())
    })
    .await
}

async fn ensure_workspace(store: &dyn Store, config: &Config) -> anyhow::Result<Workspace> {
    Ok(store
        .ensure_workspace(NewWorkspace {
            slug: config.workspace.slug.clone(),
            name: config.workspace.name.clone(),
            time_zone: config.workspace.time_zone.clone(),
        })
        .await?)
}

/// Gives the sandbox groups the names and types an operator would.
async fn name_demo_groups(store: &dyn Store, workspace: &Workspace, groups: usize) -> anyhow::Result<()> {
    const NAMES: &[(&str, GroupType)] = &[
        ("瑜伽打卡营 · 1群", GroupType::CheckIn),
        ("新品福利群 · 上海", GroupType::Traffic),
        ("双11快闪群", GroupType::Flash),
        ("育儿知识分享群", GroupType::Content),
        ("黑金会员群", GroupType::Member),
        ("新品福利群 · 杭州", GroupType::Traffic),
    ];
    for index in 0..groups {
        let group = store.ensure_group(workspace.id, Platform::Sandbox, &chat_id(index)).await?;
        if group.name != group.chat {
            continue;
        }
        let (name, group_type) = NAMES[index % NAMES.len()];
        let update = GroupUpdate { name: Some(name.into()), group_type: Some(group_type), capacity: Some(500), ..GroupUpdate::default() };
        store.update_group(workspace.id, group.id, update).await?;
    }
    Ok(())
}

/// Starts every configured connector's loops and the HTTP server; returns when asked to stop.
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
    let mut runtimes = Vec::new();
    for connector in connectors(&config, &workspace, clock.clone())? {
        tracing::info!(connector = connector.id(), platform = %connector.platform(), "starting connector");
        let decider = deciders(&config);
        runtimes.push(ConnectorRuntime::spawn(store.clone(), connector, clock.clone(), decider, runtime_config.clone(), stop.clone()));
    }

    let listener = tokio::net::TcpListener::bind((config.http.bind.as_str(), config.http.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.http.bind, config.http.port))?;
    let router = crate::app::http_router(store.clone());
    on_ready(&workspace)?;
    let mut http_stop = stop.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = http_stop.changed().await;
    });
    let server = tokio::spawn(async move { server.await });

    shutdown_signal().await;
    tracing::info!("stopping");
    let _ = stop_sender.send(true);
    for runtime in runtimes {
        runtime.join().await;
    }
    server.await.context("the HTTP server task failed")?.context("the HTTP server failed")?;
    Ok(())
}

fn connectors(config: &Config, workspace: &Workspace, clock: Arc<dyn Clock>) -> anyhow::Result<Vec<Arc<dyn Connector>>> {
    let mut connectors: Vec<Arc<dyn Connector>> = Vec::new();
    if config.sandbox.enabled {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
        let max_events = (config.sandbox.max_events > 0).then_some(config.sandbox.max_events);
        let world = World::open_with_history(
            &config.data_dir.join("sandbox.db"),
            config.sandbox.behaviour.clone(),
            workspace.id,
            clock.now(),
            max_events,
            config.sandbox.history_days,
        )?;
        connectors.push(Arc::new(SandboxConnector::new(Arc::new(world), clock, "sandbox")));
    }
    Ok(connectors)
}

fn deciders(config: &Config) -> Box<dyn Decider> {
    let mut chain = Chain::default();
    if !config.sandbox.greeting.is_empty() {
        chain.0.push(Box::new(GreetEachJoin { template: config.sandbox.greeting.clone() }));
    }
    Box::new(chain)
}

/// The routes served until the console crate is wired in: health only.
pub fn http_router(store: Arc<dyn Store>) -> axum::Router {
    use axum::routing::get;
    axum::Router::new().route(
        "/healthz",
        get(move || {
            let store = store.clone();
            async move {
                let database = store.backend();
                let (status, text) = match store.ping().await {
                    Ok(()) => (axum::http::StatusCode::OK, "ok"),
                    Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                };
                (status, axum::Json(serde_json::json!({"status": text, "version": env!("CARGO_PKG_VERSION"), "database": database})))
            }
        }),
    )
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
        println!("events {} (duplicates refused {})", log.events, log.duplicates);
        println!("actions pending {} in flight {} done {} dead {}", actions.pending, actions.in_flight, actions.done, actions.dead);
    }
    Ok(())
}

/// `qunzhu actions`: the outbox, newest first.
pub async fn actions(config: Config, status: Option<String>, limit: usize, json: bool) -> anyhow::Result<()> {
    let status = match status {
        Some(text) => Some(ActionStatus::parse(&text).with_context(|| {
            format!("unknown status `{text}`; expected pending, in_flight, done, dead, skipped or dry_run")
        })?),
        None => None,
    };
    let store = open::store(&config).await?;
    let workspace = ensure_workspace(&*store, &config).await?;
    let filter = ActionFilter { status, limit: Some(limit), ..ActionFilter::default() };
    for action in store.actions(workspace.id, &filter).await? {
        if json {
            println!("{}", serde_json::to_string(&action)?);
        } else {
            let reason = action.last_error.as_deref().unwrap_or("");
            println!(
                "{:>6} {:<9} {:<16} {:<22} attempts {} {} {reason}",
                action.id,
                action.status.as_str(),
                action.kind.name(),
                action.chat,
                action.attempts,
                action.key
            );
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
