//! 秒杀 time-limited offers as operators and the shop use them: create one from its document
//! (checked with located errors, its countdown and opening posts queued in the outbox once),
//! list them with their stock counters, and claim for a member through the API, on the same
//! path the chat claims take (`qunzhu_engine::offers::claim`); and read the swap board (换).

use qunzhu_domain::MemberId;
use qunzhu_domain::Platform;
use qunzhu_engine::offers::{self, Won};
use qunzhu_growth::flash_sale::{parse_offer, Refusal};
use qunzhu_storage::{GroupSwap, NewOffer, OfferClaim, StoreError, StoredOffer, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::check::Problem;
use crate::{Actor, Ops, OpsError, Result};

/// An offer with its claims, for the console and `GET /api/v1/offers/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferView {
    #[serde(flatten)]
    pub offer: StoredOffer,
    pub claims: Vec<OfferClaim>,
}

/// What one claim through the API got: the item, or a refusal with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimAnswer {
    pub offer: i64,
    pub member: String,
    /// The item; `None` with `refusal` set.
    pub won: Option<Won>,
    pub refusal: Option<Refusal>,
    /// What the member is told (in the group for chat claims).
    pub message: String,
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

fn not_found(error: StoreError) -> OpsError {
    match error {
        StoreError::NotFound { .. } => OpsError::NotFound("offer"),
        other => other.into(),
    }
}

impl Ops {
    /// Creates an offer from its document (times in the workspace's zone unless they carry an
    /// offset); a retry with the same request id answers the same offer and queues nothing more.
    pub async fn create_offer(
        &self,
        who: &Actor,
        source: &str,
        request: &str,
    ) -> Result<OfferView> {
        who.require(UserRole::Operator)?;
        let request = request_id(request)?;
        let tz = self.store.workspace(who.workspace).await?.time_zone;
        let spec = parse_offer(source, tz).map_err(|errors| {
            OpsError::Problems(
                errors
                    .into_iter()
                    .map(|error| Problem {
                        line: Some(error.line),
                        column: Some(error.col),
                        path: Some(error.field.clone()),
                        message: format!("{}: {}", error.field, error.message),
                    })
                    .collect(),
            )
        })?;
        self.known_group(who, spec.platform, &spec.chat).await?;
        let now = self.clock.now();
        let key = format!("offer:{request}");
        let earlier = self
            .store
            .offers(who.workspace, 500)
            .await?
            .into_iter()
            .find(|stored| stored.offer.key == key);
        if let Some(stored) = earlier {
            return self.offer(who, stored.id).await;
        }
        if spec.ends_at <= now {
            return Err(OpsError::invalid(
                "ends",
                "the offer would be over before it is created",
            ));
        }
        let stored = self
            .store
            .create_offer(
                who.workspace,
                NewOffer {
                    key,
                    spec,
                    source: source.to_string(),
                    origin: qunzhu_domain::ActionOrigin::Operator(who.name.clone()),
                    created_at: now,
                },
            )
            .await?;
        self.store
            .enqueue(offers::offer_posts(who.workspace, &stored, tz, now))
            .await?;
        let spec = &stored.offer.spec;
        self.audit(
            who,
            "offer.create",
            &format!("offer:{}", stored.id),
            json!({ "title": spec.title, "chat": spec.chat, "stock": spec.stock, "starts_at": spec.starts_at, "ends_at": spec.ends_at, "points": spec.points }),
        )
        .await?;
        self.offer(who, stored.id).await
    }

    pub async fn offer(&self, who: &Actor, id: i64) -> Result<OfferView> {
        who.require(UserRole::Viewer)?;
        let offer = self
            .store
            .offer(who.workspace, id)
            .await
            .map_err(not_found)?;
        let claims = self.store.offer_claims(who.workspace, id).await?;
        Ok(OfferView { offer, claims })
    }

    /// The swap board (换) of every group: offers of the last 30 days, newest first, open or
    /// closed (with whom, and the mirror offer it closed with).
    pub async fn swaps(&self, who: &Actor, limit: usize) -> Result<Vec<GroupSwap>> {
        who.require(UserRole::Viewer)?;
        let since = self.clock.now() - chrono::Duration::days(30);
        Ok(self
            .store
            .swaps(who.workspace, since, limit.clamp(1, 500))
            .await?)
    }

    /// The newest offers first, with their stock counters.
    pub async fn offers(&self, who: &Actor, limit: usize) -> Result<Vec<StoredOffer>> {
        who.require(UserRole::Viewer)?;
        Ok(self
            .store
            .offers(who.workspace, limit.clamp(1, 500))
            .await?)
    }

    /// The shop claims for a member (`POST /api/v1/offers/{id}/claims`): one per member, first
    /// come first served against the chat's claims; a refusal is an answer, not an error.
    pub async fn claim_offer(
        &self,
        who: &Actor,
        id: i64,
        platform: Platform,
        user: &str,
        request: &str,
    ) -> Result<ClaimAnswer> {
        who.require(UserRole::Operator)?;
        let request = request_id(request)?;
        let offer = self
            .store
            .offer(who.workspace, id)
            .await
            .map_err(not_found)?;
        if platform != offer.offer.spec.platform {
            return Err(OpsError::invalid(
                "platform",
                format!("the offer runs on {}", offer.offer.spec.platform),
            ));
        }
        match self
            .store
            .member(who.workspace, platform, &MemberId::from(user))
            .await
        {
            Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("member")),
            other => {
                other?;
            }
        }
        let tz = self.store.workspace(who.workspace).await?.time_zone;
        let now = self.clock.now();
        let outcome = offers::claim(
            &*self.store,
            who.workspace,
            &offer,
            user,
            &format!("api:{request}"),
            now,
            now,
        )
        .await?;
        let spec = &offer.offer.spec;
        Ok(match outcome {
            Ok(won) => {
                if won.fresh {
                    self.audit(
                        who,
                        "offer.claim",
                        &format!("{platform}:{user}"),
                        json!({ "offer": id, "rank": won.claim.rank, "remaining": won.remaining }),
                    )
                    .await?;
                }
                ClaimAnswer {
                    offer: id,
                    member: user.to_string(),
                    message: spec.claimed_text(won.remaining),
                    won: Some(won),
                    refusal: None,
                }
            }
            Err(refusal) => ClaimAnswer {
                offer: id,
                member: user.to_string(),
                message: refusal.text(tz),
                won: None,
                refusal: Some(refusal),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Duration, TimeZone, Utc};
    use qunzhu_domain::{Account, Clock, FakeClock, NewEntry, Reason};
    use qunzhu_storage::{NewWorkspace, Store};

    use super::*;

    const DOC: &str = "title = \"保温杯\"\nplatform = \"sandbox\"\ngroup = \"g\"\nstock = 1\nstarts = \"2026-03-02 20:00\"\nends = \"2026-03-02 20:30\"\ncountdown_minutes = 10\npoints = 30\n";

    /// Each step: minutes after 19:00 local, member, the refusal code (or `None`: got one).
    #[tokio::test]
    async fn api_claims_answer_every_refusal_and_grant_nothing_twice() {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("SQLite"));
        // 19:00 in Shanghai.
        let clock = Arc::new(FakeClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap(),
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
            .ensure_group(workspace.id, Platform::Sandbox, "g")
            .await
            .unwrap();
        for (user, points) in [("@a", 10), ("@b", 100), ("@c", 100)] {
            let join = qunzhu_domain::Event {
                workspace: workspace.id,
                platform: Platform::Sandbox,
                key: format!("join-{user}"),
                chat: "g".into(),
                at: clock.now(),
                kind: qunzhu_domain::EventKind::MemberJoined {
                    member: user.into(),
                    display_name: None,
                    via: qunzhu_domain::JoinVia::Direct,
                },
            };
            let batch = qunzhu_storage::IngestBatch {
                events: vec![qunzhu_storage::NewEvent {
                    event: join,
                    day: clock.now().date_naive(),
                }],
                cursor: None,
            };
            store.ingest(batch, &mut |_| Vec::new()).await.unwrap();
            store
                .post_entries(
                    workspace.id,
                    vec![NewEntry {
                        key: format!("seed:{user}"),
                        reason: Reason::Manual,
                        cause: None,
                        from: Account::Issuance,
                        to: Account::member(Platform::Sandbox, user),
                        amount: points,
                        at: clock.now(),
                        memo: String::new(),
                        reverses: None,
                    }],
                )
                .await
                .unwrap();
        }
        let ops = Ops::new(store.clone(), clock.clone());
        let who = Actor {
            workspace: workspace.id,
            name: qunzhu_domain::ActorName::Token("shop".into()),
            role: UserRole::Operator,
        };
        let view = ops.create_offer(&who, DOC, "r1").await.unwrap();
        let id = view.offer.id;
        let posts: Vec<_> = ["countdown", "open"]
            .iter()
            .map(|which| qunzhu_domain::keys::offer_post(id, which))
            .collect();
        for key in &posts {
            assert!(
                store.action_by_key(workspace.id, key).await.is_ok(),
                "{key} queued"
            );
        }
        let start = clock.now();
        let steps: &[(i64, &str, Option<&str>)] = &[
            (59, "@b", Some("not_started")),
            (60, "@a", Some("cannot_pay")),
            (61, "@b", None),
            (62, "@b", Some("already_claimed")),
            (63, "@c", Some("sold_out")),
            (90, "@c", Some("ended")),
        ];
        for (index, (minutes, user, expected)) in steps.iter().enumerate() {
            clock.set(start + Duration::minutes(*minutes));
            let answer = ops
                .claim_offer(&who, id, Platform::Sandbox, user, &format!("q{index}"))
                .await
                .unwrap();
            assert_eq!(
                answer.refusal.as_ref().map(|r| r.code()),
                *expected,
                "{user} at +{minutes}m: {}",
                answer.message
            );
        }
        let balance = |user: &'static str| {
            let store = store.clone();
            async move {
                store
                    .balance(workspace.id, &Account::member(Platform::Sandbox, user))
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            (
                balance("@a").await,
                balance("@b").await,
                balance("@c").await
            ),
            (10, 70, 100)
        );
        let stored = ops.offer(&who, id).await.unwrap();
        assert_eq!((stored.offer.remaining, stored.claims.len()), (0, 1));
        assert!(matches!(
            ops.claim_offer(&who, id, Platform::Sandbox, "@nobody", "q9")
                .await,
            Err(OpsError::NotFound("member"))
        ));
        assert!(matches!(
            ops.create_offer(&who, &DOC.replace("stock = 1", "stock = 0"), "r2").await,
            Err(OpsError::Problems(problems)) if problems[0].line == Some(4)
        ));
    }
}
