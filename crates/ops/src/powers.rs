//! Rule steps the bot cannot take: the stored powers of each group (from its connector) checked
//! against a rule file, for the group page (the rules in force) and a rule file's save answer.
//! Computed on every call from what is stored now, so a saved rule file shows its result at once.

use qunzhu_domain::{DocumentKind, Group, GroupId, Platform};
use qunzhu_engine::rules::ACTIVE_RULES;
use qunzhu_moderation::powers::{power_warnings, PowerWarning, Powers};
use qunzhu_moderation::RuleSet;
use qunzhu_storage::BotPowers;
use serde::Serialize;

use crate::{Actor, Ops, OpsError, Result};

/// Compiles a rule file off the async threads (a large keyword list takes a while); `None`
/// when it does not compile.
async fn compile(name: &str, source: &str) -> Result<Option<RuleSet>> {
    let (name, source) = (name.to_string(), source.to_string());
    tokio::task::spawn_blocking(move || qunzhu_moderation::check(&source, &name).ok())
        .await
        .map_err(|error| OpsError::Internal(format!("rule check stopped: {error}")))
}

/// One group's rule steps its bot may not take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupPowerWarnings {
    pub group_id: GroupId,
    pub platform: Platform,
    pub chat: String,
    pub name: String,
    /// The bot's level there (Matrix power level).
    pub level: i64,
    pub warnings: Vec<PowerWarning>,
}

/// What a group page says of the bot's powers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupPowers {
    /// The connector has not reported them (not yet seen, or a platform without them).
    Unknown,
    Known {
        powers: BotPowers,
        warnings: Vec<PowerWarning>,
    },
}

fn powers_of(stored: &BotPowers) -> Powers {
    Powers {
        can_redact: stored.can_redact,
        can_kick: stored.can_kick,
        can_ban: stored.can_ban,
        can_mute: stored.can_mute,
    }
}

impl Ops {
    /// The rule file the engine applies (the document named `rules`, else the first by name),
    /// compiled; `None` when there is none or it does not compile (the engine keeps the last
    /// good one, which the health page reports).
    async fn rules_in_force(&self, who: &Actor) -> Result<Option<RuleSet>> {
        let documents = self
            .store
            .documents(who.workspace, DocumentKind::Rules)
            .await?;
        let active = documents
            .iter()
            .find(|document| document.name == ACTIVE_RULES)
            .or(documents.first());
        Ok(active
            .and_then(|document| qunzhu_moderation::check(&document.source, &document.name).ok()))
    }

    /// The bot's stored powers in `group` and the steps of the rules in force it may not take.
    pub async fn group_powers(&self, who: &Actor, group: &Group) -> Result<GroupPowers> {
        let Some(powers) = self
            .store
            .bot_powers(who.workspace, group.platform, &group.chat)
            .await?
        else {
            return Ok(GroupPowers::Unknown);
        };
        let warnings = match self.rules_in_force(who).await? {
            Some(rules) => {
                power_warnings(&rules, &group.chat, group.group_type, &powers_of(&powers))
            }
            None => Vec::new(),
        };
        Ok(GroupPowers::Known { powers, warnings })
    }

    /// Every group with stored powers whose bot may not take a step `rules` ask for there.
    pub async fn power_warnings(
        &self,
        who: &Actor,
        rules: &RuleSet,
    ) -> Result<Vec<GroupPowerWarnings>> {
        let stored = self.store.all_bot_powers(who.workspace).await?;
        if stored.is_empty() {
            return Ok(Vec::new());
        }
        let groups = self.store.groups(who.workspace).await?;
        let mut out = Vec::new();
        for summary in groups {
            let group = summary.group;
            let Some(powers) = stored
                .iter()
                .find(|p| p.platform == group.platform && p.chat == group.chat)
            else {
                continue;
            };
            let warnings = power_warnings(rules, &group.chat, group.group_type, &powers_of(powers));
            if !warnings.is_empty() {
                out.push(GroupPowerWarnings {
                    group_id: group.id,
                    platform: group.platform,
                    chat: group.chat,
                    name: group.name,
                    level: powers.level,
                    warnings,
                });
            }
        }
        Ok(out)
    }

    /// [`Ops::power_warnings`] for a rule file's source; none for a file that does not compile
    /// (its problems are the answer then).
    pub async fn power_warnings_for_source(
        &self,
        who: &Actor,
        name: &str,
        source: &str,
    ) -> Result<Vec<GroupPowerWarnings>> {
        match compile(name, source).await? {
            Some(rules) => self.power_warnings(who, &rules).await,
            None => Ok(Vec::new()),
        }
    }
}
