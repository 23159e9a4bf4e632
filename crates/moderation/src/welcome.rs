//! The welcome ritual: joins batched into one greeting per wave, the join gift, and one nudge
//! for newcomers still silent after a while.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionKind, Event, Instant};

use crate::decision::{Decision, Target};
use crate::guardian::{Guardian, Joiner, MemberFacts, Newcomer, NicknameDue, Wave, WelcomeBatch};
use crate::ruleset::Profile;
use crate::template::Var;

/// `@小王 @小李`: how a list of members is addressed in a message.
pub(crate) fn mention_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for name in names {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('@');
        out.push_str(name);
    }
    out
}

impl Guardian {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_join(
        &mut self,
        event: &Event,
        profile: &Arc<Profile>,
        member: &str,
        name: &str,
        who: &MemberFacts,
        now: DateTime<Utc>,
        out: &mut Vec<Decision>,
    ) {
        // A wave whose window closed before this join is greeted first, on its own.
        self.flush_welcome(&event.chat, event.at, now, false, out);
        if self.check_name(event, profile, member, name, who, now, out) {
            return;
        }
        let Some(chat) = self.chats.get_mut(&event.chat) else {
            return;
        };
        let state = chat.members.entry(member.to_string()).or_default();
        state.newcomer = Some(Newcomer {
            joined_at: event.at,
            spoken: false,
            introduced: false,
        });
        let needs_nickname = profile.nickname.as_ref().is_some_and(|nickname| {
            !who.role.exempt_by_default() && !nickname.pattern.is_match(name.trim())
        });
        let Some(welcome) = &profile.welcome else {
            if needs_nickname {
                state.nickname = Some(NicknameDue {
                    name: name.to_string(),
                    count: 0,
                    next_at: event.at,
                    cause: event.key.clone(),
                });
                // Without a welcome the reminder goes out on its own, right away.
                self.nickname_due(&event.chat, now.max(event.at), out);
            }
            return;
        };
        if needs_nickname {
            // Reminded together with the welcome; tick reminds again from there.
            let due = chat
                .welcome
                .as_ref()
                .map_or(event.at, |batch| batch.opened_at)
                .plus(welcome.window);
            state.nickname = Some(NicknameDue {
                name: name.to_string(),
                count: 0,
                next_at: due,
                cause: event.key.clone(),
            });
        }
        let batch = chat.welcome.get_or_insert_with(|| WelcomeBatch {
            key: event.key.clone(),
            opened_at: event.at,
            joiners: Vec::new(),
        });
        if batch.joiners.iter().any(|joiner| joiner.member == member) {
            return;
        }
        batch.joiners.push(Joiner {
            member: member.to_string(),
            name: name.to_string(),
            join_key: event.key.clone(),
            needs_nickname,
        });
        if batch.joiners.len() >= welcome.max_batch {
            self.flush_welcome(&event.chat, event.at, now, true, out);
        }
    }

    /// Greets the chat's pending wave if its window closed by `due_by` (or at once if `force`).
    pub(crate) fn flush_welcome(
        &mut self,
        chat_id: &str,
        due_by: DateTime<Utc>,
        now: DateTime<Utc>,
        force: bool,
        out: &mut Vec<Decision>,
    ) {
        let Guardian { rules, chats, .. } = self;
        let Some(chat) = chats.get_mut(chat_id) else {
            return;
        };
        let Some(batch) = &chat.welcome else { return };
        let Some(profile) = rules.profile_for(chat_id, chat.group.group_type).cloned() else {
            chat.welcome = None;
            return;
        };
        let Some(welcome) = &profile.welcome else {
            chat.welcome = None;
            return;
        };
        if !force && batch.opened_at.plus(welcome.window) > due_by {
            return;
        }
        let Some(batch) = chat.welcome.take() else {
            return;
        };
        let target = Target {
            workspace: chat.workspace,
            platform: chat.platform,
            chat: chat_id,
            now,
        };
        let group = chat.group.name.clone();
        let names = mention_names(batch.joiners.iter().map(|joiner| joiner.name.as_str()));
        // The same function renders the editor's preview.
        let (text, html) = crate::preview::welcome_message(&profile, welcome, &group, &names);
        let mentions: Vec<String> = batch
            .joiners
            .iter()
            .map(|joiner| joiner.member.clone())
            .collect();
        let kind = ActionKind::SendMessage {
            text,
            html: Some(html),
            mentions,
            reply_to: None,
        };
        let mut audit = target.audit("welcome", format!("welcome {}", batch.joiners.len()));
        audit.event_key = Some(batch.key.clone());
        audit.matched = Some(names.clone());
        let action = target.action(
            qunzhu_domain::keys::welcome(chat_id, &batch.key),
            kind,
            "welcome",
            Some(&batch.key),
            false,
        );
        out.push(Decision {
            action: Some(action),
            audit,
            dry_run: false,
        });

        if let Some(gift) = &welcome.gift {
            for joiner in &batch.joiners {
                let kind = ActionKind::GrantReward {
                    member: joiner.member.clone(),
                    points: gift.points,
                    reason: "入群礼".to_string(),
                };
                let mut audit =
                    target.audit("welcome.gift", format!("gift {} points", gift.points));
                audit.member = Some(joiner.member.clone());
                audit.display_name = Some(joiner.name.clone());
                audit.event_key = Some(joiner.join_key.clone());
                // Keyed by member, not by join: leaving and rejoining does not earn a second gift.
                let key = qunzhu_domain::keys::join_gift(chat_id, &joiner.member);
                let action =
                    target.action(key, kind, "welcome.gift", Some(&joiner.join_key), false);
                out.push(Decision {
                    action: Some(action),
                    audit,
                    dry_run: false,
                });
            }
        }

        if let Some(after) = welcome.nudge_after {
            chat.waves.push(Wave {
                key: batch.key.clone(),
                due: batch.opened_at.plus(after),
                joiners: batch.joiners.clone(),
            });
        }
        if let Some(nickname) = &profile.nickname {
            let due: Vec<&Joiner> = batch
                .joiners
                .iter()
                .filter(|joiner| joiner.needs_nickname)
                .filter(|joiner| {
                    chat.members
                        .get(&joiner.member)
                        .and_then(|state| state.nickname.as_ref())
                        .is_some_and(|due| due.count == 0)
                })
                .collect();
            if !due.is_empty() {
                let names = mention_names(due.iter().map(|joiner| joiner.name.as_str()));
                let text = nickname.reminder.render(|var, text| match var {
                    Var::Name => text.push_str(&names),
                    Var::Format => text.push_str(&nickname.description),
                    Var::Count => text.push('1'),
                    Var::Group => text.push_str(&group),
                    _ => {}
                });
                let mentions = due.iter().map(|joiner| joiner.member.clone()).collect();
                let kind = ActionKind::SendMessage {
                    text,
                    html: None,
                    mentions,
                    reply_to: None,
                };
                let mut audit = target.audit("nickname", format!("remind {} (1)", due.len()));
                audit.event_key = Some(batch.key.clone());
                audit.matched = Some(names);
                let key = qunzhu_domain::keys::nickname_batch(chat_id, &batch.key);
                let action = target.action(key, kind, "nickname", Some(&batch.key), false);
                out.push(Decision {
                    action: Some(action),
                    audit,
                    dry_run: false,
                });
                let next_at = batch
                    .opened_at
                    .plus(welcome.window)
                    .plus(nickname.remind_every);
                for joiner in due {
                    if let Some(state) = chat
                        .members
                        .get_mut(&joiner.member)
                        .and_then(|state| state.nickname.as_mut())
                    {
                        state.count = 1;
                        state.next_at = next_at;
                    }
                }
            }
        }
    }

    /// One nudge per greeted wave, to those of it who have still said nothing.
    pub(crate) fn nudge_due(&mut self, chat_id: &str, now: DateTime<Utc>, out: &mut Vec<Decision>) {
        let Guardian { rules, chats, .. } = self;
        let Some(chat) = chats.get_mut(chat_id) else {
            return;
        };
        let (due, waiting): (Vec<Wave>, Vec<Wave>) =
            chat.waves.drain(..).partition(|wave| wave.due <= now);
        chat.waves = waiting;
        let Some(profile) = rules.profile_for(chat_id, chat.group.group_type) else {
            return;
        };
        let Some(welcome) = &profile.welcome else {
            return;
        };
        let target = Target {
            workspace: chat.workspace,
            platform: chat.platform,
            chat: chat_id,
            now,
        };
        for wave in due {
            let silent: Vec<&Joiner> = wave
                .joiners
                .iter()
                .filter(|joiner| {
                    chat.members
                        .get(&joiner.member)
                        .and_then(|state| state.newcomer.as_ref())
                        .is_some_and(|newcomer| {
                            if welcome.nudge_until_intro {
                                !newcomer.introduced
                            } else {
                                !newcomer.spoken
                            }
                        })
                })
                .collect();
            if silent.is_empty() {
                continue;
            }
            let names = mention_names(silent.iter().map(|joiner| joiner.name.as_str()));
            let text = welcome.nudge.render(|var, text| match var {
                Var::Name => text.push_str(&names),
                Var::Group => text.push_str(&chat.group.name),
                Var::IntroTemplate => text.push_str(&welcome.intro_template),
                _ => {}
            });
            let mentions = silent.iter().map(|joiner| joiner.member.clone()).collect();
            let kind = ActionKind::SendMessage {
                text,
                html: None,
                mentions,
                reply_to: None,
            };
            let mut audit = target.audit("welcome.nudge", format!("nudge {}", silent.len()));
            audit.event_key = Some(wave.key.clone());
            audit.matched = Some(names);
            let action = target.action(
                qunzhu_domain::keys::intro_nudge(chat_id, &wave.key),
                kind,
                "welcome.nudge",
                Some(&wave.key),
                false,
            );
            out.push(Decision {
                action: Some(action),
                audit,
                dry_run: false,
            });
        }
    }
}
