//! What the SOP pushes did, for the calendar's cards, the 推送效果 page and `sop pushes`:
//! read from the read models (outbox, push renders, link clicks), never from the log.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use qunzhu_engine::{push_reports, push_reports_in, PushOutcome, PushReport};
use qunzhu_storage::PushWindow;
use serde::Serialize;

use crate::{Actor, Ops, Result};

/// How the pushes of one calendar card (one step at one time, across its groups) turned out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CardOutcome {
    pub sent: u64,
    pub late: u64,
    pub failed: u64,
    pub skipped: u64,
    pub queued: u64,
    pub reach: u64,
    pub clicks: u64,
    pub replies: u64,
}

impl CardOutcome {
    fn add(&mut self, report: &PushReport) {
        match report.outcome() {
            PushOutcome::Sent => self.sent += 1,
            PushOutcome::Late => self.late += 1,
            PushOutcome::Failed => self.failed += 1,
            PushOutcome::Skipped => self.skipped += 1,
            PushOutcome::Queued => self.queued += 1,
        }
        self.reach += report.reach;
        self.clicks += report.clicks;
        self.replies += report.replies_within_hour;
    }

    /// Whether any of its pushes went out (then reach, clicks and replies mean something).
    pub fn went_out(&self) -> bool {
        self.sent + self.late > 0
    }
}

/// One push with its group's name, for lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushEntry {
    #[serde(flatten)]
    pub report: PushReport,
    pub outcome: PushOutcome,
    pub group: String,
    pub plan: String,
    pub step: String,
    /// Orders credited to this push (refunds not counted), from the orders read model.
    pub orders: u64,
    /// Their revenue net of refunds, in cents.
    pub revenue_cents: i64,
}

/// `(plan id, step, scheduled)`: one calendar card.
type CardKey = (String, String, DateTime<Utc>);

/// At most this many pushes of one calendar window are read: a week of 200 groups × many steps.
const CALENDAR_PUSHES: usize = 20_000;

impl Ops {
    /// The latest `limit` SOP pushes, newest first, with group names.
    pub async fn pushes(&self, who: &Actor, limit: usize) -> Result<Vec<PushEntry>> {
        let names: HashMap<String, String> = self
            .store
            .groups(who.workspace)
            .await?
            .into_iter()
            .map(|summary| (summary.group.chat, summary.group.name))
            .collect();
        let reports = push_reports(&*self.store, who.workspace, limit).await?;
        let keys: Vec<String> = reports.iter().map(|report| report.key.clone()).collect();
        let revenue: HashMap<String, qunzhu_storage::Revenue> = self
            .store
            .push_revenue(who.workspace, &keys)
            .await?
            .into_iter()
            .map(|revenue| (revenue.key.clone(), revenue))
            .collect();
        Ok(reports
            .into_iter()
            .map(|report| {
                let credited = revenue.get(&report.key).cloned().unwrap_or_default();
                let (plan, step) = report
                    .plan_step()
                    .map(|(plan, _, step)| (plan.to_string(), step.to_string()))
                    .unwrap_or_default();
                PushEntry {
                    outcome: report.outcome(),
                    group: names
                        .get(&report.chat)
                        .cloned()
                        .unwrap_or_else(|| report.chat.clone()),
                    plan,
                    step,
                    orders: credited.orders,
                    revenue_cents: credited.revenue_cents,
                    report,
                }
            })
            .collect())
    }

    /// Outcomes per `(plan id, step, scheduled)` of the pushes scheduled in `[from, until)`; of
    /// several versions of one push (a plan edited), the newest counts.
    pub(crate) async fn card_outcomes(
        &self,
        who: &Actor,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<HashMap<CardKey, CardOutcome>> {
        let window = PushWindow {
            from: Some(from),
            until: Some(until),
            limit: CALENDAR_PUSHES,
        };
        let reports = push_reports_in(&*self.store, who.workspace, window).await?;
        // Per card and group: the newest version's push.
        let mut newest: BTreeMap<(CardKey, String), (u32, PushReport)> = BTreeMap::new();
        for report in reports {
            let Some((plan, version, step)) = report.plan_step() else {
                continue;
            };
            let key = (
                (plan.to_string(), step.to_string(), report.scheduled),
                report.chat.clone(),
            );
            if newest.get(&key).is_none_or(|(known, _)| version > *known) {
                newest.insert(key, (version, report));
            }
        }
        let mut cards: HashMap<CardKey, CardOutcome> = HashMap::new();
        for ((card, _), (_, report)) in newest {
            cards.entry(card).or_default().add(&report);
        }
        Ok(cards)
    }
}
