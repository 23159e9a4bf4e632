//! Live codes for groups the bot cannot invite into by id. On Telegram the visitor is known only
//! by a random token the page keeps in a cookie, takes a seat like any visitor, and is handed
//! the invite link of their group for their channel. On WeCom the live code is WeCom's own join
//! way per channel (its QR routes among up to five groups, its `state` the attribution), made
//! and rotated by the WeCom connector's keeper (`qunzhu_wecom::livecode_ways`).
//!
//! The link is created once per (code, group, channel) by a `CreateInviteLink` through the
//! outbox (`keys::livecode_link`), named by `qunzhu_growth::livecode::link_name` so Telegram's
//! `chat_member` updates bring the join back as `JoinVia::Link { code: name }`; its url, the
//! action's receipt, is kept in the link row, so every later visitor gets the same link.

use qunzhu_domain::{keys, ActionKind, ActionOrigin, ActionStatus, NewAction, Platform};
use qunzhu_growth::livecode::{link_name, TELEGRAM_LINK_NAME, WECOM_STATE};
use qunzhu_storage::{LiveCodeAlert, LiveCodeLink, StoreError};

use crate::{LiveTarget, Ops, OpsError, Result};

/// The seat-holder prefix of a visitor known by a page token, never a platform member id.
const TOKEN_VISITOR: &str = "web:";

/// What a visitor with a token is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkJoin {
    /// Join `chat` through `url`.
    Ready { chat: String, url: String },
    /// The bot is making the link; the page asks again shortly.
    Preparing { chat: String },
    /// Every group is full; the operator has been alerted.
    Full,
}

/// A page token: 16 to 64 lowercase hex digits (the page makes 32).
pub fn valid_token(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

impl Ops {
    /// A Telegram visitor known by `token` opens a code through `given_channel`: a seat in the
    /// first group with room (the same one on a reload) and that group's link for the seat's
    /// channel, made once.
    pub async fn link_from_livecode(
        &self,
        target: &LiveTarget,
        token: &str,
        given_channel: Option<&str>,
    ) -> Result<LinkJoin> {
        match target.code.platform {
            Platform::Telegram => {}
            Platform::WeCom => return self.join_way_of(target, given_channel).await,
            _ => {
                return Err(OpsError::invalid(
                    "code",
                    "join links are made for Telegram and WeCom groups only",
                ))
            }
        }
        if !valid_token(token) {
            return Err(OpsError::invalid("token", "not a visitor token"));
        }
        let visitor = format!("{TOKEN_VISITOR}{token}");
        let Some(seat) = self.seat_for(target, &visitor, given_channel).await? else {
            return Ok(LinkJoin::Full);
        };
        let workspace = target.record.workspace;
        let code = &target.record.code;
        // The seat keeps the channel it was first taken through; its link is that channel's.
        let channel = seat.channel.clone();
        let link = match self
            .store
            .livecode_link(workspace, code, &seat.chat, &channel)
            .await?
        {
            Some(link) => link,
            None => self.plan_link(target, &seat.chat, &channel).await?,
        };
        if let Some(url) = link.url {
            return Ok(LinkJoin::Ready {
                chat: seat.chat,
                url,
            });
        }
        let action = match self.store.action_by_key(workspace, &link.key).await {
            Ok(action) => action,
            Err(StoreError::NotFound { .. }) => return Ok(LinkJoin::Preparing { chat: seat.chat }),
            Err(error) => return Err(error.into()),
        };
        match (action.status, action.receipt) {
            (ActionStatus::Done, Some(url)) => {
                self.store
                    .set_livecode_link_url(workspace, code, &seat.chat, &channel, &url, None)
                    .await?;
                Ok(LinkJoin::Ready {
                    chat: seat.chat,
                    url,
                })
            }
            (ActionStatus::Dead | ActionStatus::Skipped, _) | (ActionStatus::Done, None) => {
                let alert = LiveCodeAlert {
                    code: code.clone(),
                    kind: "link_failed".into(),
                    sequence: 0,
                    message: format!(
                        "live code `{code}`: the bot could not create the invite link of group {} ({}); give it the right to invite users there",
                        seat.chat,
                        action.last_error.unwrap_or_default()
                    ),
                    at: self.clock.now(),
                };
                self.store.raise_livecode_alert(workspace, alert).await?;
                Err(OpsError::invalid(
                    "code",
                    "the join link of this group cannot be made now; the operator has been told",
                ))
            }
            _ => Ok(LinkJoin::Preparing { chat: seat.chat }),
        }
    }

    /// A WeCom code's join way for the channel: WeCom routes among the way's groups itself, so
    /// no seat is taken here; the way is planned on the first scan through a channel and made
    /// (then rotated as groups fill) by the WeCom connector's keeper, which keeps its QR image.
    async fn join_way_of(
        &self,
        target: &LiveTarget,
        given_channel: Option<&str>,
    ) -> Result<LinkJoin> {
        let workspace = target.record.workspace;
        let code = &target.record.code;
        let channel = qunzhu_growth::livecode::channel(given_channel);
        let way = match self
            .store
            .livecode_link(workspace, code, "", &channel)
            .await?
        {
            Some(way) => way,
            None => {
                let way = LiveCodeLink {
                    code: code.clone(),
                    platform: Platform::WeCom,
                    chat: String::new(),
                    channel: channel.clone(),
                    name: link_name(code, &channel, WECOM_STATE),
                    key: keys::livecode_join_way(code, &channel),
                    url: None,
                    handle: None,
                    created_at: self.clock.now(),
                };
                self.store.plan_livecode_link(workspace, way).await?
            }
        };
        Ok(match way.url {
            Some(url) => LinkJoin::Ready {
                chat: String::new(),
                url,
            },
            None => LinkJoin::Preparing {
                chat: String::new(),
            },
        })
    }

    /// Asks the bot for the link (once per key) and records it; another instance planning the
    /// same link at once keeps one row and one action.
    async fn plan_link(
        &self,
        target: &LiveTarget,
        chat: &str,
        channel: &str,
    ) -> Result<LiveCodeLink> {
        let workspace = target.record.workspace;
        let code = &target.record.code;
        let now = self.clock.now();
        let key = keys::livecode_link(code, chat, channel);
        let name = link_name(code, channel, TELEGRAM_LINK_NAME);
        let action = NewAction {
            workspace,
            platform: target.code.platform,
            chat: chat.to_string(),
            key: key.clone(),
            kind: ActionKind::CreateInviteLink {
                name: name.clone(),
                member_limit: None,
                expire_at: None,
                join_request: false,
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: ActionOrigin::LiveCode(code.to_string()),
            cause: None,
        };
        self.store.enqueue(vec![action]).await?;
        let link = LiveCodeLink {
            code: code.clone(),
            platform: target.code.platform,
            chat: chat.to_string(),
            channel: channel.to_string(),
            name,
            key,
            url: None,
            handle: None,
            created_at: now,
        };
        Ok(self.store.plan_livecode_link(workspace, link).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hex_of_a_sane_length() {
        for (token, ok) in [
            ("0123456789abcdef0123456789abcdef", true),
            ("0123456789abcdef", true),
            ("0123456789abcde", false),
            ("0123456789ABCDEF", false),
            ("@alice:hs", false),
            ("", false),
        ] {
            assert_eq!(valid_token(token), ok, "{token}");
        }
    }
}
