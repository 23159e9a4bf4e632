//! Landing pages (H5): saving and deleting page documents, what a visitor does on a public page
//! (a view, a phone left, a join click, each counted per channel), and the leads an operator
//! sees masked, exports (owners only) and deletes on request.
//!
//! Phone numbers are sealed by the [`PhoneVault`] before they reach the store; a deletion is
//! audited with the lead's id, page and channel, never the number.

use chrono::{DateTime, Utc};
use qunzhu_domain::{DocumentKind, WorkspaceId};
use qunzhu_growth::{parse_landing, LandingError, LandingPage, Phone, PhoneError};
use qunzhu_storage::{
    ChannelCounts, Document, LandingHit, NewLead, StoreError, UserRole, Workspace,
};
use serde::Serialize;
use serde_json::json;

use crate::check::{check_name, Problem};
use crate::phone_vault::PhoneVault;
use crate::{Actor, Ops, OpsError, Result};

/// The most leads one listing or export reads.
pub const MAX_LEADS: usize = 10_000;

/// A page document as the console lists it: checked (or its problems) and its counters.
#[derive(Debug, Clone, Serialize)]
pub struct LandingView {
    pub name: String,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub source: String,
    /// `None` when the stored document no longer checks (its problems are in `problems`).
    pub page: Option<LandingPage>,
    pub problems: Vec<Problem>,
    /// Per channel, by channel name.
    pub counts: Vec<ChannelCounts>,
}

impl LandingView {
    /// Views, phones and joins over every channel.
    pub fn totals(&self) -> (i64, i64, i64) {
        self.counts.iter().fold((0, 0, 0), |(v, p, j), row| {
            (v + row.views, p + row.phones, j + row.joins)
        })
    }
}

/// A lead as operators see it: the number masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadView {
    pub id: i64,
    pub page: String,
    pub channel: String,
    pub masked: String,
    pub at: DateTime<Utc>,
}

/// A public page found by its address, in its workspace.
#[derive(Debug, Clone)]
pub struct PublicPage {
    pub workspace: Workspace,
    pub page: LandingPage,
}

/// What became of a visitor's phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneOutcome {
    /// Kept (`new` is false when this phone was already a lead of the page).
    Kept { new: bool },
    /// Refused; nothing was stored.
    Refused(PhoneError),
}

/// Landing-page problems in the shape every door shows (`source:LINE:COL`, field path).
pub fn landing_problems(errors: Vec<LandingError>) -> Vec<Problem> {
    errors
        .into_iter()
        .map(|error| Problem {
            line: Some(error.line),
            column: Some(error.col),
            path: Some(error.field.clone()),
            message: format!("{}: {}", error.field, error.message),
        })
        .collect()
}

/// Checks a page document without saving it (the console's live preview calls this).
pub fn check_landing(name: &str, source: &str) -> Result<LandingPage> {
    check_name(name).map_err(|message| OpsError::invalid("name", message))?;
    crate::limits::bounded("source", source, 100_000)?;
    parse_landing(name, source).map_err(|errors| OpsError::Problems(landing_problems(errors)))
}

impl Ops {
    /// Checks and saves a page document; the public page shows the new version at once.
    pub async fn save_landing(&self, who: &Actor, name: &str, source: &str) -> Result<Document> {
        who.require(UserRole::Operator)?;
        check_landing(name, source)?;
        let saved = self
            .store
            .put_document(
                who.workspace,
                DocumentKind::Landing,
                name,
                source,
                &who.name.to_string(),
                self.clock.now(),
            )
            .await?;
        self.audit(
            who,
            "landing.save",
            name,
            json!({ "version": saved.version }),
        )
        .await?;
        Ok(saved)
    }

    /// Deletes a page document (its counters and leads stay readable until deleted themselves).
    pub async fn delete_landing(&self, who: &Actor, name: &str) -> Result<()> {
        who.require(UserRole::Operator)?;
        self.store
            .delete_document(who.workspace, DocumentKind::Landing, name)
            .await?;
        self.audit(who, "landing.delete", name, json!({})).await
    }

    fn landing_view(document: Document, counts: Vec<ChannelCounts>) -> LandingView {
        let (page, problems) = match parse_landing(&document.name, &document.source) {
            Ok(page) => (Some(page), Vec::new()),
            Err(errors) => (None, landing_problems(errors)),
        };
        LandingView {
            name: document.name,
            version: document.version,
            updated_at: document.updated_at,
            source: document.source,
            page,
            problems,
            counts,
        }
    }

    /// Every page of the workspace with its counters, by name.
    pub async fn landing_pages(&self, who: &Actor) -> Result<Vec<LandingView>> {
        let documents = self
            .store
            .documents(who.workspace, DocumentKind::Landing)
            .await?;
        let counts = self.store.landing_counts(who.workspace, None).await?;
        Ok(documents
            .into_iter()
            .map(|document| {
                let mine = counts
                    .iter()
                    .filter(|row| row.page == document.name)
                    .cloned()
                    .collect();
                Ops::landing_view(document, mine)
            })
            .collect())
    }

    /// One page with its counters; `NotFound` if there is no such page.
    pub async fn landing_page(&self, who: &Actor, name: &str) -> Result<LandingView> {
        let document = match self
            .store
            .document(who.workspace, DocumentKind::Landing, name)
            .await
        {
            Ok(document) => document,
            Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("landing page")),
            Err(error) => return Err(error.into()),
        };
        let counts = self.store.landing_counts(who.workspace, Some(name)).await?;
        Ok(Ops::landing_view(document, counts))
    }

    /// The page at `/h5/{workspace}/{page}`: `NotFound` for an unknown workspace or page, and
    /// for a stored page that no longer checks (visitors never see a half-written page).
    pub async fn public_landing(&self, workspace: &str, page: &str) -> Result<PublicPage> {
        let Some(found) = self
            .store
            .workspaces()
            .await?
            .into_iter()
            .find(|candidate| candidate.slug == workspace)
        else {
            return Err(OpsError::NotFound("landing page"));
        };
        let document = match self
            .store
            .document(found.id, DocumentKind::Landing, page)
            .await
        {
            Ok(document) => document,
            Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("landing page")),
            Err(error) => return Err(error.into()),
        };
        let checked = parse_landing(&document.name, &document.source).map_err(|errors| {
            tracing::warn!(
                page,
                problems = errors.len(),
                "a stored landing page does not check"
            );
            OpsError::NotFound("landing page")
        })?;
        Ok(PublicPage {
            workspace: found,
            page: checked,
        })
    }

    /// Counts a view or a join click of a public page under its channel.
    pub async fn landing_hit(
        &self,
        page: &PublicPage,
        channel: Option<&str>,
        hit: LandingHit,
    ) -> Result<()> {
        let channel = page.page.channel(channel);
        self.store
            .count_landing(page.workspace.id, &page.page.slug, &channel, hit)
            .await?;
        Ok(())
    }

    /// A visitor leaves a phone: checked, sealed, kept once per page and phone, counted.
    pub async fn landing_phone(
        &self,
        vault: &PhoneVault,
        page: &PublicPage,
        channel: Option<&str>,
        typed: &str,
    ) -> Result<PhoneOutcome> {
        if !matches!(page.page.bottom, qunzhu_growth::Bottom::Phone { .. }) {
            return Err(OpsError::invalid(
                "phone",
                "this page takes no phone numbers",
            ));
        }
        let phone = match Phone::parse(typed) {
            Ok(phone) => phone,
            Err(error) => return Ok(PhoneOutcome::Refused(error)),
        };
        let workspace = page.workspace.id;
        let slug = &page.page.slug;
        let lead = NewLead {
            page: slug.clone(),
            channel: page.page.channel(channel),
            phone_hash: vault.hash(workspace, phone.as_str()),
            cipher: vault.seal(workspace, slug, phone.as_str()),
            at: self.clock.now(),
        };
        let (_, new) = self.store.record_lead(workspace, lead).await?;
        Ok(PhoneOutcome::Kept { new })
    }

    async fn sealed_leads(&self, who: &Actor, page: &str) -> Result<Vec<qunzhu_storage::Lead>> {
        Ok(self.store.leads(who.workspace, page, MAX_LEADS).await?)
    }

    fn open_lead(
        vault: &PhoneVault,
        workspace: WorkspaceId,
        lead: &qunzhu_storage::Lead,
    ) -> Result<String> {
        vault
            .unseal(workspace, &lead.page, &lead.cipher)
            .map_err(|error| OpsError::Internal(format!("lead {}: {error}", lead.id)))
    }

    /// A page's leads, newest first, each number masked (`138****5678`).
    pub async fn landing_leads(
        &self,
        who: &Actor,
        vault: &PhoneVault,
        page: &str,
    ) -> Result<Vec<LeadView>> {
        self.sealed_leads(who, page)
            .await?
            .iter()
            .map(|lead| {
                Ok(LeadView {
                    id: lead.id,
                    page: lead.page.clone(),
                    channel: lead.channel.clone(),
                    masked: qunzhu_growth::phone::mask(&Ops::open_lead(
                        vault,
                        who.workspace,
                        lead,
                    )?),
                    at: lead.at,
                })
            })
            .collect()
    }

    /// A page's leads with the numbers in clear, as CSV (`id,at,channel,phone`): owners only,
    /// and audited (who exported which page, how many rows; never the numbers).
    pub async fn export_landing_leads(
        &self,
        who: &Actor,
        vault: &PhoneVault,
        page: &str,
    ) -> Result<String> {
        who.require(UserRole::Owner)?;
        let leads = self.sealed_leads(who, page).await?;
        let mut csv = String::from("id,at,channel,phone\n");
        for lead in &leads {
            let phone = Ops::open_lead(vault, who.workspace, lead)?;
            csv.push_str(&format!(
                "{},{},{},{}\n",
                lead.id,
                lead.at.to_rfc3339(),
                lead.channel,
                phone
            ));
        }
        self.audit(
            who,
            "landing.leads.export",
            page,
            json!({ "rows": leads.len() }),
        )
        .await?;
        Ok(csv)
    }

    /// Deletes one lead for good (a person asked to be forgotten); the audit keeps its id, page
    /// and channel, not the number.
    pub async fn delete_landing_lead(&self, who: &Actor, id: i64) -> Result<()> {
        who.require(UserRole::Operator)?;
        let gone = match self.store.delete_lead(who.workspace, id).await {
            Ok(gone) => gone,
            Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("lead")),
            Err(error) => return Err(error.into()),
        };
        self.audit(
            who,
            "landing.lead.delete",
            &format!("lead:{}", gone.id),
            json!({ "page": gone.page, "channel": gone.channel }),
        )
        .await
    }

    /// Deletes every lead of this phone on any page of the workspace; answers how many went.
    /// A number that does not check is refused; one that is no lead deletes nothing (and says so).
    pub async fn forget_landing_phone(
        &self,
        who: &Actor,
        vault: &PhoneVault,
        typed: &str,
    ) -> Result<usize> {
        who.require(UserRole::Operator)?;
        let phone =
            Phone::parse(typed).map_err(|error| OpsError::invalid("phone", error.to_string()))?;
        let gone = self
            .store
            .forget_phone(who.workspace, &vault.hash(who.workspace, phone.as_str()))
            .await?;
        let pages: Vec<&str> = gone.iter().map(|lead| lead.page.as_str()).collect();
        self.audit(
            who,
            "landing.phone.forget",
            "phone",
            json!({ "deleted": gone.len(), "pages": pages }),
        )
        .await?;
        Ok(gone.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use qunzhu_domain::FakeClock;
    use qunzhu_storage::{NewWorkspace, Store};

    use super::*;

    async fn setup() -> (Ops, Actor, PhoneVault) {
        let store: Arc<dyn Store> = Arc::new(
            qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"),
        );
        let clock = FakeClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap());
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "brand".into(),
                name: "Brand".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap();
        let owner = Actor {
            workspace: workspace.id,
            name: qunzhu_domain::ActorName::User("boss".into()),
            role: UserRole::Owner,
        };
        (
            Ops::new(store, Arc::new(clock)),
            owner,
            PhoneVault::new([3; 32]),
        )
    }

    #[tokio::test]
    async fn a_phone_is_sealed_kept_once_masked_exported_by_owners_and_forgotten() {
        let (ops, owner, vault) = setup().await;
        ops.save_landing(&owner, "spring", qunzhu_growth::landing::EXAMPLE)
            .await
            .unwrap();
        let page = ops.public_landing("brand", "spring").await.unwrap();
        ops.landing_hit(&page, Some("xhs"), LandingHit::View)
            .await
            .unwrap();
        for (typed, expected) in [
            (
                "12345",
                PhoneOutcome::Refused(PhoneError::NotMainlandMobile),
            ),
            ("138 1234 5678", PhoneOutcome::Kept { new: true }),
            ("+8613812345678", PhoneOutcome::Kept { new: false }),
        ] {
            let got = ops
                .landing_phone(&vault, &page, Some("xhs"), typed)
                .await
                .unwrap();
            assert_eq!(got, expected, "{typed}");
        }
        let view = ops.landing_page(&owner, "spring").await.unwrap();
        assert_eq!(view.totals(), (1, 1, 0));
        let leads = ops.landing_leads(&owner, &vault, "spring").await.unwrap();
        assert_eq!(leads.len(), 1);
        assert_eq!(leads[0].masked, "138****5678");
        assert_eq!(leads[0].channel, "xhs");
        let admin = Actor {
            role: UserRole::Admin,
            ..owner.clone()
        };
        assert!(matches!(
            ops.export_landing_leads(&admin, &vault, "spring").await,
            Err(OpsError::Forbidden {
                needed: UserRole::Owner
            })
        ));
        let csv = ops
            .export_landing_leads(&owner, &vault, "spring")
            .await
            .unwrap();
        assert!(csv.ends_with(",xhs,+8613812345678\n"), "{csv}");
        assert!(matches!(
            ops.forget_landing_phone(&owner, &vault, "not a phone")
                .await,
            Err(OpsError::Invalid { .. })
        ));
        assert_eq!(
            ops.forget_landing_phone(&owner, &vault, "13812345678")
                .await
                .unwrap(),
            1
        );
        assert!(ops
            .landing_leads(&owner, &vault, "spring")
            .await
            .unwrap()
            .is_empty());
        // Nothing in the audit log holds the number.
        let audit = ops
            .store
            .audit_log(owner.workspace, None, 20)
            .await
            .unwrap();
        let verbs: Vec<&str> = audit.iter().map(|entry| entry.action.as_str()).collect();
        assert!(verbs.contains(&"landing.phone.forget") && verbs.contains(&"landing.leads.export"));
        let text = serde_json::to_string(&audit).unwrap();
        assert!(!text.contains("5678"), "{text}");
    }

    #[tokio::test]
    async fn bad_pages_and_unknown_addresses_are_refused() {
        let (ops, owner, vault) = setup().await;
        let Err(OpsError::Problems(found)) = ops
            .save_landing(&owner, "spring", "title = \"t\"\n[top]\nheadline = 1\n")
            .await
        else {
            panic!("a malformed page was saved");
        };
        assert_eq!(found[0].line, Some(3));
        assert!(matches!(
            ops.public_landing("brand", "spring").await,
            Err(OpsError::NotFound(_))
        ));
        assert!(matches!(
            ops.public_landing("nobody", "spring").await,
            Err(OpsError::NotFound(_))
        ));
        let join = "title = \"t\"\n[top]\nheadline = \"h\"\nbait = \"b\"\ncta = \"c\"\n[bottom]\naction = \"join\"\ncta = \"进群\"\nurl = \"/j/spring\"\n";
        ops.save_landing(&owner, "join", join).await.unwrap();
        let page = ops.public_landing("brand", "join").await.unwrap();
        assert!(matches!(
            ops.landing_phone(&vault, &page, None, "13812345678").await,
            Err(OpsError::Invalid { .. })
        ));
        ops.landing_hit(&page, None, LandingHit::Join)
            .await
            .unwrap();
        assert_eq!(
            ops.landing_page(&owner, "join").await.unwrap().totals(),
            (0, 0, 1)
        );
        assert!(matches!(
            ops.delete_landing_lead(&owner, 99).await,
            Err(OpsError::NotFound("lead"))
        ));
        let viewer = Actor {
            role: UserRole::Viewer,
            ..owner
        };
        assert!(matches!(
            ops.save_landing(&viewer, "join", join).await,
            Err(OpsError::Forbidden { .. })
        ));
    }
}
