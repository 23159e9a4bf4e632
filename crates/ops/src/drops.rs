//! Point drops (红包雨) as operators start them: checked, scheduled once per request id, and
//! audited; the engine's drop watcher opens them at their time.

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{Instant, Platform};
use qunzhu_growth::drop::DropSpec;
use qunzhu_storage::{NewDrop, StoredDrop, UserRole};
use serde_json::json;

use crate::{Actor, Ops, OpsError, Result};

/// How far ahead a drop may be scheduled.
const MAX_AHEAD_DAYS: i64 = 60;

/// An operator's drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDrop {
    pub platform: Platform,
    pub chat: String,
    pub spec: DropSpec,
    /// `None` starts it now.
    pub starts_at: Option<DateTime<Utc>>,
    /// The caller's idempotency key.
    pub request: String,
}

impl Ops {
    pub async fn schedule_drop(&self, who: &Actor, drop: ScheduleDrop) -> Result<StoredDrop> {
        who.require(UserRole::Operator)?;
        let request = drop.request.trim();
        if request.is_empty() || request.len() > 200 {
            return Err(OpsError::invalid(
                "request",
                "give a request id of 1 to 200 characters; a retried call with the same id schedules nothing more",
            ));
        }
        drop.spec
            .validate()
            .map_err(|error| OpsError::invalid(error.field, error.message))?;
        let chat = drop.chat.trim();
        if chat.is_empty() {
            return Err(OpsError::invalid(
                "chat",
                "name the group the drop falls in",
            ));
        }
        self.known_group(who, drop.platform, chat).await?;
        let now = self.clock.now();
        let starts_at = drop.starts_at.unwrap_or(now);
        if starts_at > now.plus(Duration::days(MAX_AHEAD_DAYS)) {
            return Err(OpsError::invalid(
                "starts_at",
                format!("at most {MAX_AHEAD_DAYS} days ahead"),
            ));
        }
        if starts_at.plus(Duration::minutes(i64::from(drop.spec.minutes))) <= now {
            return Err(OpsError::invalid(
                "starts_at",
                "the drop would be over before it starts",
            ));
        }
        let key = qunzhu_domain::keys::drop_request(request);
        // A retry answers the drop it scheduled, without a second audit entry.
        let earlier = self
            .store
            .drops_since(who.workspace, now.minus(Duration::days(MAX_AHEAD_DAYS)))
            .await?
            .into_iter()
            .find(|stored| stored.drop.key == key);
        if let Some(stored) = earlier {
            return Ok(stored);
        }
        let stored = self
            .store
            .schedule_drop(
                who.workspace,
                NewDrop {
                    key,
                    platform: drop.platform,
                    chat: chat.to_string(),
                    spec: drop.spec.clone(),
                    starts_at,
                    origin: qunzhu_domain::ActionOrigin::Operator(who.name.clone()),
                },
            )
            .await?;
        self.audit(
            who,
            "drop.schedule",
            &format!("drop:{}", stored.id),
            json!({ "chat": stored.drop.chat, "keyword": stored.drop.spec.keyword, "shares": stored.drop.spec.shares, "starts_at": stored.drop.starts_at }),
        )
        .await?;
        Ok(stored)
    }

    /// Drops that start in the last 30 days or later, oldest first.
    pub async fn drops(&self, who: &Actor) -> Result<Vec<StoredDrop>> {
        who.require(UserRole::Viewer)?;
        let since = self.clock.now().minus(Duration::days(30));
        Ok(self.store.drops_since(who.workspace, since).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use qunzhu_domain::{Clock, FakeClock};
    use qunzhu_growth::lottery::Prize;
    use qunzhu_storage::{NewWorkspace, Store};

    use super::*;

    #[tokio::test]
    async fn a_drop_is_checked_scheduled_once_and_audited_once() {
        let store: Arc<dyn Store> = Arc::new(
            qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"),
        );
        let clock = Arc::new(FakeClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap(),
        ));
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "brand".into(),
                name: "Brand".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap();
        store
            .ensure_group(workspace.id, Platform::Matrix, "!room:x")
            .await
            .unwrap();
        let ops = Ops::new(store.clone(), clock.clone());
        let who = Actor {
            workspace: workspace.id,
            name: qunzhu_domain::ActorName::User("ops".into()),
            role: UserRole::Operator,
        };
        let drop = |shares: u32| ScheduleDrop {
            platform: Platform::Matrix,
            chat: "!room:x".into(),
            spec: DropSpec {
                keyword: "红包".into(),
                shares,
                prize: Prize::Points { points: 5 },
                minutes: 10,
            },
            starts_at: None,
            request: "r1".into(),
        };
        assert_eq!(
            ops.schedule_drop(&who, drop(0))
                .await
                .unwrap_err()
                .to_string(),
            "shares: must be 1 to 10000, got 0"
        );
        let first = ops.schedule_drop(&who, drop(3)).await.unwrap();
        let again = ops.schedule_drop(&who, drop(3)).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(first.drop.starts_at, clock.now());
        let audits = store.audit_log(workspace.id, None, 10).await.unwrap();
        assert_eq!(
            audits
                .iter()
                .filter(|a| a.action == "drop.schedule")
                .count(),
            1
        );
        assert_eq!(ops.drops(&who).await.unwrap(), vec![first]);
        let viewer = Actor {
            role: UserRole::Viewer,
            ..who.clone()
        };
        assert!(matches!(
            ops.schedule_drop(&viewer, drop(3)).await,
            Err(OpsError::Forbidden { .. })
        ));
    }
}
