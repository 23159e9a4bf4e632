//! The nickname convention 改名片: reminders on join and rename, repeated on a timer, then the
//! operator's chosen escalation.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionKind, Event, Instant};

use crate::decision::{Decision, Target};
use crate::guardian::{Guardian, MemberFacts, NicknameDue};
use crate::ruleset::{Profile, Step};
use crate::template::Var;

impl Guardian {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_rename(
        &mut self,
        event: &Event,
        profile: &Arc<Profile>,
        member: &str,
        new_name: &str,
        who: &MemberFacts,
        now: DateTime<Utc>,
        out: &mut Vec<Decision>,
    ) {
        if let Some(batch) = self
            .chats
            .get_mut(&event.chat)
            .and_then(|chat| chat.welcome.as_mut())
        {
            if let Some(joiner) = batch
                .joiners
                .iter_mut()
                .find(|joiner| joiner.member == member)
            {
                joiner.name = new_name.to_string();
            }
        }
        if self.check_name(event, profile, member, new_name, who, now, out) {
            return;
        }
        let Some(nickname) = &profile.nickname else {
            return;
        };
        if who.role.exempt_by_default() {
            return;
        }
        let Some(chat) = self.chats.get_mut(&event.chat) else {
            return;
        };
        let state = chat.members.entry(member.to_string()).or_default();
        if nickname.pattern.is_match(new_name.trim()) {
            state.nickname = None;
            return;
        }
        let count = state.nickname.as_ref().map_or(0, |due| due.count);
        // A rename that still breaks the rule is answered at once; the count carries over so
        // renaming from one wrong name to another does not reset the escalation.
        state.nickname = Some(NicknameDue {
            name: new_name.to_string(),
            count,
            next_at: event.at,
            cause: event.key.clone(),
        });
        self.nickname_due(&event.chat, now.max(event.at), out);
    }

    /// Sends the reminders that fell due by `now`, and escalates those past the limit.
    pub(crate) fn nickname_due(
        &mut self,
        chat_id: &str,
        now: DateTime<Utc>,
        out: &mut Vec<Decision>,
    ) {
        let Guardian { rules, chats, .. } = self;
        let Some(chat) = chats.get_mut(chat_id) else {
            return;
        };
        let Some(profile) = rules.profile_for(chat_id, chat.group.group_type) else {
            return;
        };
        let Some(nickname) = &profile.nickname else {
            return;
        };
        let target = Target {
            workspace: chat.workspace,
            platform: chat.platform,
            chat: chat_id,
            now,
        };
        let mut due: Vec<&String> = chat
            .members
            .iter()
            .filter(|(_, state)| {
                state
                    .nickname
                    .as_ref()
                    .is_some_and(|due| due.next_at <= now)
            })
            .map(|(member, _)| member)
            .collect();
        due.sort();
        let due: Vec<String> = due.into_iter().cloned().collect();
        for member in due {
            let Some(state) = chat.members.get_mut(&member) else {
                continue;
            };
            let Some(pending) = state.nickname.as_mut() else {
                continue;
            };
            let mut audit = target.audit("nickname", String::new());
            audit.member = Some(member.clone());
            audit.display_name = Some(pending.name.clone());
            audit.event_key = Some(pending.cause.clone());
            audit.matched = Some(pending.name.clone());
            if pending.count < nickname.max_reminders {
                pending.count += 1;
                pending.next_at += nickname.remind_every;
                let count = pending.count;
                let text = nickname.reminder.render(|var, text| match var {
                    Var::Name => {
                        text.push('@');
                        text.push_str(&pending.name);
                    }
                    Var::Format => text.push_str(&nickname.description),
                    Var::Count => text.push_str(&count.to_string()),
                    Var::Group => text.push_str(&chat.group.name),
                    _ => {}
                });
                let kind = ActionKind::SendMessage {
                    text,
                    html: None,
                    mentions: vec![member.clone()],
                    reply_to: None,
                };
                audit.summary = format!("remind ({count})");
                let key =
                    qunzhu_domain::keys::nickname_reminder(chat_id, &member, &pending.cause, count);
                let action = target.action(key, kind, "nickname", Some(&pending.cause), false);
                out.push(Decision {
                    action: Some(action),
                    audit,
                    dry_run: false,
                });
                continue;
            }
            let language = rules.settings.language;
            let reason = language.nickname_ignored(&nickname.description);
            let kind = match nickname.escalation {
                Step::Mute(duration) => ActionKind::Mute {
                    member: member.clone(),
                    until: Some(now.plus(duration)),
                    reason,
                },
                Step::Kick | Step::Ban => ActionKind::Kick {
                    member: member.clone(),
                    reason,
                },
                Step::Warn | Step::Redact => ActionKind::SendMessage {
                    text: language.nickname_last_warning(&pending.name, &reason),
                    html: None,
                    mentions: vec![member.clone()],
                    reply_to: None,
                },
            };
            audit.summary = format!("escalate {}", nickname.escalation.name());
            let key = qunzhu_domain::keys::nickname_escalation(chat_id, &member, &pending.cause);
            let action = target.action(key, kind, "nickname", Some(&pending.cause), false);
            out.push(Decision {
                action: Some(action),
                audit,
                dry_run: false,
            });
            state.nickname = None;
        }
    }
}
