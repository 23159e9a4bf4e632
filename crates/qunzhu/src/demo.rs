//! What `qunzhu demo` prepares before the sandbox comes alive: group names and types, a login,
//! a rule file written for the demo's groups, and a morning-report plan, so a newcomer sees the
//! whole loop at once — including knocks to review (some approved by the rules, some waiting).

use anyhow::Context;
use chrono::{DateTime, Utc};
use qunzhu_domain::{DocumentKind, GroupType, Platform};
use qunzhu_sandbox::chat_id;
use qunzhu_storage::{GroupUpdate, Store, StoreError, UserRole, Workspace};

use crate::config::Config;

const DEMO_LOGIN: &str = "demo";
/// The demo brand's rules: its groups' services, its shop's links, join review that approves
/// some knocks and queues the rest (the member group's always) for an operator.
const DEMO_RULES: &str = include_str!("demo_rules.toml");
/// Groups a demo has unless `--groups` says otherwise.
pub const DEFAULT_GROUPS: u16 = 6;
pub const MAX_GROUPS: u16 = 200;

/// The sandbox's behaviour for a demo of `groups` groups: busy enough to watch, with knocks;
/// a big demo talks less per group and starts with a week of history instead of a month, so it
/// is up in seconds rather than minutes.
pub fn configure(config: &mut Config, groups: u16, seed: u64) {
    let groups = groups.clamp(1, MAX_GROUPS);
    let big = groups > 20;
    config.sandbox.enabled = true;
    config.sandbox.history_days = if big { 7 } else { 30 };
    let behaviour = &mut config.sandbox.behaviour;
    behaviour.groups = usize::from(groups);
    behaviour.seed = seed;
    behaviour.messages_per_second = if big { 0.05 } else { 0.25 };
    behaviour.join_chance = if big { 0.01 } else { 0.03 };
    behaviour.spammer_share = 0.25;
    behaviour.knock_share = 0.35;
}

/// Prepares the demo workspace; returns the login and its password.
pub async fn seed(
    store: &dyn Store,
    workspace: &Workspace,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<(String, String)> {
    name_groups(store, workspace, config.sandbox.behaviour.groups).await?;
    let password = login(store, workspace, config).await?;
    if store
        .documents(workspace.id, DocumentKind::Rules)
        .await?
        .is_empty()
    {
        let kind = DocumentKind::Rules;
        store
            .put_document(
                workspace.id,
                kind,
                qunzhu_engine::rules::ACTIVE_RULES,
                DEMO_RULES,
                "demo",
                now,
            )
            .await?;
    }
    if store
        .documents(workspace.id, DocumentKind::SopPlan)
        .await?
        .is_empty()
    {
        let template = qunzhu_sop::template("daily-morning")
            .context("the daily-morning template is missing")?;
        let source = template.to_toml(qunzhu_sop::Target::all(), config.zone());
        store
            .put_document(
                workspace.id,
                DocumentKind::SopPlan,
                "daily-morning",
                &source,
                "demo",
                now,
            )
            .await?;
    }
    launch_post(store, workspace, config, now).await?;
    Ok((DEMO_LOGIN.to_string(), password))
}

/// A one-off post two minutes after every demo start, with a tracked link, so a newcomer sees a
/// scheduled post go out (and simulated members click it) without waiting for 07:30.
async fn launch_post(
    store: &dyn Store,
    workspace: &Workspace,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let local = (now + chrono::Duration::minutes(2)).with_timezone(&config.zone());
    let source = format!(
        r#"id = "demo-launch"
name = "演示：新品限时福利"
[target]
all = true
[links]
shop = "https://shop.example.com/demo"

[[steps]]
id = "launch"
title = "新品福利"
repeat = "once"
date = "{date}"
at = "{time}"
text = "🎁 {{group}}专享：新品限时 8 折，今晚 24 点截止 👉 {{link:shop}}"
"#,
        date = local.format("%Y-%m-%d"),
        time = local.format("%H:%M"),
    );
    store
        .put_document(
            workspace.id,
            DocumentKind::SopPlan,
            "demo-launch",
            &source,
            "demo",
            now,
        )
        .await?;
    Ok(())
}

/// The demo login's password: made once, kept beside the data, printed on every start.
async fn login(
    store: &dyn Store,
    workspace: &Workspace,
    config: &Config,
) -> anyhow::Result<String> {
    let path = config.data_dir.join("demo-login.txt");
    if store.user_by_login(DEMO_LOGIN).await?.is_some() {
        if let Ok(password) = std::fs::read_to_string(&path) {
            return Ok(password.trim().to_string());
        }
        anyhow::bail!(
            "the demo login exists but {} is gone; delete the data directory to start over",
            path.display()
        );
    }
    let password = format!("qz-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
    qunzhu_server::create_user(store, workspace.id, DEMO_LOGIN, &password, UserRole::Owner)
        .await
        .map_err(|error| anyhow::anyhow!("cannot create the demo login: {error:?}"))?;
    write_private(&path, &password).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(password)
}

/// Writes a secret readable by its owner only (`0600` on Unix), from its first byte on.
pub fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        // An existing file keeps its mode on open; narrow it first.
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    options.open(path)?.write_all(text.as_bytes())
}

/// Gives the sandbox groups the names and types an operator would.
async fn name_groups(
    store: &dyn Store,
    workspace: &Workspace,
    groups: usize,
) -> Result<(), StoreError> {
    const NAMES: &[(&str, GroupType)] = &[
        ("瑜伽打卡营 · 1群", GroupType::CheckIn),
        ("新品福利群 · 上海", GroupType::Traffic),
        ("双11快闪群", GroupType::Flash),
        ("育儿知识分享群", GroupType::Content),
        ("黑金会员群", GroupType::Member),
        ("新品福利群 · 杭州", GroupType::Traffic),
    ];
    for index in 0..groups {
        let group = store
            .ensure_group(workspace.id, Platform::Sandbox, &chat_id(index))
            .await?;
        if group.name != group.chat {
            continue;
        }
        let (name, group_type) = NAMES[index % NAMES.len()];
        // Past the six names, a round number keeps every name apart (… · 上海 2).
        let name = match index / NAMES.len() {
            0 => name.to_string(),
            round => format!("{name} {}", round + 1),
        };
        let update = GroupUpdate {
            name: Some(name),
            group_type: Some(group_type),
            capacity: Some(500),
            ..GroupUpdate::default()
        };
        store.update_group(workspace.id, group.id, update).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_rules_pass_the_checker_and_review_knocks() {
        let rules = qunzhu_moderation::check(DEMO_RULES, "demo_rules.toml")
            .map_err(|problems| format!("{problems:?}"))
            .unwrap();
        assert!(!rules.keyword_lists().is_empty());
        assert!(
            DEMO_RULES.contains("shop.example.com"),
            "the demo's links are allowed"
        );
    }

    #[test]
    fn a_big_demo_is_lighter_per_group_and_knocks() {
        let mut config = Config::default();
        configure(&mut config, 200, 7);
        assert_eq!(config.sandbox.behaviour.groups, 200);
        assert_eq!(config.sandbox.history_days, 7);
        assert!(config.sandbox.behaviour.knock_share > 0.0);
        configure(&mut config, DEFAULT_GROUPS, 7);
        assert_eq!(
            (config.sandbox.behaviour.groups, config.sandbox.history_days),
            (6, 30)
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_demo_password_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo-login.txt");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::write_private(&path, "qz-secret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (mode, std::fs::read_to_string(&path).unwrap()),
            (0o600, "qz-secret".into())
        );
        let fresh = dir.path().join("fresh.txt");
        super::write_private(&fresh, "x").unwrap();
        assert_eq!(
            std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
