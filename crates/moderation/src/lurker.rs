//! Lurker pruning: who has been silent too long, an optional warning, and removal actions.

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{ActionKind, MemberRole, MemberTier, Platform, WorkspaceId};
use serde::Serialize;

use crate::decision::{Decision, Target};
use crate::ruleset::LurkerPolicy;
use crate::template::Var;
use crate::welcome::mention_names;

/// One member of a group, as the roster knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub member: String,
    pub display_name: String,
    pub role: MemberRole,
    pub tier: MemberTier,
    pub joined_at: DateTime<Utc>,
    pub last_spoke_at: Option<DateTime<Utc>>,
}

/// A member the policy would prune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LurkerEntry {
    pub member: String,
    pub display_name: String,
    /// `None`: never spoke since joining.
    pub last_spoke_at: Option<DateTime<Utc>>,
    /// Whole days since they last spoke (or joined, if they never did).
    pub silent_days: i64,
}

/// Members silent for more than `policy.silent_days`, longest-silent first (ties by member id).
/// Never those who joined less than that long ago, nor exempt roles or tiers.
pub fn lurker_report(
    policy: &LurkerPolicy,
    roster: &[RosterEntry],
    now: DateTime<Utc>,
) -> Vec<LurkerEntry> {
    // `silent_days` is bounded when a rule file is checked, but the policy is a plain struct:
    // a day count past chrono's range means nobody has been silent that long.
    let Some(limit) = Duration::try_days(policy.silent_days) else {
        return Vec::new();
    };
    let mut entries: Vec<LurkerEntry> = roster
        .iter()
        .filter(|entry| {
            !policy.exempt_roles.contains(&entry.role) && !policy.exempt_tiers.contains(&entry.tier)
        })
        .filter(|entry| now - entry.joined_at > limit)
        .filter_map(|entry| {
            let silent_since = entry.last_spoke_at.unwrap_or(entry.joined_at);
            let silent = now - silent_since;
            (silent > limit).then(|| LurkerEntry {
                member: entry.member.clone(),
                display_name: entry.display_name.clone(),
                last_spoke_at: entry.last_spoke_at,
                silent_days: silent.num_days(),
            })
        })
        .collect();
    entries.sort_by(|a, b| {
        b.silent_days
            .cmp(&a.silent_days)
            .then_with(|| a.member.cmp(&b.member))
    });
    entries
}

/// The actions for a report: one warning naming them all (if the policy has one) and a kick
/// each (if it removes). Dry-run per the policy. Keys carry the report's day, so running the
/// same report twice in a day writes once.
pub fn lurker_decisions(
    policy: &LurkerPolicy,
    workspace: WorkspaceId,
    platform: Platform,
    chat: &str,
    group_name: &str,
    entries: &[LurkerEntry],
    now: DateTime<Utc>,
) -> Vec<Decision> {
    let mut decisions = Vec::new();
    if entries.is_empty() {
        return decisions;
    }
    let target = Target {
        workspace,
        platform,
        chat,
        now,
    };
    let day = now.format("%Y-%m-%d").to_string();
    let rule = format!("lurker:{}", policy.name);
    let cause = qunzhu_domain::keys::lurker_sweep(chat, &day);
    if let Some(warning) = &policy.warning {
        let names = mention_names(entries.iter().map(|entry| entry.display_name.as_str()));
        let text = warning.render(|var, text| match var {
            Var::Name => text.push_str(&names),
            Var::Days => text.push_str(&policy.silent_days.to_string()),
            Var::Group => text.push_str(group_name),
            _ => {}
        });
        let mentions = entries.iter().map(|entry| entry.member.clone()).collect();
        let kind = ActionKind::SendMessage {
            text,
            html: None,
            mentions,
            reply_to: None,
        };
        let mut audit = target.audit(&rule, format!("warn {}", entries.len()));
        audit.event_key = Some(cause.clone());
        audit.matched = Some(names);
        let action = target.action(
            qunzhu_domain::keys::lurker_warning(&cause),
            kind,
            &rule,
            Some(&cause),
            policy.dry_run,
        );
        decisions.push(Decision {
            action: Some(action),
            audit,
            dry_run: policy.dry_run,
        });
    }
    if policy.remove {
        for entry in entries {
            let reason = format!("超过 {} 天未发言", policy.silent_days);
            let kind = ActionKind::Kick {
                member: entry.member.clone(),
                reason,
            };
            let mut audit =
                target.audit(&rule, format!("kick (silent {} days)", entry.silent_days));
            audit.member = Some(entry.member.clone());
            audit.display_name = Some(entry.display_name.clone());
            audit.event_key = Some(cause.clone());
            audit.matched = Some(
                entry
                    .last_spoke_at
                    .map_or_else(|| "never spoke".to_string(), |at| at.to_rfc3339()),
            );
            let action = target.action(
                qunzhu_domain::keys::lurker_kick(&cause, &entry.member),
                kind,
                &rule,
                Some(&cause),
                policy.dry_run,
            );
            decisions.push(Decision {
                action: Some(action),
                audit,
                dry_run: policy.dry_run,
            });
        }
    }
    decisions
}
