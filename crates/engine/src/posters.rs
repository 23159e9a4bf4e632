//! Members ask for their poster in the group (`海报`, `poster`): the bot posts it as an image,
//! the member's own invite poster from qunzhu's `/p/{code}.png`, once per member, group and
//! local day (`qunzhu_domain::keys::poster`), so asking again the same day sends nothing twice.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use qunzhu_domain::invite::poster_code;
use qunzhu_domain::{
    keys, local_day, ActionKind, Event, EventKind, NewAction, Platform, WorkspaceId,
};

use crate::Decider;

pub struct PosterRequests {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    /// The platform posts images (`Capabilities::send_images`) and this process has a font.
    pub enabled: bool,
    /// Whole messages (trimmed, Latin case ignored) that ask.
    pub keywords: Vec<String>,
    /// qunzhu's public address, which the platform (or Telegram's servers) fetches from.
    pub base_url: String,
    pub zone: Tz,
}

/// The keywords when none are configured.
pub fn default_keywords() -> Vec<String> {
    vec!["海报".into(), "poster".into(), "/poster".into()]
}

/// The poster's address for `member`: their poster code, with the member named so the poster
/// route can register the code on first use (it checks the code is that member's).
pub fn poster_url(
    base_url: &str,
    workspace: WorkspaceId,
    platform: Platform,
    member: &str,
) -> String {
    let code = poster_code(workspace, platform, member);
    let claimed: String = format!("{}:{member}", platform.as_str())
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    format!(
        "{}/p/{code}.png?m={claimed}",
        base_url.trim_end_matches('/')
    )
}

impl Decider for PosterRequests {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        if !self.enabled || event.workspace != self.workspace || event.platform != self.platform {
            return Vec::new();
        }
        let EventKind::MessagePosted {
            member,
            text,
            from_bot: false,
            ..
        } = &event.kind
        else {
            return Vec::new();
        };
        let asked = text.trim();
        if !self
            .keywords
            .iter()
            .any(|keyword| keyword.eq_ignore_ascii_case(asked))
        {
            return Vec::new();
        }
        // The day of the message, not of the decision: a replayed log decides the same key.
        let day = local_day(event.at, self.zone);
        vec![NewAction {
            workspace: event.workspace,
            platform: event.platform,
            chat: event.chat.clone(),
            key: keys::poster(&event.chat, member.as_str(), day),
            kind: ActionKind::SendImage {
                url: poster_url(&self.base_url, event.workspace, event.platform, member.as_str()),
                caption: "这是你的专属邀请海报：保存后分享给朋友，扫码即可入群。Your own invite poster: share it, friends scan to join.".into(),
                mentions: vec![member.0.clone()],
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::Poster,
            cause: Some(event.key.clone()),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn said(text: &str, member: &str, at: DateTime<Utc>, key: &str) -> Event {
        Event {
            workspace: WorkspaceId(1),
            platform: Platform::Matrix,
            key: key.into(),
            chat: "!g:hs".into(),
            at,
            kind: EventKind::MessagePosted {
                member: member.into(),
                message_id: key.into(),
                text: text.into(),
                links: Vec::new(),
                mentions: Vec::new(),
                reply_to: None,
                message_kind: qunzhu_domain::MessageKind::Text,
                from_bot: false,
            },
        }
    }

    fn requests(enabled: bool) -> PosterRequests {
        PosterRequests {
            workspace: WorkspaceId(1),
            platform: Platform::Matrix,
            enabled,
            keywords: default_keywords(),
            base_url: "http://q.example/".into(),
            zone: chrono_tz::Asia::Shanghai,
        }
    }

    #[test]
    fn a_member_asking_gets_one_poster_a_day() {
        // 23:30 and 23:50 in Shanghai are one local day; 00:10 the next is another.
        let at = |h, m| {
            chrono_tz::Asia::Shanghai
                .with_ymd_and_hms(2026, 12, 1, h, m, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        let next = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 12, 2, 0, 10, 0)
            .unwrap()
            .with_timezone(&Utc);
        let mut decider = requests(true);
        // (text, member, time, how many actions, the key)
        let cases = [
            (
                " 海报 ",
                "@a:hs",
                at(23, 30),
                Some("poster:!g:hs:@a:hs:2026-12-01"),
            ),
            (
                "POSTER",
                "@a:hs",
                at(23, 50),
                Some("poster:!g:hs:@a:hs:2026-12-01"),
            ),
            ("海报", "@a:hs", next, Some("poster:!g:hs:@a:hs:2026-12-02")),
            (
                "海报",
                "@b:hs",
                at(23, 30),
                Some("poster:!g:hs:@b:hs:2026-12-01"),
            ),
            ("我的海报呢", "@a:hs", at(23, 30), None),
            ("hello", "@a:hs", at(23, 30), None),
        ];
        for (index, (text, member, at, key)) in cases.into_iter().enumerate() {
            let actions = decider.decide(&said(text, member, at, &format!("$e{index}")), at);
            assert_eq!(
                actions.first().map(|action| action.key.as_str()),
                key,
                "{text:?}"
            );
            if let Some(action) = actions.first() {
                let ActionKind::SendImage { url, mentions, .. } = &action.kind else {
                    panic!("{:?}", action.kind)
                };
                let code = poster_code(WorkspaceId(1), Platform::Matrix, member);
                assert!(
                    url.starts_with(&format!("http://q.example/p/{code}.png?m=matrix%3A%40")),
                    "{url}"
                );
                assert_eq!(mentions, &vec![member.to_string()]);
            }
        }
        assert!(requests(false)
            .decide(&said("海报", "@a:hs", next, "$x"), next)
            .is_empty());
    }
}
