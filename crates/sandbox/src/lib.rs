//! The sandbox platform: a simulated community that runs in-process on the injected clock.
//!
//! It is a real connector of the trait, not a side path: `qunzhu demo` runs on it, the crash test
//! kills qunzhu while it runs, and the benchmarks use its behaviour model as their load.

pub mod behaviour;
mod connector;
pub mod world;

pub use behaviour::{chat_id, Behaviour, Generator, Person};
pub use connector::{sandbox_capabilities, SandboxConnector};
pub use world::{Received, World, WorldError, BOT_ID};
