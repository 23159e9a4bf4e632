//! Games in the group, decided in memory: a dice game (掷骰子, highest throw wins) and a quiz
//! climb (答题闯关, a run of quiz polls; whoever answers every one right wins). Started by the
//! `/dice` and `/quiz` commands, by a button whose data is `game:dice` / `game:quiz`, or by
//! [`Games::start`] (an SOP step); winners are rewarded with `GrantReward` actions the ledger
//! carries out. Every key derives from the event or step that started the game, so deciding
//! twice writes once.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    ActionKind, ActionRecord, Event, EventKind, GamePlan, NewAction, Platform, WorkspaceId,
};

/// One quiz question; `correct` is 0-based (the plan's type, so a step's questions are used as
/// they are).
pub type Question = qunzhu_domain::QuizQuestion;

/// What the games are like.
#[derive(Debug, Clone)]
pub struct GamesConfig {
    /// The die members throw (🎲🎯🏀⚽🎳🎰).
    pub dice_emoji: String,
    /// How long a dice round stays open.
    pub dice_window: Duration,
    pub dice_points: i64,
    pub questions: Vec<Question>,
    /// Seconds each quiz poll stays open (Telegram: 5–600).
    pub question_seconds: u32,
    /// Time after a question closes for its last answers to arrive.
    pub answer_grace: Duration,
    pub quiz_points: i64,
}

impl Default for GamesConfig {
    fn default() -> Self {
        GamesConfig {
            dice_emoji: "🎲".into(),
            dice_window: Duration::minutes(3),
            dice_points: 10,
            questions: vec![
                Question {
                    question: "群规第一条是什么？".into(),
                    options: vec!["禁止广告".into(), "每天打卡".into(), "随便聊".into()],
                    correct: 0,
                    explanation: Some("群规第一条：禁止发广告。".into()),
                },
                Question {
                    question: "每日打卡在几点前完成算数？".into(),
                    options: vec!["12:00".into(), "23:59".into()],
                    correct: 1,
                    explanation: None,
                },
            ],
            question_seconds: 60,
            answer_grace: Duration::seconds(5),
            quiz_points: 20,
        }
    }
}

/// Which game.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Game {
    Dice,
    Quiz,
}

type Chat = (WorkspaceId, Platform, String);

#[derive(Debug)]
struct DiceRound {
    id: String,
    ends_at: DateTime<Utc>,
    /// Each member's first throw counts.
    throws: BTreeMap<String, u32>,
}

#[derive(Debug)]
struct QuizRound {
    id: String,
    /// This round's questions: the configured ones, or an SOP step's own.
    questions: Vec<Question>,
    /// The question now open.
    index: usize,
    closes_at: DateTime<Utc>,
    /// Members still climbing: every answer so far right. A wrong answer drops out.
    climbing: BTreeMap<String, usize>,
    out: std::collections::BTreeSet<String>,
}

/// The games decider: pure, in memory.
pub struct Games {
    config: GamesConfig,
    /// Off where the platform has no dice or polls.
    enabled: bool,
    dice: HashMap<Chat, DiceRound>,
    quiz: HashMap<Chat, QuizRound>,
}

/// `/dice`, `/dice@bot`, `/quiz …` → the game.
fn command(text: &str) -> Option<Game> {
    let word = text.split_whitespace().next()?;
    let name = word.split('@').next()?;
    match name {
        "/dice" | "/掷骰子" => Some(Game::Dice),
        "/quiz" | "/答题" => Some(Game::Quiz),
        _ => None,
    }
}

fn action(
    chat: &Chat,
    key: String,
    kind: ActionKind,
    now: DateTime<Utc>,
    cause: &str,
) -> NewAction {
    NewAction {
        workspace: chat.0,
        platform: chat.1,
        chat: chat.2.clone(),
        key,
        kind,
        created_at: now,
        not_before: now,
        expires_at: None,
        dry_run: false,
        origin: qunzhu_domain::ActionOrigin::Game,
        cause: Some(cause.to_string()),
    }
}

fn say(text: String) -> ActionKind {
    ActionKind::SendMessage {
        text,
        html: None,
        mentions: vec![],
        reply_to: None,
    }
}

impl Games {
    pub fn new(config: GamesConfig, enabled: bool) -> Games {
        Games {
            config,
            enabled,
            dice: HashMap::new(),
            quiz: HashMap::new(),
        }
    }

    fn poll(
        &self,
        chat: &Chat,
        id: &str,
        questions: &[Question],
        index: usize,
        now: DateTime<Utc>,
    ) -> Option<NewAction> {
        let question = questions.get(index)?;
        Some(action(
            chat,
            format!("game:quiz:{id}:q{index}"),
            ActionKind::SendPoll {
                question: format!("第 {} 关：{}", index + 1, question.question),
                options: question.options.clone(),
                correct_option: Some(question.correct),
                explanation: question.explanation.clone(),
                open_period: Some(self.config.question_seconds),
                anonymous: false,
                tags: Vec::new(),
            },
            now,
            id,
        ))
    }

    /// Starts a game in a group (a command, a button, an SOP step); `cause` names what started
    /// it and keys everything the game writes. Nothing if one is already running there.
    pub fn start(
        &mut self,
        chat: Chat,
        game: Game,
        cause: &str,
        now: DateTime<Utc>,
    ) -> Vec<NewAction> {
        let questions = self.config.questions.clone();
        self.start_with(chat, game, questions, None, cause, now)
    }

    /// Starts the game an SOP step's `StartGame` action names, with the step's questions and
    /// its text as the announcement; keyed by the action's key, so starting the same occurrence
    /// again (a restart before it was marked done) writes nothing new.
    pub fn start_planned(&mut self, action: &ActionRecord, now: DateTime<Utc>) -> Vec<NewAction> {
        let ActionKind::StartGame { game, intro } = &action.kind else {
            return Vec::new();
        };
        let chat: Chat = (action.workspace, action.platform, action.chat.clone());
        let intro = Some(intro.clone()).filter(|intro| !intro.trim().is_empty());
        match game {
            GamePlan::Dice => {
                self.start_with(chat, Game::Dice, Vec::new(), intro, &action.key, now)
            }
            GamePlan::Quiz { questions } => {
                self.start_with(chat, Game::Quiz, questions.clone(), intro, &action.key, now)
            }
        }
    }

    fn start_with(
        &mut self,
        chat: Chat,
        game: Game,
        questions: Vec<Question>,
        intro: Option<String>,
        cause: &str,
        now: DateTime<Utc>,
    ) -> Vec<NewAction> {
        if !self.enabled {
            return Vec::new();
        }
        match game {
            Game::Dice => {
                let minutes = self.config.dice_window.num_minutes().max(1);
                let rules = format!(
                    "🎲 掷骰子开始！{minutes} 分钟内发送 {}，点数最大的人得 {} 分（每人只算第一次）。",
                    self.config.dice_emoji, self.config.dice_points
                );
                let text = match intro {
                    Some(intro) => format!("{intro}\n{rules}"),
                    None => rules,
                };
                let announce = action(
                    &chat,
                    format!("game:dice:{cause}:start"),
                    say(text),
                    now,
                    cause,
                );
                if let Some(running) = self.dice.get(&chat) {
                    // The same occurrence again (its claim was retried): its announcement is
                    // written already and the same key writes nothing; another game starts nothing.
                    return if running.id == cause {
                        vec![announce]
                    } else {
                        Vec::new()
                    };
                }
                self.dice.insert(
                    chat,
                    DiceRound {
                        id: cause.to_string(),
                        ends_at: now + self.config.dice_window,
                        throws: BTreeMap::new(),
                    },
                );
                vec![announce]
            }
            Game::Quiz => {
                if questions.is_empty() {
                    return Vec::new();
                }
                let levels = questions.len();
                let rules = format!(
                    "📝 答题闯关开始！共 {levels} 关，每关 {} 秒；全部答对通关，奖励 {} 分。",
                    self.config.question_seconds, self.config.quiz_points
                );
                let text = match intro {
                    Some(intro) => format!("{intro}\n{rules}"),
                    None => rules,
                };
                let mut out = vec![action(
                    &chat,
                    format!("game:quiz:{cause}:start"),
                    say(text),
                    now,
                    cause,
                )];
                if let Some(running) = self.quiz.get(&chat) {
                    // As for dice: the same occurrence rewrites its (deduplicated) announcement.
                    return if running.id == cause { out } else { Vec::new() };
                }
                out.extend(self.poll(&chat, cause, &questions, 0, now));
                self.quiz.insert(
                    chat,
                    QuizRound {
                        id: cause.to_string(),
                        questions,
                        index: 0,
                        closes_at: now + self.question_window(),
                        climbing: BTreeMap::new(),
                        out: Default::default(),
                    },
                );
                out
            }
        }
    }

    /// A question is open for its period plus a little for the last answers to arrive.
    fn question_window(&self) -> Duration {
        Duration::seconds(i64::from(self.config.question_seconds)) + self.config.answer_grace
    }

    fn finish_dice(&self, chat: &Chat, round: DiceRound, now: DateTime<Utc>) -> Vec<NewAction> {
        let id = &round.id;
        let Some(best) = round.throws.values().max().copied() else {
            return vec![action(
                chat,
                format!("game:dice:{id}:result"),
                say("🎲 本轮没有人掷骰子。".into()),
                now,
                id,
            )];
        };
        let winners: Vec<&String> = round
            .throws
            .iter()
            .filter(|(_, v)| **v == best)
            .map(|(m, _)| m)
            .collect();
        let mut out: Vec<NewAction> = winners
            .iter()
            .map(|member| {
                action(
                    chat,
                    format!("game:dice:{id}:reward:{member}"),
                    ActionKind::GrantReward {
                        member: member.to_string(),
                        points: self.config.dice_points,
                        reason: format!("掷骰子冠军（{best} 点）"),
                    },
                    now,
                    id,
                )
            })
            .collect();
        out.push(action(
            chat,
            format!("game:dice:{id}:result"),
            ActionKind::SendMessage {
                text: format!(
                    "🎲 本轮最大 {best} 点，{} 人获胜，各得 {} 分：{}",
                    winners.len(),
                    self.config.dice_points,
                    winners
                        .iter()
                        .map(|_| "@冠军")
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                html: None,
                mentions: winners.iter().map(|m| m.to_string()).collect(),
                reply_to: None,
            },
            now,
            id,
        ));
        out
    }

    fn finish_quiz(&self, chat: &Chat, round: QuizRound, now: DateTime<Utc>) -> Vec<NewAction> {
        let id = &round.id;
        let levels = round.questions.len();
        let winners: Vec<&String> = round
            .climbing
            .iter()
            .filter(|(member, right)| **right == levels && !round.out.contains(*member))
            .map(|(member, _)| member)
            .collect();
        let mut out: Vec<NewAction> = winners
            .iter()
            .map(|member| {
                action(
                    chat,
                    format!("game:quiz:{id}:reward:{member}"),
                    ActionKind::GrantReward {
                        member: member.to_string(),
                        points: self.config.quiz_points,
                        reason: format!("答题闯关通关（{levels} 关）"),
                    },
                    now,
                    id,
                )
            })
            .collect();
        out.push(action(
            chat,
            format!("game:quiz:{id}:result"),
            say(format!(
                "📝 答题闯关结束：{} 人全部答对通关。",
                winners.len()
            )),
            now,
            id,
        ));
        out
    }
}

impl crate::Decider for Games {
    fn decide(&mut self, event: &Event, now: DateTime<Utc>) -> Vec<NewAction> {
        let chat: Chat = (event.workspace, event.platform, event.chat.clone());
        // A command that arrives as history (after downtime) starts nothing: its round would
        // end unannounced.
        let fresh = now - event.at <= crate::ingest::stale_after();
        match &event.kind {
            EventKind::MessagePosted { .. } | EventKind::ButtonClicked { .. } if !fresh => {
                Vec::new()
            }
            EventKind::MessagePosted {
                text,
                from_bot: false,
                ..
            } => match command(text) {
                Some(game) => self.start(chat, game, &event.key, now),
                None => Vec::new(),
            },
            EventKind::ButtonClicked { data, .. } => match data.as_str() {
                "game:dice" => self.start(chat, Game::Dice, &event.key, now),
                "game:quiz" => self.start(chat, Game::Quiz, &event.key, now),
                _ => Vec::new(),
            },
            EventKind::DiceRolled {
                member,
                emoji,
                value,
                ..
            } => {
                if let Some(round) = self.dice.get_mut(&chat) {
                    if *emoji == self.config.dice_emoji && event.at <= round.ends_at {
                        round.throws.entry(member.0.clone()).or_insert(*value);
                    }
                }
                Vec::new()
            }
            EventKind::PollAnswered {
                member,
                poll_key: Some(key),
                option_ids,
                ..
            } => {
                let Some(round) = self.quiz.get_mut(&chat) else {
                    return Vec::new();
                };
                let expected_key = format!("game:quiz:{}:q{}", round.id, round.index);
                if *key != expected_key || round.out.contains(member.as_str()) {
                    return Vec::new();
                }
                let right = round
                    .questions
                    .get(round.index)
                    .is_some_and(|q| option_ids.as_slice() == [q.correct]);
                let so_far = round.climbing.get(member.as_str()).copied().unwrap_or(0);
                if right && so_far == round.index {
                    round.climbing.insert(member.0.clone(), so_far + 1);
                } else {
                    round.out.insert(member.0.clone());
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn scheduled(&mut self, action: &ActionRecord, now: DateTime<Utc>) -> Option<Vec<NewAction>> {
        match action.kind {
            ActionKind::StartGame { .. } => Some(self.start_planned(action, now)),
            _ => None,
        }
    }

    fn tick(&mut self, now: DateTime<Utc>) -> Vec<NewAction> {
        let mut out = Vec::new();
        let over: Vec<Chat> = self
            .dice
            .iter()
            .filter(|(_, r)| r.ends_at <= now)
            .map(|(c, _)| c.clone())
            .collect();
        for chat in over {
            if let Some(round) = self.dice.remove(&chat) {
                out.extend(self.finish_dice(&chat, round, now));
            }
        }
        let closed: Vec<Chat> = self
            .quiz
            .iter()
            .filter(|(_, r)| r.closes_at <= now)
            .map(|(c, _)| c.clone())
            .collect();
        for chat in closed {
            let Some(mut round) = self.quiz.remove(&chat) else {
                continue;
            };
            // Who did not answer this level is out too.
            let index = round.index;
            let dropped: Vec<String> = round
                .climbing
                .iter()
                .filter(|(_, right)| **right <= index)
                .map(|(m, _)| m.clone())
                .collect();
            round.out.extend(dropped);
            round.index += 1;
            if round.index < round.questions.len() {
                out.extend(self.poll(&chat, &round.id, &round.questions, round.index, now));
                round.closes_at = now + self.question_window();
                self.quiz.insert(chat, round);
            } else {
                out.extend(self.finish_quiz(&chat, round, now));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decider;
    use qunzhu_domain::MessageKind;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    fn event(key: &str, at: i64, kind: EventKind) -> Event {
        Event {
            workspace: WorkspaceId(1),
            platform: Platform::Telegram,
            key: key.into(),
            chat: "-100".into(),
            at: t(at),
            kind,
        }
    }

    fn said(member: &str, text: &str) -> EventKind {
        EventKind::MessagePosted {
            member: member.into(),
            message_id: "1".into(),
            text: text.into(),
            links: vec![],
            mentions: vec![],
            reply_to: None,
            message_kind: MessageKind::Text,
            from_bot: false,
        }
    }

    fn rewards(actions: &[NewAction]) -> Vec<(String, i64)> {
        actions
            .iter()
            .filter_map(|a| match &a.kind {
                ActionKind::GrantReward { member, points, .. } => Some((member.clone(), *points)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_highest_first_throw_wins_the_dice_round() {
        let mut games = Games::new(GamesConfig::default(), true);
        let started = games.decide(&event("e1", 0, said("a", "/dice@qunzhu_bot")), t(0));
        assert_eq!(started.len(), 1);
        assert!(
            games
                .decide(&event("e2", 1, said("b", "/dice")), t(1))
                .is_empty(),
            "one round at a time"
        );
        for (key, member, value) in [
            ("r1", "a", 3),
            ("r2", "b", 6),
            ("r3", "c", 6),
            ("r4", "a", 6),
        ] {
            let kind = EventKind::DiceRolled {
                member: member.into(),
                message_id: key.into(),
                emoji: "🎲".into(),
                value,
            };
            games.decide(&event(key, 10, kind), t(10));
        }
        assert!(games.tick(t(60)).is_empty(), "still open");
        let done = games.tick(t(181));
        assert_eq!(
            rewards(&done),
            vec![("b".into(), 10), ("c".into(), 10)],
            "a's second throw does not count"
        );
        assert!(done.iter().all(|a| a.key.starts_with("game:dice:e1:")));
        assert!(games.tick(t(400)).is_empty());
    }

    #[test]
    fn only_members_who_answer_every_level_right_pass_the_quiz() {
        let mut games = Games::new(GamesConfig::default(), true);
        let started = games.decide(&event("q", 0, said("a", "/quiz")), t(0));
        assert!(matches!(
            started[1].kind,
            ActionKind::SendPoll {
                correct_option: Some(0),
                open_period: Some(60),
                anonymous: false,
                ..
            }
        ));
        let answer = |member: &str, level: usize, option: u32| EventKind::PollAnswered {
            member: member.into(),
            poll_id: format!("p{level}"),
            poll_key: Some(format!("game:quiz:q:q{level}")),
            option_ids: vec![option],
            options: vec![],
        };
        games.decide(&event("a0", 5, answer("a", 0, 0)), t(5));
        games.decide(&event("b0", 5, answer("b", 0, 1)), t(5));
        games.decide(&event("c0", 5, answer("c", 0, 0)), t(5));
        let next = games.tick(t(66));
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].key, "game:quiz:q:q1");
        games.decide(&event("a1", 70, answer("a", 1, 1)), t(70));
        games.decide(&event("b1", 70, answer("b", 1, 1)), t(70));
        // c does not answer level 2 and drops out.
        let done = games.tick(t(140));
        assert_eq!(rewards(&done), vec![("a".into(), 20)]);
    }

    #[test]
    fn the_same_occurrence_asked_again_rewrites_only_its_announcement() {
        let mut games = Games::new(GamesConfig::default(), true);
        let first = games.start(chat(), Game::Dice, "sop:k", t(0));
        assert_eq!(first.len(), 1);
        let again = games.start(chat(), Game::Dice, "sop:k", t(5));
        assert_eq!(
            again.iter().map(|a| &a.key).collect::<Vec<_>>(),
            [&first[0].key],
            "the same key, so the outbox writes nothing new"
        );
        assert!(games.start(chat(), Game::Dice, "other", t(6)).is_empty());
        let quiz = games.start(chat(), Game::Quiz, "sop:q", t(0));
        assert_eq!(quiz.len(), 2, "announcement and first question");
        let quiz_again = games.start(chat(), Game::Quiz, "sop:q", t(1));
        assert_eq!(quiz_again.len(), 1);
        assert_eq!(quiz_again[0].key, quiz[0].key);
    }

    fn chat() -> Chat {
        (WorkspaceId(1), Platform::Telegram, "-100".into())
    }

    #[test]
    fn a_command_from_history_starts_nothing() {
        let mut games = Games::new(GamesConfig::default(), true);
        assert!(games
            .decide(&event("old", 0, said("a", "/dice")), t(3600))
            .is_empty());
        assert!(games.tick(t(7200)).is_empty(), "no unannounced round ends");
    }

    #[test]
    fn nothing_starts_where_the_platform_has_no_games() {
        let mut games = Games::new(GamesConfig::default(), false);
        assert!(games
            .decide(&event("e", 0, said("a", "/dice")), t(0))
            .is_empty());
        let click = EventKind::ButtonClicked {
            member: "a".into(),
            message_id: None,
            data: "game:quiz".into(),
        };
        assert!(games.decide(&event("k", 0, click), t(0)).is_empty());
    }
}
