//! Names, not raw platform ids: group names (linked to the group's page) and members' display
//! names (linked to the member's page, the id kept in a tooltip) for any list a page shows.

use std::collections::HashMap;

use maud::{html, Markup};
use qunzhu_domain::{ActionKind, ActionRecord, EventKind, GroupId, MemberId, Platform};
use qunzhu_storage::{StoreError, StoredEvent};

use crate::html::{url_part, Shell};
use crate::Ctx;

/// Groups and the members a page mentions, looked up once per page.
#[derive(Debug, Default)]
pub struct Names {
    groups: HashMap<(Platform, String), (GroupId, String)>,
    members: HashMap<(Platform, String), String>,
}

/// The member an action is about, if any.
pub fn action_member(kind: &ActionKind) -> Option<&str> {
    match kind {
        ActionKind::Kick { member, .. }
        | ActionKind::Ban { member, .. }
        | ActionKind::Unban { member, .. }
        | ActionKind::Mute { member, .. }
        | ActionKind::Unmute { member }
        | ActionKind::Invite { member }
        | ActionKind::DecideJoinRequest { member, .. }
        | ActionKind::SetPowerLevel { member, .. }
        | ActionKind::GrantReward { member, .. } => Some(member),
        _ => None,
    }
}

impl Names {
    /// Every group of the workspace (a short list) and no members yet.
    pub async fn load(ctx: &Ctx, shell: &Shell) -> Result<Names, StoreError> {
        let mut names = Names::default();
        for summary in ctx.app.store.groups(shell.principal.workspace).await? {
            let g = summary.group;
            names.groups.insert((g.platform, g.chat), (g.id, g.name));
        }
        Ok(names)
    }

    /// Looks up the display names of these members (each once).
    pub async fn add_members(
        &mut self,
        ctx: &Ctx,
        shell: &Shell,
        ids: Vec<(Platform, String)>,
    ) -> Result<(), StoreError> {
        for (platform, user) in ids {
            let key = (platform, user.clone());
            if user.is_empty() || self.members.contains_key(&key) {
                continue;
            }
            match ctx
                .app
                .store
                .member(shell.principal.workspace, platform, &MemberId(user.clone()))
                .await
            {
                Ok(member) => {
                    self.members.insert(key, member.display_name);
                }
                Err(StoreError::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// The members mentioned by these events and actions.
    pub async fn add_from(
        &mut self,
        ctx: &Ctx,
        shell: &Shell,
        events: &[StoredEvent],
        actions: &[ActionRecord],
    ) -> Result<(), StoreError> {
        let mut ids: Vec<(Platform, String)> = Vec::new();
        for stored in events {
            if let Some(member) = stored.event.kind.member() {
                ids.push((stored.event.platform, member.to_string()));
            }
            if let EventKind::MemberLeft { by: Some(by), .. } = &stored.event.kind {
                ids.push((stored.event.platform, by.clone()));
            }
        }
        for action in actions {
            if let Some(member) = action_member(&action.kind) {
                ids.push((action.platform, member.to_string()));
            }
        }
        self.add_members(ctx, shell, ids).await
    }

    /// An audit subject (`chat` or `chat:member`) split into a known group and the rest.
    pub fn split_subject<'a>(&self, subject: &'a str) -> Option<(Platform, &'a str, &'a str)> {
        self.groups.keys().find_map(|(platform, chat)| {
            let rest = subject.strip_prefix(chat.as_str())?;
            match rest.strip_prefix(':') {
                Some(member) => Some((*platform, &subject[..chat.len()], member)),
                None if rest.is_empty() => Some((*platform, subject, "")),
                None => None,
            }
        })
    }

    /// An audit subject with names: the group linked, the member named, anything else as it is.
    pub fn subject(&self, subject: &str) -> Markup {
        match self.split_subject(subject) {
            Some((platform, chat, member)) => html! {
                (self.group(platform, chat))
                @if !member.is_empty() { " · " (self.member(platform, member)) }
            },
            None => html! { (subject) },
        }
    }

    pub fn group_name(&self, platform: Platform, chat: &str) -> Option<&str> {
        self.groups
            .get(&(platform, chat.to_string()))
            .map(|(_, name)| name.as_str())
    }

    pub fn group_id(&self, platform: Platform, chat: &str) -> Option<GroupId> {
        self.groups
            .get(&(platform, chat.to_string()))
            .map(|(id, _)| *id)
    }

    /// The group's name linking to its page (the chat id when the group is unknown).
    pub fn group(&self, platform: Platform, chat: &str) -> Markup {
        match self.groups.get(&(platform, chat.to_string())) {
            Some((id, name)) => html! { a href={ "/groups/" (id) } title=(chat) { (name) } },
            None => html! { code { (chat) } },
        }
    }

    pub fn member_name<'a>(&'a self, platform: Platform, user: &'a str) -> &'a str {
        self.members
            .get(&(platform, user.to_string()))
            .map_or(user, String::as_str)
    }

    /// The member's display name linking to their page, the platform id in the tooltip.
    pub fn member(&self, platform: Platform, user: &str) -> Markup {
        if user.is_empty() {
            return html! {};
        }
        html! {
            a href={ "/members/" (platform.as_str()) "/" (url_part(user)) } title=(user) {
                (self.member_name(platform, user))
            }
        }
    }
}
