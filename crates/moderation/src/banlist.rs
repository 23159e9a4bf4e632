//! The brand-wide ban list compiled for the hot path: exact ids and servers in hash maps, globs
//! in one `RegexSet` per platform, so a lookup costs a hash or two however long the list is.
//!
//! Compiling is also where the guard rail sits: a rule that would match the brand's own staff
//! or the bot (a glob over the brand's server, the bot's own id) is refused with the reason
//! and never enforced. Rules of followed lists still in dry-run are kept apart, to be shown.

use std::collections::HashMap;
use std::sync::Arc;

use qunzhu_domain::ban::{glob_matches, is_glob, server_of};
use qunzhu_domain::{ActionKind, Ban, BanSource, BanTarget, Event, Platform};
use regex::RegexSet;
use serde::Serialize;

use crate::decision::{Decision, Target};

/// The ban a member matched, carried into the action and its audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanHit {
    pub ban_id: i64,
    pub entity: Arc<str>,
    pub reason: Arc<str>,
    pub source: BanSource,
}

impl BanHit {
    fn of(ban: &Ban) -> Self {
        BanHit {
            ban_id: ban.id,
            entity: ban.entity.as_str().into(),
            reason: ban.reason.as_str().into(),
            source: ban.source.clone(),
        }
    }
}

/// A rule that was not compiled because it would hit someone it must never hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub ban_id: i64,
    pub entity: String,
    pub source: BanSource,
    /// The protected id it matches (a staff member or the bot).
    pub protects: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rule `{}` refused: it matches `{}`, who is staff or the bot",
            self.entity, self.protects
        )
    }
}

#[derive(Debug, Default)]
struct PlatformBans {
    users: HashMap<Box<str>, BanHit>,
    servers: HashMap<Box<str>, BanHit>,
    user_globs: Option<RegexSet>,
    user_glob_hits: Vec<BanHit>,
    server_globs: Option<RegexSet>,
    server_glob_hits: Vec<BanHit>,
}

/// The compiled list; the empty list costs one hash-map miss per lookup.
#[derive(Debug, Default)]
pub struct BanList {
    platforms: HashMap<Platform, PlatformBans>,
    len: usize,
}

/// What compiling a ban list produced besides the list itself.
#[derive(Debug, Default)]
pub struct Compiled {
    pub list: BanList,
    pub refused: Vec<Refusal>,
}

/// Whether `ban` matches `member` (the slow, uncompiled form, for guards and previews).
pub fn ban_matches(ban: &Ban, member: &str) -> bool {
    match ban.target {
        BanTarget::User => glob_matches(&ban.entity, member),
        BanTarget::Server => {
            server_of(member).is_some_and(|server| glob_matches(&ban.entity, server))
        }
    }
}

fn glob_regex(glob: &str) -> String {
    let mut regex = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            c => regex.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    regex.push('$');
    regex
}

impl BanList {
    /// Compiles `bans`, refusing any that match one of `protected` (staff and the bot, per
    /// platform). The caller passes only bans in force (own bans and enforced lists).
    pub fn compile<'a>(
        bans: impl IntoIterator<Item = &'a Ban>,
        protected: &[(Platform, String)],
    ) -> Compiled {
        let mut compiled = Compiled::default();
        let mut globs: HashMap<(Platform, BanTarget), (Vec<String>, Vec<BanHit>)> = HashMap::new();
        for ban in bans {
            if let Some((_, who)) = protected
                .iter()
                .find(|(platform, who)| *platform == ban.platform && ban_matches(ban, who))
            {
                compiled.refused.push(Refusal {
                    ban_id: ban.id,
                    entity: ban.entity.clone(),
                    source: ban.source.clone(),
                    protects: who.clone(),
                });
                continue;
            }
            compiled.list.len += 1;
            let platform = compiled.list.platforms.entry(ban.platform).or_default();
            let hit = BanHit::of(ban);
            if is_glob(&ban.entity) {
                let slot = globs.entry((ban.platform, ban.target)).or_default();
                slot.0.push(glob_regex(&ban.entity));
                slot.1.push(hit);
                continue;
            }
            let map = match ban.target {
                BanTarget::User => &mut platform.users,
                BanTarget::Server => &mut platform.servers,
            };
            // The oldest decision stands when two sources ban the same id.
            map.entry(ban.entity.as_str().into()).or_insert(hit);
        }
        for ((platform, target), (patterns, hits)) in globs {
            let Ok(set) = RegexSet::new(&patterns) else {
                // Escaped globs always compile; a size limit is the only way here.
                continue;
            };
            let bans = compiled.list.platforms.entry(platform).or_default();
            match target {
                BanTarget::User => {
                    bans.user_globs = Some(set);
                    bans.user_glob_hits = hits;
                }
                BanTarget::Server => {
                    bans.server_globs = Some(set);
                    bans.server_glob_hits = hits;
                }
            }
        }
        compiled
    }

    /// Rules in force.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ban `member` falls under on `platform`, if any.
    pub fn hit(&self, platform: Platform, member: &str) -> Option<&BanHit> {
        let bans = self.platforms.get(&platform)?;
        if let Some(hit) = bans.users.get(member) {
            return Some(hit);
        }
        let server = server_of(member);
        if let Some(hit) = server.and_then(|server| bans.servers.get(server)) {
            return Some(hit);
        }
        if let Some(set) = &bans.user_globs {
            if let Some(index) = set.matches(member).iter().next() {
                return bans.user_glob_hits.get(index);
            }
        }
        if let (Some(set), Some(server)) = (&bans.server_globs, server) {
            if let Some(index) = set.matches(server).iter().next() {
                return bans.server_glob_hits.get(index);
            }
        }
        None
    }
}

/// The decision for a banned member seen in a group: banned there (or their request denied),
/// keyed by the ban and the group, so seeing them again writes nothing new.
pub(crate) fn ban_decision(
    target: &Target<'_>,
    event: &Event,
    member: &str,
    hit: &BanHit,
    asking: bool,
) -> Decision {
    let key = qunzhu_domain::keys::brand_ban(hit.ban_id, target.chat, member);
    let reason = hit.reason.to_string();
    let kind = if asking {
        ActionKind::DecideJoinRequest {
            member: member.to_string(),
            approve: false,
            reason,
        }
    } else {
        ActionKind::Ban {
            member: member.to_string(),
            reason,
        }
    };
    let mut audit = target.audit("banlist", kind.name());
    audit.member = Some(member.to_string());
    audit.event_key = Some(event.key.clone());
    audit.matched = Some(hit.entity.to_string());
    let mut action = target.action(key, kind, "banlist", Some(&event.key), false);
    // The ban's id names every action it causes, so lifting it finds them (see the engine).
    action.origin = qunzhu_domain::ActionOrigin::Ban {
        ban: hit.ban_id,
        step: qunzhu_domain::BanStep::Enforce,
    };
    Decision {
        action: Some(action),
        audit,
        dry_run: false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use qunzhu_domain::WorkspaceId;

    use super::*;

    fn ban(id: i64, target: BanTarget, entity: &str) -> Ban {
        Ban {
            id,
            workspace: WorkspaceId(1),
            platform: Platform::Matrix,
            target,
            entity: entity.into(),
            reason: format!("r{id}"),
            decided_by: "admin".into(),
            decided_at: Utc::now(),
            source: BanSource::Own,
        }
    }

    #[test]
    fn lookups_cover_ids_servers_and_globs_and_refuse_staff() {
        let bans = [
            ban(1, BanTarget::User, "@spam:x.org"),
            ban(2, BanTarget::Server, "evil.example"),
            ban(3, BanTarget::User, "@bot?:*.net"),
            ban(4, BanTarget::Server, "*.spam"),
            ban(5, BanTarget::User, "@*:brand.cn"),
            ban(6, BanTarget::User, "@qunzhu:brand.cn"),
        ];
        let protected = vec![
            (Platform::Matrix, "@qunzhu:brand.cn".to_string()),
            (Platform::Matrix, "@admin:brand.cn".to_string()),
        ];
        let compiled = BanList::compile(&bans, &protected);
        assert_eq!(
            compiled
                .refused
                .iter()
                .map(|refusal| refusal.ban_id)
                .collect::<Vec<_>>(),
            [5, 6]
        );
        assert!(compiled.refused[0].to_string().contains("@*:brand.cn"));
        let list = compiled.list;
        assert_eq!(list.len(), 4);
        for (member, expected) in [
            ("@spam:x.org", Some(1)),
            ("@anyone:evil.example", Some(2)),
            ("@bot7:mass.net", Some(3)),
            ("@bob:a.spam", Some(4)),
            ("@admin:brand.cn", None),
            ("@spam:x.org.cn", None),
            ("@bot77:mass.net", None),
        ] {
            assert_eq!(
                list.hit(Platform::Matrix, member).map(|hit| hit.ban_id),
                expected,
                "{member}"
            );
        }
        assert_eq!(list.hit(Platform::Telegram, "@spam:x.org"), None);
    }

    #[test]
    fn the_guardian_bans_listed_members_wherever_they_show_up() {
        use crate::testkit::*;
        use qunzhu_domain::{EventKind, MemberRole};
        let mut guardian = guardian("[profiles.p]\ndefault = true\n");
        let compiled = BanList::compile(&[ban(9, BanTarget::User, "@spam:x.org")], &[]);
        guardian.replace_bans(Arc::new(compiled.list));
        let asking = event(
            "$k",
            t(0),
            EventKind::JoinRequested {
                member: "@spam:x.org".into(),
                display_name: None,
                reason: None,
            },
        );
        for (event, who, expected) in [
            (
                join("$j", t(0), "@spam:x.org", "s"),
                member(),
                vec!["ban @spam:x.org"],
            ),
            (
                message("$m", t(1), "@spam:x.org", "hi"),
                member(),
                vec!["ban @spam:x.org"],
            ),
            (
                asking,
                member(),
                vec!["decide_join_request @spam:x.org false"],
            ),
            (message("$o", t(2), "@ok:x.org", "hi"), member(), vec![]),
            (
                message("$s", t(3), "@spam:x.org", "hi"),
                facts(MemberRole::Admin, "a", None),
                vec![],
            ),
        ] {
            let decisions = guardian.on_event(&event, &group(), &who, t(5));
            assert_eq!(summary(&decisions), expected, "{}", event.key);
        }
        let again = guardian.on_event(
            &join("$j2", t(9), "@spam:x.org", "s"),
            &group(),
            &member(),
            t(9),
        );
        assert_eq!(
            again[0].action.as_ref().map(|action| action.key.as_str()),
            Some("banlist:9:!g:example.org:@spam:x.org"),
            "one key per ban, group and member"
        );
    }
}
