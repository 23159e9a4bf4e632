//! The seeded behaviour model: who joins, who talks, who lurks, who spams, who leaves.
//!
//! Everything a tick produces depends only on (seed, tick, group) and the world's membership,
//! so the same seed gives the same community, and a restarted world carries on where it was.

use chrono::{DateTime, Utc};
use qunzhu_domain::{Event, EventKind, JoinVia, LeaveHow, MessageKind, Platform, WorkspaceId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

const CITIES: &[&str] = &[
    "上海", "北京", "杭州", "深圳", "成都", "广州", "南京", "武汉", "西安", "苏州",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: &[&str] = &[
    "芳", "伟", "娜", "敏", "静", "磊", "洋", "婷", "杰", "丽", "强", "霞", "晨", "悦",
];
const CHATTER: &[&str] = &[
    "早上好呀～",
    "今天的分享太有用了，谢谢群主！",
    "请问这个课程什么时候开始？",
    "收到～",
    "哈哈哈哈",
    "有没有人一起打卡？",
    "刚下单了，期待！",
    "这个优惠还有吗？",
    "赞👍",
    "我也想知道",
    "昨天的直播回放在哪里看？",
    "Good morning everyone",
    "周末有活动吗？",
    "已经完成作业啦",
    "学到了",
];
const KNOCK_REASONS: &[&str] = &[
    "朋友推荐来的，想一起打卡",
    "看到公众号文章，想领新人福利",
    "宝宝两岁，想学习育儿知识",
    "老客户，想进群了解新品",
];
const SPAM: &[&str] = &[
    "加我微信领取免费资料 http://spam.example/x",
    "低价代购，私聊 https://ads.example/buy",
    "兼职日结 点击 http://job.example",
];

/// How busy the simulated community is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    pub groups: usize,
    /// Members each group starts with.
    pub members_per_group: usize,
    pub seed: u64,
    /// Average messages per group per simulated second.
    pub messages_per_second: f64,
    /// Chance per group per second that someone new joins.
    pub join_chance: f64,
    /// Chance per group per second that a member leaves.
    pub leave_chance: f64,
    /// Chance that a joiner is a spammer who posts a link at once.
    pub spammer_share: f64,
    /// Share of members who never speak.
    pub lurker_share: f64,
    /// Chance per group per second of a join wave (a fission campaign landing).
    pub wave_chance: f64,
    /// Share of newcomers who knock (ask to join) instead of walking in; they wait until the
    /// bot or an operator approves or denies them. 0 keeps a seed's community as it was.
    pub knock_share: f64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            groups: 6,
            members_per_group: 40,
            seed: 42,
            messages_per_second: 0.08,
            join_chance: 0.01,
            leave_chance: 0.003,
            spammer_share: 0.08,
            lurker_share: 0.4,
            wave_chance: 0.0008,
            knock_share: 0.0,
        }
    }
}

/// A simulated person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub lurker: bool,
    pub spammer: bool,
}

/// The chat id of group `index`.
pub fn chat_id(index: usize) -> String {
    format!("sandbox-group-{index:03}")
}

/// Generates people and their doings.
pub struct Generator<'a> {
    pub behaviour: &'a Behaviour,
    pub workspace: WorkspaceId,
}

impl Generator<'_> {
    fn rng(&self, tick: i64, group: usize, salt: u64) -> ChaCha8Rng {
        let mixed = self.behaviour.seed
            ^ (tick as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ ((group as u64) << 40)
            ^ salt;
        ChaCha8Rng::seed_from_u64(mixed)
    }

    /// A new person for `group`, numbered `serial` within it.
    pub fn person(&self, group: usize, serial: u64, rng: &mut ChaCha8Rng) -> Person {
        let spammer = rng.gen_bool(self.behaviour.spammer_share.clamp(0.0, 1.0));
        let name = if spammer {
            format!("AAA推广{}", rng.gen_range(100..999))
        } else {
            let surname = SURNAMES[rng.gen_range(0..SURNAMES.len())];
            let given = GIVEN[rng.gen_range(0..GIVEN.len())];
            if rng.gen_bool(0.8) {
                format!(
                    "{}-{surname}{given}",
                    CITIES[rng.gen_range(0..CITIES.len())]
                )
            } else {
                format!("{surname}{given}")
            }
        };
        Person {
            id: format!("@u{group}x{serial}:sandbox"),
            name,
            lurker: rng.gen_bool(self.behaviour.lurker_share.clamp(0.0, 1.0)),
            spammer,
        }
    }

    /// The founding members of a group, present before the bot arrived.
    pub fn founders(&self, group: usize) -> Vec<Person> {
        let mut rng = self.rng(-1, group, 7);
        (0..self.behaviour.members_per_group as u64)
            .map(|serial| {
                let mut person = self.person(group, serial, &mut rng);
                person.spammer = false;
                if person.name.starts_with("AAA") {
                    person.name = format!("上海-成员{serial}");
                }
                person
            })
            .collect()
    }

    /// What happens in `group` during simulated second `tick`, given who is there now.
    /// `next_serial` numbers newcomers; the returned events carry unique keys.
    pub fn tick(
        &self,
        tick: i64,
        at: DateTime<Utc>,
        group: usize,
        present: &[Person],
        next_serial: &mut u64,
    ) -> Vec<(Event, Option<Person>)> {
        let mut rng = self.rng(tick, group, 0);
        let chat = chat_id(group);
        let mut out = Vec::new();
        let mut counter = 0;
        let mut push = |kind: EventKind, person: Option<Person>| {
            counter += 1;
            let event = Event {
                workspace: self.workspace,
                platform: Platform::Sandbox,
                key: format!("sb:{group}:{tick}:{counter}"),
                chat: chat.clone(),
                at,
                kind,
            };
            out.push((event, person));
        };
        let behaviour = self.behaviour;
        let joins = if rng.gen_bool(behaviour.wave_chance.clamp(0.0, 1.0)) {
            rng.gen_range(5..12)
        } else {
            u32::from(rng.gen_bool(behaviour.join_chance.clamp(0.0, 1.0)))
        };
        for _ in 0..joins {
            let person = self.person(group, *next_serial, &mut rng);
            *next_serial += 1;
            // Drawn only when knocking is on, so a seed without it gives the same community.
            let knocks =
                behaviour.knock_share > 0.0 && rng.gen_bool(behaviour.knock_share.clamp(0.0, 1.0));
            if knocks {
                let asked = EventKind::JoinRequested {
                    member: person.id.clone().into(),
                    display_name: Some(person.name.clone()),
                    reason: Some(KNOCK_REASONS[rng.gen_range(0..KNOCK_REASONS.len())].into()),
                };
                push(asked, Some(person));
                continue;
            }
            let via = match present.first() {
                Some(inviter) if rng.gen_bool(0.5) => JoinVia::Invited {
                    by: inviter.id.clone(),
                },
                _ => JoinVia::Link {
                    code: format!("live-{group}"),
                },
            };
            let joined = EventKind::MemberJoined {
                member: person.id.clone().into(),
                display_name: Some(person.name.clone()),
                via,
            };
            push(joined, Some(person.clone()));
            if person.spammer {
                push(
                    message(&person, SPAM[rng.gen_range(0..SPAM.len())], &mut rng),
                    None,
                );
            }
        }
        let talkers: Vec<&Person> = present.iter().filter(|person| !person.lurker).collect();
        if !talkers.is_empty() {
            let mut budget = behaviour.messages_per_second;
            while budget > 0.0 {
                if rng.gen_bool(budget.min(1.0)) {
                    let speaker = talkers[rng.gen_range(0..talkers.len())];
                    let text = if speaker.spammer {
                        SPAM[rng.gen_range(0..SPAM.len())]
                    } else {
                        CHATTER[rng.gen_range(0..CHATTER.len())]
                    };
                    push(message(speaker, text, &mut rng), None);
                }
                budget -= 1.0;
            }
        }
        if !present.is_empty() && rng.gen_bool(behaviour.leave_chance.clamp(0.0, 1.0)) {
            let leaver = &present[rng.gen_range(0..present.len())];
            push(
                EventKind::MemberLeft {
                    member: leaver.id.clone().into(),
                    how: LeaveHow::Left,
                    by: None,
                },
                None,
            );
        }
        out
    }
}

fn message(person: &Person, text: &str, rng: &mut ChaCha8Rng) -> EventKind {
    let links = text
        .split_whitespace()
        .filter(|word| word.starts_with("http"))
        .map(str::to_string)
        .collect();
    EventKind::MessagePosted {
        member: person.id.clone().into(),
        message_id: format!("msg-{}", rng.gen::<u64>()),
        text: text.to_string(),
        links,
        mentions: Vec::new(),
        reply_to: None,
        message_kind: MessageKind::Text,
        from_bot: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_community() {
        let behaviour = Behaviour {
            messages_per_second: 3.0,
            join_chance: 0.5,
            ..Behaviour::default()
        };
        let generator = Generator {
            behaviour: &behaviour,
            workspace: WorkspaceId(1),
        };
        let founders = generator.founders(2);
        assert_eq!(founders.len(), behaviour.members_per_group);
        assert_eq!(founders, generator.founders(2));
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let (mut first_serial, mut second_serial) = (100, 100);
        let first = generator.tick(5, at, 2, &founders, &mut first_serial);
        let second = generator.tick(5, at, 2, &founders, &mut second_serial);
        assert_eq!(first, second);
        assert!(first
            .iter()
            .any(|(event, _)| matches!(event.kind, EventKind::MessagePosted { .. })));
        let keys: std::collections::HashSet<_> =
            first.iter().map(|(event, _)| event.key.clone()).collect();
        assert_eq!(keys.len(), first.len(), "keys are unique");
    }

    #[test]
    fn knockers_ask_to_join_instead_of_walking_in() {
        let behaviour = Behaviour {
            join_chance: 1.0,
            knock_share: 1.0,
            ..Behaviour::default()
        };
        let generator = Generator {
            behaviour: &behaviour,
            workspace: WorkspaceId(1),
        };
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut serial = 100;
        let events = generator.tick(5, at, 1, &[], &mut serial);
        assert!(events.iter().any(|(event, person)| matches!(
            &event.kind,
            EventKind::JoinRequested {
                reason: Some(_),
                ..
            }
        ) && person.is_some()));
        assert!(!events
            .iter()
            .any(|(event, _)| matches!(event.kind, EventKind::MemberJoined { .. })));
    }
}
