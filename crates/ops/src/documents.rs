//! Rule files and SOP plans: save after checking, delete, apply a shipped template, and the
//! calendar of upcoming posts the plans make.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use qunzhu_storage::{Document, UserRole, Workspace};
use serde::Serialize;
use serde_json::json;

use crate::check::{self, DocumentKind};
use crate::{Actor, Ops, OpsError, Result};

/// One upcoming SOP post, for calendars.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalendarEntry {
    pub plan: String,
    pub step: String,
    pub title: String,
    pub scheduled: DateTime<Utc>,
    /// Local `YYYY-MM-DD HH:MM` in the step's zone.
    pub local: String,
    pub groups: Vec<String>,
    pub text: String,
}

/// The workspace's zone; a stored name that no longer parses is an error, never a silent default.
pub fn workspace_zone(workspace: &Workspace) -> Result<Tz> {
    workspace.time_zone.parse().map_err(|_| {
        OpsError::Internal(format!(
            "workspace `{}` has time zone `{}`, which is not an IANA zone name",
            workspace.slug, workspace.time_zone
        ))
    })
}

impl Ops {
    /// Checks and saves a rule file or plan (the engine's watchers pick it up), and audits it.
    pub async fn save_document(
        &self,
        who: &Actor,
        kind: DocumentKind,
        name: &str,
        source: &str,
    ) -> Result<Document> {
        who.require(UserRole::Operator)?;
        check::check_name(name).map_err(|message| OpsError::invalid("name", message))?;
        check::check(kind, name, source).map_err(OpsError::Problems)?;
        let saved = self
            .store
            .put_document(
                who.workspace,
                kind.as_str(),
                name,
                source,
                &who.name,
                self.clock.now(),
            )
            .await?;
        self.audit(
            who,
            &format!("{}.save", kind.audit_noun()),
            name,
            json!({ "version": saved.version }),
        )
        .await?;
        Ok(saved)
    }

    pub async fn delete_document(&self, who: &Actor, kind: DocumentKind, name: &str) -> Result<()> {
        who.require(UserRole::Operator)?;
        self.store
            .delete_document(who.workspace, kind.as_str(), name)
            .await?;
        self.audit(
            who,
            &format!("{}.delete", kind.audit_noun()),
            name,
            json!({}),
        )
        .await
    }

    /// Applies a shipped SOP template to chosen groups of the workspace: one saved plan.
    pub async fn apply_template(
        &self,
        who: &Actor,
        template_id: &str,
        group_ids: &[i64],
        name: Option<&str>,
    ) -> Result<Document> {
        who.require(UserRole::Operator)?;
        let template = qunzhu_sop::template(template_id)
            .ok_or_else(|| OpsError::invalid("template", "unknown template"))?;
        if group_ids.is_empty() {
            return Err(OpsError::invalid("groups", "pick at least one group"));
        }
        let mut chats = Vec::new();
        for id in group_ids {
            // `group` is scoped by workspace: another workspace's id is simply not found.
            chats.push(self.store.group(who.workspace, *id).await?.chat);
        }
        let name = name.filter(|n| !n.is_empty()).unwrap_or(template.id);
        check::check_name(name).map_err(|message| OpsError::invalid("name", message))?;
        let workspace = self.store.workspace(who.workspace).await?;
        let source = template.to_toml(
            qunzhu_sop::Target::chats(chats.clone()),
            workspace_zone(&workspace)?,
        );
        let saved = self
            .save_document(who, DocumentKind::SopPlan, name, &source)
            .await?;
        self.audit(
            who,
            "plan.apply_template",
            name,
            json!({ "template": template.id, "chats": chats }),
        )
        .await?;
        Ok(saved)
    }

    /// Upcoming posts of every valid plan (or one) for `days` days from `from`; `chat` narrows
    /// to a group.
    pub async fn calendar(
        &self,
        who: &Actor,
        plan: Option<&str>,
        chat: Option<&str>,
        from: DateTime<Utc>,
        days: u32,
    ) -> Result<Vec<CalendarEntry>> {
        let groups = self.store.groups(who.workspace).await?;
        let facts: Vec<qunzhu_sop::GroupFacts> = groups
            .iter()
            .filter(|g| chat.is_none_or(|chat| g.group.chat == chat))
            .map(|g| {
                // The store keeps no creation date; the first day ever keeps relative rules
                // quiet rather than inventing an anchor.
                let mut facts =
                    qunzhu_sop::GroupFacts::from_group(&g.group, DateTime::<Utc>::UNIX_EPOCH, true);
                facts.member_count = u32::try_from(g.members_present).unwrap_or(u32::MAX);
                facts
            })
            .collect();
        let kind = DocumentKind::SopPlan.as_str();
        let documents = match plan {
            Some(name) => vec![self.store.document(who.workspace, kind, name).await?],
            None => self.store.documents(who.workspace, kind).await?,
        };
        let mut entries = Vec::new();
        for document in documents {
            // A plan saved before a checker change may no longer parse; the calendar skips it.
            let Ok(parsed) = check::check_plan(&document.name, &document.source) else {
                continue;
            };
            for row in qunzhu_sop::preview(&parsed, &facts, from, days.min(62)) {
                entries.push(CalendarEntry {
                    plan: document.name.clone(),
                    step: row.step,
                    title: row.title,
                    scheduled: row.scheduled,
                    local: row.local.format("%Y-%m-%d %H:%M").to_string(),
                    groups: row.groups,
                    text: row.sample_text,
                });
            }
        }
        entries.sort_by(|a, b| {
            a.scheduled
                .cmp(&b.scheduled)
                .then_with(|| a.plan.cmp(&b.plan))
        });
        Ok(entries)
    }
}
