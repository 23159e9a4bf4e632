//! Join review 审核: approve, deny or hand to a person, with the reason.

use qunzhu_domain::{ActionKind, Event};
use serde::Serialize;

use crate::decision::{Decision, Target};
use crate::normalize::normalize;
use crate::ruleset::{ReviewPolicy, Verdict};

/// What the engine knows about someone asking to join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinFacts<'a> {
    pub display_name: &'a str,
    /// What they wrote when knocking, if anything.
    pub reason: Option<&'a str>,
}

/// The review's answer and why, in the operators' language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewDecision {
    #[serde(serialize_with = "verdict_name")]
    pub verdict: Verdict,
    pub reason: String,
}

fn verdict_name<S: serde::Serializer>(verdict: &Verdict, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(verdict.as_str())
}

/// Decides a join request. Order: names denied by pattern, then by keyword (name or reason),
/// then a missing reason goes to a person, then reasons approved by pattern, then `otherwise`.
pub fn review_join(policy: &ReviewPolicy, facts: &JoinFacts<'_>) -> ReviewDecision {
    let name = normalize(facts.display_name);
    if let Some(found) = policy
        .deny_names
        .iter()
        .find_map(|pattern| pattern.find(&name))
    {
        return ReviewDecision {
            verdict: Verdict::Deny,
            reason: format!("昵称命中拒绝规则「{}」", found.as_str()),
        };
    }
    let reason = facts
        .reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty());
    let mut text = name;
    if let Some(reason) = reason {
        text.push('\n');
        text.push_str(&normalize(reason));
    }
    if let Some(word) = policy.keywords.first_hit(&text, &policy.deny_lists) {
        return ReviewDecision {
            verdict: Verdict::Deny,
            reason: format!("昵称或入群理由含违禁词「{word}」"),
        };
    }
    let Some(reason) = reason else {
        if policy.require_reason {
            return ReviewDecision {
                verdict: Verdict::Queue,
                reason: "未填写入群理由，转人工审核".to_string(),
            };
        }
        return otherwise(policy);
    };
    if let Some(found) = policy
        .approve_reasons
        .iter()
        .find_map(|pattern| pattern.find(reason))
    {
        return ReviewDecision {
            verdict: Verdict::Approve,
            reason: format!("入群理由符合「{}」", found.as_str()),
        };
    }
    otherwise(policy)
}

fn otherwise(policy: &ReviewPolicy) -> ReviewDecision {
    let reason = match policy.otherwise {
        Verdict::Approve => "未命中任何规则，默认通过",
        Verdict::Deny => "未命中任何规则，默认拒绝",
        Verdict::Queue => "未命中任何规则，转人工审核",
    };
    ReviewDecision {
        verdict: policy.otherwise,
        reason: reason.to_string(),
    }
}

/// The guardian's decision for a `JoinRequested` event: approve/deny actions, or an audit-only
/// decision when a person must look.
pub(crate) fn review_decision(
    policy: &ReviewPolicy,
    target: &Target<'_>,
    event: &Event,
    member: &str,
    name: &str,
    reason: Option<&str>,
) -> Decision {
    let decision = review_join(
        policy,
        &JoinFacts {
            display_name: name,
            reason,
        },
    );
    let rule = format!("review:{}", policy.name);
    let mut audit = target.audit(
        &rule,
        format!("{}：{}", decision.verdict.as_str(), decision.reason),
    );
    audit.member = Some(member.to_string());
    audit.display_name = Some(name.to_string());
    audit.event_key = Some(event.key.clone());
    audit.excerpt = reason.map(crate::decision::excerpt);
    let action = match decision.verdict {
        Verdict::Queue => None,
        verdict => {
            let kind = ActionKind::DecideJoinRequest {
                member: member.to_string(),
                approve: verdict == Verdict::Approve,
                reason: decision.reason,
            };
            Some(target.action(
                qunzhu_domain::keys::review_notice(&event.chat, &event.key),
                kind,
                &rule,
                Some(&event.key),
                false,
            ))
        }
    };
    Decision {
        action,
        audit,
        dry_run: false,
    }
}
