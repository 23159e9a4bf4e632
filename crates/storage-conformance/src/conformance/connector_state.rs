//! Conformance: connector secrets are kept newest-first and forgotten only when unchanged.

use chrono::Duration;

use qunzhu_storage::{ConnectorSecret, Store};

use super::at;

pub async fn connector_secrets_keep_the_newest(store: &dyn Store) {
    let name = "wecom:ww1:token";
    assert_eq!(store.connector_secret(name).await.unwrap(), None);
    let first = ConnectorSecret {
        value: "a".into(),
        expires_at: at(120),
    };
    assert_eq!(
        store
            .put_connector_secret_if_newer(name, &first)
            .await
            .unwrap(),
        first
    );
    let older = ConnectorSecret {
        value: "old".into(),
        expires_at: at(60),
    };
    assert_eq!(
        store
            .put_connector_secret_if_newer(name, &older)
            .await
            .unwrap(),
        first,
        "an older value never replaces a newer one"
    );
    let newer = ConnectorSecret {
        value: "b".into(),
        expires_at: at(120) + Duration::minutes(1),
    };
    assert_eq!(
        store
            .put_connector_secret_if_newer(name, &newer)
            .await
            .unwrap(),
        newer
    );
    store.forget_connector_secret(name, "a").await.unwrap();
    assert_eq!(
        store.connector_secret(name).await.unwrap(),
        Some(newer.clone()),
        "forgetting a value no longer stored changes nothing"
    );
    store.forget_connector_secret(name, "b").await.unwrap();
    assert_eq!(store.connector_secret(name).await.unwrap(), None);
}
