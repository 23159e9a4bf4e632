//! What an outbox action was for, from its origin and kind: moderation (审核处理) apart from the
//! welcome ritual, FAQ answers, rewards and posts, so lists and totals never mix them.

use qunzhu_domain::{ActionKind, ActionOrigin};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionClass {
    /// Rule enforcement and operator decisions: warnings, removals, mutes, join review.
    Moderation,
    /// Welcome messages and 群规.
    Welcome,
    Faq,
    /// Points and gifts: check-ins, welcome gifts, any `grant_reward`.
    Reward,
    /// SOP posts and person tasks.
    Post,
    Other,
}

impl ActionClass {
    pub const ALL: [ActionClass; 6] = [
        ActionClass::Moderation,
        ActionClass::Welcome,
        ActionClass::Faq,
        ActionClass::Reward,
        ActionClass::Post,
        ActionClass::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionClass::Moderation => "moderation",
            ActionClass::Welcome => "welcome",
            ActionClass::Faq => "faq",
            ActionClass::Reward => "reward",
            ActionClass::Post => "post",
            ActionClass::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<ActionClass> {
        ActionClass::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Origin prefixes that can hold actions of this class (the store narrows by these; then
    /// [`classify`] decides).
    pub fn origins(self) -> &'static [&'static str] {
        match self {
            ActionClass::Moderation => &[ActionOrigin::RULE_PREFIX, ActionOrigin::API_PREFIX],
            ActionClass::Welcome | ActionClass::Faq => &[ActionOrigin::RULE_PREFIX],
            ActionClass::Reward => &[ActionOrigin::RULE_PREFIX, "checkin"],
            ActionClass::Post => &[ActionOrigin::SOP_PREFIX],
            ActionClass::Other => &[],
        }
    }
}

/// The class of one action.
pub fn classify(origin: &ActionOrigin, kind: &ActionKind) -> ActionClass {
    let rule = match origin {
        ActionOrigin::Rule(name) => Some(name.as_str()),
        _ => None,
    };
    if matches!(kind, ActionKind::GrantReward { .. })
        || matches!(origin, ActionOrigin::Checkin)
        || rule.is_some_and(|r| r.starts_with("welcome.gift"))
    {
        return ActionClass::Reward;
    }
    if matches!(origin, ActionOrigin::Sop { .. }) || matches!(kind, ActionKind::PersonTask { .. }) {
        return ActionClass::Post;
    }
    match rule {
        Some(r) if r == "welcome" || r.starts_with("welcome:") || r.starts_with("grouprules") => {
            ActionClass::Welcome
        }
        Some(r) if r.starts_with("faq") => ActionClass::Faq,
        Some(_) => ActionClass::Moderation,
        None if matches!(origin, ActionOrigin::Api(_)) => ActionClass::Moderation,
        None => ActionClass::Other,
    }
}

/// Whether a moderation action took (or will take) effect: not a dry run, not cancelled.
pub fn counts_as_taken(status: qunzhu_domain::ActionStatus) -> bool {
    !matches!(
        status,
        qunzhu_domain::ActionStatus::DryRun | qunzhu_domain::ActionStatus::Skipped
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> ActionKind {
        ActionKind::SendMessage {
            text: String::new(),
            html: None,
            mentions: vec![],
            reply_to: None,
        }
    }

    #[test]
    fn welcome_faq_and_rewards_are_not_moderation() {
        let kick = ActionKind::Kick {
            member: "@a".into(),
            reason: String::new(),
        };
        let reward = ActionKind::GrantReward {
            member: "@a".into(),
            points: 1,
            reason: String::new(),
        };
        for (origin, kind, expected) in [
            ("rule:welcome", message(), ActionClass::Welcome),
            ("rule:faq:help#1", message(), ActionClass::Faq),
            ("rule:welcome.gift", reward.clone(), ActionClass::Reward),
            ("checkin", reward, ActionClass::Reward),
            ("rule:ads", message(), ActionClass::Moderation),
            ("rule:ads", kick.clone(), ActionClass::Moderation),
            ("rule:lurker:default", kick.clone(), ActionClass::Moderation),
            ("api:user:ops", kick, ActionClass::Moderation),
            ("sop:morning@v1/post", message(), ActionClass::Post),
            ("sop:morning/post", message(), ActionClass::Post),
            ("test:send", message(), ActionClass::Other),
        ] {
            assert_eq!(
                classify(&ActionOrigin::parse(origin), &kind),
                expected,
                "{origin}"
            );
        }
    }
}
