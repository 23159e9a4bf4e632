//! The brand-wide ban list 黑名单: who is banned from every group of a workspace, why, by whom
//! and since when, and which followed Matrix policy lists count.
//!
//! A ban names an entity on one platform: an exact member id, a glob (`@*:spam.example`), or a
//! whole server (`m.policy.rule.server`). It comes from the brand itself (console, API, CLI)
//! or from a followed policy list, which counts only once an operator enforced it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
}
