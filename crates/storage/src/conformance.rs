//! The conformance suite every storage backend runs: same operations, same answers.
