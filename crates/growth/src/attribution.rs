//! Order attribution: which group, SOP push, campaign, live code and inviter an order counts
//! for, from the touches the member had before it (their joins, the tracked link they came
//! through), under the operator's model (last touch by default, first touch available).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which touch wins when several carry the same dimension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionModel {
    /// The most recent touch before the order: what closed the sale.
    #[default]
    LastTouch,
    /// The earliest touch: what brought the member in.
    FirstTouch,
}

impl AttributionModel {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributionModel::LastTouch => "last_touch",
            AttributionModel::FirstTouch => "first_touch",
        }
    }

    /// The error lists the accepted names.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "last_touch" => Ok(AttributionModel::LastTouch),
            "first_touch" => Ok(AttributionModel::FirstTouch),
            other => Err(format!(
                "unknown attribution model `{other}`, expected one of: last_touch, first_touch"
            )),
        }
    }
}

/// One thing that happened to the member before the order, with what it can be credited for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touch {
    pub at: DateTime<Utc>,
    pub chat: Option<String>,
    /// The SOP push (outbox action key) whose tracked link it was.
    pub push: Option<String>,
    pub campaign: Option<String>,
    /// The live code or invite link code the member joined through.
    pub live_code: Option<String>,
    /// The member who brought them.
    pub inviter: Option<String>,
}

/// What an order is credited to; each dimension is decided on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub chat: Option<String>,
    pub push: Option<String>,
    pub campaign: Option<String>,
    pub live_code: Option<String>,
    pub inviter: Option<String>,
}

/// Attributes an order placed at `order_at`. Per dimension, only touches at or before the order
/// that carry it compete (a join through a live code credits the code even when a later push
/// link closed the sale); of equal instants the one listed later counts as later.
pub fn attribute(
    model: AttributionModel,
    touches: &[Touch],
    order_at: DateTime<Utc>,
) -> Attribution {
    let mut eligible: Vec<(usize, &Touch)> = touches
        .iter()
        .enumerate()
        .filter(|(_, touch)| touch.at <= order_at)
        .collect();
    eligible.sort_by_key(|(index, touch)| (touch.at, *index));
    if model == AttributionModel::LastTouch {
        eligible.reverse();
    }
    let pick = |field: fn(&Touch) -> &Option<String>| {
        eligible.iter().find_map(|(_, touch)| field(touch).clone())
    };
    Attribution {
        chat: pick(|touch| &touch.chat),
        push: pick(|touch| &touch.push),
        campaign: pick(|touch| &touch.campaign),
        live_code: pick(|touch| &touch.live_code),
        inviter: pick(|touch| &touch.inviter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_000_000 + minute * 60, 0).unwrap_or_default()
    }

    /// `join:<chat>:<campaign|->:<code|->:<inviter|->@minute` or `push:<chat>:<push>@minute`.
    fn touch(text: &str) -> Touch {
        let (body, minute) = text.rsplit_once('@').expect("touch@minute");
        let parts: Vec<&str> = body.split(':').collect();
        let some = |part: &str| (part != "-").then(|| part.to_string());
        match parts.as_slice() {
            ["join", chat, campaign, code, inviter] => Touch {
                at: at(minute.parse().expect("minute")),
                chat: some(chat),
                campaign: some(campaign),
                live_code: some(code),
                inviter: some(inviter),
                push: None,
            },
            ["push", chat, push] => Touch {
                at: at(minute.parse().expect("minute")),
                chat: some(chat),
                push: some(push),
                ..Touch::default()
            },
            _ => panic!("bad touch {text}"),
        }
    }

    fn show(attribution: &Attribution) -> String {
        let part = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
        format!(
            "chat={} push={} campaign={} code={} inviter={}",
            part(&attribution.chat),
            part(&attribution.push),
            part(&attribution.campaign),
            part(&attribution.live_code),
            part(&attribution.inviter)
        )
    }

    #[test]
    fn attribution_rules() {
        use AttributionModel::{FirstTouch as First, LastTouch as Last};
        let cases: &[(AttributionModel, &[&str], i64, &str)] = &[
            // No touches: nothing is credited.
            (Last, &[], 10, "chat=- push=- campaign=- code=- inviter=-"),
            // One join through a campaign code: every dimension it has.
            (
                Last,
                &["join:g1:spring:c1:@bob@0"],
                10,
                "chat=g1 push=- campaign=spring code=c1 inviter=@bob",
            ),
            // Last touch: the later push link takes the group, the join keeps campaign and code.
            (
                Last,
                &["join:g1:spring:c1:@bob@0", "push:g2:sop-p-s-1@5"],
                10,
                "chat=g2 push=sop-p-s-1 campaign=spring code=c1 inviter=@bob",
            ),
            // First touch: the join's group wins; the push is still the only push.
            (
                First,
                &["join:g1:spring:c1:@bob@0", "push:g2:sop-p-s-1@5"],
                10,
                "chat=g1 push=sop-p-s-1 campaign=spring code=c1 inviter=@bob",
            ),
            // Two campaigns: last touch credits the later, first touch the earlier.
            (
                Last,
                &["join:g1:spring:c1:@bob@0", "join:g2:autumn:c2:@amy@3"],
                10,
                "chat=g2 push=- campaign=autumn code=c2 inviter=@amy",
            ),
            (
                First,
                &["join:g1:spring:c1:@bob@0", "join:g2:autumn:c2:@amy@3"],
                10,
                "chat=g1 push=- campaign=spring code=c1 inviter=@bob",
            ),
            // Touches after the order do not count.
            (
                Last,
                &["join:g1:spring:c1:@bob@0", "join:g2:autumn:c2:@amy@30"],
                10,
                "chat=g1 push=- campaign=spring code=c1 inviter=@bob",
            ),
            // A later join without a campaign takes the group but not the campaign.
            (
                Last,
                &["join:g1:spring:c1:@bob@0", "join:g2:-:-:-@3"],
                10,
                "chat=g2 push=- campaign=spring code=c1 inviter=@bob",
            ),
            // Equal instants: the one listed later is the later touch.
            (
                Last,
                &["push:g1:a@5", "push:g2:b@5"],
                10,
                "chat=g2 push=b campaign=- code=- inviter=-",
            ),
            (
                First,
                &["push:g1:a@5", "push:g2:b@5"],
                10,
                "chat=g1 push=a campaign=- code=- inviter=-",
            ),
            // A touch at the order's instant counts.
            (
                Last,
                &["push:g1:a@10"],
                10,
                "chat=g1 push=a campaign=- code=- inviter=-",
            ),
        ];
        for (model, touches, order_minute, expected) in cases {
            let touches: Vec<Touch> = touches.iter().map(|text| touch(text)).collect();
            let got = attribute(*model, &touches, at(*order_minute));
            assert_eq!(show(&got), *expected, "{model:?} {touches:?}");
        }
    }

    #[test]
    fn models_parse_by_name() {
        assert_eq!(
            AttributionModel::parse("first_touch"),
            Ok(AttributionModel::FirstTouch)
        );
        let error = AttributionModel::parse("linear").unwrap_err();
        assert!(error.contains("last_touch, first_touch"), "{error}");
    }
}
