//! The public invite page's operation (`/i/{code}`): a visitor gives their Matrix id, the bot
//! invites them into the code's group and the referral is recorded, so their join counts for the
//! code's member. Keyed by (group, visitor): asking twice, or through a second code, is one invite.

use qunzhu_domain::{ActionKind, DocumentKind, InviteCode, NewAction, Platform, WorkspaceId};
use qunzhu_growth::parse_campaign;
use qunzhu_storage::{PageReferral, StoreError};

use crate::{Ops, OpsError, Result};

/// What a code's page invites into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageTarget {
    pub workspace: WorkspaceId,
    pub code: InviteCode,
    pub chat: String,
    /// The campaign's title, when the code is for one.
    pub title: Option<String>,
}

/// The outcome of a visitor's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageInvite {
    pub chat: String,
    /// `false` when this visitor was already invited into that group (nothing new was sent).
    pub new: bool,
}

/// Checks a Matrix user id (`@local:server`); the error says what is wrong with it.
pub fn parse_matrix_id(text: &str) -> Result<String> {
    let bad = |message: &str| OpsError::invalid("matrix_id", message);
    let id = text.trim();
    if id.is_empty() {
        return Err(bad("give your Matrix id, like @alice:example.org"));
    }
    if id.len() > 255 {
        return Err(bad("a Matrix id is at most 255 characters"));
    }
    let Some(rest) = id.strip_prefix('@') else {
        return Err(bad("a Matrix id starts with @, like @alice:example.org"));
    };
    let Some((local, server)) = rest.split_once(':') else {
        return Err(bad(
            "a Matrix id has a `:` between the name and the server, like @alice:example.org",
        ));
    };
    if local.is_empty()
        || !local
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._=-/+".contains(c))
    {
        return Err(bad(
            "the name before `:` may only hold a-z, 0-9 and . _ = - / +",
        ));
    }
    let (host, port) = match server.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || server.starts_with('[') => (host, Some(port)),
        _ => (server, None),
    };
    let host_ok = !host.is_empty()
        && (host.starts_with('[') && host.ends_with(']')
            || host.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }));
    if !host_ok {
        return Err(bad(
            "the server after `:` is not a host name, like example.org",
        ));
    }
    if port.is_some_and(|port| port.parse::<u16>().is_err()) {
        return Err(bad("the server's port is not a number from 1 to 65535"));
    }
    Ok(id.to_string())
}

impl Ops {
    /// Finds a code in any workspace (codes are random) with the group its page invites into:
    /// the first of its campaign's groups, or the workspace's only Matrix group for a code
    /// without a campaign.
    pub async fn invite_page_target(&self, code: &str) -> Result<PageTarget> {
        for workspace in self.store.workspaces().await? {
            let known = match self.store.invite_code(workspace.id, code).await {
                Ok(known) => known,
                Err(StoreError::NotFound { .. }) => continue,
                Err(error) => return Err(error.into()),
            };
            if known.platform != Platform::Matrix {
                return Err(OpsError::invalid(
                    "code",
                    "this invite page is for Matrix groups",
                ));
            }
            let (chat, title) =
                match &known.campaign {
                    Some(name) => {
                        let document = match self
                            .store
                            .document(workspace.id, DocumentKind::Campaign, name)
                            .await
                        {
                            Ok(document) => document,
                            Err(StoreError::NotFound { .. }) => {
                                return Err(OpsError::NotFound("campaign"))
                            }
                            Err(error) => return Err(error.into()),
                        };
                        let campaign =
                            parse_campaign(&document.name, &document.source).map_err(|_| {
                                OpsError::invalid(
                                    "campaign",
                                    "the campaign is being fixed; try again later",
                                )
                            })?;
                        let chat = campaign
                            .groups
                            .first()
                            .cloned()
                            .ok_or(OpsError::NotFound("group"))?;
                        (chat, Some(campaign.title))
                    }
                    None => {
                        let groups: Vec<_> = self
                            .store
                            .groups(workspace.id)
                            .await?
                            .into_iter()
                            .filter(|group| group.group.platform == Platform::Matrix)
                            .collect();
                        match groups.as_slice() {
                            [only] => (only.group.chat.clone(), None),
                            _ => return Err(OpsError::invalid(
                                "code",
                                "this code names no campaign, and the workspace has several groups",
                            )),
                        }
                    }
                };
            return Ok(PageTarget {
                workspace: workspace.id,
                code: known,
                chat,
                title,
            });
        }
        Err(OpsError::NotFound("invite code"))
    }

    /// A visitor asks to be invited through a code's page.
    pub async fn invite_from_page(&self, code: &str, visitor: &str) -> Result<PageInvite> {
        let visitor = parse_matrix_id(visitor)?;
        let target = self.invite_page_target(code).await?;
        let now = self.clock.now();
        let referral = PageReferral {
            platform: Platform::Matrix,
            chat: target.chat.clone(),
            visitor: visitor.clone(),
            code: target.code.code.clone(),
            at: now,
        };
        let (_, new) = self
            .store
            .put_page_referral(target.workspace, referral)
            .await?;
        let action = NewAction {
            workspace: target.workspace,
            platform: Platform::Matrix,
            chat: target.chat.clone(),
            key: qunzhu_domain::keys::invite_page(&target.chat, &visitor),
            kind: ActionKind::Invite { member: visitor },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::InvitePage(target.code.code.clone()),
            cause: None,
        };
        self.store.enqueue(vec![action]).await?;
        Ok(PageInvite {
            chat: target.chat,
            new,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_matrix_id;

    #[test]
    fn matrix_ids_are_checked_with_a_reason() {
        let cases = [
            ("@alice:example.org", None),
            (" @bob.x_1=2/3+4-5:matrix.org ", None),
            ("@carol:localhost:8448", None),
            ("@dan:[::1]:8448", None),
            ("", Some("give your Matrix id")),
            ("alice:example.org", Some("starts with @")),
            ("@alice", Some("has a `:`")),
            ("@Alice:example.org", Some("may only hold")),
            ("@:example.org", Some("may only hold")),
            ("@alice:exa mple.org", Some("not a host name")),
            ("@alice:example..org", Some("not a host name")),
            ("@alice:example.org:99999", Some("port")),
        ];
        for (text, expected) in cases {
            match (parse_matrix_id(text), expected) {
                (Ok(id), None) => assert_eq!(id, text.trim()),
                (Err(error), Some(part)) => {
                    assert!(error.to_string().contains(part), "{text}: {error}")
                }
                (other, _) => panic!("{text}: {other:?}"),
            }
        }
    }
}
