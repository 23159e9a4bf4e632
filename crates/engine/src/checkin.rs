//! Daily check-in 签到打卡 in the engine: a keyword message checks its sender in once per local
//! day; each check-in grants points (for the ledger) and gets a short confirmation.
//!
//! The books start from the streak read model that [`crate::SopFacts`] keeps, never from a
//! replay of the log.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use qunzhu_domain::{ActionKind, Event, EventKind, Instant, NewAction, Platform, WorkspaceId};
use qunzhu_sop::{CheckinBook, CheckinEvent};
use qunzhu_storage::Store;

use crate::decide::Decider;
use crate::sop_facts::{books_from, config_for, MORNING_POSTS_OPEN_DAYS};

/// Check-in books, one per group.
pub struct Checkins {
    workspace: WorkspaceId,
    platform: Platform,
    zone: Tz,
    books: HashMap<String, CheckinBook>,
}

impl Checkins {
    pub fn new(workspace: WorkspaceId, platform: Platform, zone: Tz) -> Self {
        Checkins {
            workspace,
            platform,
            zone,
            books: HashMap::new(),
        }
    }

    /// Resumes from the streak read model. Call after [`crate::SopFacts::catch_up`], so the
    /// tables stand at the end of the log.
    pub async fn load(
        store: &dyn Store,
        workspace: WorkspaceId,
        platform: Platform,
        zone: Tz,
        now: DateTime<Utc>,
    ) -> qunzhu_storage::Result<Self> {
        let since = now.minus(Duration::days(MORNING_POSTS_OPEN_DAYS));
        let snapshot = store.checkin_snapshot(workspace, since).await?;
        let mut checkins = Checkins::new(workspace, platform, zone);
        checkins.books = books_from(&snapshot, zone)
            .into_iter()
            .filter(|((book_platform, _), _)| *book_platform == platform)
            .map(|((_, chat), book)| (chat, book))
            .collect();
        Ok(checkins)
    }

    fn book(&mut self, chat: &str) -> &mut CheckinBook {
        let zone = self.zone;
        self.books
            .entry(chat.to_string())
            .or_insert_with(|| CheckinBook::new(config_for(chat, zone)))
    }
}

impl Decider for Checkins {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        if event.workspace != self.workspace || event.platform != self.platform {
            return Vec::new();
        }
        let (member, checkin) = match &event.kind {
            // The bot's own post that asks for check-ins (the morning report): reactions to it count.
            EventKind::MessagePosted {
                text,
                message_id,
                from_bot: true,
                ..
            } => {
                let book = self.book(&event.chat);
                if book.is_checkin_text(text) {
                    book.apply(&CheckinEvent::MorningPost {
                        message_id: message_id.clone(),
                    });
                }
                return Vec::new();
            }
            EventKind::MessagePosted { member, text, .. } => (
                member,
                CheckinEvent::Message {
                    member: member.0.clone(),
                    text: text.clone(),
                    at: event.at,
                },
            ),
            EventKind::Reaction { member, target, .. } => (
                member,
                CheckinEvent::Reaction {
                    member: member.0.clone(),
                    message_id: target.clone(),
                    at: event.at,
                },
            ),
            _ => return Vec::new(),
        };
        let Some(reward) = self.book(&event.chat).apply(&checkin) else {
            return Vec::new();
        };
        let action = |key: String, kind: ActionKind| NewAction {
            workspace: event.workspace,
            platform: event.platform,
            chat: event.chat.clone(),
            key,
            kind,
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::Checkin,
            cause: Some(event.key.clone()),
        };
        let confirmation = format!(
            "✅ 打卡成功！已连续 {} 天，累计 {} 天，+{} 积分",
            reward.streak, reward.total, reward.points
        );
        vec![
            action(
                reward.key.clone(),
                ActionKind::GrantReward {
                    member: member.0.clone(),
                    points: reward.points,
                    reason: format!("check-in {}", reward.day),
                },
            ),
            action(
                qunzhu_domain::keys::reply(&reward.key),
                ActionKind::SendMessage {
                    text: confirmation,
                    html: None,
                    mentions: vec![member.0.clone()],
                    reply_to: None,
                },
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qunzhu_domain::MessageKind;

    fn message(key: &str, at: &str, text: &str) -> Event {
        Event {
            workspace: WorkspaceId(1),
            platform: Platform::Sandbox,
            key: key.into(),
            chat: "g".into(),
            at: DateTime::parse_from_rfc3339(at).unwrap().to_utc(),
            kind: EventKind::MessagePosted {
                member: "@a".into(),
                message_id: key.into(),
                text: text.into(),
                links: vec![],
                mentions: vec![],
                reply_to: None,
                message_kind: MessageKind::Text,
                from_bot: false,
            },
        }
    }

    #[test]
    fn one_checkin_per_local_day_with_points_and_a_confirmation() {
        let mut checkins =
            Checkins::new(WorkspaceId(1), Platform::Sandbox, chrono_tz::Asia::Shanghai);
        let first = message("1", "2026-11-24T07:00:00+08:00", "打卡 第一天");
        let actions = checkins.decide(&first, first.at);
        assert_eq!(actions.len(), 2);
        assert!(matches!(
            actions[0].kind,
            ActionKind::GrantReward { points: 10, .. }
        ));
        let again = message("2", "2026-11-24T23:59:00+08:00", "打卡");
        assert!(
            checkins.decide(&again, again.at).is_empty(),
            "once per local day"
        );
        let next = message("3", "2026-11-25T00:01:00+08:00", "签到");
        let actions = checkins.decide(&next, next.at);
        let ActionKind::SendMessage { text, .. } = &actions[1].kind else {
            panic!("confirmation")
        };
        assert!(text.contains("已连续 2 天"), "{text}");
        assert!(checkins
            .decide(&message("4", "2026-11-25T09:00:00+08:00", "你好"), next.at)
            .is_empty());
    }

    #[test]
    fn a_reaction_to_the_bots_checkin_post_checks_in_and_to_anything_else_does_not() {
        let mut checkins =
            Checkins::new(WorkspaceId(1), Platform::Sandbox, chrono_tz::Asia::Shanghai);
        let mut morning = message(
            "$post",
            "2026-11-24T07:30:00+08:00",
            "☀️ 早安！回复「打卡」完成签到",
        );
        if let EventKind::MessagePosted {
            from_bot, member, ..
        } = &mut morning.kind
        {
            *from_bot = true;
            *member = "@bot".into();
        }
        assert!(checkins.decide(&morning, morning.at).is_empty());
        let react = |key: &str, target: &str| Event {
            kind: EventKind::Reaction {
                member: "@b".into(),
                target: target.into(),
                reaction: "👍".into(),
            },
            key: key.into(),
            ..morning.clone()
        };
        assert!(checkins
            .decide(&react("r1", "$other"), morning.at)
            .is_empty());
        let actions = checkins.decide(&react("r2", "$post"), morning.at);
        assert!(
            matches!(&actions[0].kind, ActionKind::GrantReward { member, .. } if member == "@b")
        );
    }
}
