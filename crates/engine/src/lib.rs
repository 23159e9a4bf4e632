//! qunzhu's engine: the loops that connect a platform, the log and the outbox.
//!
//! Per connector it runs three loops that never wait on each other: polling (connector →
//! [`Ingestor`] → store), ticking (time-driven decisions → outbox) and dispatching
//! ([`Dispatcher`]: outbox → connector). All decisions are in memory ([`Decider`]); all waits
//! (rate limits, retries, batching windows) are times written in the outbox, never sleeps.

pub mod checkin;
pub mod decide;
pub mod dispatch;
pub mod guard;
pub mod ingest;
pub mod invites;
pub mod ledger;
pub mod lurkers;
pub mod planner;
pub mod pushes;
pub mod ratelimit;
pub mod rules;
pub mod runner;

pub use checkin::Checkins;
pub use decide::{Chain, Decider, GreetEachJoin, Nothing};
pub use dispatch::{DispatchConfig, Dispatcher, Round};
pub use guard::{Guard, RulesHandle};
pub use ingest::Ingestor;
pub use invites::InviteTracker;
pub use ledger::{
    BalanceQuestions, JoinCoupon, JoinCoupons, LedgerRound, LedgerWorker, LedgerWorkerConfig,
};
pub use lurkers::LurkerSweeper;
pub use planner::{PlanRound, Planner};
pub use pushes::{push_reports, PushReport};
pub use rules::RulesWatcher;
pub use runner::{ConnectorRuntime, RuntimeConfig};
