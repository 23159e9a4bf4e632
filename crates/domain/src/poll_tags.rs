//! Member tags from poll answers: the pure rule both storage backends apply when a member
//! answers (or retracts their answer to) a poll whose options carry tags.

use serde::{Deserialize, Serialize};

use crate::Platform;

/// A member's answer to a tagged poll, as the consumer of the log hands it to storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollAnswer {
    pub platform: Platform,
    /// The outbox key of the action that sent the poll (the poll's identity on every platform).
    pub poll: String,
    pub member: String,
    /// The tags of the chosen options; empty when the member retracted their vote or chose
    /// only untagged options.
    pub tags: Vec<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The member's tags after an answer: what their previous answer to the same poll gave and this
/// one does not is removed, unless another poll's answer still gives it; this answer's tags are
/// added once each, after the member's existing tags (operators' own tags are kept).
pub fn retag(
    current: &[String],
    previous: &[String],
    held_elsewhere: &[String],
    answer: &[String],
) -> Vec<String> {
    let dropped = |tag: &String| {
        previous.contains(tag) && !answer.contains(tag) && !held_elsewhere.contains(tag)
    };
    let mut tags: Vec<String> = current
        .iter()
        .filter(|tag| !dropped(tag))
        .cloned()
        .collect();
    for tag in answer {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::retag;

    fn list(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|tag| tag.to_string()).collect()
    }

    #[test]
    fn answers_add_change_and_retract_tags() {
        // (current, previous answer, held by other polls, this answer) → expected
        type Case<'a> = (
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            (&["vip"], &[], &[], &["city:上海"], &["vip", "city:上海"]),
            (
                &["vip", "city:上海"],
                &["city:上海"],
                &[],
                &["city:北京"],
                &["vip", "city:北京"],
            ),
            (&["vip", "city:上海"], &["city:上海"], &[], &[], &["vip"]),
            (
                &["city:上海"],
                &["city:上海"],
                &["city:上海"],
                &[],
                &["city:上海"],
            ),
            (&["city:上海"], &[], &[], &["city:上海"], &["city:上海"]),
            (&[], &["a"], &[], &["b", "c"], &["b", "c"]),
        ];
        for (current, previous, elsewhere, answer, expected) in cases {
            assert_eq!(
                retag(
                    &list(current),
                    &list(previous),
                    &list(elsewhere),
                    &list(answer)
                ),
                list(expected),
                "{current:?} {previous:?} {elsewhere:?} {answer:?}"
            );
        }
    }
}
