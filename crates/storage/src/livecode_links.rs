//! The join links a live code hands out where the bot cannot invite by id (migration 0027):
//! one Telegram invite link per (code, group, channel), created once through the outbox and
//! kept, so every visitor routed to that group through that channel gets the same link.
//!
//! Where the platform routes among groups itself (a WeCom join way over up to five groups, its
//! `state` the name) the row's chat is `""`: one per (code, channel).
//!
//! A link's `name` is what Telegram reports back on a join through it (`invite_link.name`,
//! read as `JoinVia::Link { code: name }` and kept in the invites read model), so joins per
//! channel are the invites rows whose code is one of the code's link names in its group.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use serde::Serialize;

use crate::Result;

/// One join link of a live code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCodeLink {
    pub code: String,
    pub platform: Platform,
    /// The group, or `""` for a WeCom join way (it spans up to five of the set's groups).
    pub chat: String,
    pub channel: String,
    /// The link's name on the platform (≤ 32 characters), unique per group.
    pub name: String,
    /// The outbox action that creates it (a WeCom join way, made by its keeper: its identity).
    pub key: String,
    /// The link itself, once the platform made it (a WeCom join way's QR image).
    pub url: Option<String>,
    /// The platform's id for it where it is updated later (a WeCom join way's `config_id`).
    pub handle: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Joins through a code's links in one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkJoins {
    pub channel: String,
    pub joins: u64,
}

#[async_trait]
pub trait LiveCodeLinkStore: Send + Sync {
    /// Records the link planned for (code, chat, channel) unless one is; returns the stored
    /// link either way (the first plan stands, with its url if known).
    async fn plan_livecode_link(
        &self,
        workspace: WorkspaceId,
        link: LiveCodeLink,
    ) -> Result<LiveCodeLink>;

    /// The link planned for (code, chat, channel), if any.
    async fn livecode_link(
        &self,
        workspace: WorkspaceId,
        code: &str,
        chat: &str,
        channel: &str,
    ) -> Result<Option<LiveCodeLink>>;

    /// The platform made the link: keeps its url and handle (a url already kept stays).
    async fn set_livecode_link_url(
        &self,
        workspace: WorkspaceId,
        code: &str,
        chat: &str,
        channel: &str,
        url: &str,
        handle: Option<&str>,
    ) -> Result<()>;

    /// A code's links, by chat then channel.
    async fn livecode_links(&self, workspace: WorkspaceId, code: &str)
        -> Result<Vec<LiveCodeLink>>;

    /// Members who joined through the code's links, per channel (a rejoin counts once); a join
    /// way's joins count in any group.
    async fn livecode_link_joins(
        &self,
        workspace: WorkspaceId,
        code: &str,
    ) -> Result<Vec<LinkJoins>>;
}
