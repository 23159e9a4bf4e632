//! Distribution (分销): which members earn a commission on an order, by the operator's rules.
//!
//! A rule names who it pays (the member who brought the buyer, or the owner of the group the
//! order is attributed to), what qualifies them (a group of at least N members they own, at least
//! M referrals still present), and a share of the order in basis points. A refund is a negative
//! order, so its commission is negative too: the earner gives back what the refund took away.

use serde::{Deserialize, Serialize};

/// Who a rule pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommissionBasis {
    /// The member credited with bringing the buyer (the order's inviter).
    Referrer,
    /// The member who owns the group the order is attributed to.
    GroupOwner,
}

/// One operator rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommissionRule {
    /// Stable name: part of each commission's ledger key.
    pub name: String,
    pub basis: CommissionBasis,
    /// Share of the order in basis points (1,000 = 10%), at most 10,000.
    pub share_bp: u32,
    /// The earner must own a group of at least this many present members.
    #[serde(default)]
    pub min_group_members: u64,
    /// The earner must have brought at least this many members who are still present.
    #[serde(default)]
    pub min_referrals: u64,
}

impl CommissionRule {
    /// Checks a rule; the error names the field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.name.trim().is_empty()
            || self.name.contains(char::is_whitespace)
            || self.name.contains(':')
        {
            return Err((
                "name",
                format!(
                    "`{}` must be a non-empty word without spaces or `:`",
                    self.name
                ),
            ));
        }
        if self.share_bp == 0 || self.share_bp > 10_000 {
            return Err((
                "share_bp",
                format!("must be between 1 and 10000, got {}", self.share_bp),
            ));
        }
        Ok(())
    }
}

/// What is known about a possible earner when the order arrives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Earner {
    pub member: String,
    /// The size of the largest group they own.
    pub largest_group: u64,
    /// Members they brought who are still present.
    pub referrals: u64,
}

/// The order as commission rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionOrder {
    pub order_id: String,
    pub buyer: String,
    pub amount_cents: i64,
    pub referrer: Option<Earner>,
    pub group_owner: Option<Earner>,
}

/// One commission earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commission {
    pub rule: String,
    pub earner: String,
    /// Rounded half away from zero, so an order and its full refund cancel exactly.
    pub amount_cents: i64,
}

impl Commission {
    /// The idempotency key of its ledger entry: once per order and rule.
    pub fn key(&self, order_id: &str) -> String {
        qunzhu_domain::keys::commission(order_id, &self.rule)
    }
}

/// The commissions an order earns; nobody earns on their own purchase.
pub fn commissions(rules: &[CommissionRule], order: &CommissionOrder) -> Vec<Commission> {
    rules
        .iter()
        .filter_map(|rule| {
            let earner = match rule.basis {
                CommissionBasis::Referrer => order.referrer.as_ref(),
                CommissionBasis::GroupOwner => order.group_owner.as_ref(),
            }?;
            let qualifies = earner.member != order.buyer
                && earner.largest_group >= rule.min_group_members
                && earner.referrals >= rule.min_referrals;
            let share = i128::from(order.amount_cents) * i128::from(rule.share_bp);
            let rounded = (share.abs() + 5_000) / 10_000 * share.signum();
            let amount_cents = i64::try_from(rounded).unwrap_or(0);
            (qualifies && amount_cents != 0).then(|| Commission {
                rule: rule.name.clone(),
                earner: earner.member.clone(),
                amount_cents,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // The case tables read better as plain tuples.
mod tests {
    use super::*;

    fn rule(
        name: &str,
        basis: CommissionBasis,
        share_bp: u32,
        group: u64,
        referrals: u64,
    ) -> CommissionRule {
        CommissionRule {
            name: name.into(),
            basis,
            share_bp,
            min_group_members: group,
            min_referrals: referrals,
        }
    }

    fn earner(member: &str, largest_group: u64, referrals: u64) -> Option<Earner> {
        Some(Earner {
            member: member.into(),
            largest_group,
            referrals,
        })
    }

    #[test]
    fn commission_rules() {
        use CommissionBasis::{GroupOwner, Referrer};
        let builder = rule("builder", GroupOwner, 1_000, 40, 1);
        let seller = rule("seller", Referrer, 500, 0, 0);
        let rules = vec![builder, seller];
        // (amount, referrer, owner) → commissions as "rule:earner:cents"
        let cases: Vec<(i64, Option<Earner>, Option<Earner>, Vec<&str>)> = vec![
            // A 40-member group and one referral qualifies the owner for 10%; the referrer gets 5%.
            (
                10_000,
                earner("@amy", 0, 0),
                earner("@own", 40, 1),
                vec!["builder:@own:1000", "seller:@amy:500"],
            ),
            // 39 members: the owner does not qualify.
            (10_000, None, earner("@own", 39, 5), vec![]),
            // No referral yet: does not qualify.
            (10_000, None, earner("@own", 120, 0), vec![]),
            // A refund claws back the same share, rounded the same way.
            (
                -10_000,
                earner("@amy", 0, 0),
                earner("@own", 40, 1),
                vec!["builder:@own:-1000", "seller:@amy:-500"],
            ),
            // Rounding half away from zero: 5% of 1,010 is 50.5 → 51; of −1,010 → −51.
            (1_010, earner("@amy", 0, 0), None, vec!["seller:@amy:51"]),
            (-1_010, earner("@amy", 0, 0), None, vec!["seller:@amy:-51"]),
            // The buyer never earns on their own order.
            (10_000, earner("@buyer", 0, 0), None, vec![]),
            // A share that rounds to nothing is no commission.
            (5, earner("@amy", 0, 0), None, vec![]),
        ];
        for (amount, referrer, group_owner, expected) in cases {
            let order = CommissionOrder {
                order_id: "o1".into(),
                buyer: "@buyer".into(),
                amount_cents: amount,
                referrer,
                group_owner,
            };
            let got: Vec<String> = commissions(&rules, &order)
                .iter()
                .map(|c| format!("{}:{}:{}", c.rule, c.earner, c.amount_cents))
                .collect();
            assert_eq!(got, expected, "{order:?}");
        }
    }

    #[test]
    fn rules_are_checked_by_field() {
        let bad = rule("a b", CommissionBasis::Referrer, 100, 0, 0);
        assert_eq!(bad.validate().unwrap_err().0, "name");
        let bad = rule("ok", CommissionBasis::Referrer, 10_001, 0, 0);
        assert_eq!(bad.validate().unwrap_err().0, "share_bp");
        assert!(rule("ok", CommissionBasis::GroupOwner, 10_000, 40, 1)
            .validate()
            .is_ok());
    }

    #[test]
    fn keys_are_per_order_and_rule() {
        let commission = Commission {
            rule: "seller".into(),
            earner: "@a".into(),
            amount_cents: 1,
        };
        assert_eq!(commission.key("o1"), "commission:o1:seller");
    }
}
