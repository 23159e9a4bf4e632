//! The storage conformance suite on SQLite (in memory, a fresh database per test).

use std::sync::Arc;

qunzhu_storage_conformance::conformance_suite!(async {
    let store: Arc<dyn qunzhu_storage::Store> =
        Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("store"));
    Some((store, ()))
});
