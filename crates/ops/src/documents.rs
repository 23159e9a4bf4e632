//! Rule files and SOP plans: save after checking, delete, apply a shipped template, and the
//! calendar of upcoming posts the plans make.

use chrono::{DateTime, Utc};
use qunzhu_domain::DocumentKind;
use qunzhu_storage::{Document, UserRole};
use serde::Serialize;
use serde_json::json;

use crate::check::{self, EditableKind};
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
    /// The text as the first group would read it now (live variables filled with today's
    /// facts, by the same function that fills them at send time).
    pub text: String,
    /// The plan's own id (`id = …` in the document), which its pushes carry.
    pub plan_id: String,
    /// What its pushes did so far (all zero for a card still to come).
    pub outcome: crate::CardOutcome,
}

impl Ops {
    /// Checks and saves a rule file or plan (the engine's watchers pick it up), and audits it.
    pub async fn save_document(
        &self,
        who: &Actor,
        kind: EditableKind,
        name: &str,
        source: &str,
    ) -> Result<Document> {
        who.require(UserRole::Operator)?;
        check::check_name(name).map_err(|message| OpsError::invalid("name", message))?;
        check::check_off_thread(kind, name, source)
            .await?
            .map_err(OpsError::Problems)?;
        let saved = self
            .store
            .put_document(
                who.workspace,
                kind.kind(),
                name,
                source,
                &who.name.to_string(),
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

    pub async fn delete_document(&self, who: &Actor, kind: EditableKind, name: &str) -> Result<()> {
        who.require(UserRole::Operator)?;
        self.store
            .delete_document(who.workspace, kind.kind(), name)
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
        group_ids: &[qunzhu_domain::GroupId],
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
            workspace.time_zone,
        );
        let saved = self
            .save_document(who, EditableKind::SopPlan, name, &source)
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
        let kind = DocumentKind::SopPlan;
        let documents = match plan {
            Some(name) => vec![self.store.document(who.workspace, kind, name).await?],
            None => self.store.documents(who.workspace, kind).await?,
        };
        let with_leaders = documents
            .iter()
            .any(|document| document.source.contains("_leaders"));
        // Creation times, sizes and leaders as they are now: the preview says what a post
        // would say if it went out now.
        let facts: Vec<qunzhu_sop::GroupFacts> = qunzhu_engine::live::current_facts(
            &*self.store,
            who.workspace,
            self.clock.now(),
            with_leaders,
        )
        .await?
        .into_iter()
        .filter(|(summary, _)| chat.is_none_or(|chat| summary.group.chat == chat))
        .map(|(_, facts)| facts)
        .collect();
        let days = days.min(62);
        let outcomes = self
            .card_outcomes(who, from, from + chrono::Duration::days(i64::from(days)))
            .await?;
        let mut entries = Vec::new();
        for document in documents {
            // A plan saved before a checker change may no longer parse; the calendar skips it.
            let Ok(parsed) = check::check_plan(&document.name, &document.source) else {
                continue;
            };
            for row in qunzhu_sop::preview(&parsed, &facts, from, days) {
                let outcome = outcomes
                    .get(&(parsed.id.clone(), row.step.clone(), row.scheduled))
                    .copied()
                    .unwrap_or_default();
                entries.push(CalendarEntry {
                    plan_id: parsed.id.clone(),
                    outcome,
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
