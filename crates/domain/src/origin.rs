//! What decided an outbox action, as a closed enum instead of a free string.
//!
//! The outbox keeps the origin as TEXT (`rule:ads`, `sop:morning@v3/post`, `banlist:7/`) and the
//! console, reports and undo narrow by its prefix, so [`Display`](fmt::Display) writes exactly the
//! strings earlier versions wrote and [`ActionOrigin::parse`] reads every one of them back.
//! A stored text no current writer produces (an older version's `cli:review`) is read as
//! [`ActionOrigin::Legacy`], whose payload only `parse` can build: rows stay readable, and new code
//! cannot invent a free-form origin.

use crate::actor::ActorName;
use crate::model::CampaignId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What decided an action: a rule, a plan step, an operator, a subsystem of the engine.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionOrigin {
    /// `rule:<name>`: a rule of the rules document, or a built-in decider named like one
    /// (`rule:welcome.gift`, `rule:lurker:default`, `rule:banlist`).
    Rule(String),
    /// `sop:<plan>@v<version>/<step>` once planned; `sop:<plan>/<step>` as materialized.
    Sop {
        plan: String,
        version: Option<i64>,
        step: String,
    },
    /// `api:<actor>`: an operator's decision through the API (an undo).
    Api(ActorName),
    /// `ops:<actor>`: an operator's action from an analytics page.
    Ops(ActorName),
    /// `<actor>` alone (`user:ops`, `token:ci`, `cli`): an operator started it directly (a drop,
    /// an offer).
    Operator(ActorName),
    /// `livecode:<code>`: a live code's group rotation.
    LiveCode(String),
    /// `invite_page:<code>`: an invite landing page.
    InvitePage(String),
    /// `banlist:<ban id>/<step>`: what one ban caused; `banlist:<id>/` prefixes all of them.
    Ban { ban: i64, step: BanStep },
    /// `lottery:<id>`.
    Lottery(i64),
    /// `drop:<id>`: a red-packet drop.
    Drop(i64),
    /// `offer:<id>`: a flash-sale offer.
    Offer(i64),
    /// `campaign:<name>`, or `campaign:<name>.gift` for its join gift (the ledger files that
    /// as a join gift).
    Campaign { name: CampaignId, gift: bool },
    /// `flash:<plan>`: a flash group's keeper.
    Flash(String),
    /// `play:<name>`: a play document.
    Play(String),
    /// `race:<name>`: a leaderboard race's boards and prizes.
    Race(String),
    /// `command:<name>`: a member's chat command (`command:survey`).
    Command(String),
    /// `orders:showcase`: the invite sent after an order with a showcase.
    OrdersShowcase,
    /// `backroom`: the back-room (审核群) commands.
    Backroom,
    /// `checkin`: the daily check-in.
    Checkin,
    /// `swap`: a group swap.
    Swap,
    /// `game`: a group game.
    Game,
    /// `digest`: the daily digest.
    Digest,
    /// `poster`: an invite poster.
    Poster,
    /// `ledger.coupon`: a coupon issued by the ledger.
    LedgerCoupon,
    /// `ledger.balance`: a balance report.
    LedgerBalance,
    /// `ledger.join_coupon`: the coupon a join earns.
    LedgerJoinCoupon,
    /// A stored origin no current writer produces, kept verbatim.
    Legacy(LegacyOrigin),
}

/// Which of a ban's actions: the ban itself, the policy-room event, or its lifting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BanStep {
    /// `banlist:<id>/`: the kicks and bans the ban causes.
    Enforce,
    /// `banlist:<id>/policy`: the policy-list event recording it.
    Policy,
    /// `banlist:<id>/unban`: lifting it.
    Unban,
}

impl BanStep {
    fn as_str(self) -> &'static str {
        match self {
            BanStep::Enforce => "",
            BanStep::Policy => "policy",
            BanStep::Unban => "unban",
        }
    }
}

/// An origin text read from storage that matches no current shape; only
/// [`ActionOrigin::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegacyOrigin(String);

impl LegacyOrigin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ActionOrigin {
    /// Prefix of every rule's origin, for the store's prefix filters.
    pub const RULE_PREFIX: &'static str = "rule:";
    /// Prefix of every plan step's origin.
    pub const SOP_PREFIX: &'static str = "sop:";
    /// Prefix of every operator decision through the API.
    pub const API_PREFIX: &'static str = "api:";
    /// Prefix of every action an order causes.
    pub const ORDERS_PREFIX: &'static str = "orders:";

    /// `rule:<name>`.
    pub fn rule(name: impl Into<String>) -> ActionOrigin {
        ActionOrigin::Rule(name.into())
    }

    /// The prefix all of one ban's actions share (`banlist:<id>/`), for finding them to undo;
    /// the slash keeps ban 1 from matching ban 12.
    pub fn ban_prefix(ban: i64) -> String {
        format!("banlist:{ban}/")
    }

    /// The prefix of one plan version's steps (`sop:<plan>@v<version>/`), to cancel them when
    /// the plan is edited.
    pub fn sop_version_prefix(plan: &str, version: i64) -> String {
        format!("sop:{plan}@v{version}/")
    }

    /// Reads any stored origin text; what matches no current shape is kept as
    /// [`ActionOrigin::Legacy`], so `parse(text).to_string() == text` for every text.
    pub fn parse(text: &str) -> ActionOrigin {
        Self::parse_known(text)
            .unwrap_or_else(|| ActionOrigin::Legacy(LegacyOrigin(text.to_string())))
    }

    fn parse_known(text: &str) -> Option<ActionOrigin> {
        let unit = match text {
            "orders:showcase" => Some(ActionOrigin::OrdersShowcase),
            "backroom" => Some(ActionOrigin::Backroom),
            "checkin" => Some(ActionOrigin::Checkin),
            "swap" => Some(ActionOrigin::Swap),
            "game" => Some(ActionOrigin::Game),
            "digest" => Some(ActionOrigin::Digest),
            "poster" => Some(ActionOrigin::Poster),
            "ledger.coupon" => Some(ActionOrigin::LedgerCoupon),
            "ledger.balance" => Some(ActionOrigin::LedgerBalance),
            "ledger.join_coupon" => Some(ActionOrigin::LedgerJoinCoupon),
            _ => None,
        };
        if unit.is_some() {
            return unit;
        }
        if let Some(actor) = ActorName::parse(text) {
            return Some(ActionOrigin::Operator(actor));
        }
        let (head, rest) = text.split_once(':')?;
        let owned = || rest.to_string();
        Some(match head {
            "rule" => ActionOrigin::Rule(owned()),
            "sop" => {
                let (plan, step) = rest.split_once('/')?;
                let versioned = plan
                    .rsplit_once("@v")
                    .and_then(|(plan, version)| Some((plan, canonical_i64(version)?)));
                let (plan, version) = match versioned {
                    Some((plan, version)) => (plan, Some(version)),
                    None => (plan, None),
                };
                ActionOrigin::Sop {
                    plan: plan.to_string(),
                    version,
                    step: step.to_string(),
                }
            }
            "api" => ActionOrigin::Api(ActorName::parse(rest)?),
            "ops" => ActionOrigin::Ops(ActorName::parse(rest)?),
            "livecode" => ActionOrigin::LiveCode(owned()),
            "invite_page" => ActionOrigin::InvitePage(owned()),
            "banlist" => {
                let (ban, step) = rest.split_once('/')?;
                let step = match step {
                    "" => BanStep::Enforce,
                    "policy" => BanStep::Policy,
                    "unban" => BanStep::Unban,
                    _ => return None,
                };
                ActionOrigin::Ban {
                    ban: canonical_i64(ban)?,
                    step,
                }
            }
            "lottery" => ActionOrigin::Lottery(canonical_i64(rest)?),
            "drop" => ActionOrigin::Drop(canonical_i64(rest)?),
            "offer" => ActionOrigin::Offer(canonical_i64(rest)?),
            "campaign" => match rest.strip_suffix(".gift") {
                Some(name) => ActionOrigin::Campaign {
                    name: CampaignId(name.to_string()),
                    gift: true,
                },
                None => ActionOrigin::Campaign {
                    name: CampaignId(owned()),
                    gift: false,
                },
            },
            "flash" => ActionOrigin::Flash(owned()),
            "play" => ActionOrigin::Play(owned()),
            "race" => ActionOrigin::Race(owned()),
            "command" => ActionOrigin::Command(owned()),
            _ => return None,
        })
    }
}

/// A number written the way `Display` writes it (no sign, no leading zero), so that reading and
/// writing back gives the same text.
fn canonical_i64(text: &str) -> Option<i64> {
    let value: i64 = text.parse().ok()?;
    (value.to_string() == text).then_some(value)
}

impl fmt::Display for ActionOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionOrigin::Rule(name) => write!(f, "rule:{name}"),
            ActionOrigin::Sop {
                plan,
                version: Some(version),
                step,
            } => write!(f, "sop:{plan}@v{version}/{step}"),
            ActionOrigin::Sop {
                plan,
                version: None,
                step,
            } => write!(f, "sop:{plan}/{step}"),
            ActionOrigin::Api(actor) => write!(f, "api:{actor}"),
            ActionOrigin::Ops(actor) => write!(f, "ops:{actor}"),
            ActionOrigin::Operator(actor) => write!(f, "{actor}"),
            ActionOrigin::LiveCode(code) => write!(f, "livecode:{code}"),
            ActionOrigin::InvitePage(code) => write!(f, "invite_page:{code}"),
            ActionOrigin::Ban { ban, step } => write!(f, "banlist:{ban}/{}", step.as_str()),
            ActionOrigin::Lottery(id) => write!(f, "lottery:{id}"),
            ActionOrigin::Drop(id) => write!(f, "drop:{id}"),
            ActionOrigin::Offer(id) => write!(f, "offer:{id}"),
            ActionOrigin::Campaign { name, gift: true } => write!(f, "campaign:{name}.gift"),
            ActionOrigin::Campaign { name, gift: false } => write!(f, "campaign:{name}"),
            ActionOrigin::Flash(plan) => write!(f, "flash:{plan}"),
            ActionOrigin::Play(name) => write!(f, "play:{name}"),
            ActionOrigin::Race(name) => write!(f, "race:{name}"),
            ActionOrigin::Command(name) => write!(f, "command:{name}"),
            ActionOrigin::OrdersShowcase => f.write_str("orders:showcase"),
            ActionOrigin::Backroom => f.write_str("backroom"),
            ActionOrigin::Checkin => f.write_str("checkin"),
            ActionOrigin::Swap => f.write_str("swap"),
            ActionOrigin::Game => f.write_str("game"),
            ActionOrigin::Digest => f.write_str("digest"),
            ActionOrigin::Poster => f.write_str("poster"),
            ActionOrigin::LedgerCoupon => f.write_str("ledger.coupon"),
            ActionOrigin::LedgerBalance => f.write_str("ledger.balance"),
            ActionOrigin::LedgerJoinCoupon => f.write_str("ledger.join_coupon"),
            ActionOrigin::Legacy(text) => f.write_str(text.as_str()),
        }
    }
}

// As its stored text, in the outbox payloads and the API alike. There is deliberately no
// `From<String>`: a free-form origin is written only by calling `parse` on purpose.
impl Serialize for ActionOrigin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ActionOrigin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| ActionOrigin::parse(&text))
    }
}

/// Tests and templates compare against the stored text.
impl PartialEq<str> for ActionOrigin {
    fn eq(&self, text: &str) -> bool {
        let written = self.to_string();
        written == text
    }
}

impl PartialEq<&str> for ActionOrigin {
    fn eq(&self, text: &&str) -> bool {
        let written = self.to_string();
        written == *text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn every_shape() -> Vec<(&'static str, ActionOrigin)> {
        let user = || ActorName::User("ops".into());
        vec![
            ("rule:ads", ActionOrigin::rule("ads")),
            ("rule:welcome.gift", ActionOrigin::rule("welcome.gift")),
            ("rule:lurker:default", ActionOrigin::rule("lurker:default")),
            ("rule:faq:help#1", ActionOrigin::rule("faq:help#1")),
            (
                "sop:plan@v1/step",
                ActionOrigin::Sop {
                    plan: "plan".into(),
                    version: Some(1),
                    step: "step".into(),
                },
            ),
            (
                "sop:p1/menu",
                ActionOrigin::Sop {
                    plan: "p1".into(),
                    version: None,
                    step: "menu".into(),
                },
            ),
            ("api:user:ops", ActionOrigin::Api(user())),
            (
                "ops:token:ci",
                ActionOrigin::Ops(ActorName::Token("ci".into())),
            ),
            ("user:ops", ActionOrigin::Operator(user())),
            ("cli", ActionOrigin::Operator(ActorName::Cli)),
            ("livecode:vip", ActionOrigin::LiveCode("vip".into())),
            ("invite_page:c1", ActionOrigin::InvitePage("c1".into())),
            (
                "banlist:7/",
                ActionOrigin::Ban {
                    ban: 7,
                    step: BanStep::Enforce,
                },
            ),
            (
                "banlist:7/policy",
                ActionOrigin::Ban {
                    ban: 7,
                    step: BanStep::Policy,
                },
            ),
            (
                "banlist:7/unban",
                ActionOrigin::Ban {
                    ban: 7,
                    step: BanStep::Unban,
                },
            ),
            ("lottery:3", ActionOrigin::Lottery(3)),
            ("race:spring", ActionOrigin::Race("spring".into())),
            ("drop:7", ActionOrigin::Drop(7)),
            ("offer:12", ActionOrigin::Offer(12)),
            (
                "campaign:spring",
                ActionOrigin::Campaign {
                    name: CampaignId("spring".into()),
                    gift: false,
                },
            ),
            (
                "campaign:spring.gift",
                ActionOrigin::Campaign {
                    name: CampaignId("spring".into()),
                    gift: true,
                },
            ),
            ("flash:pop", ActionOrigin::Flash("pop".into())),
            ("play:bingo", ActionOrigin::Play("bingo".into())),
            ("command:survey", ActionOrigin::Command("survey".into())),
            ("orders:showcase", ActionOrigin::OrdersShowcase),
            ("backroom", ActionOrigin::Backroom),
            ("checkin", ActionOrigin::Checkin),
            ("swap", ActionOrigin::Swap),
            ("game", ActionOrigin::Game),
            ("digest", ActionOrigin::Digest),
            ("poster", ActionOrigin::Poster),
            ("ledger.coupon", ActionOrigin::LedgerCoupon),
            ("ledger.balance", ActionOrigin::LedgerBalance),
            ("ledger.join_coupon", ActionOrigin::LedgerJoinCoupon),
        ]
    }

    #[test]
    fn every_shape_writes_and_reads_todays_text() {
        for (text, origin) in every_shape() {
            assert_eq!(origin.to_string(), text);
            assert_eq!(ActionOrigin::parse(text), origin, "{text}");
        }
    }

    #[test]
    fn older_and_odd_texts_are_kept_verbatim() {
        for text in [
            "cli:review",
            "api:alice",
            "sop:morning",
            "drop:007",
            "drop:x",
            "banlist:7/other",
            "banlist",
            "test:send",
            "",
            "sop:a@v01/b",
        ] {
            let origin = ActionOrigin::parse(text);
            assert_eq!(origin.to_string(), text);
            if text != "sop:a@v01/b" {
                assert!(
                    matches!(origin, ActionOrigin::Legacy(_)),
                    "{text}: {origin:?}"
                );
            }
        }
    }

    #[test]
    fn serde_is_the_stored_text() {
        let origin = ActionOrigin::Ban {
            ban: 4,
            step: BanStep::Policy,
        };
        let json = serde_json::to_string(&origin).unwrap();
        assert_eq!(json, "\"banlist:4/policy\"");
        assert_eq!(serde_json::from_str::<ActionOrigin>(&json).unwrap(), origin);
    }

    #[test]
    fn ban_prefix_matches_only_its_own_ban() {
        let prefix = ActionOrigin::ban_prefix(1);
        assert!(ActionOrigin::Ban {
            ban: 1,
            step: BanStep::Unban
        }
        .to_string()
        .starts_with(&prefix));
        assert!(!ActionOrigin::Ban {
            ban: 12,
            step: BanStep::Enforce
        }
        .to_string()
        .starts_with(&prefix));
    }

    proptest! {
        // Whatever a row holds, reading and writing it back never changes it.
        #[test]
        fn any_text_survives_a_round_trip(text in ".{0,24}") {
            prop_assert_eq!(ActionOrigin::parse(&text).to_string(), text);
        }

        #[test]
        fn prefixed_texts_survive_a_round_trip(
            head in prop::sample::select(vec!["rule:", "sop:", "api:", "banlist:", "drop:", "campaign:", "user:", "ops:"]),
            tail in "[a-z0-9@/:.v]{0,12}",
        ) {
            let text = format!("{head}{tail}");
            prop_assert_eq!(ActionOrigin::parse(&text).to_string(), text);
        }
    }
}
