//! The poll tagger: an incremental consumer of the log that turns answers to tagged polls (a
//! survey step's "你在哪个城市?" with `city:上海`…) into member tags, storing its watermark with
//! each batch of answers so a restart resumes exactly where it stopped.
//!
//! Platform-agnostic: it reads `PollAnswered` events whose `poll_key` names the outbox action
//! that sent the poll, and that action's per-option `tags`. An empty answer (Telegram sends
//! `option_ids: []` for a retracted vote) takes back what the member's earlier answer gave.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use qunzhu_domain::{ActionKind, EventKind, PollAnswer, WorkspaceId};
use qunzhu_storage::{Store, StoreError};
use tokio::sync::watch;

#[derive(Clone)]
pub struct PollTagger {
    pub store: Arc<dyn Store>,
    pub workspace: WorkspaceId,
    /// Events read per batch.
    pub batch: usize,
    pub every: StdDuration,
}

/// The tags a poll's options give, or `None` when the poll gives none (most polls, every quiz).
type OptionTags = Option<Vec<Option<String>>>;

/// What the chosen options give; an option id the poll does not have gives nothing.
fn chosen(tags: &[Option<String>], option_ids: &[u32]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in option_ids {
        let tag = usize::try_from(*id)
            .ok()
            .and_then(|index| tags.get(index))
            .and_then(Option::as_ref);
        if let Some(tag) = tag {
            if !out.contains(tag) {
                out.push(tag.clone());
            }
        }
    }
    out
}

impl PollTagger {
    async fn option_tags(&self, key: &str) -> qunzhu_storage::Result<OptionTags> {
        match self.store.action_by_key(self.workspace, key).await {
            Ok(action) if action.workspace == self.workspace => Ok(match action.kind {
                ActionKind::SendPoll { tags, .. } if !tags.is_empty() => Some(tags),
                _ => None,
            }),
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Applies every logged event after the watermark; returns how many events it read.
    pub async fn run_once(&self) -> qunzhu_storage::Result<usize> {
        let mut read = 0;
        let mut polls: HashMap<String, OptionTags> = HashMap::new();
        loop {
            let after = self.store.poll_tag_watermark(self.workspace).await?;
            let events = self
                .store
                .events(self.workspace, after, self.batch.max(1))
                .await?;
            let Some(last) = events.last().map(|stored| stored.seq) else {
                return Ok(read);
            };
            let mut answers = Vec::new();
            for stored in &events {
                let EventKind::PollAnswered {
                    member,
                    poll_key: Some(key),
                    option_ids,
                    ..
                } = &stored.event.kind
                else {
                    continue;
                };
                if !polls.contains_key(key) {
                    let tags = self.option_tags(key).await?;
                    polls.insert(key.clone(), tags);
                }
                let Some(Some(tags)) = polls.get(key) else {
                    continue;
                };
                answers.push(PollAnswer {
                    platform: stored.event.platform,
                    poll: key.clone(),
                    member: member.0.clone(),
                    tags: chosen(tags, option_ids),
                    at: stored.event.at,
                });
            }
            self.store
                .apply_poll_answers(self.workspace, answers, last)
                .await?;
            read += events.len();
            if events.len() < self.batch.max(1) {
                return Ok(read);
            }
        }
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.run_once().await {
                tracing::error!(%error, "poll tagging round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::chosen;

    #[test]
    fn chosen_options_give_their_tags_once() {
        let tags = vec![
            Some("city:上海".to_string()),
            None,
            Some("city:上海".into()),
        ];
        let cases: &[(&[u32], &[&str])] = &[
            (&[0], &["city:上海"]),
            (&[1], &[]),
            (&[0, 2], &["city:上海"]),
            (&[], &[]),
            (&[9], &[]),
        ];
        for (ids, expected) in cases {
            assert_eq!(chosen(&tags, ids), *expected, "{ids:?}");
        }
    }
}
