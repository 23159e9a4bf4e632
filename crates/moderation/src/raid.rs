//! Raid mode: more than `joins` joins within `within` in one group switches it to review for
//! `hold_for` — newcomers are muted until it ends, join requests wait for a person instead of
//! the automatic review — and the group is told (an incident post the admins see, and an audit
//! record the console shows). The group switches back by itself at the first tick after.
//!
//! Windows use the events' own times and the end is a time, so replaying the log on start
//! rebuilds the same raid with the same keys.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{ActionKind, Event, Instant, Platform, WorkspaceId};

use crate::decision::{Decision, Target};
use crate::duration::describe_zh;
use crate::guardian::Guardian;
use crate::language::Language;

/// The most joins a raid threshold may name.
pub const MAX_RAID_JOINS: i64 = 100_000;

/// `[raid.NAME]`: the threshold and how long review lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaidPolicy {
    pub name: String,
    pub joins: u32,
    pub within: Duration,
    pub hold_for: Duration,
}

impl RaidState {
    /// The join keys this state still refers to.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.joins
            .iter()
            .map(|(_, _, key)| key.as_str())
            .chain(self.active.iter().map(|raid| raid.key.as_str()))
    }
}

/// A span saved as whole seconds (chrono's `Duration` has no serde form).
mod seconds {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(span: &Duration, to: S) -> Result<S::Ok, S::Error> {
        to.serialize_i64(span.num_seconds())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Duration, D::Error> {
        Ok(Duration::seconds(i64::deserialize(from)?))
    }
}

/// One group's recent joins and, during a raid, when it ends.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct RaidState {
    /// Join time, member and join event key, oldest first, within the window.
    joins: VecDeque<(DateTime<Utc>, String, String)>,
    /// The policy's window, so the tick can forget joins that no longer count.
    #[serde(with = "seconds")]
    within: Duration,
    active: Option<ActiveRaid>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ActiveRaid {
    /// The join that tipped the group over: keys derive from it.
    key: String,
    until: DateTime<Utc>,
    workspace: WorkspaceId,
    platform: Platform,
}

fn describe(language: Language, duration: Duration) -> String {
    match language {
        Language::Zh => describe_zh(duration),
        Language::En => {
            let seconds = duration.num_seconds();
            if seconds % 3_600 == 0 {
                format!("{} h", seconds / 3_600)
            } else if seconds % 60 == 0 {
                format!("{} min", seconds / 60)
            } else {
                format!("{seconds} s")
            }
        }
    }
}

fn start_notice(language: Language, policy: &RaidPolicy, count: usize) -> String {
    let (within, hold) = (
        describe(language, policy.within),
        describe(language, policy.hold_for),
    );
    match language {
        Language::Zh => format!(
            "⚠️ 入群过快：{within}内有 {count} 人加入，本群进入审核模式 {hold}。新成员暂时禁言，入群申请等待管理员处理。请管理员留意。"
        ),
        Language::En => format!(
            "⚠️ Too many joins: {count} within {within}. This group is in review mode for {hold}: newcomers are muted and join requests wait for an admin. Admins, please keep an eye on it."
        ),
    }
}

fn end_notice(language: Language) -> &'static str {
    match language {
        Language::Zh => "✅ 审核模式已结束，本群恢复正常。",
        Language::En => "✅ Review mode is over; the group is back to normal.",
    }
}

/// What a raid asks of one event.
pub(crate) enum RaidVerdict {
    /// Nothing to hold: carry on.
    Pass,
    /// A join request during a raid: held for a person, not reviewed automatically.
    Held,
}

impl Guardian {
    /// Counts a join, starts a raid when the threshold is crossed, and mutes newcomers while
    /// one lasts; holds join requests. `staff` joins never count.
    pub(crate) fn raid_on_event(
        &mut self,
        event: &Event,
        policy: &RaidPolicy,
        staff: bool,
        now: DateTime<Utc>,
        out: &mut Vec<Decision>,
    ) -> RaidVerdict {
        let language = self.rules.settings.language;
        let state = self.raids.entry(event.chat.clone()).or_default();
        let target = Target {
            workspace: event.workspace,
            platform: event.platform,
            chat: &event.chat,
            now,
        };
        let active_until = state
            .active
            .as_ref()
            .map(|raid| raid.until)
            .filter(|until| event.at < *until);
        match &event.kind {
            qunzhu_domain::EventKind::JoinRequested { member, .. } if active_until.is_some() => {
                let mut audit = target.audit("raid", "held");
                audit.member = Some(member.0.clone());
                audit.event_key = Some(event.key.clone());
                out.push(Decision {
                    action: None,
                    audit,
                    dry_run: false,
                });
                RaidVerdict::Held
            }
            qunzhu_domain::EventKind::MemberJoined { member, .. } if !staff => {
                if let Some(until) = active_until {
                    out.push(mute(&target, &event.key, member.as_str(), until, language));
                    return RaidVerdict::Pass;
                }
                state.within = policy.within;
                state
                    .joins
                    .push_back((event.at, member.0.clone(), event.key.clone()));
                let since = event.at.minus(policy.within);
                while state.joins.front().is_some_and(|(at, _, _)| *at <= since) {
                    state.joins.pop_front();
                }
                if state.joins.len() <= policy.joins as usize {
                    return RaidVerdict::Pass;
                }
                let until = event.at.plus(policy.hold_for);
                state.active = Some(ActiveRaid {
                    key: event.key.clone(),
                    until,
                    workspace: event.workspace,
                    platform: event.platform,
                });
                let count = state.joins.len();
                let text = start_notice(language, policy, count);
                let mut audit = target.audit("raid", format!("review until {until}"));
                audit.event_key = Some(event.key.clone());
                audit.matched = Some(format!("{count} joins"));
                out.push(Decision {
                    action: Some(target.action(
                        qunzhu_domain::keys::raid_notice(&event.chat, &event.key),
                        ActionKind::SendMessage {
                            text,
                            html: None,
                            mentions: Vec::new(),
                            reply_to: None,
                        },
                        &policy.name,
                        Some(&event.key),
                        false,
                    )),
                    audit,
                    dry_run: false,
                });
                // The joins that made the raid are its first newcomers to hold.
                for (_, member, key) in std::mem::take(&mut state.joins) {
                    out.push(mute(&target, &key, &member, until, language));
                }
                RaidVerdict::Pass
            }
            _ => RaidVerdict::Pass,
        }
    }

    /// Ends the raid of `chat` once its time is up, telling the group.
    pub(crate) fn raid_due(&mut self, chat: &str, now: DateTime<Utc>, out: &mut Vec<Decision>) {
        let language = self.rules.settings.language;
        let Some(state) = self.raids.get_mut(chat) else {
            return;
        };
        let since = now.minus(state.within);
        while state.joins.front().is_some_and(|(at, _, _)| *at <= since) {
            state.joins.pop_front();
        }
        let Some(raid) = state.active.as_ref().filter(|raid| raid.until <= now) else {
            if state.active.is_none() && state.joins.is_empty() {
                self.raids.remove(chat);
            }
            return;
        };
        let target = Target {
            workspace: raid.workspace,
            platform: raid.platform,
            chat,
            now,
        };
        let mut audit = target.audit("raid", "review over");
        audit.event_key = Some(raid.key.clone());
        out.push(Decision {
            action: Some(target.action(
                qunzhu_domain::keys::raid_end(chat, &raid.key),
                ActionKind::SendMessage {
                    text: end_notice(language).to_string(),
                    html: None,
                    mentions: Vec::new(),
                    reply_to: None,
                },
                "raid",
                Some(&raid.key),
                false,
            )),
            audit,
            dry_run: false,
        });
        state.active = None;
    }

    /// Chats with a raid on or joins counted, for the tick.
    pub(crate) fn raid_chats(&self) -> Vec<String> {
        let mut chats: Vec<String> = self.raids.keys().cloned().collect();
        chats.sort();
        chats
    }
}

fn mute(
    target: &Target<'_>,
    join_key: &str,
    member: &str,
    until: DateTime<Utc>,
    language: Language,
) -> Decision {
    let reason = match language {
        Language::Zh => "审核模式：入群过快，暂时禁言",
        Language::En => "review mode: too many joins, muted for now",
    };
    let mut audit = target.audit("raid", "mute");
    audit.member = Some(member.to_string());
    audit.event_key = Some(join_key.to_string());
    Decision {
        action: Some(target.action(
            qunzhu_domain::keys::raid_mute(target.chat, join_key),
            ActionKind::Mute {
                member: member.to_string(),
                until: Some(until),
                reason: reason.to_string(),
            },
            "raid",
            Some(join_key),
            false,
        )),
        audit,
        dry_run: false,
    }
}

#[cfg(test)]
mod tests {
    use qunzhu_domain::{EventKind, MemberRole};

    use crate::testkit::*;

    const RULES: &str = "[raid.r]\njoins = 3\nwithin = \"10s\"\nhold_for = \"5m\"\n\n[review.open]\notherwise = \"approve\"\n\n[profiles.p]\ndefault = true\nraid = \"r\"\nreview = \"open\"\n";

    #[test]
    fn more_joins_than_allowed_start_review_and_it_ends_by_itself() {
        let mut guardian = guardian(RULES);
        let mut seen = Vec::new();
        for (n, second) in [0, 2, 4, 6].iter().enumerate() {
            let event = join(&format!("$j{n}"), t(*second), &format!("@m{n}:x"), "n");
            seen.extend(summary(&guardian.on_event(
                &event,
                &group(),
                &member(),
                t(*second),
            )));
        }
        let notice = seen
            .iter()
            .find(|line| line.starts_with("send_message ⚠️"))
            .expect("incident post");
        assert!(notice.contains("4 within 10 s"), "{notice}");
        let mutes: Vec<&String> = seen
            .iter()
            .filter(|line| line.starts_with("mute"))
            .collect();
        assert_eq!(mutes.len(), 4, "the four joiners are held: {seen:?}");
        // A join request during the raid waits for a person; a staff join is not held.
        let knock = event(
            "$k",
            t(10),
            EventKind::JoinRequested {
                member: "@k:x".into(),
                display_name: None,
                reason: Some("hi".into()),
            },
        );
        let held = guardian.on_event(&knock, &group(), &member(), t(10));
        assert_eq!(summary(&held), ["none held"]);
        let admin = guardian.on_event(
            &join("$a", t(11), "@admin:x", "a"),
            &group(),
            &facts(MemberRole::Admin, "a", None),
            t(11),
        );
        assert!(summary(&admin).iter().all(|line| !line.starts_with("mute")));
        let late = guardian.on_event(
            &join("$l", t(20), "@late:x", "l"),
            &group(),
            &member(),
            t(20),
        );
        assert!(
            summary(&late).contains(&"mute @late:x 4m".to_string()),
            "{:?}",
            summary(&late)
        );
        assert!(guardian
            .tick(t(299))
            .iter()
            .all(|decision| decision.audit.rule != "raid"));
        let over = guardian.tick(t(306));
        assert_eq!(
            summary(&over)
                .iter()
                .filter(|line| line.contains("Review mode is over"))
                .count(),
            1
        );
        assert!(guardian
            .tick(t(307))
            .iter()
            .all(|decision| decision.audit.rule != "raid"));
        let after = guardian.on_event(&knock, &group(), &member(), t(400));
        assert_eq!(
            summary(&after),
            ["decide_join_request @k:x true"],
            "review as usual again"
        );
    }

    #[test]
    fn joins_spread_out_are_no_raid() {
        let mut guardian = guardian(RULES);
        for n in 0..10 {
            let event = join(&format!("$j{n}"), t(n * 4), &format!("@m{n}:x"), "n");
            let decisions = guardian.on_event(&event, &group(), &member(), t(n * 4));
            assert!(
                decisions
                    .iter()
                    .all(|decision| decision.audit.rule != "raid"),
                "{n}"
            );
        }
    }

    #[test]
    fn a_bad_raid_section_is_located() {
        for (source, expected) in [
            (
                "[raid.r]\njoins = 0\nwithin = \"10s\"\nhold_for = \"5m\"\n",
                "test.toml:2:9",
            ),
            (
                "[raid.r]\njoins = 3\nwithin = \"soon\"\nhold_for = \"5m\"\n",
                "test.toml:3:10",
            ),
            (
                "[raid.r]\njoins = 3\nwithin = \"10s\"\n",
                "missing field `hold_for`",
            ),
            (
                "[profiles.p]\ndefault = true\nraid = \"nope\"\n",
                "undefined raid `nope`",
            ),
        ] {
            let diagnostics = crate::check(source, "test.toml").unwrap_err();
            let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            assert!(
                text.iter().any(|line| line.contains(expected)),
                "{source}: {text:?}"
            );
        }
    }
}
