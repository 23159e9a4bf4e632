//! The storage conformance suite on PostgreSQL: a fresh database per test on the server named by
//! `QUNZHU_TEST_DATABASE_URL` (CI sets it); without it each test says it was skipped, or fails
//! under `CI=true`.

use std::sync::Arc;

qunzhu_storage_conformance::conformance_suite!(async {
    let base = qunzhu_storage_conformance::testing::require_postgres()?;
    let (url, guard) = qunzhu_storage_postgres::testing::fresh_database(&base)
        .await
        .expect("fresh database");
    let store: Arc<dyn qunzhu_storage::Store> = Arc::new(
        qunzhu_storage_postgres::PostgresStore::connect(&url)
            .await
            .expect("store"),
    );
    Some((store, guard))
});
