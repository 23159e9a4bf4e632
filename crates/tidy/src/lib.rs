//! Tidy checks over the source tree; the checks are the integration test `tests/tidy.rs`.
//!
//! The crate has no code of its own: it exists so `cargo test` runs the checks with the rest.
