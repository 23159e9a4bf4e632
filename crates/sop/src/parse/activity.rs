//! The step kinds beyond a post: `kind = "poll"` with `options` (each a text or
//! `{ text, tag }`, the tag given to members who choose it), and the games `kind = "dice"` and
//! `kind = "quiz"` with `questions` (`{ question, options, answer, explanation }`, `answer`
//! naming the right option by its text). Limits are Telegram's, the one platform with polls:
//! 2–10 options of 1–100 characters, a question of at most 300. `kind = "drop"` is a point drop
//! (红包雨) with `drop = { keyword, shares, points, minutes }`: the first `shares` members who
//! answer `keyword` within `minutes` get `points` each (the limits are the drop's own).

use qunzhu_domain::{DropPlan, GamePlan, QuizQuestion};

use super::node::{Node, Value};
use super::reader::{Decoder, Table};
use crate::plan::{Activity, PollOption};

/// The step kinds, in the order the diagnostic lists them.
pub(super) const KINDS: &[&str] = &["post", "moment", "poll", "dice", "quiz", "drop"];
const DROP_KEYS: &[&str] = &["keyword", "shares", "points", "minutes"];
/// A drop's limits: qunzhu_growth's `DropSpec::validate` checks the same when it is scheduled.
const MAX_KEYWORD_CHARS: usize = 50;
const MAX_SHARES: i64 = 10_000;
const MAX_DROP_MINUTES: i64 = 24 * 60;
const MAX_SHARE_POINTS: i64 = 1_000_000;
const OPTION_KEYS: &[&str] = &["text", "tag"];
const QUESTION_KEYS: &[&str] = &["question", "options", "answer", "explanation"];
const MAX_OPTIONS: usize = 10;
const MAX_OPTION_CHARS: usize = 100;
const MAX_QUESTION_CHARS: usize = 300;
const MAX_EXPLANATION_CHARS: usize = 200;
const MAX_QUESTIONS: usize = 20;
const MAX_TAG_CHARS: usize = 64;

impl Decoder<'_> {
    /// The activity of a `poll`, `dice` or `quiz` step; reports `options` / `questions` written
    /// on a step of another kind. `text` is the step's text when it was readable.
    pub(super) fn activity(
        &mut self,
        table: &Table<'_>,
        kind: &str,
        text: Option<&str>,
    ) -> Option<Activity> {
        for (key, owner) in [("options", "poll"), ("questions", "quiz"), ("drop", "drop")] {
            if let (Some(node), true) = (table.get(key), kind != owner) {
                self.report(
                    &table.path(key),
                    node.span.as_ref(),
                    format!("`{key}` is for {owner} steps: set kind = \"{owner}\""),
                );
            }
        }
        match kind {
            "poll" => {
                if let Some(text) = text {
                    if text.chars().count() > MAX_QUESTION_CHARS {
                        let node = table.get("text");
                        self.report(
                            &table.path("text"),
                            node.and_then(|node| node.span.as_ref()),
                            format!("a poll's question (its text) has at most {MAX_QUESTION_CHARS} characters"),
                        );
                    }
                }
                let node = self.required(table, "options")?;
                let path = table.path("options");
                let options = self.each(node, &path, |decoder, item, path| {
                    decoder.poll_option(item, path)
                });
                self.option_count(node, &path, options.len())?;
                Some(Activity::Poll { options })
            }
            "dice" => Some(Activity::Game(GamePlan::Dice)),
            "quiz" => {
                let node = self.required(table, "questions")?;
                let path = table.path("questions");
                let written = self.array(node, &path)?.len();
                let questions = self.each(node, &path, |decoder, item, path| {
                    decoder.question(item, path)
                });
                if written == 0 || written > MAX_QUESTIONS {
                    self.report(
                        &path,
                        node.span.as_ref(),
                        format!("a quiz has 1–{MAX_QUESTIONS} questions, found {written}"),
                    );
                    return None;
                }
                (questions.len() == written).then_some(Activity::Game(GamePlan::Quiz { questions }))
            }
            "drop" => {
                let node = self.required(table, "drop")?;
                self.drop_plan(node, &table.path("drop"))
                    .map(Activity::Drop)
            }
            _ => None,
        }
    }

    fn drop_plan(&mut self, node: &Node, path: &str) -> Option<DropPlan> {
        let table = self.table(node, path, DROP_KEYS)?;
        let keyword = self.required(&table, "keyword").and_then(|node| {
            let path = table.path("keyword");
            let keyword = self.string(node, &path)?;
            let chars = keyword.trim().chars().count();
            if chars == 0 || chars > MAX_KEYWORD_CHARS {
                self.report(
                    &path,
                    node.span.as_ref(),
                    format!("a drop's keyword has 1–{MAX_KEYWORD_CHARS} characters, found {chars}"),
                );
                return None;
            }
            Some(keyword.trim().to_string())
        });
        let mut number = |key: &str, range: std::ops::RangeInclusive<i64>| {
            self.required(&table, key)
                .and_then(|node| self.integer(node, &table.path(key), range))
        };
        let shares = number("shares", 1..=MAX_SHARES);
        let points = number("points", 1..=MAX_SHARE_POINTS);
        let minutes = number("minutes", 1..=MAX_DROP_MINUTES);
        Some(DropPlan {
            keyword: keyword?,
            shares: u32::try_from(shares?).ok()?,
            points: points?,
            minutes: u32::try_from(minutes?).ok()?,
        })
    }

    fn option_count(&mut self, node: &Node, path: &str, count: usize) -> Option<()> {
        let written = match &node.value {
            Value::Array(items) => items.len(),
            _ => return None,
        };
        if !(2..=MAX_OPTIONS).contains(&written) {
            self.report(
                path,
                node.span.as_ref(),
                format!("a poll has 2–{MAX_OPTIONS} options, found {written}"),
            );
            return None;
        }
        (count == written).then_some(())
    }

    fn option_text(&mut self, node: &Node, path: &str) -> Option<String> {
        let text = self.string(node, path)?;
        let chars = text.trim().chars().count();
        if chars == 0 || chars > MAX_OPTION_CHARS {
            self.report(
                path,
                node.span.as_ref(),
                format!("an option has 1–{MAX_OPTION_CHARS} characters, found {chars}"),
            );
            return None;
        }
        Some(text)
    }

    fn poll_option(&mut self, node: &Node, path: &str) -> Option<PollOption> {
        if let Value::Str(_) = node.value {
            let text = self.option_text(node, path)?;
            return Some(PollOption { text, tag: None });
        }
        let table = self.table(node, path, OPTION_KEYS)?;
        let text = self
            .required(&table, "text")
            .and_then(|node| self.option_text(node, &table.path("text")));
        let tag = match table.get("tag") {
            None => None,
            Some(node) => Some(self.tag(node, &table.path("tag"))?),
        };
        Some(PollOption { text: text?, tag })
    }

    fn tag(&mut self, node: &Node, path: &str) -> Option<String> {
        let tag = self.string(node, path)?;
        let chars = tag.chars().count();
        if tag.trim() != tag || chars == 0 || chars > MAX_TAG_CHARS || tag.contains(',') {
            self.report(
                path,
                node.span.as_ref(),
                format!("a tag has 1–{MAX_TAG_CHARS} characters, no commas and no surrounding spaces, found \"{tag}\""),
            );
            return None;
        }
        Some(tag)
    }

    fn question(&mut self, node: &Node, path: &str) -> Option<QuizQuestion> {
        let table = self.table(node, path, QUESTION_KEYS)?;
        let question = self.required(&table, "question").and_then(|node| {
            let path = table.path("question");
            let text = self.string(node, &path)?;
            let chars = text.trim().chars().count();
            if chars == 0 || chars > MAX_QUESTION_CHARS {
                self.report(
                    &path,
                    node.span.as_ref(),
                    format!("a question has 1–{MAX_QUESTION_CHARS} characters, found {chars}"),
                );
                return None;
            }
            Some(text)
        });
        let options_path = table.path("options");
        let options = self.required(&table, "options").and_then(|node| {
            let options = self.each(node, &options_path, |decoder, item, path| {
                decoder.option_text(item, path)
            });
            self.option_count(node, &options_path, options.len())?;
            Some(options)
        });
        let explanation = match table.get("explanation") {
            None => None,
            Some(node) => {
                let path = table.path("explanation");
                let text = self.string(node, &path)?;
                if text.chars().count() > MAX_EXPLANATION_CHARS {
                    self.report(
                        &path,
                        node.span.as_ref(),
                        format!("an explanation has at most {MAX_EXPLANATION_CHARS} characters"),
                    );
                    return None;
                }
                Some(text)
            }
        };
        let answer_path = table.path("answer");
        let answer = self
            .required(&table, "answer")
            .and_then(|node| Some((node, self.string(node, &answer_path)?)));
        let (options, (answer_node, answer)) = (options?, answer?);
        let Some(correct) = options.iter().position(|option| *option == answer) else {
            self.report(
                &answer_path,
                answer_node.span.as_ref(),
                format!(
                    "answer \"{answer}\" is not one of the options: {}",
                    options.join(", ")
                ),
            );
            return None;
        };
        Some(QuizQuestion {
            question: question?,
            options,
            correct: u32::try_from(correct).ok()?,
            explanation,
        })
    }
}
