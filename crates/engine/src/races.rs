//! The race keeper 比: per platform, every few seconds, it reads the workspace's race documents
//! (kind [`qunzhu_domain::DocumentKind::Race`]) and carries each race along — opens it at its start (each member's
//! metric then, from the read models, stored as the baseline), posts the live board in every
//! group of the race once per slot, and after the end settles it once (the awards recorded
//! compare-and-set), posts the final board with the winners and grants each prize through the
//! ledger (`GrantReward` / `IssueCoupon`, keyed `race:{name}:prize:{member}`).
//!
//! The keeper keeps nothing in memory: what it did is in the race row and the outbox, every
//! post and prize has its key (`keys::race_*`), and a race is marked paid only after its result
//! and prizes are written, so a restart or a second instance writes nothing twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{
    keys, AccountKind, ActionKind, Clock, DocumentKind, MemberId, NewAction, Platform, WorkspaceId,
};
use qunzhu_growth::leaderboard::{self, Board, Ranked, Score};
use qunzhu_growth::lottery::Prize;
use qunzhu_growth::race::{Award, Race};
use qunzhu_growth::race_doc::{parse_race, RaceDoc};
use qunzhu_storage::{InviteFilter, NewRace, RaceState, Store, StoreError, StoredRace};
use serde::Serialize;
use tokio::sync::watch;

/// Every row a read model holds, for a baseline or a final score.
const EVERYONE: usize = 1_000_000;

/// Where a race stands, as the keeper and the console read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RacePhase {
    /// Before it opens.
    Planned,
    /// Open: the board is posted live.
    Running,
    /// Ended, not yet settled (the keeper's next round settles it).
    Ending,
    /// Settled: the result and prizes are being written.
    Settled,
    /// The result is posted and the prizes granted.
    Finished,
}

impl RacePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            RacePhase::Planned => "planned",
            RacePhase::Running => "running",
            RacePhase::Ending => "ending",
            RacePhase::Settled => "settled",
            RacePhase::Finished => "finished",
        }
    }
}

/// The phase of a race from its document, its stored row (if opened) and the clock.
pub fn phase(doc: &RaceDoc, stored: Option<&StoredRace>, now: DateTime<Utc>) -> RacePhase {
    match stored.map(|race| race.state) {
        Some(RaceState::Paid) => RacePhase::Finished,
        Some(RaceState::Settled) => RacePhase::Settled,
        _ if now < doc.spec.starts_at => RacePhase::Planned,
        _ if now < doc.spec.ends_at => RacePhase::Running,
        _ => RacePhase::Ending,
    }
}

/// Each member's metric now over the race's groups, from the read models: invitees still
/// present (the invites read model), total check-ins (the streak table), or the points balance
/// (the ledger's balances; the workspace's, whatever group they were earned in).
pub async fn metric_now(
    store: &dyn Store,
    workspace: WorkspaceId,
    doc: &RaceDoc,
    now: DateTime<Utc>,
) -> qunzhu_storage::Result<BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    match doc.spec.metric {
        Board::Invites => {
            for chat in &doc.groups {
                let filter = InviteFilter {
                    chat: Some(chat.clone()),
                    campaign: None,
                };
                for count in store.invite_counts(workspace, &filter, EVERYONE).await? {
                    if count.platform == doc.platform {
                        *out.entry(count.inviter).or_default() +=
                            i64::try_from(count.present).unwrap_or(i64::MAX);
                    }
                }
            }
        }
        Board::CheckIns => {
            let zone = store.workspace(workspace).await?.time_zone;
            let today = now.with_timezone(&zone).date_naive();
            for chat in &doc.groups {
                for row in store
                    .leaderboard(workspace, doc.platform, chat, today, EVERYONE)
                    .await?
                {
                    *out.entry(row.member).or_default() += i64::from(row.total);
                }
            }
        }
        Board::Points => {
            for (account, balance) in store
                .balances(workspace, Some(AccountKind::Member), EVERYONE)
                .await?
            {
                if let qunzhu_domain::Account::Member { platform, user } = account {
                    if platform == doc.platform {
                        out.insert(user, balance);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The race as the pure rules see it, from its document and stored row.
pub fn race_of(doc: &RaceDoc, stored: &StoredRace) -> Race {
    Race {
        spec: doc.spec.clone(),
        baseline: stored.baseline.clone(),
        posted: Vec::new(),
        settled: stored.state != RaceState::Open,
    }
}

/// The members' names as the directory knows them (the id where it knows none).
async fn display_name(
    store: &dyn Store,
    workspace: WorkspaceId,
    platform: Platform,
    member: &str,
) -> String {
    match store
        .member(workspace, platform, &MemberId::from(member))
        .await
    {
        Ok(known) if !known.display_name.is_empty() => known.display_name,
        _ => member.to_string(),
    }
}

/// The top `limit` since the race opened: the metric now minus the baseline, ranked with
/// shared ranks, with the members' display names.
pub async fn standings(
    store: &dyn Store,
    workspace: WorkspaceId,
    doc: &RaceDoc,
    stored: &StoredRace,
    now: DateTime<Utc>,
    limit: usize,
) -> qunzhu_storage::Result<Vec<Ranked>> {
    let scores = scores(metric_now(store, workspace, doc, now).await?);
    let mut ranked = race_of(doc, stored).standings(&scores, limit);
    for row in &mut ranked {
        row.row.display_name = display_name(store, workspace, doc.platform, &row.row.member).await;
    }
    Ok(ranked)
}

fn scores(metric: BTreeMap<String, i64>) -> Vec<Score> {
    metric
        .into_iter()
        .map(|(member, score)| Score {
            display_name: member.clone(),
            member,
            score,
        })
        .collect()
}

#[derive(Clone)]
pub struct RaceKeeper {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub every: StdDuration,
}

/// What one round did, for tests and logs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RaceRound {
    pub opened: usize,
    pub boards: usize,
    pub settled: usize,
    pub paid: usize,
}

impl RaceKeeper {
    /// One pass over the workspace's races of this platform.
    pub async fn run_once(&self) -> qunzhu_storage::Result<RaceRound> {
        let tz = self.store.workspace(self.workspace).await?.time_zone;
        let mut round = RaceRound::default();
        for document in self
            .store
            .documents(self.workspace, DocumentKind::Race)
            .await?
        {
            let doc = match parse_race(&document.name, &document.source, tz) {
                Ok(doc) => doc,
                Err(errors) => {
                    // Saved races were checked; one that no longer parses waits for a fix.
                    tracing::warn!(race = %document.name, problems = errors.len(), "race does not parse; skipped");
                    continue;
                }
            };
            if doc.platform == self.platform {
                self.keep(&doc, &mut round).await?;
            }
        }
        Ok(round)
    }

    async fn keep(&self, doc: &RaceDoc, round: &mut RaceRound) -> qunzhu_storage::Result<()> {
        let now = self.clock.now();
        if now < doc.spec.starts_at {
            return Ok(());
        }
        let store = &*self.store;
        let stored = match store.race(self.workspace, &doc.name).await? {
            Some(stored) => stored,
            None => {
                let baseline = metric_now(store, self.workspace, doc, now).await?;
                let (stored, fresh) = store
                    .open_race(
                        self.workspace,
                        NewRace {
                            name: doc.name.clone(),
                            platform: doc.platform,
                            metric: doc.spec.metric.as_str().to_string(),
                            opened_at: now,
                            baseline,
                        },
                    )
                    .await?;
                round.opened += usize::from(fresh);
                stored
            }
        };
        match stored.state {
            RaceState::Open if now < doc.spec.ends_at => {
                self.live_board(doc, &stored, now, round).await
            }
            RaceState::Open => {
                let finals = scores(metric_now(store, self.workspace, doc, now).await?);
                let mut race = race_of(doc, &stored);
                let awards = match race.settle(now, &finals) {
                    Ok(awards) => awards,
                    Err(error) => {
                        tracing::warn!(race = %doc.name, %error, "race not settled");
                        return Ok(());
                    }
                };
                let (stored, recorded) = store
                    .settle_race(self.workspace, &doc.name, now, awards)
                    .await?;
                round.settled += usize::from(recorded);
                self.pay(doc, &stored, now, round).await
            }
            RaceState::Settled => self.pay(doc, &stored, now, round).await,
            RaceState::Paid => Ok(()),
        }
    }

    /// The board of the slot due now, once per slot and group; a post that could not go out
    /// before the next slot expires rather than show stale scores.
    async fn live_board(
        &self,
        doc: &RaceDoc,
        stored: &StoredRace,
        now: DateTime<Utc>,
        round: &mut RaceRound,
    ) -> qunzhu_storage::Result<()> {
        let race = race_of(doc, stored);
        let Some(slot) = race.due_post(now) else {
            return Ok(());
        };
        let Some(last) = doc.groups.last() else {
            return Ok(());
        };
        // Written in one enqueue with the others, so the last group's key says all are written.
        match self
            .store
            .action_by_key(self.workspace, &keys::race_board(&doc.name, slot, last))
            .await
        {
            Ok(_) => return Ok(()),
            Err(StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
        let shown = usize::try_from(doc.spec.shown).unwrap_or(10);
        let ranked = standings(&*self.store, self.workspace, doc, stored, now, shown).await?;
        let text = race.board_text(&ranked);
        let until = slot + Duration::minutes(i64::from(doc.spec.post_every_minutes));
        let actions = doc
            .groups
            .iter()
            .map(|chat| {
                let mut action = self.say(
                    doc,
                    chat,
                    keys::race_board(&doc.name, slot, chat),
                    text.clone(),
                    vec![],
                    now,
                );
                action.expires_at = Some(until.min(doc.spec.ends_at));
                action
            })
            .collect();
        round.boards += self.store.enqueue(actions).await?;
        Ok(())
    }

    /// The result post in every group and each winner's prize, from the awards recorded; then
    /// the race is marked paid. Every action has its key, so doing this again writes nothing.
    async fn pay(
        &self,
        doc: &RaceDoc,
        stored: &StoredRace,
        now: DateTime<Utc>,
        round: &mut RaceRound,
    ) -> qunzhu_storage::Result<()> {
        let race = race_of(doc, stored);
        let shown = usize::try_from(doc.spec.shown).unwrap_or(10);
        let ranked = standings(&*self.store, self.workspace, doc, stored, now, shown).await?;
        let mut named: Vec<Award> = Vec::with_capacity(stored.awards.len());
        for award in &stored.awards {
            named.push(Award {
                member: display_name(&*self.store, self.workspace, doc.platform, &award.member)
                    .await,
                ..award.clone()
            });
        }
        let mut text = race.result_text(&named);
        if !ranked.is_empty() {
            text.push_str("\n\n最终排名：");
            for line in leaderboard::lines(doc.spec.metric, &ranked) {
                text.push('\n');
                text.push_str(&line);
            }
        }
        let winners: Vec<String> = stored
            .awards
            .iter()
            .map(|award| award.member.clone())
            .collect();
        let mut actions: Vec<NewAction> = doc
            .groups
            .iter()
            .map(|chat| {
                self.say(
                    doc,
                    chat,
                    keys::race_result(&doc.name, chat),
                    text.clone(),
                    winners.clone(),
                    now,
                )
            })
            .collect();
        let chat = doc.groups.first().cloned().unwrap_or_default();
        for award in &stored.awards {
            let memo = format!("「{}」第 {} 名", doc.spec.title, award.rank);
            let kind = match &award.prize {
                Prize::Points { points } => ActionKind::GrantReward {
                    member: award.member.clone(),
                    points: *points,
                    reason: memo,
                },
                Prize::Coupon { offer, valid_days } => ActionKind::IssueCoupon {
                    member: award.member.clone(),
                    offer: offer.clone(),
                    valid_days: *valid_days,
                    memo,
                },
            };
            actions.push(self.action(
                doc,
                &chat,
                keys::race_prize(&doc.name, &award.member),
                kind,
                now,
            ));
        }
        self.store.enqueue(actions).await?;
        if self.store.mark_race_paid(self.workspace, &doc.name).await? {
            round.paid += 1;
            tracing::info!(race = %doc.name, winners = stored.awards.len(), "race settled and paid");
        }
        Ok(())
    }

    fn say(
        &self,
        doc: &RaceDoc,
        chat: &str,
        key: String,
        text: String,
        mentions: Vec<String>,
        now: DateTime<Utc>,
    ) -> NewAction {
        let kind = ActionKind::SendMessage {
            text,
            html: None,
            mentions,
            reply_to: None,
        };
        self.action(doc, chat, key, kind, now)
    }

    fn action(
        &self,
        doc: &RaceDoc,
        chat: &str,
        key: String,
        kind: ActionKind,
        now: DateTime<Utc>,
    ) -> NewAction {
        NewAction {
            workspace: self.workspace,
            platform: doc.platform,
            chat: chat.to_string(),
            key,
            kind,
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::Race(doc.name.clone()),
            cause: None,
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
                tracing::error!(%error, "race round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "races_tests.rs"]
mod tests;
