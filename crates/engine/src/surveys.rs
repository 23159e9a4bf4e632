//! `/survey` (or `/调查`) from staff: a poll whose options may tag the members who choose them,
//! the command form of a survey SOP step. `/survey 你在哪个城市？ | 上海=city:上海 | 北京=city:北京 | 其他`
//! sends a non-anonymous poll; the poll tagger turns answers into tags. Only owners, admins and
//! service staff may start one (roles from the directory); a malformed command is answered with
//! what is wrong and where.

use chrono::{DateTime, Utc};
use qunzhu_domain::{ActionKind, Event, EventKind, MemberRole, NewAction, Platform, WorkspaceId};

use crate::decide::Decider;
use crate::directory::DirectoryHandle;

const MAX_OPTIONS: usize = 10;
const MAX_OPTION_CHARS: usize = 100;
const MAX_QUESTION_CHARS: usize = 300;
const MAX_TAG_CHARS: usize = 64;

/// The survey command's decider.
pub struct Surveys {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    /// Off where the platform has no polls (`Capabilities::games`).
    pub enabled: bool,
    pub directory: DirectoryHandle,
}

/// A parsed survey: the question and each option with its tag.
type Survey = (String, Vec<(String, Option<String>)>);

/// `Ok(None)` when the text is not the command.
fn parse(text: &str) -> Result<Option<Survey>, String> {
    let mut words = text.trim_start().splitn(2, char::is_whitespace);
    let command = words.next().unwrap_or_default();
    let name = command.split('@').next().unwrap_or_default();
    if name != "/survey" && name != "/调查" {
        return Ok(None);
    }
    let rest = words.next().unwrap_or_default();
    let mut parts = rest.split(['|', '｜']).map(str::trim);
    let question = parts.next().unwrap_or_default().to_string();
    let count = question.chars().count();
    if count == 0 || count > MAX_QUESTION_CHARS {
        return Err(format!(
            "the question has 1–{MAX_QUESTION_CHARS} characters, found {count}; write /survey 问题 | 选项=标签 | 选项"
        ));
    }
    let mut options = Vec::new();
    for (index, part) in parts.enumerate() {
        let (label, tag) = match part.split_once('=') {
            Some((label, tag)) => (label.trim(), Some(tag.trim())),
            None => (part, None),
        };
        let number = index + 1;
        let chars = label.chars().count();
        if chars == 0 || chars > MAX_OPTION_CHARS {
            return Err(format!(
                "option {number}: an option has 1–{MAX_OPTION_CHARS} characters, found {chars}"
            ));
        }
        if let Some(tag) = tag {
            let chars = tag.chars().count();
            if chars == 0 || chars > MAX_TAG_CHARS || tag.contains(',') {
                return Err(format!(
                    "option {number}: a tag has 1–{MAX_TAG_CHARS} characters and no commas, found \"{tag}\""
                ));
            }
        }
        options.push((label.to_string(), tag.map(str::to_string)));
    }
    if !(2..=MAX_OPTIONS).contains(&options.len()) {
        return Err(format!(
            "a survey has 2–{MAX_OPTIONS} options separated by |, found {}",
            options.len()
        ));
    }
    Ok(Some((question, options)))
}

impl Surveys {
    fn staff(&self, member: &str) -> bool {
        let (_, directory) = self.directory.current();
        let role = directory
            .people
            .get(&(self.platform, member.to_string()))
            .map(|(role, _)| *role)
            .unwrap_or(MemberRole::Member);
        matches!(
            role,
            MemberRole::Owner | MemberRole::Admin | MemberRole::Service
        )
    }

    fn action(
        &self,
        event: &Event,
        key: String,
        kind: ActionKind,
        now: DateTime<Utc>,
    ) -> NewAction {
        NewAction {
            workspace: event.workspace,
            platform: event.platform,
            chat: event.chat.clone(),
            key,
            kind,
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::Command("survey".into()),
            cause: Some(event.key.clone()),
        }
    }
}

impl Decider for Surveys {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        let EventKind::MessagePosted {
            member,
            message_id,
            text,
            from_bot: false,
            ..
        } = &event.kind
        else {
            return Vec::new();
        };
        let fresh = now - event.at <= crate::ingest::stale_after();
        if !self.enabled
            || !fresh
            || event.workspace != self.workspace
            || event.platform != self.platform
            || !self.staff(member.as_str())
        {
            return Vec::new();
        }
        let reply = |text: String| ActionKind::SendMessage {
            text,
            html: None,
            mentions: Vec::new(),
            reply_to: Some(message_id.clone()),
        };
        match parse(text) {
            Ok(None) => Vec::new(),
            Ok(Some((question, options))) => {
                let tagged = options.iter().any(|(_, tag)| tag.is_some());
                let kind = ActionKind::SendPoll {
                    question,
                    options: options.iter().map(|(label, _)| label.clone()).collect(),
                    correct_option: None,
                    explanation: None,
                    open_period: None,
                    anonymous: false,
                    tags: if tagged {
                        options.into_iter().map(|(_, tag)| tag).collect()
                    } else {
                        Vec::new()
                    },
                };
                vec![self.action(event, qunzhu_domain::keys::survey(&event.key), kind, now)]
            }
            Err(problem) => vec![self.action(
                event,
                qunzhu_domain::keys::survey_refused(&event.key),
                reply(format!("/survey: {problem}")),
                now,
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Directory;
    use qunzhu_domain::{MemberTier, MessageKind};

    fn surveys() -> Surveys {
        let directory = DirectoryHandle::default();
        let mut people = Directory::default();
        people.people.insert(
            (Platform::Telegram, "boss".into()),
            (MemberRole::Admin, MemberTier::Regular),
        );
        directory.replace(people);
        Surveys {
            workspace: WorkspaceId(1),
            platform: Platform::Telegram,
            enabled: true,
            directory,
        }
    }

    fn said(member: &str, text: &str) -> Event {
        Event {
            workspace: WorkspaceId(1),
            platform: Platform::Telegram,
            key: format!("e-{member}"),
            chat: "-100".into(),
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            kind: EventKind::MessagePosted {
                member: member.into(),
                message_id: "9".into(),
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
    fn staff_start_tagged_surveys_and_mistakes_are_explained() {
        let now = DateTime::from_timestamp(1_800_000_001, 0).unwrap();
        let mut surveys = surveys();
        let sent = surveys.decide(
            &said(
                "boss",
                "/survey@qunzhu_bot 你在哪个城市？ | 上海=city:上海 ｜ 北京 = city:北京 | 其他",
            ),
            now,
        );
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].kind,
            ActionKind::SendPoll {
                question: "你在哪个城市？".into(),
                options: vec!["上海".into(), "北京".into(), "其他".into()],
                correct_option: None,
                explanation: None,
                open_period: None,
                anonymous: false,
                tags: vec![Some("city:上海".into()), Some("city:北京".into()), None],
            }
        );
        assert!(
            surveys
                .decide(&said("member", "/survey 问 | a | b"), now)
                .is_empty(),
            "staff only"
        );
        let cases = [
            ("/survey 问题 | 只有一个", "/survey: a survey has 2–10 options separated by |, found 1"),
            ("/survey | a | b", "/survey: the question has 1–300 characters, found 0; write /survey 问题 | 选项=标签 | 选项"),
            ("/调查 问 | a | =x", "/survey: option 2: an option has 1–100 characters, found 0"),
            ("/survey 问 | a=x,y | b", "/survey: option 1: a tag has 1–64 characters and no commas, found \"x,y\""),
        ];
        for (text, expected) in cases {
            let out = surveys.decide(&said("boss", text), now);
            assert!(
                matches!(&out[..], [NewAction { kind: ActionKind::SendMessage { text, reply_to: Some(_), .. }, .. }] if text == expected),
                "{text}: {out:?}"
            );
        }
        assert!(surveys.decide(&said("boss", "随便聊聊"), now).is_empty());
    }
}
