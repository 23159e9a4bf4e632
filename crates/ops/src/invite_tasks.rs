//! Invite tasks (任务宝) as operators run them: save a campaign document (checked, with located
//! problems), apply a shipped template, read a campaign's standing, and decide prizes in the
//! review queue (approve, or reject with a reason), one audit verb per decision.

use chrono::{DateTime, Utc};
use qunzhu_domain::{DocumentKind, Platform};
use qunzhu_growth::templates::template_source;
use qunzhu_growth::{parse_campaign, Book, Campaign, InviteState, PrizeState, TaskPrizeRow};
use qunzhu_storage::{Document, InviteTaskUpdate, PrizeFilter, StoreError, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::check::{check_name, Problem};
use crate::{Actor, Ops, OpsError, Result};

/// A campaign as the console and API list it.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    pub document: Document,
    /// `None` when the stored source no longer passes its check (shown with `problems`).
    pub campaign: Option<Campaign>,
    pub problems: Vec<String>,
    /// Per inviter: counted, waiting and flagged invites, most counted first.
    pub standings: Vec<Standing>,
}

/// One inviter's standing in a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    pub inviter: String,
    pub counted: u32,
    pub waiting: u32,
    pub flagged: u32,
    pub suspended: bool,
}

/// An operator's decision on a pending prize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrizeDecision {
    Approve,
    Reject,
}

fn problems(errors: Vec<qunzhu_growth::CampaignError>) -> OpsError {
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
}

impl Ops {
    /// Checks and saves a campaign; the invite-task consumer picks it up on its next round.
    pub async fn save_campaign(&self, who: &Actor, name: &str, source: &str) -> Result<Document> {
        who.require(UserRole::Operator)?;
        check_name(name).map_err(|message| OpsError::invalid("name", message))?;
        crate::limits::bounded("source", source, 100_000)?;
        parse_campaign(name, source).map_err(problems)?;
        let saved = self
            .store
            .put_document(
                who.workspace,
                DocumentKind::Campaign,
                name,
                source,
                &who.name.to_string(),
                self.clock.now(),
            )
            .await?;
        self.audit(
            who,
            "campaign.save",
            name,
            json!({ "version": saved.version }),
        )
        .await?;
        Ok(saved)
    }

    /// Writes a shipped template as a new campaign for these groups and window.
    #[allow(clippy::too_many_arguments)]
    pub async fn apply_campaign_template(
        &self,
        who: &Actor,
        template: &str,
        name: &str,
        platform: Platform,
        groups: &[String],
        starts: DateTime<Utc>,
        ends: DateTime<Utc>,
        english: bool,
    ) -> Result<Document> {
        who.require(UserRole::Operator)?;
        let source = template_source(template, english, platform.as_str(), groups, starts, ends)
            .ok_or_else(|| {
                OpsError::invalid(
                    "template",
                    format!("`{template}` is not one of invite_ten, join_gift_both"),
                )
            })?;
        match self
            .store
            .document(who.workspace, DocumentKind::Campaign, name)
            .await
        {
            Ok(_) => {
                return Err(OpsError::invalid(
                    "name",
                    format!("a campaign `{name}` exists already"),
                ))
            }
            Err(StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        self.save_campaign(who, name, &source).await
    }

    pub async fn delete_campaign(&self, who: &Actor, name: &str) -> Result<()> {
        who.require(UserRole::Operator)?;
        self.store
            .delete_document(who.workspace, DocumentKind::Campaign, name)
            .await?;
        self.audit(who, "campaign.delete", name, json!({})).await
    }

    /// Every campaign with its check and its inviters' standings.
    pub async fn campaigns(&self, who: &Actor) -> Result<Vec<CampaignView>> {
        who.require(UserRole::Viewer)?;
        let mut out = Vec::new();
        for document in self
            .store
            .documents(who.workspace, DocumentKind::Campaign)
            .await?
        {
            out.push(self.campaign_view(who, document).await?);
        }
        Ok(out)
    }

    pub async fn campaign(&self, who: &Actor, name: &str) -> Result<CampaignView> {
        who.require(UserRole::Viewer)?;
        let document = match self
            .store
            .document(who.workspace, DocumentKind::Campaign, name)
            .await
        {
            Ok(document) => document,
            Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("campaign")),
            Err(error) => return Err(error.into()),
        };
        self.campaign_view(who, document).await
    }

    async fn campaign_view(&self, who: &Actor, document: Document) -> Result<CampaignView> {
        let (campaign, problems) = match parse_campaign(&document.name, &document.source) {
            Ok(campaign) => (Some(campaign), Vec::new()),
            Err(errors) => (None, errors.iter().map(ToString::to_string).collect()),
        };
        let mut standings = Vec::new();
        if let Some(campaign) = &campaign {
            let (invites, prizes) = self
                .store
                .invite_task_rows(who.workspace, &campaign.name)
                .await?;
            let book = Book::new(campaign.clone(), invites, prizes);
            let mut inviters: Vec<&str> = book.invites().map(|row| row.inviter.as_str()).collect();
            inviters.sort_unstable();
            inviters.dedup();
            for inviter in inviters {
                let count = |state: InviteState| {
                    book.invites()
                        .filter(|row| row.inviter == inviter && row.state == state)
                        .count() as u32
                };
                standings.push(Standing {
                    inviter: inviter.to_string(),
                    counted: count(InviteState::Counted),
                    waiting: count(InviteState::Waiting),
                    flagged: count(InviteState::Flagged),
                    suspended: book.suspended(inviter),
                });
            }
            standings.sort_by(|a, b| {
                b.counted
                    .cmp(&a.counted)
                    .then_with(|| a.inviter.cmp(&b.inviter))
            });
        }
        Ok(CampaignView {
            document,
            campaign,
            problems,
            standings,
        })
    }

    /// Prizes (the review queue is `state = pending`), newest first.
    pub async fn task_prizes(
        &self,
        who: &Actor,
        filter: &PrizeFilter,
        limit: usize,
    ) -> Result<Vec<TaskPrizeRow>> {
        who.require(UserRole::Viewer)?;
        Ok(self
            .store
            .task_prizes(who.workspace, filter, limit.clamp(1, 1000))
            .await?)
    }

    /// Approves or rejects a pending prize. Deciding the same way again is a no-op answered
    /// with the prize as it stands (one decision through two doors is one decision).
    pub async fn decide_prize(
        &self,
        who: &Actor,
        campaign: &str,
        inviter: &str,
        threshold: u32,
        decision: PrizeDecision,
        reason: &str,
    ) -> Result<TaskPrizeRow> {
        who.require(UserRole::Operator)?;
        crate::limits::bounded("reason", reason, crate::limits::MAX_TEXT_CHARS)?;
        let definition = self.campaign(who, campaign).await?;
        let Some(parsed) = definition.campaign else {
            return Err(OpsError::invalid(
                "campaign",
                "the campaign document does not pass its check; fix it first",
            ));
        };
        // Two tries: the consumer may write the same prize between our read and our write.
        for _ in 0..2 {
            let filter = PrizeFilter {
                campaign: Some(parsed.name.clone()),
                state: None,
                inviter: Some(inviter.to_string()),
            };
            let current = self.store.task_prizes(who.workspace, &filter, 1000).await?;
            let Some(row) = current.into_iter().find(|row| row.threshold == threshold) else {
                return Err(OpsError::NotFound("prize"));
            };
            let repeated = match decision {
                PrizeDecision::Approve => {
                    matches!(row.state, PrizeState::Approved | PrizeState::Granted)
                }
                PrizeDecision::Reject => row.state == PrizeState::Rejected,
            };
            if repeated && row.decided_by.is_some() {
                return Ok(row);
            }
            let mut book = Book::new(parsed.clone(), Vec::new(), vec![row]);
            let decided = book
                .decide(
                    inviter,
                    threshold,
                    decision == PrizeDecision::Approve,
                    &who.name.to_string(),
                    reason,
                )
                .map_err(|error| OpsError::invalid("prize", error.to_string()))?;
            let update = InviteTaskUpdate {
                watermark: None,
                invites: Vec::new(),
                prizes: vec![decided.clone()],
            };
            if self.store.apply_invite_tasks(who.workspace, update).await? {
                let verb = match decision {
                    PrizeDecision::Approve => "campaign.prize.approve",
                    PrizeDecision::Reject => "campaign.prize.reject",
                };
                let subject = decided.grant_key();
                self.audit(who, verb, &subject, json!({ "reason": reason }))
                    .await?;
                return Ok(TaskPrizeRow {
                    version: decided.version + 1,
                    ..decided
                });
            }
        }
        Err(OpsError::invalid(
            "prize",
            "the prize changed while deciding; look again",
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use qunzhu_domain::FakeClock;
    use qunzhu_growth::TaskPrize;
    use qunzhu_storage::{NewWorkspace, Store};

    use super::*;

    async fn setup() -> (Ops, Actor) {
        let store: Arc<dyn Store> =
            Arc::new(qunzhu_storage_sqlite::SqliteStore::open_in_memory().unwrap());
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap();
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "b".into(),
                name: "B".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap();
        let who = Actor {
            workspace: workspace.id,
            name: qunzhu_domain::ActorName::User("ops".into()),
            role: UserRole::Operator,
        };
        (Ops::new(store, Arc::new(FakeClock::new(now))), who)
    }

    fn window() -> (DateTime<Utc>, DateTime<Utc>) {
        (
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_bad_campaign_is_refused_with_located_problems() {
        let (ops, who) = setup().await;
        let (starts, ends) = window();
        let saved = ops
            .apply_campaign_template(
                &who,
                "invite_ten",
                "ten",
                Platform::Matrix,
                &["!g:hs".into()],
                starts,
                ends,
                false,
            )
            .await
            .unwrap();
        let broken = saved.source.replace("invites = 10", "invites = 2");
        let Err(OpsError::Problems(found)) = ops.save_campaign(&who, "ten", &broken).await else {
            panic!("overlapping thresholds are refused");
        };
        assert_eq!(found[0].path.as_deref(), Some("thresholds[1].invites"));
        assert!(found[0].line.is_some() && found[0].column.is_some());
        let groups = ["!g:hs".to_string()];
        let again = ops.apply_campaign_template(
            &who,
            "invite_ten",
            "ten",
            Platform::Matrix,
            &groups,
            starts,
            ends,
            false,
        );
        assert!(
            matches!(again.await, Err(OpsError::Invalid { .. })),
            "a template never overwrites"
        );
        let no_groups = ops.apply_campaign_template(
            &who,
            "invite_ten",
            "empty",
            Platform::Matrix,
            &[],
            starts,
            ends,
            false,
        );
        assert!(
            matches!(no_groups.await, Err(OpsError::Problems(found)) if found[0].path.as_deref() == Some("groups"))
        );
        let viewer = Actor {
            role: UserRole::Viewer,
            ..who.clone()
        };
        assert!(matches!(
            ops.save_campaign(&viewer, "x", &saved.source).await,
            Err(OpsError::Forbidden { .. })
        ));
    }

    #[tokio::test]
    async fn a_pending_prize_is_decided_once_with_one_audit_entry() {
        let (ops, who) = setup().await;
        let (starts, ends) = window();
        ops.apply_campaign_template(
            &who,
            "invite_ten",
            "ten",
            Platform::Matrix,
            &["!g:hs".into()],
            starts,
            ends,
            false,
        )
        .await
        .unwrap();
        let pending = |threshold: u32| TaskPrizeRow {
            campaign: qunzhu_domain::CampaignId("ten".into()),
            inviter: "@a:hs".into(),
            threshold,
            round: 0,
            state: PrizeState::Pending,
            chat: "!g:hs".into(),
            earned_at: starts,
            due_at: starts,
            decided_by: None,
            note: String::new(),
            prize: TaskPrize::Points { points: 30 },
            version: 0,
        };
        let update = InviteTaskUpdate {
            watermark: None,
            invites: vec![],
            prizes: vec![pending(3), pending(10)],
        };
        assert!(ops
            .store
            .apply_invite_tasks(who.workspace, update)
            .await
            .unwrap());
        let approved = ops
            .decide_prize(&who, "ten", "@a:hs", 3, PrizeDecision::Approve, "")
            .await
            .unwrap();
        assert_eq!(
            (approved.state, approved.decided_by.as_deref()),
            (PrizeState::Approved, Some("user:ops"))
        );
        let again = ops
            .decide_prize(&who, "ten", "@a:hs", 3, PrizeDecision::Approve, "")
            .await
            .unwrap();
        assert_eq!(again.version, approved.version, "a repeat changes nothing");
        assert!(matches!(
            ops.decide_prize(&who, "ten", "@a:hs", 3, PrizeDecision::Reject, "late")
                .await,
            Err(OpsError::Invalid { .. })
        ));
        assert!(matches!(
            ops.decide_prize(&who, "ten", "@a:hs", 10, PrizeDecision::Reject, "")
                .await,
            Err(OpsError::Invalid { .. })
        ));
        let rejected = ops
            .decide_prize(&who, "ten", "@a:hs", 10, PrizeDecision::Reject, "刷量账号")
            .await
            .unwrap();
        assert_eq!(
            (rejected.state, rejected.note.as_str()),
            (PrizeState::Rejected, "刷量账号")
        );
        assert!(matches!(
            ops.decide_prize(&who, "ten", "@zz", 3, PrizeDecision::Approve, "")
                .await,
            Err(OpsError::NotFound("prize"))
        ));
        let queue = PrizeFilter {
            state: Some(PrizeState::Pending),
            ..Default::default()
        };
        assert!(ops.task_prizes(&who, &queue, 10).await.unwrap().is_empty());
        let verbs: Vec<String> = ops
            .store
            .audit_log(who.workspace, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| entry.action)
            .collect();
        assert_eq!(
            verbs
                .iter()
                .filter(|verb| verb.starts_with("campaign.prize"))
                .count(),
            2
        );
        let view = ops.campaign(&who, "ten").await.unwrap();
        assert!(view.campaign.is_some() && view.problems.is_empty());
    }
}
