//! Posters (海报): the workspace's template (a document of kind `poster`, the shipped default
//! until an operator saves one; its background image is `poster_backgrounds`') and whose card a
//! code's poster shows. Rendering itself is `qunzhu_poster`'s, and the font is the caller's:
//! ops only knows the text, the names and the background's bytes.

use qunzhu_domain::MemberId;
use std::sync::Arc;

use qunzhu_domain::invite::poster_code;
use qunzhu_domain::{DocumentKind, InviteCode, Platform, WorkspaceId};
use qunzhu_poster::{Font, Poster, PosterError, DEFAULT_TEMPLATE};
use qunzhu_storage::{Document, StoreError, UserRole};
use serde_json::json;

use crate::check::Problem;
use crate::{Actor, Ops, OpsError, Result};

/// Each workspace has one poster template, under this name.
pub const POSTER_NAME: &str = "default";

/// Whose poster a code shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosterCard {
    pub workspace: WorkspaceId,
    pub code: String,
    /// The member's display name (their id when they have none).
    pub name: String,
}

/// A template's problems in the form every door shows (`source:line:col`).
pub fn poster_problems(error: PosterError) -> OpsError {
    match error {
        PosterError::Template(errors) => OpsError::Problems(
            errors
                .into_iter()
                .map(|error| Problem {
                    line: Some(error.line),
                    column: Some(error.col),
                    path: Some(error.field),
                    message: error.message,
                })
                .collect(),
        ),
        other => OpsError::invalid("poster", other.to_string()),
    }
}

/// The template as the console and API show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PosterView {
    pub source: String,
    /// No template was saved: this is the shipped one.
    pub shipped: bool,
}

/// Who a preview is drawn for (the shipped sample member and a sample link).
pub const PREVIEW_NAME: &str = "林小满";
pub const PREVIEW_LINK: &str = "https://example.com/i/preview";

impl Ops {
    /// The template for the editor.
    pub async fn poster_view(&self, who: &Actor) -> Result<PosterView> {
        who.require(UserRole::Viewer)?;
        let shipped = matches!(
            self.store
                .document(who.workspace, DocumentKind::Poster, POSTER_NAME)
                .await,
            Err(StoreError::NotFound { .. })
        );
        Ok(PosterView {
            source: self.poster_template(who.workspace).await?,
            shipped,
        })
    }

    /// The poster `source` draws for a sample member, with the same renderer as members' posters;
    /// nothing is saved. A text that does not fit is the same located problem as on save.
    pub async fn poster_preview(
        &self,
        who: &Actor,
        source: &str,
        font: Arc<Font>,
    ) -> Result<Vec<u8>> {
        who.require(UserRole::Viewer)?;
        let source = source.to_string();
        let background = self.poster_background(who.workspace).await?;
        tokio::task::spawn_blocking(move || {
            let background = background.as_ref().map(|kept| kept.bytes.as_slice());
            Poster::new(&source, background, font)?.render(qunzhu_poster::Card {
                name: PREVIEW_NAME,
                link: PREVIEW_LINK,
            })
        })
        .await
        .map_err(|error| OpsError::Internal(error.to_string()))?
        .map_err(poster_problems)
    }

    /// The workspace's poster template source (the default one until an operator saved one).
    pub async fn poster_template(&self, workspace: WorkspaceId) -> Result<String> {
        match self
            .store
            .document(workspace, DocumentKind::Poster, POSTER_NAME)
            .await
        {
            Ok(document) => Ok(document.source),
            Err(StoreError::NotFound { .. }) => Ok(DEFAULT_TEMPLATE.to_string()),
            Err(error) => Err(error.into()),
        }
    }

    /// Checks the template with `font` (does every text fit?) and saves it; nothing is saved
    /// when a text does not fit, and each problem names its field and line:column.
    pub async fn save_poster_template(
        &self,
        who: &Actor,
        source: &str,
        font: Arc<Font>,
    ) -> Result<Document> {
        who.require(UserRole::Operator)?;
        let checked = source.to_string();
        let background = self.poster_background(who.workspace).await?;
        tokio::task::spawn_blocking(move || {
            let background = background.as_ref().map(|kept| kept.bytes.as_slice());
            Poster::new(&checked, background, font).map(|_| ())
        })
        .await
        .map_err(|error| OpsError::Internal(error.to_string()))?
        .map_err(poster_problems)?;
        let saved = self
            .store
            .put_document(
                who.workspace,
                DocumentKind::Poster,
                POSTER_NAME,
                source,
                &who.name.to_string(),
                self.clock.now(),
            )
            .await?;
        self.audit(
            who,
            "poster.save",
            POSTER_NAME,
            json!({ "version": saved.version }),
        )
        .await?;
        Ok(saved)
    }

    /// The card behind a member's invite code, in any workspace (codes are random). A poster
    /// code the bot derived (`qunzhu_domain::invite::poster_code`) is registered here on first
    /// use, when `claimed` names the known member it was derived from.
    pub async fn poster_card(
        &self,
        code: &str,
        claimed: Option<(Platform, &str)>,
    ) -> Result<PosterCard> {
        for workspace in self.store.workspaces().await? {
            let known = match self.store.invite_code(workspace.id, code).await {
                Ok(known) => known,
                Err(StoreError::NotFound { .. }) => {
                    let Some((platform, member)) = claimed else {
                        continue;
                    };
                    if poster_code(workspace.id, platform, member) != code {
                        continue;
                    }
                    match self
                        .store
                        .member(workspace.id, platform, &MemberId::from(member))
                        .await
                    {
                        Ok(_) => {}
                        Err(StoreError::NotFound { .. }) => continue,
                        Err(error) => return Err(error.into()),
                    }
                    let code = InviteCode {
                        code: code.to_string(),
                        platform,
                        member: member.to_string(),
                        campaign: None,
                    };
                    self.store.put_invite_code(workspace.id, code).await?
                }
                Err(error) => return Err(error.into()),
            };
            let name = match self
                .store
                .member(
                    workspace.id,
                    known.platform,
                    &MemberId(known.member.clone()),
                )
                .await
            {
                Ok(member) if !member.display_name.trim().is_empty() => member.display_name,
                Ok(_) | Err(StoreError::NotFound { .. }) => known.member.clone(),
                Err(error) => return Err(error.into()),
            };
            return Ok(PosterCard {
                workspace: workspace.id,
                code: known.code,
                name,
            });
        }
        Err(OpsError::NotFound("code"))
    }
}
