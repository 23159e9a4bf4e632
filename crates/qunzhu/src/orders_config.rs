//! The `[orders]` section: the shop's webhook secret, the attribution model, the 晒单 invitation,
//! commission rules and the cash value of a point for ROI.

use qunzhu_growth::attribution::AttributionModel;
use qunzhu_growth::commission::CommissionRule;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrdersSection {
    /// The HMAC-SHA256 key the shop signs with (or `QUNZHU_ORDERS_SECRET`); empty turns the
    /// webhook off. Never logged.
    pub secret: qunzhu_matrix::Secret,
    /// `last_touch` (default) or `first_touch`.
    pub attribution: String,
    /// Invite the buyer to post a 晒单; off with `false`.
    pub showcase: bool,
    /// Days after an order in which a post counts as its showcase.
    pub showcase_days: u32,
    /// What the bot says, with the buyer mentioned; `{hashtag}` is filled.
    pub showcase_text: String,
    /// A text post with this counts as a showcase (an image always does).
    pub showcase_hashtag: String,
    /// What one ledger point costs the operator, in cents (campaign ROI counts rewards with it).
    pub point_value_cents: i64,
    /// Distribution (分销) rules: `[[orders.commission]] name, basis = "referrer" |
    /// "group_owner", share_bp, min_group_members, min_referrals`.
    pub commission: Vec<CommissionRule>,
}

impl Default for OrdersSection {
    fn default() -> Self {
        OrdersSection {
            secret: qunzhu_matrix::Secret::default(),
            attribution: "last_touch".into(),
            showcase: true,
            showcase_days: 7,
            showcase_text: "感谢下单！欢迎在群里晒单：发一张照片，或带上 {hashtag} 说说体验～"
                .into(),
            showcase_hashtag: "#晒单".into(),
            point_value_cents: 1,
            commission: Vec::new(),
        }
    }
}

impl OrdersSection {
    /// The policy the webhook applies; the error names the key.
    pub fn policy(&self) -> Result<qunzhu_ops::OrderPolicy, String> {
        let model = AttributionModel::parse(self.attribution.trim())
            .map_err(|error| format!("orders.attribution: {error}"))?;
        if !(1..=90).contains(&self.showcase_days) {
            return Err(format!(
                "orders.showcase_days: 1 to 90, got {}",
                self.showcase_days
            ));
        }
        if self.point_value_cents < 0 {
            return Err(format!(
                "orders.point_value_cents: not negative, got {}",
                self.point_value_cents
            ));
        }
        for (index, rule) in self.commission.iter().enumerate() {
            rule.validate().map_err(|(field, message)| {
                format!("orders.commission[{index}].{field}: {message}")
            })?;
            if self.commission[..index]
                .iter()
                .any(|earlier| earlier.name == rule.name)
            {
                return Err(format!(
                    "orders.commission[{index}].name: `{}` is used twice",
                    rule.name
                ));
            }
        }
        let showcase = self.showcase.then(|| qunzhu_ops::ShowcasePolicy {
            window: chrono::Duration::days(i64::from(self.showcase_days)),
            text: self.showcase_text.clone(),
            hashtag: self.showcase_hashtag.trim().to_string(),
        });
        Ok(qunzhu_ops::OrderPolicy {
            model,
            showcase,
            commission_rules: self.commission.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_checked_by_key() {
        let parse = |text: &str| -> Result<qunzhu_ops::OrderPolicy, String> {
            #[derive(Deserialize)]
            struct Wrapper {
                orders: OrdersSection,
            }
            let wrapper: Wrapper = toml::from_str(text).map_err(|error| error.to_string())?;
            wrapper.orders.policy()
        };
        let ok = parse("[orders]\nsecret = \"s\"\nattribution = \"first_touch\"\n[[orders.commission]]\nname = \"builder\"\nbasis = \"group_owner\"\nshare_bp = 1000\nmin_group_members = 40\nmin_referrals = 1\n").expect("valid");
        assert_eq!(ok.model, AttributionModel::FirstTouch);
        assert_eq!(ok.commission_rules.len(), 1);
        assert_eq!(
            ok.showcase.map(|s| s.window),
            Some(chrono::Duration::days(7))
        );
        let cases = [
            ("[orders]\nattribution = \"linear\"\n", "orders.attribution"),
            ("[orders]\nshowcase_days = 0\n", "orders.showcase_days"),
            ("[orders]\n[[orders.commission]]\nname = \"a b\"\nbasis = \"referrer\"\nshare_bp = 10\n", "orders.commission[0].name"),
            ("[orders]\n[[orders.commission]]\nname = \"a\"\nbasis = \"referrer\"\nshare_bp = 20000\n", "orders.commission[0].share_bp"),
            ("[orders]\nsecrett = \"typo\"\n", "unknown field"),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
