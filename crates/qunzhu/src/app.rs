//! Assembling a running qunzhu: store, workspace, connectors, engine loops and the HTTP server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use qunzhu_connector::Connector;
use std::io::Write;
use std::net::SocketAddr;

use qunzhu_domain::{ActionStatus, Clock, SystemClock};
use qunzhu_engine::{
    health, supervise, Backoff, Chain, Checkins, ConnectorRuntime, Decider, DispatchConfig,
    GreetEachJoin, Guard, Health, Planner, RulesHandle, RulesWatcher, RuntimeConfig,
};
use qunzhu_sandbox::{SandboxConnector, World};
use qunzhu_server::AppState;
use qunzhu_storage::{ActionFilter, NewWorkspace, Store, Workspace};
use tokio::sync::watch;

use crate::config::Config;
use crate::open;

/// Runs a consumer's `run(stop)` loop under [`supervise`]: restarted with backoff whenever it
/// returns, and reported down by `/healthz` when it has not beaten for two minutes (or the
/// given `stale_after`). Every incremental consumer and watcher of `serve`, and every loop that
/// runs beside a connector, is started this one way.
macro_rules! consumer_loop {
    ($name:expr, $health:expr, $stop:expr, $consumer:expr) => {
        consumer_loop!(
            $name,
            $health,
            $stop,
            $consumer,
            chrono::Duration::minutes(2)
        )
    };
    ($name:expr, $health:expr, $stop:expr, $consumer:expr, $stale_after:expr) => {{
        let (consumer, stop_rx) = ($consumer, $stop.clone());
        supervise(
            $name,
            $health.clone(),
            $stale_after,
            Backoff::default(),
            $stop.clone(),
            move || {
                let (consumer, stop) = (consumer.clone(), stop_rx.clone());
                async move {
                    consumer.run(stop).await;
                    Ok(())
                }
            },
        )
    }};
}

/// `qunzhu serve`: runs until SIGINT or SIGTERM. Prints where the console is and, while nobody
/// can sign in yet, the exact command that creates the first owner.
pub async fn serve(config: Config, config_path: Option<&std::path::Path>) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open::store(&config).await?;
    let workspace = ensure_workspace(&*store, &config).await?;
    let no_users = store.users(workspace.id).await?.is_empty();
    let address = config.base_url();
    let hint = no_users.then(|| crate::users::first_owner_hint(config_path));
    run(config, store, workspace, clock, move |_| {
        println!("qunzhu is running: console at {address}");
        if let Some(hint) = hint {
            println!("{hint}");
        }
        Ok(())
    })
    .await
}

/// `qunzhu demo`: a sandbox community of `groups` groups on the embedded database, console up.
pub async fn demo(port: u16, data: PathBuf, seed: u64, groups: u16) -> anyhow::Result<()> {
    let mut config = Config::load(None, std::env::vars())?;
    config.data_dir = data;
    config.http.port = port;
    config.workspace.slug = "demo".into();
    config.workspace.name = "演示品牌".into();
    crate::demo::configure(&mut config, groups, seed);
    let groups = config.sandbox.behaviour.groups;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open::store(&config).await?;
    let workspace = ensure_workspace(&*store, &config).await?;
    let (login, password) = crate::demo::seed(&*store, &workspace, &config, clock.now()).await?;
    let address = format!("http://{}:{}", config.http.bind, config.http.port);
    run(config, store, workspace, clock, move |_| {
        println!("qunzhu demo is running: open {address}");
        println!("  log in as `{login}` with password `{password}`");
        println!("  a sandbox community of {groups} groups is alive (newcomers knock: review them under 审核); Ctrl-C stops it, data stays in the data directory");
        Ok(())
    })
    .await
}

pub async fn ensure_workspace(store: &dyn Store, config: &Config) -> anyhow::Result<Workspace> {
    Ok(store
        .ensure_workspace(NewWorkspace {
            slug: config.workspace.slug.clone(),
            name: config.workspace.name.clone(),
            time_zone: config.workspace.time_zone,
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

    let health = Health::new(clock.clone());
    // The console and `/healthz` answer from here on (status `starting` until the engine is
    // up); platform webhooks join once their connectors are built.
    health.starting();
    let hooks = qunzhu_server::late_routes::LateRoutes::default();
    let state = AppState {
        store: store.clone(),
        clock: clock.clone(),
        base_url: config.base_url(),
        secure_cookies: config.secure_cookies(),
    };
    let options = qunzhu_server::ServerOptions {
        trusted_proxy_header: Some(config.http.trusted_proxy_header.trim().to_string())
            .filter(|name| !name.is_empty()),
        health: Some(health.clone()),
        orders: orders_hook(&config, workspace.id)?,
        point_value_cents: Some(config.orders.point_value_cents),
        funnel: config.analytics.funnel,
        tiers: config.analytics.tiers.clone(),
        phone_vault: Some(Arc::new(
            qunzhu_ops::PhoneVault::open(Some(config.phone_key.expose()), &config.data_dir)
                .context("landing pages' phone key")?,
        )),
        poster_font: poster_font(&config),
        ..qunzhu_server::ServerOptions::default()
    };
    let https = state.secure_cookies;
    let router = qunzhu_server::harden(
        qunzhu_server::router_with(state, options)
            .merge(qunzhu_server::short_links::routes(
                store.clone(),
                clock.clone(),
            ))
            .merge(hooks.under("/hooks")),
        https,
    );
    let mut http_stop = stop.clone();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = http_stop.changed().await;
    });
    let server = tokio::spawn(async move { server.await });

    let rules = RulesHandle::new(empty_rules()?);
    let watcher = RulesWatcher {
        store: store.clone(),
        clock: clock.clone(),
        workspace: workspace.id,
        handle: rules.clone(),
        file: config.rules.file.clone(),
        every: std::time::Duration::from_secs(2),
    };
    // Apply the rules in force before the first event is decided on. A stored document that is
    // invalid is reported (log and health) here; start-up goes on with the rules it had.
    let (mut applied, mut seen) = (None, None);
    let beat = health::Beat {
        health: health.clone(),
        name: "rules watcher".into(),
    };
    health::scope(beat, watcher.sync(&mut applied, &mut seen)).await;
    let mut first = Some((applied, seen));
    let watcher_stop = stop.clone();
    let mut tasks = vec![supervise(
        "rules watcher",
        health.clone(),
        chrono::Duration::minutes(2),
        Backoff::default(),
        stop.clone(),
        move || {
            // A restarted watcher applies the active document again: replacing rules is idempotent.
            let (applied, seen) = first.take().unwrap_or_default();
            let (watcher, stop) = (watcher.clone(), watcher_stop.clone());
            async move {
                watcher.run(applied, seen, stop).await;
                Ok(())
            }
        },
    )];

    // The SOP read models catch up with the log (only what is new since their watermark)
    // before the check-in books are restored from them, then follow it.
    let facts = qunzhu_engine::SopFacts {
        store: store.clone(),
        clock: clock.clone(),
        workspace: workspace.id,
        zone: config.zone(),
        batch: 5_000,
        every: std::time::Duration::from_secs(2),
    };
    facts
        .catch_up()
        .await
        .context("cannot bring the SOP read models up to date")?;
    tasks.push(consumer_loop!("sop read models", health, stop, facts));

    // Group types, names and member roles as operators edit them, picked up without a restart.
    let directory = qunzhu_engine::DirectoryWatcher {
        store: store.clone(),
        workspace: workspace.id,
        handle: qunzhu_engine::DirectoryHandle::default(),
        every: std::time::Duration::from_secs(3),
    };
    directory
        .sync()
        .await
        .context("cannot read the groups and members")?;
    let directory_handle = directory.handle.clone();
    tasks.push(consumer_loop!("directory watcher", health, stop, directory));

    // Point drops operators and SOP steps schedule, with the shares already granted.
    let drops = qunzhu_engine::DropWatcher {
        store: store.clone(),
        workspace: workspace.id,
        handle: qunzhu_engine::DropsHandle::default(),
        clock: clock.clone(),
        every: std::time::Duration::from_secs(2),
    };
    drops
        .sync()
        .await
        .context("cannot read the scheduled point drops")?;
    let drops_handle = drops.handle.clone();
    tasks.push(consumer_loop!("drop watcher", health, stop, drops));

    // The brand-wide ban list: recompiled when it changes, carried out in every group.
    let ban_watcher = qunzhu_engine::BanWatcher {
        store: store.clone(),
        clock: clock.clone(),
        workspace: workspace.id,
        handle: qunzhu_engine::BanHandle::default(),
        bots: bot_ids(&config),
        every: std::time::Duration::from_secs(2),
    };
    let bans_handle = ban_watcher.handle.clone();
    tasks.push(consumer_loop!(
        "ban list watcher",
        health,
        stop,
        ban_watcher
    ));
    // Followed Matrix policy lists: their logged rules become followed bans.
    let follower = qunzhu_engine::PolicyFollower::new(
        store.clone(),
        clock.clone(),
        workspace.id,
        bot_ids(&config),
    );
    tasks.push(consumer_loop!("policy lists", health, stop, follower));
    // The admin back-room 管理群: incidents posted, staff commands answered.
    if !config.moderation.backroom.trim().is_empty() {
        let mut backroom = qunzhu_ops::backroom::Backroom::new(
            qunzhu_ops::Ops::new(store.clone(), clock.clone()),
            workspace.id,
            config.moderation.backroom_platform,
            config.moderation.backroom.trim().to_string(),
        );
        backroom.staff.clone_from(&config.moderation.backroom_staff);
        tasks.push(consumer_loop!("back-room", health, stop, backroom));
    }

    let start = Start {
        bans: bans_handle,
        config: Arc::new(config.clone()),
        store: store.clone(),
        workspace: workspace.clone(),
        clock: clock.clone(),
        rules: rules.clone(),
        directory: directory_handle,
        drops: drops_handle,
        health: health.clone(),
        runtime: runtime_config,
        stop: stop.clone(),
    };

    // One ledger worker per instance settles every platform's grants; with several instances on
    // one database their claims never overlap.
    let ledger = qunzhu_engine::LedgerWorker {
        store: store.clone(),
        clock: clock.clone(),
        config: qunzhu_engine::LedgerWorkerConfig::default(),
    };
    tasks.push(consumer_loop!("ledger worker", health, stop, ledger));
    let showcases = qunzhu_engine::Showcases {
        store: store.clone(),
        workspace: workspace.id,
        hashtag: config.orders.showcase_hashtag.trim().to_string(),
        batch: 5_000,
        every: std::time::Duration::from_secs(2),
    };
    tasks.push(consumer_loop!("showcases", health, stop, showcases));
    let invites = qunzhu_engine::InviteTracker {
        store: store.clone(),
        workspace: workspace.id,
        batch: 5_000,
        every: std::time::Duration::from_secs(1),
    };
    tasks.push(consumer_loop!("invite tracker", health, stop, invites));
    let poll_tags = qunzhu_engine::PollTagger {
        store: store.clone(),
        workspace: workspace.id,
        batch: 5_000,
        every: std::time::Duration::from_secs(1),
    };
    tasks.push(consumer_loop!("poll tagger", health, stop, poll_tags));
    // 秒杀: keyword messages in an offer's group claim it (one atomic store step per claim, so
    // instances sharing a database never oversell), answered in the group with the stock left.
    let offer_claims = qunzhu_engine::OfferClaims {
        store: store.clone(),
        workspace: workspace.id,
        tz: config.zone(),
        clock: clock.clone(),
        batch: 2_000,
        every: std::time::Duration::from_millis(500),
    };
    tasks.push(consumer_loop!("offer claims", health, stop, offer_claims));
    // 换: the swap board answers 有X换Y, 换 #N, 撤回 #N and 换物墙 in every group.
    let swaps = qunzhu_engine::SwapDesk {
        store: store.clone(),
        workspace: workspace.id,
        clock: clock.clone(),
        ttl: chrono::Duration::days(3),
        batch: 2_000,
        every: std::time::Duration::from_millis(500),
    };
    tasks.push(consumer_loop!("swap board", health, stop, swaps));
    // Invite tasks (任务宝): campaigns' books kept from the log, timers on the injected clock.
    let invite_tasks = qunzhu_engine::InviteTasks {
        store: store.clone(),
        clock: clock.clone(),
        workspace: workspace.id,
        batch: 2_000,
        every: std::time::Duration::from_secs(1),
    };
    tasks.push(consumer_loop!("invite tasks", health, stop, invite_tasks));
    // Growth plays 拼 砍 帮 送: chat commands judged by each play's board, windows on the clock.
    let plays = qunzhu_engine::Plays {
        store: store.clone(),
        clock: clock.clone(),
        workspace: workspace.id,
        batch: 2_000,
        every: std::time::Duration::from_secs(1),
    };
    tasks.push(consumer_loop!("growth plays", health, stop, plays));
    // The analytics read models (rollups, member facts) and the daily digest.
    let rollups = qunzhu_engine::Rollups {
        store: store.clone(),
        clock: clock.clone(),
        workspace: workspace.id,
        zone: config.zone(),
        batch: 5_000,
        every: std::time::Duration::from_secs(2),
        digest: config.analytics.digest.clone(),
        tiers: config.analytics.tiers.clone(),
        sent: Default::default(),
    };
    tasks.push(consumer_loop!("analytics", health, stop, rollups));
    let mut all = connectors(&config, &workspace, clock.clone())?;
    let mut webhooks = axum::Router::new();
    if config.telegram.enabled {
        // A refused token is one clear line in the log; the rest keeps running.
        match qunzhu_telegram::TelegramConnector::connect(
            config.telegram.clone(),
            workspace.id,
            &config.data_dir,
            clock.clone(),
        )
        .await
        {
            Ok(telegram) => {
                let telegram = Arc::new(telegram);
                if config.telegram.mode == qunzhu_telegram::Mode::Webhook {
                    let path = format!("/hooks/telegram/{}", telegram.bot_id());
                    tracing::info!(%path, "serving the Telegram webhook");
                    webhooks = webhooks.nest(&path, telegram.webhook());
                }
                all.push(telegram);
            }
            Err(error) => {
                tracing::error!(%error, "Telegram connector not started")
            }
        }
    }
    if config.wecom.enabled {
        // A corp that cannot be reached is one clear line in the log; the rest keeps running.
        match start_wecom(&config, &store, &workspace, clock.clone(), &rules, &stop) {
            Ok((wecom, router, wecom_tasks)) => {
                all.push(wecom);
                webhooks = webhooks.nest(&format!("/hooks/wecom/{}", config.wecom.account), router);
                tasks.extend(wecom_tasks);
            }
            Err(error) => {
                tracing::error!(corp = %config.wecom.corp_id, %error, "WeCom connector not started")
            }
        }
    }
    for connector in all {
        tasks.extend(start.connector(connector).await?);
    }
    if config.matrix.enabled {
        // The homeserver may be down when qunzhu starts: it is tried again with backoff until it
        // answers, and the console shows the connector as failing meanwhile.
        tasks.push(tokio::spawn(start.clone().matrix()));
    }
    hooks.set(webhooks);
    health.started();
    on_ready(&workspace)?;

    shutdown_signal().await;
    tracing::info!("stopping");
    let _ = stop_sender.send(true);
    for task in tasks {
        let _ = task.await;
    }
    server
        .await
        .context("the HTTP server task failed")?
        .context("the HTTP server failed")?;
    Ok(())
}

/// What every connector's loops are started with.
#[derive(Clone)]
struct Start {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    workspace: Workspace,
    clock: Arc<dyn Clock>,
    rules: RulesHandle,
    directory: qunzhu_engine::DirectoryHandle,
    drops: qunzhu_engine::DropsHandle,
    bans: qunzhu_engine::BanHandle,
    health: Health,
    runtime: RuntimeConfig,
    stop: watch::Receiver<bool>,
}

impl Start {
    /// Starts one connector's loops (poll, tick, dispatch, SOP planner, lurker sweeper), each
    /// supervised; returns their tasks.
    async fn connector(
        &self,
        connector: Arc<dyn Connector>,
    ) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
        let config = &*self.config;
        let id = connector.id().to_string();
        let instance = config.instance();
        tracing::info!(connector = %id, platform = %connector.platform(), instance, "starting connector");
        // Polled only while this instance holds the account's lease; dispatch stays shared.
        let connector: Arc<dyn Connector> = qunzhu_engine::LeasedConnector::start(
            connector,
            self.store.clone(),
            self.clock.clone(),
            instance,
            std::time::Duration::from_secs(config.cluster.poll_lease_seconds.max(3)),
            self.stop.clone(),
        )
        .await;
        let decider = deciders(
            config,
            &*self.store,
            &self.workspace,
            &*connector,
            &self.rules,
            (&self.directory, &self.drops, &self.bans),
            self.clock.now(),
        )
        .await?;
        let planner = Planner {
            store: self.store.clone(),
            clock: self.clock.clone(),
            workspace: self.workspace.id,
            platform: connector.platform(),
            send_autonomously: connector.capabilities().send_autonomously,
            base_url: config.base_url(),
            horizon: chrono::Duration::hours(i64::from(config.sop.horizon_hours)),
            look_back: chrono::Duration::hours(i64::from(config.sop.look_back_hours)),
            every: std::time::Duration::from_secs(15),
        };
        let sweeper = qunzhu_engine::LurkerSweeper {
            store: self.store.clone(),
            clock: self.clock.clone(),
            workspace: self.workspace.id,
            platform: connector.platform(),
            rules: self.rules.clone(),
            zone: config.zone(),
            at: config.moderation.lurker_sweep_at,
        };
        let keeper = qunzhu_engine::LiveCodeKeeper {
            store: self.store.clone(),
            clock: self.clock.clone(),
            workspace: self.workspace.id,
            platform: connector.platform(),
            create_groups: connector.capabilities().create_groups,
            every: std::time::Duration::from_secs(2),
        };
        let capabilities = connector.capabilities();
        let flash = qunzhu_engine::FlashKeeper {
            store: self.store.clone(),
            clock: self.clock.clone(),
            workspace: self.workspace.id,
            platform: connector.platform(),
            can: qunzhu_growth::flash::Can {
                create_groups: capabilities.create_groups,
                send: capabilities.send_autonomously,
                rename: capabilities.edit_group,
                set_posting_level: capabilities.lock_posting,
                kick: capabilities.kick,
            },
            base_url: config.base_url(),
            bot: connector.bot_user(),
            every: std::time::Duration::from_secs(5),
            alerted: std::sync::Arc::default(),
        };
        let races = qunzhu_engine::RaceKeeper {
            store: self.store.clone(),
            clock: self.clock.clone(),
            workspace: self.workspace.id,
            platform: connector.platform(),
            every: std::time::Duration::from_secs(5),
        };
        // A round of these (a lurker sweep, 48 hours of plans) may outlast a consumer's batch,
        // so they count as down only after five minutes without a beat.
        let stale_after = chrono::Duration::minutes(5);
        let (health, stop) = (&self.health, &self.stop);
        let mut tasks = vec![
            consumer_loop!(format!("{id} planner"), health, stop, planner, stale_after),
            consumer_loop!(
                format!("{id} lurker sweep"),
                health,
                stop,
                sweeper,
                stale_after
            ),
            consumer_loop!(
                format!("{id} live codes"),
                health,
                stop,
                keeper,
                stale_after
            ),
            consumer_loop!(
                format!("{id} flash groups"),
                health,
                stop,
                flash,
                stale_after
            ),
            consumer_loop!(format!("{id} races"), health, stop, races, stale_after),
        ];
        let runtime = ConnectorRuntime::spawn(
            self.store.clone(),
            connector,
            self.clock.clone(),
            decider,
            self.runtime.clone(),
            self.stop.clone(),
            &self.health,
        );
        tasks.extend(runtime.tasks);
        Ok(tasks)
    }

    /// Connects to the homeserver, retrying with backoff (1 s doubling to 5 min) until it
    /// answers or qunzhu stops, then runs the Matrix connector's loops until stop.
    async fn matrix(self) {
        let config = self.config.matrix.clone();
        let pending = if config.user_id.is_empty() {
            "matrix".to_string()
        } else {
            format!("matrix:{}", config.user_id)
        };
        self.health
            .connector_registered(&pending, qunzhu_domain::Platform::Matrix);
        let backoff = Backoff {
            first: std::time::Duration::from_secs(1),
            max: std::time::Duration::from_secs(300),
            reset_after: std::time::Duration::MAX,
        };
        let mut stop = self.stop.clone();
        let (health, homeserver) = (self.health.clone(), config.homeserver.clone());
        let this = &self;
        let started = qunzhu_engine::supervise::retry(
            backoff,
            &mut stop,
            || {
                let config = config.clone();
                let pending = pending.clone();
                async move {
                    let matrix =
                        qunzhu_matrix::MatrixConnector::connect(config, this.workspace.id)
                            .await
                            .map_err(|error| error.to_string())?;
                    let matrix = Arc::new(matrix);
                    follow_inviters(this.config.source.clone(), matrix.clone(), this.stop.clone());
                    // Known before the first poll, so a followed list is never read as a group.
                    let lists = this
                        .store
                        .policy_lists(this.workspace.id)
                        .await
                        .map_err(|error| error.to_string())?;
                    matrix.set_policy_lists(lists.into_iter().map(|list| list.room).collect());
                    follow_policy_lists(
                        this.store.clone(),
                        this.workspace.id,
                        matrix.clone(),
                        this.stop.clone(),
                    );
                    let matrix: Arc<dyn Connector> = matrix;
                    if matrix.id() != pending {
                        this.health.connector_forget(&pending);
                    }
                    this.connector(matrix)
                        .await
                        .map_err(|error| format!("{error:#}"))
                }
            },
            |error, pause| {
                tracing::error!(%homeserver, %error, retry_in = ?pause, "Matrix connector not started; retrying");
                health.connector_failed(&pending, error);
            },
        )
        .await;
        for task in started.unwrap_or_default() {
            let _ = task.await;
        }
    }
}

/// Hands the followed policy lists to the Matrix connector every 2 s (an operator follows or
/// unfollows one in the console without a restart); a store that does not answer keeps the
/// lists in force.
fn follow_policy_lists(
    store: Arc<dyn Store>,
    workspace: qunzhu_domain::WorkspaceId,
    matrix: Arc<qunzhu_matrix::MatrixConnector>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            match store.policy_lists(workspace).await {
                Ok(lists) => {
                    matrix.set_policy_lists(lists.into_iter().map(|list| list.room).collect())
                }
                Err(error) => tracing::warn!(%error, "cannot read the followed policy lists"),
            }
        }
    });
}

/// Re-reads the config file every 5 s and applies `matrix.allowed_inviters` without a restart;
/// a file that no longer loads is logged once and the inviters in force stay.
fn follow_inviters(
    source: Option<PathBuf>,
    matrix: Arc<qunzhu_matrix::MatrixConnector>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(path) = source else { return };
    tokio::spawn(async move {
        let mut last_error: Option<String> = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            match Config::load(Some(&path), std::env::vars()) {
                Ok(config) => {
                    last_error = None;
                    matrix.set_allowed_inviters(config.matrix.allowed_inviters);
                }
                Err(error) => {
                    let error = error.to_string();
                    if last_error.as_ref() != Some(&error) {
                        tracing::warn!(path = %path.display(), %error, "config file not re-read; allowed_inviters unchanged");
                        last_error = Some(error);
                    }
                }
            }
        }
    });
}

type Started = (
    Arc<dyn Connector>,
    axum::Router,
    Vec<tokio::task::JoinHandle<()>>,
);

/// The WeCom connector, its callback router, the task follower and the welcome-template sync.
fn start_wecom(
    config: &Config,
    store: &Arc<dyn Store>,
    workspace: &Workspace,
    clock: Arc<dyn Clock>,
    rules: &RulesHandle,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Started> {
    let mut wecom_config = config.wecom.clone();
    let state_dir = PathBuf::from(&wecom_config.state_dir);
    if state_dir.is_relative() {
        wecom_config.state_dir = config.data_dir.join(state_dir).display().to_string();
    }
    // In the store, so several instances on one PostgreSQL share one token.
    let tokens = Arc::new(qunzhu_wecom::StoreTokenCache::new(store.clone()));
    let connector = Arc::new(
        qunzhu_wecom::WecomConnector::open(wecom_config, workspace.id, clock.clone(), tokens)
            .map_err(|error| anyhow::anyhow!("{error}"))?,
    );
    let router = connector.router();
    let clock_for_stats = clock.clone();
    let clock_for_ways = clock.clone();
    let follower = qunzhu_wecom::tasks::TaskFollower::open(
        store.clone(),
        connector.clone(),
        clock,
        workspace.id,
    )
    .map_err(|error| anyhow::anyhow!("WeCom task book: {error}"))?;
    let every = std::time::Duration::from_secs(60);
    let mut tasks = Vec::new();
    if config.wecom.follow_tasks {
        tasks.push(tokio::spawn(follower.run(every, stop.clone())));
    }
    let welcome = connector.clone();
    let rules = rules.clone();
    let mut welcome_stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            let text = rules
                .rules()
                .profiles
                .iter()
                .find_map(|profile| profile.welcome.clone())
                .map(|welcome| qunzhu_wecom::welcome::template_text(&welcome));
            if let Some(text) = text {
                if let Err(error) = welcome.sync_welcome_template(&text).await {
                    tracing::warn!(%error, "cannot sync the WeCom group welcome template");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = welcome_stop.changed() => return,
            }
        }
    }));
    // Live codes on WeCom are its join ways: made as channels are scanned, rotated as groups fill.
    let ways = qunzhu_wecom::livecode_ways::JoinWayKeeper {
        store: store.clone(),
        connector: connector.clone(),
        clock: clock_for_ways,
        workspace: workspace.id,
        every: std::time::Duration::from_secs(3),
        rotate_every: 20,
    };
    tasks.push(tokio::spawn(ways.run(stop.clone())));
    // Statistics reconciliation: the last week of WeCom's figures against qunzhu's own joins.
    let (stats_store, stats_connector, zone) = (store.clone(), connector.clone(), config.zone());
    let (workspace_id, mut stats_stop) = (workspace.id, stop.clone());
    let stats_clock = clock_for_stats;
    tasks.push(tokio::spawn(async move {
        loop {
            let to =
                stats_clock.now().with_timezone(&zone).date_naive() - chrono::Duration::days(1);
            let from = to - chrono::Duration::days(6);
            match qunzhu_wecom::stats::reconcile_statistics(
                &*stats_store,
                &stats_connector,
                workspace_id,
                &zone,
                from,
                to,
                stats_clock.now(),
            )
            .await
            {
                Ok(report) => tracing::info!(
                    days = report.days,
                    differences = report.differences.len(),
                    "WeCom statistics reconciled"
                ),
                Err(error) => tracing::warn!(%error, "cannot reconcile WeCom statistics"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(6 * 3600)) => {}
                _ = stats_stop.changed() => return,
            }
        }
    }));
    tracing::info!(corp = %config.wecom.corp_id, path = %format!("/hooks/wecom/{}", config.wecom.account), "WeCom callbacks served");
    Ok((connector, router, tasks))
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

/// The bots' own ids, which no ban-list rule may ever match.
fn bot_ids(config: &Config) -> Vec<(qunzhu_domain::Platform, String)> {
    let mut bots = Vec::new();
    if !config.matrix.user_id.is_empty() {
        bots.push((
            qunzhu_domain::Platform::Matrix,
            config.matrix.user_id.clone(),
        ));
    }
    bots
}

/// The decisions the bot makes for one connector: guardianship, check-ins, and the plain
/// greeting when configured.
// Each argument is one of the shared handles `serve` builds once; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
async fn deciders(
    config: &Config,
    store: &dyn Store,
    workspace: &Workspace,
    connector: &dyn Connector,
    rules: &RulesHandle,
    (directory, drops, bans): (
        &qunzhu_engine::DirectoryHandle,
        &qunzhu_engine::DropsHandle,
        &qunzhu_engine::BanHandle,
    ),
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
    .await?
    .with_directory(directory.clone())
    .with_bans(bans.clone());
    chain.0.push(Box::new(guard));
    chain.0.push(Box::new(
        Checkins::load(store, workspace.id, platform, config.zone(), now).await?,
    ));
    chain.0.push(Box::new(qunzhu_engine::Games::new(
        qunzhu_engine::GamesConfig::default(),
        connector.capabilities().games,
    )));
    chain.0.push(Box::new(qunzhu_engine::Surveys {
        workspace: workspace.id,
        platform,
        enabled: connector.capabilities().games,
        directory: directory.clone(),
    }));
    chain.0.push(Box::new(qunzhu_engine::Drops::new(
        workspace.id,
        platform,
        drops.clone(),
    )));
    chain.0.push(Box::new(qunzhu_engine::PosterRequests {
        workspace: workspace.id,
        platform,
        enabled: connector
            .capabilities()
            .supports(&qunzhu_domain::ActionKind::SendImage {
                url: String::new(),
                caption: String::new(),
                mentions: Vec::new(),
            })
            && posters_available(config),
        keywords: if config.poster.keywords.is_empty() {
            qunzhu_engine::posters::default_keywords()
        } else {
            config.poster.keywords.clone()
        },
        base_url: config.base_url(),
        zone: config.zone(),
    }));
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

/// Where a config's data lives, in words (`SQLite /abs/qunzhu-data/qunzhu.db`).
pub fn database_place(config: &Config) -> String {
    let url = config.database_url.trim();
    if !url.is_empty() {
        // Only scheme and host: a URL may carry a password.
        let host = url
            .split('@')
            .next_back()
            .unwrap_or(url)
            .trim_start_matches("postgres://")
            .trim_start_matches("postgresql://");
        return format!("PostgreSQL at {host}");
    }
    let path = config.data_dir.join("qunzhu.db");
    let shown = std::path::absolute(&path).unwrap_or(path);
    format!("SQLite {}", shown.display())
}

/// `qunzhu status`: where it reads, then log and outbox counts. A data directory with no
/// database is said, not created.
pub async fn status(config: Config, json: bool) -> anyhow::Result<()> {
    let place = database_place(&config);
    if config.database_url.trim().is_empty() && !config.data_dir.join("qunzhu.db").exists() {
        let dir = std::path::absolute(&config.data_dir).unwrap_or(config.data_dir.clone());
        anyhow::bail!(
            "no qunzhu database in the data directory {} (nothing has run there yet); pass --config, set QUNZHU_DATA_DIR, or start `qunzhu serve` first",
            dir.display()
        );
    }
    let store = open::store(&config).await?;
    let workspace = ensure_workspace(&*store, &config).await?;
    let log = store.log_stats().await?;
    let actions = store.action_counts(workspace.id).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "database": place, "log": log, "actions": actions })
        );
    } else {
        println!("reading {place} (workspace {})", workspace.slug);
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
    let listed = store.actions(workspace.id, &filter).await?;
    if listed.is_empty() && !json {
        let which = filter
            .status
            .map_or(String::new(), |status| format!("{} ", status.as_str()));
        let _ = writeln!(out, "no {which}actions in the outbox");
    }
    for action in listed {
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

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;

/// The orders webhook as configured; `None` (answered as switched off) without a secret.
fn orders_hook(
    config: &Config,
    workspace: qunzhu_domain::WorkspaceId,
) -> anyhow::Result<Option<qunzhu_server::orders_hook::OrdersHook>> {
    if config.orders.secret.is_empty() {
        return Ok(None);
    }
    let policy = config.orders.policy().map_err(anyhow::Error::msg)?;
    Ok(Some(qunzhu_server::orders_hook::OrdersHook::new(
        workspace,
        config.orders.secret.expose(),
        policy,
    )))
}

/// The CJK font for posters; without one the server still starts and its poster routes say why
/// they are unavailable (a demo on a machine without `fonts-noto-cjk` must run).
fn poster_font(config: &Config) -> Option<std::sync::Arc<qunzhu_poster::Font>> {
    let configured = config
        .poster
        .font
        .as_deref()
        .map(|path| (path, config.poster.font_index));
    match crate::bench_poster::load_font(configured) {
        Ok(font) => Some(font),
        Err(error) => {
            tracing::warn!(%error, "posters are unavailable");
            None
        }
    }
}

/// Whether a poster font file is there (the bot offers posters only then).
fn posters_available(config: &Config) -> bool {
    match &config.poster.font {
        Some(path) => path.is_file(),
        None => qunzhu_poster::DEFAULT_FONT_PATHS
            .iter()
            .any(|(path, _)| std::path::Path::new(path).is_file()),
    }
}
