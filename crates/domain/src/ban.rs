//! The brand-wide ban list 黑名单: who is banned from every group of a workspace, why, by whom
//! and since when, and which followed Matrix policy lists count.
//!
//! A ban names an entity on one platform: an exact member id, a glob (`@*:spam.example`), or a
//! whole server (`m.policy.rule.server`). It comes from the brand itself (console, API, CLI)
//! or from a followed policy list, which counts only once an operator enforced it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::EventKind;
use crate::model::{Platform, WorkspaceId};

string_enum! {
    /// What a ban's entity names: members (ids or globs) or whole servers.
    BanTarget { User => "user", Server => "server" }
}

string_enum! {
    /// Whether a followed list's rules are only shown (who would be banned where) or enforced.
    ListMode { DryRun => "dry_run", Enforced => "enforced" }
}

/// Where a ban came from: the brand's own decision or a followed policy list room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "from", content = "room", rename_all = "snake_case")]
pub enum BanSource {
    Own,
    List(String),
}

impl BanSource {
    /// The stored form: empty for the brand's own, else the list's room id.
    pub fn as_stored(&self) -> &str {
        match self {
            BanSource::Own => "",
            BanSource::List(room) => room,
        }
    }

    pub fn from_stored(text: &str) -> Self {
        if text.is_empty() {
            BanSource::Own
        } else {
            BanSource::List(text.to_string())
        }
    }
}

/// A ban about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBan {
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub target: BanTarget,
    /// A member id, a glob with `*` and `?`, or a server name (globs allowed).
    pub entity: String,
    pub reason: String,
    /// Who decided: a console user, `cli`, or the list's rule sender.
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    pub source: BanSource,
}

/// A recorded ban; `id` is new for every decision, so a ban lifted and decided again plans
/// its actions again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    pub id: i64,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    pub target: BanTarget,
    pub entity: String,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    pub source: BanSource,
}

/// A policy list room the workspace follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyList {
    pub workspace: WorkspaceId,
    pub room: String,
    pub mode: ListMode,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// Whether `entity` is a glob (`*` any run, `?` one character) rather than one exact name.
pub fn is_glob(entity: &str) -> bool {
    entity.contains(['*', '?'])
}

/// Matches `text` against a glob of `*` and `?`, the policy lists' entity syntax.
/// Iterative with one backtrack point, so it is linear-ish and never recurses.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let pattern: Vec<char> = glob.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// The server part of a Matrix id (`@alice:example.org` → `example.org`).
pub fn server_of(member: &str) -> Option<&str> {
    member.split_once(':').map(|(_, server)| server)
}

/// What a policy rule's state event type names: the current `m.policy.rule.*` types and the
/// two older spellings (`m.room.rule.*`, `org.matrix.mjolnir.rule.*`) long-lived lists still
/// carry; room rules and anything else are not bans of members.
pub fn policy_rule_target(rule_type: &str) -> Option<BanTarget> {
    match rule_type {
        "m.policy.rule.user" | "m.room.rule.user" | "org.matrix.mjolnir.rule.user" => {
            Some(BanTarget::User)
        }
        "m.policy.rule.server" | "m.room.rule.server" | "org.matrix.mjolnir.rule.server" => {
            Some(BanTarget::Server)
        }
        _ => None,
    }
}

/// Whether a rule's recommendation is a ban (`m.ban`, or the legacy mjolnir spelling); the spec
/// says rules with other recommendations are ignored by clients that do not know them.
pub fn is_ban_recommendation(recommendation: &str) -> bool {
    matches!(recommendation, "m.ban" | "org.matrix.mjolnir.ban")
}

/// Whether an entity from someone else's list may become a ban: not empty, not only
/// wildcards (which would ban everyone), and a user rule names `@…`.
pub fn acceptable_entity(target: BanTarget, entity: &str) -> bool {
    let entity = entity.trim();
    !entity.is_empty()
        && !entity.chars().all(|c| c == '*' || c == '?')
        && (target == BanTarget::Server || entity.starts_with('@'))
        && entity.chars().count() <= 255
}

/// A ban rule a followed list holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRule {
    pub target: BanTarget,
    pub entity: String,
    pub reason: String,
    pub sender: String,
    pub at: DateTime<Utc>,
}

/// The ban rules a list holds now, from its logged rule events newest first (`(event key,
/// time, kind)`): per rule (type and state key) the newest event stands, unless it was emptied
/// or redacted; rules that are not bans, or name nobody sensible, hold nothing. Two rules
/// naming one entity make one ban (the newest).
pub fn standing_rules<'a>(
    newest_first: impl IntoIterator<Item = (&'a str, DateTime<Utc>, &'a EventKind)>,
) -> Vec<ListedRule> {
    let mut redacted: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut decided: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::new();
    let mut named: std::collections::HashSet<(BanTarget, String)> =
        std::collections::HashSet::new();
    let mut rules = Vec::new();
    for (key, at, kind) in newest_first {
        let EventKind::PolicyRuleChanged {
            rule_type,
            state_key,
            entity,
            recommendation,
            reason,
            sender,
            redacts,
        } = kind
        else {
            continue;
        };
        if let Some(target) = redacts {
            redacted.insert(target.as_str());
            continue;
        }
        let (Some(rule_type), Some(state_key)) = (rule_type, state_key) else {
            continue;
        };
        if !decided.insert((rule_type.as_str(), state_key.as_str())) {
            // An older state of a rule already decided by a newer event.
            continue;
        }
        let (Some(target), Some(entity)) = (policy_rule_target(rule_type), entity) else {
            continue;
        };
        if redacted.contains(key)
            || !recommendation.as_deref().is_some_and(is_ban_recommendation)
            || !acceptable_entity(target, entity)
            || !named.insert((target, entity.trim().to_string()))
        {
            continue;
        }
        rules.push(ListedRule {
            target,
            entity: entity.trim().to_string(),
            reason: reason.clone().unwrap_or_default(),
            sender: sender.clone(),
            at,
        });
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_policy_lists() {
        for (glob, text, expected) in [
            ("@*:spam.example", "@bob:spam.example", true),
            ("@*:spam.example", "@bob:spam.example.org", false),
            ("@bob:x", "@bob:x", true),
            ("@b?b:x", "@bab:x", true),
            ("@b?b:x", "@bb:x", false),
            ("*", "", true),
            ("*.example", "evil.example", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("", "a", false),
        ] {
            assert_eq!(glob_matches(glob, text), expected, "{glob} vs {text}");
        }
        assert!(is_glob("@*:x") && !is_glob("@a:x"));
        assert_eq!(server_of("@a:b.c"), Some("b.c"));
        assert_eq!(BanSource::from_stored(""), BanSource::Own);
        assert_eq!(BanSource::from_stored("!r").as_stored(), "!r");
    }

    fn rule(
        rule_type: &str,
        state_key: &str,
        entity: Option<&str>,
        recommendation: &str,
    ) -> EventKind {
        EventKind::PolicyRuleChanged {
            rule_type: Some(rule_type.into()),
            state_key: Some(state_key.into()),
            entity: entity.map(str::to_string),
            recommendation: Some(recommendation.into()),
            reason: Some("spam".into()),
            sender: "@mod:list".into(),
            redacts: None,
        }
    }

    #[test]
    fn a_list_holds_its_newest_unredacted_ban_rules() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let redaction = EventKind::PolicyRuleChanged {
            rule_type: None,
            state_key: None,
            entity: None,
            recommendation: None,
            reason: None,
            sender: "@mod:list".into(),
            redacts: Some("$c1".into()),
        };
        // Newest first, as the log is read back.
        let events = [
            ("$e2", rule("m.policy.rule.user", "e", None, "m.ban")),
            (
                "$e1",
                rule("m.policy.rule.user", "e", Some("@e:x"), "m.ban"),
            ),
            ("$r", redaction),
            (
                "$c1",
                rule("m.policy.rule.user", "c", Some("@c:x"), "m.ban"),
            ),
            (
                "$b2",
                rule("m.policy.rule.user", "b", Some("@b2:x"), "m.ban"),
            ),
            (
                "$b1",
                rule("m.policy.rule.user", "b", Some("@b1:x"), "m.ban"),
            ),
            ("$a", rule("m.policy.rule.user", "a", Some("@a:x"), "m.ban")),
            (
                "$legacy",
                rule(
                    "m.room.rule.server",
                    "s",
                    Some("evil.example"),
                    "org.matrix.mjolnir.ban",
                ),
            ),
            (
                "$other",
                rule("m.policy.rule.user", "o", Some("@o:x"), "org.example.watch"),
            ),
            (
                "$star",
                rule("m.policy.rule.user", "star", Some("*"), "m.ban"),
            ),
            (
                "$noat",
                rule("m.policy.rule.user", "n", Some("bob"), "m.ban"),
            ),
            (
                "$room",
                rule("m.policy.rule.room", "r", Some("!r:x"), "m.ban"),
            ),
            ("$dup", rule("m.room.rule.user", "a", Some("@a:x"), "m.ban")),
        ];
        let standing = standing_rules(events.iter().map(|(key, kind)| (*key, at, kind)));
        let names: Vec<(BanTarget, &str)> = standing
            .iter()
            .map(|rule| (rule.target, rule.entity.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (BanTarget::User, "@b2:x"),
                (BanTarget::User, "@a:x"),
                (BanTarget::Server, "evil.example"),
            ],
            "emptied, redacted, replaced, non-ban, everyone-globs and room rules hold nothing"
        );
        assert_eq!(standing[0].sender, "@mod:list");
    }
}
