//! Points as an operator and the shop handle them: a member's balance and entries, the leaders,
//! grants and deductions by hand, reversals, the reward catalogue and redemptions.
//!
//! Every change is keyed by the caller's request id (or the entry it reverses), so a retried
//! call changes nothing the second time.

use qunzhu_domain::MemberId;
use qunzhu_domain::{ledger::reversal, Account, AccountKind, Entry, NewEntry, Platform, Reason};
use qunzhu_storage::{Posting, Redeem, Redemption, Reward, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::{Actor, Ops, OpsError, Result};

/// A member's points: balance and the latest entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberPoints {
    pub platform: Platform,
    pub user: String,
    pub display_name: String,
    pub balance: i64,
    pub entries: Vec<Entry>,
}

/// One line of the points leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PointsLeader {
    pub platform: Platform,
    pub user: String,
    pub balance: i64,
}

/// A hand-made change to a member's points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// Positive grants, negative deducts.
    pub points: i64,
    pub memo: String,
    /// The caller's idempotency key.
    pub request: String,
}

fn request_id(request: &str) -> Result<&str> {
    let request = request.trim();
    if request.is_empty() || request.len() > 200 {
        return Err(OpsError::invalid(
            "request",
            "give a request id of 1 to 200 characters; a retried call with the same id changes nothing",
        ));
    }
    Ok(request)
}

/// A refused posting as the operator's error: the ledger's own sentence.
fn refused(posting: Posting, field: &str) -> Result<Posting> {
    match posting {
        Posting::Refused { error } => Err(OpsError::invalid(field, error.to_string())),
        other => Ok(other),
    }
}

impl Ops {
    /// `NotFound` unless the member is known in the caller's workspace.
    async fn known_member(
        &self,
        who: &Actor,
        platform: Platform,
        user: &str,
    ) -> Result<qunzhu_domain::Member> {
        self.store
            .member(who.workspace, platform, &MemberId::from(user))
            .await
            .map_err(|error| match error {
                qunzhu_storage::StoreError::NotFound { .. } => OpsError::NotFound("member"),
                other => other.into(),
            })
    }

    pub async fn member_points(
        &self,
        who: &Actor,
        platform: Platform,
        user: &str,
        limit: usize,
    ) -> Result<MemberPoints> {
        who.require(UserRole::Viewer)?;
        let member = self.known_member(who, platform, user).await?;
        let account = Account::member(platform, user);
        Ok(MemberPoints {
            platform,
            user: user.to_string(),
            display_name: member.display_name,
            balance: self.store.balance(who.workspace, &account).await?,
            entries: self
                .store
                .ledger_entries(who.workspace, Some(&account), limit.clamp(1, 1000))
                .await?,
        })
    }

    /// Members by points, highest first (members who never had points are not listed).
    pub async fn points_leaders(&self, who: &Actor, limit: usize) -> Result<Vec<PointsLeader>> {
        who.require(UserRole::Viewer)?;
        let balances = self
            .store
            .balances(
                who.workspace,
                Some(AccountKind::Member),
                limit.clamp(1, 1000),
            )
            .await?;
        Ok(balances
            .into_iter()
            .filter_map(|(account, balance)| match account {
                Account::Member { platform, user } => Some(PointsLeader {
                    platform,
                    user,
                    balance,
                }),
                _ => None,
            })
            .collect())
    }

    /// Grants (or deducts) points by hand; a deduction the member cannot cover is refused.
    pub async fn adjust_points(
        &self,
        who: &Actor,
        platform: Platform,
        user: &str,
        adjustment: Adjustment,
    ) -> Result<Posting> {
        who.require(UserRole::Operator)?;
        let request = request_id(&adjustment.request)?;
        if adjustment.points == 0 || adjustment.points.abs() > 1_000_000_000 {
            return Err(OpsError::invalid(
                "points",
                "a non-zero number of points up to 1000000000 either way",
            ));
        }
        self.known_member(who, platform, user).await?;
        let member = Account::member(platform, user);
        let (from, to) = if adjustment.points > 0 {
            (Account::Issuance, member)
        } else {
            (member, Account::Issuance)
        };
        let entry = NewEntry {
            key: qunzhu_domain::keys::manual(request),
            reason: Reason::Manual,
            cause: Some(who.name.to_string()),
            from,
            to,
            amount: adjustment.points.abs(),
            at: self.clock.now(),
            memo: adjustment.memo.clone(),
            reverses: None,
        };
        let posting = self.post_one(who, entry).await?;
        let posting = refused(posting, "points")?;
        if let Posting::Applied { entry } = &posting {
            let detail = json!({ "points": adjustment.points, "memo": adjustment.memo, "entry": entry.body.key });
            self.audit(who, "ledger.adjust", &format!("{platform}:{user}"), detail)
                .await?;
        }
        Ok(posting)
    }

    /// Undoes an entry with a new one; an entry is reversed at most once.
    pub async fn reverse_entry(&self, who: &Actor, key: &str, memo: &str) -> Result<Posting> {
        who.require(UserRole::Operator)?;
        let original = self
            .store
            .ledger_entry(who.workspace, key)
            .await
            .map_err(|error| match error {
                qunzhu_storage::StoreError::NotFound { .. } => OpsError::NotFound("ledger entry"),
                other => other.into(),
            })?;
        let entry = reversal(
            &original,
            qunzhu_domain::keys::reversal(key),
            self.clock.now(),
            memo.to_string(),
        );
        let posting = refused(self.post_one(who, entry).await?, "key")?;
        if let Posting::Applied { entry } = &posting {
            self.audit(
                who,
                "ledger.reverse",
                key,
                json!({ "entry": entry.body.key, "memo": memo }),
            )
            .await?;
        }
        Ok(posting)
    }

    async fn post_one(&self, who: &Actor, entry: NewEntry) -> Result<Posting> {
        self.store
            .post_entries(who.workspace, vec![entry])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| OpsError::Internal("a posted entry gave no outcome".into()))
    }

    pub async fn rewards(&self, who: &Actor) -> Result<Vec<Reward>> {
        who.require(UserRole::Viewer)?;
        Ok(self.store.rewards(who.workspace).await?)
    }

    pub async fn put_reward(&self, who: &Actor, reward: Reward) -> Result<Reward> {
        who.require(UserRole::Operator)?;
        reward.validate()?;
        let reward = self.store.put_reward(who.workspace, reward).await?;
        let detail = serde_json::to_value(&reward).unwrap_or_default();
        self.audit(who, "reward.put", &reward.code, detail).await?;
        Ok(reward)
    }

    /// The shop spends a member's points on a reward; not enough points is a clear error.
    pub async fn redeem(
        &self,
        who: &Actor,
        code: &str,
        platform: Platform,
        user: &str,
        request: &str,
    ) -> Result<Redemption> {
        who.require(UserRole::Operator)?;
        let request = request_id(request)?;
        self.known_member(who, platform, user).await?;
        let redeem = Redeem {
            member: Account::member(platform, user),
            reward: code.to_string(),
            request: request.to_string(),
            at: self.clock.now(),
        };
        let redemption =
            self.store
                .redeem(who.workspace, redeem)
                .await
                .map_err(|error| match error {
                    qunzhu_storage::StoreError::NotFound { .. } => OpsError::NotFound("reward"),
                    other => other.into(),
                })?;
        let posting = refused(redemption.posting, "member")?;
        if let Posting::Applied { entry } = &posting {
            let detail = json!({ "member": format!("{platform}:{user}"), "cost": entry.body.amount, "request": request });
            self.audit(who, "reward.redeem", code, detail).await?;
        }
        Ok(Redemption {
            posting,
            reward: redemption.reward,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use qunzhu_domain::{Event, EventKind, FakeClock, JoinVia, WorkspaceId};
    use qunzhu_storage::{IngestBatch, NewEvent, NewWorkspace, Store};

    use super::*;

    async fn workspace_with_member(store: &Arc<dyn Store>, slug: &str, user: &str) -> WorkspaceId {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: slug.into(),
                name: slug.into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        let join = Event {
            workspace,
            platform: Platform::Sandbox,
            key: format!("join-{slug}"),
            chat: "g".into(),
            at: now,
            kind: EventKind::MemberJoined {
                member: user.into(),
                display_name: Some("A".into()),
                via: JoinVia::Direct,
            },
        };
        let batch = IngestBatch {
            events: vec![NewEvent {
                event: join,
                day: now.date_naive(),
            }],
            cursor: None,
        };
        store.ingest(batch, &mut |_| Vec::new()).await.unwrap();
        workspace
    }

    fn actor(workspace: WorkspaceId, role: UserRole) -> Actor {
        Actor {
            workspace,
            name: qunzhu_domain::ActorName::User("ops".into()),
            role,
        }
    }

    fn adjust(points: i64, request: &str) -> Adjustment {
        Adjustment {
            points,
            memo: "活动补偿".into(),
            request: request.into(),
        }
    }

    #[tokio::test]
    async fn points_by_hand_rewards_and_redemptions_happen_once_with_clear_refusals() {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
        let clock = FakeClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap());
        let ops = Ops::new(store.clone(), Arc::new(clock));
        let ws = workspace_with_member(&store, "a", "@a").await;
        let other = workspace_with_member(&store, "b", "@b").await;
        let who = actor(ws, UserRole::Operator);

        assert!(matches!(
            ops.adjust_points(
                &actor(ws, UserRole::Viewer),
                Platform::Sandbox,
                "@a",
                adjust(5, "r0")
            )
            .await,
            Err(OpsError::Forbidden { .. })
        ));
        for _ in 0..2 {
            ops.adjust_points(&who, Platform::Sandbox, "@a", adjust(50, "r1"))
                .await
                .unwrap();
        }
        let error = ops
            .adjust_points(&who, Platform::Sandbox, "@a", adjust(-100, "r2"))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "points: entry `manual:r2`: `member:sandbox:@a` holds 50, cannot pay 100"
        );
        assert!(
            matches!(
                ops.adjust_points(&who, Platform::Sandbox, "@b", adjust(5, "r3"))
                    .await,
                Err(OpsError::NotFound("member"))
            ),
            "a member of another workspace is not found"
        );
        assert!(matches!(
            ops.adjust_points(&who, Platform::Sandbox, "@a", adjust(5, " ")).await,
            Err(OpsError::Invalid { field, .. }) if field == "request"
        ));

        let bad = Reward {
            code: "mug".into(),
            name: "马克杯".into(),
            cost: -1,
            stock: Some(1),
            active: true,
        };
        assert_eq!(
            ops.put_reward(&who, bad.clone())
                .await
                .unwrap_err()
                .to_string(),
            "invalid cost: must be positive, got -1"
        );
        ops.put_reward(&who, Reward { cost: 30, ..bad })
            .await
            .unwrap();
        for _ in 0..2 {
            ops.redeem(&who, "mug", Platform::Sandbox, "@a", "order-1")
                .await
                .unwrap();
        }
        let points = ops
            .member_points(&who, Platform::Sandbox, "@a", 10)
            .await
            .unwrap();
        assert_eq!((points.balance, points.entries.len()), (20, 2));
        assert!(matches!(
            ops.redeem(&who, "mug", Platform::Sandbox, "@a", "order-2")
                .await,
            Err(OpsError::Store(qunzhu_storage::StoreError::Invalid {
                field: "reward",
                ..
            }))
        ));
        assert!(
            matches!(
                ops.redeem(
                    &actor(other, UserRole::Owner),
                    "mug",
                    Platform::Sandbox,
                    "@b",
                    "order-3"
                )
                .await,
                Err(OpsError::NotFound("reward"))
            ),
            "another workspace has its own catalogue"
        );

        ops.reverse_entry(&who, "redeem:order-1", "退货")
            .await
            .unwrap();
        let again = ops.reverse_entry(&who, "redeem:order-1", "").await.unwrap();
        assert!(
            matches!(again, Posting::Duplicate { .. }),
            "one reversal per entry"
        );
        assert!(matches!(
            ops.reverse_entry(&actor(other, UserRole::Owner), "manual:r1", "")
                .await,
            Err(OpsError::NotFound("ledger entry"))
        ));
        let leaders = ops.points_leaders(&who, 10).await.unwrap();
        assert_eq!(
            leaders
                .iter()
                .map(|leader| (leader.user.as_str(), leader.balance))
                .collect::<Vec<_>>(),
            [("@a", 50)]
        );
        let verbs: Vec<String> = store
            .audit_log(ws, None, 20)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| entry.action)
            .collect();
        assert_eq!(
            verbs,
            [
                "ledger.reverse",
                "reward.redeem",
                "reward.put",
                "ledger.adjust"
            ],
            "one audit entry per change, none for retries or refusals"
        );
    }
}
