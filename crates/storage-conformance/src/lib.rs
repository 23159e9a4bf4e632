//! Test support for the storage backends, used only as a dev-dependency.
//!
//! [`conformance`] is the suite every backend runs through [`conformance_suite!`]: the same
//! operations must give the same answers on SQLite and PostgreSQL. [`testing`] holds the gates a
//! test that needs an outside service (PostgreSQL, Synapse, Chromium) asks.
//! It lives outside `qunzhu-storage` so the library ships neither proptest nor the suite; its
//! checks panic on a mismatch, as assertions in a test do.

pub mod conformance;
pub mod testing;

/// Re-exported for the conformance suite's macro, so a backend's tests need no proptest of their own.
pub use proptest;
