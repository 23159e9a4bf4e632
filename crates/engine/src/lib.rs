//! qunzhu's engine: the loops that connect a platform, the log and the outbox.
//!
//! Per connector it runs three loops that never wait on each other: polling (connector →
//! [`Ingestor`] → store), ticking (time-driven decisions → outbox) and dispatching
//! ([`Dispatcher`]: outbox → connector). All decisions are in memory ([`Decider`]); all waits
//! (rate limits, retries, batching windows) are times written in the outbox, never sleeps.
//! Every loop runs under [`supervise`]: a panic or an error restarts it with backoff and shows in
//! the [`Health`] registry.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod banlist;
pub mod checkin;
pub mod decide;
pub mod directory;
pub mod dispatch;
pub mod drops;
pub mod flash;
pub mod games;
pub mod guard;
pub mod health;
mod human_check;
pub mod ingest;
pub mod invite_tasks;
pub mod invites;
pub mod lease;
pub mod ledger;
pub mod live;
pub mod livecodes;
pub mod lurkers;
pub mod offers;
pub mod planned_drops;
pub mod planner;
pub mod plays;
pub mod policy_lists;
pub mod poll_tags;
pub mod posters;
pub mod pushes;
pub mod races;
pub mod ratelimit;
pub mod rollups;
pub mod rules;
pub mod runner;
pub mod showcases;
pub mod sop_facts;
pub mod supervise;
pub mod surveys;
pub mod swaps;

pub use banlist::{BanHandle, BanWatcher};
pub use checkin::Checkins;
pub use decide::{Chain, Decider, GreetEachJoin, Nothing, Remembered};
pub use directory::{DirectoryHandle, DirectoryWatcher};
pub use dispatch::{DispatchConfig, Dispatcher, Round};
pub use drops::{DropWatcher, Drops, DropsHandle};
pub use flash::{FlashKeeper, FlashStatus};
pub use games::{Game, Games, GamesConfig, Question};
pub use guard::{Guard, RulesHandle};
pub use health::{Health, HealthReport};
pub use ingest::Ingestor;
pub use invite_tasks::{InviteTasks, TaskRound};
pub use invites::InviteTracker;
pub use lease::{LeasedConnector, DEFAULT_LEASE_TTL};
pub use ledger::{
    BalanceQuestions, JoinCoupon, JoinCoupons, LedgerRound, LedgerWorker, LedgerWorkerConfig,
};
pub use live::{GroupLive, LiveRenderer};
pub use livecodes::{KeeperRound, LiveCodeKeeper};
pub use lurkers::LurkerSweeper;
pub use offers::OfferClaims;
pub use planner::{PlanRound, Planner};
pub use plays::{PlayRound, Plays};
pub use policy_lists::PolicyFollower;
pub use poll_tags::PollTagger;
pub use posters::PosterRequests;
pub use pushes::{push_reports, push_reports_in, PushOutcome, PushReport};
pub use races::{RaceKeeper, RacePhase, RaceRound};
pub use rollups::Rollups;
pub use rules::RulesWatcher;
pub use runner::{start_scheduled, ConnectorRuntime, RuntimeConfig, ENGINE_LEASE};
pub use showcases::Showcases;
pub use sop_facts::SopFacts;
pub use supervise::{supervise, Backoff};
pub use surveys::Surveys;
pub use swaps::SwapDesk;
