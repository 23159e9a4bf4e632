//! Campaign ROI: what a campaign cost (entered costs plus the rewards its ledger accounts paid
//! out), what it brought (attributed revenue, acquired members), and the ratios between them.

use serde::Serialize;

/// The facts about one campaign, as the read models hold them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignFacts {
    pub campaign: String,
    /// Costs the operator entered (prizes bought, ads), in cents.
    pub entered_cents: i64,
    /// Points paid out of the campaign's ledger accounts.
    pub reward_points: i64,
    /// Attributed revenue net of refunds, in cents.
    pub revenue_cents: i64,
    pub orders: u64,
    /// Members who joined through the campaign's codes.
    pub acquired: u64,
}

/// A campaign's ROI line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignRoi {
    pub campaign: String,
    pub entered_cents: i64,
    pub reward_points: i64,
    pub reward_cents: i64,
    pub cost_cents: i64,
    pub revenue_cents: i64,
    pub orders: u64,
    pub acquired: u64,
    /// (revenue − cost) / cost; `None` while nothing was spent.
    pub roi: Option<f64>,
    /// cost / acquired, rounded to the cent; `None` while nobody was acquired.
    pub cost_per_acquired_cents: Option<i64>,
}

/// `point_value_cents` is what one point costs the operator (a reward's cash value).
pub fn campaign_roi(facts: &CampaignFacts, point_value_cents: i64) -> CampaignRoi {
    let reward_cents = facts.reward_points.saturating_mul(point_value_cents);
    let cost_cents = facts.entered_cents.saturating_add(reward_cents);
    let roi =
        (cost_cents != 0).then(|| (facts.revenue_cents - cost_cents) as f64 / cost_cents as f64);
    let cost_per_acquired_cents = (facts.acquired > 0).then(|| {
        let acquired = i64::try_from(facts.acquired).unwrap_or(i64::MAX);
        (cost_cents + acquired / 2).div_euclid(acquired)
    });
    CampaignRoi {
        campaign: facts.campaign.clone(),
        entered_cents: facts.entered_cents,
        reward_points: facts.reward_points,
        reward_cents,
        cost_cents,
        revenue_cents: facts.revenue_cents,
        orders: facts.orders,
        acquired: facts.acquired,
        roi,
        cost_per_acquired_cents,
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // The case tables read better as plain tuples.
mod tests {
    use super::*;

    #[test]
    fn roi_and_cost_per_member() {
        // (entered, points, point value, revenue, acquired) → (cost, roi, cost per member)
        let cases: &[(i64, i64, i64, i64, u64, i64, Option<f64>, Option<i64>)] = &[
            (10_000, 0, 1, 30_000, 4, 10_000, Some(2.0), Some(2_500)),
            (10_000, 500, 10, 30_000, 3, 15_000, Some(1.0), Some(5_000)),
            (0, 0, 1, 5_000, 0, 0, None, None),
            (1_000, 0, 1, 0, 3, 1_000, Some(-1.0), Some(333)),
            (2_000, 0, 1, 1_000, 3, 2_000, Some(-0.5), Some(667)),
        ];
        for &(entered, points, value, revenue, acquired, cost, roi, per) in cases {
            let facts = CampaignFacts {
                campaign: "spring".into(),
                entered_cents: entered,
                reward_points: points,
                revenue_cents: revenue,
                orders: 1,
                acquired,
            };
            let line = campaign_roi(&facts, value);
            assert_eq!(line.cost_cents, cost, "{facts:?}");
            assert_eq!(line.roi, roi, "{facts:?}");
            assert_eq!(line.cost_per_acquired_cents, per, "{facts:?}");
        }
    }
}
