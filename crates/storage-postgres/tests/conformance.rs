//! The storage conformance suite on PostgreSQL: a fresh database per test on the server named by
//! `QUNZHU_TEST_DATABASE_URL` (CI sets it); without it each test says it was skipped.

use std::sync::Arc;

qunzhu_storage::conformance_suite!(async {
    let Ok(base) = std::env::var("QUNZHU_TEST_DATABASE_URL") else {
        println!(
            "skipped: set QUNZHU_TEST_DATABASE_URL to run the conformance suite on PostgreSQL"
        );
        return None;
    };
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
