//! What the console and the API both do: each operation checks the role, stays inside the
//! principal's workspace, and writes one audit entry when it changes something.

use chrono::{DateTime, Duration, Utc};
use qunzhu_domain::{ActionKind, Event, EventKind, Group, Member, NewAction, Platform};
use qunzhu_storage::{
    ApiToken, Document, GroupUpdate, MemberUpdate, NewAuditEntry, StoredEvent, User, UserRole,
};
use serde::Serialize;
use serde_json::json;

use crate::auth::{random_secret, sha256_hex, Principal, TOKEN_PREFIX};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::stats::zone_of;
use crate::validate::{self, Problem, PLANS, RULES};
use crate::{Change, Ctx};

/// Writes the audit entry for a change a person made.
pub async fn audit(
    ctx: &Ctx,
    who: &Principal,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> ApiResult<()> {
    let entry = NewAuditEntry {
        workspace: who.workspace,
        at: ctx.app.clock.now(),
        actor: who.actor.clone(),
        action: action.to_string(),
        subject: subject.to_string(),
        detail,
    };
    ctx.app.store.append_audit(entry).await?;
    Ok(())
}

/// Why a document was not saved.
#[derive(Debug)]
pub enum SaveError {
    /// The source does not pass its checker; nothing was stored.
    Problems(Vec<Problem>),
    Api(ApiError),
}

impl From<ApiError> for SaveError {
    fn from(error: ApiError) -> Self {
        SaveError::Api(error)
    }
}

impl From<SaveError> for ApiError {
    fn from(error: SaveError) -> Self {
        match error {
            SaveError::Api(error) => error,
            SaveError::Problems(problems) => {
                let first = problems.first();
                let message = problems
                    .iter()
                    .map(|p| match p.line {
                        Some(line) => format!("line {line}: {}", p.message),
                        None => p.message.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                ApiError {
                    code: ErrorCode::InvalidInput,
                    message,
                    field: Some(first.map_or("source".into(), Problem::field)),
                }
            }
        }
    }
}

/// Checks and saves a rule file or plan, announces it to the engine, and audits it.
pub async fn save_document(
    ctx: &Ctx,
    who: &Principal,
    kind: &str,
    name: &str,
    source: &str,
) -> Result<Document, SaveError> {
    who.require(UserRole::Operator)?;
    validate::check_name(name).map_err(|message| ApiError::invalid("name", message))?;
    validate::check(kind, name, source).map_err(SaveError::Problems)?;
    let now = ctx.app.clock.now();
    let saved = ctx
        .app
        .store
        .put_document(who.workspace, kind, name, source, &who.actor, now)
        .await
        .map_err(ApiError::from)?;
    let verb = if kind == PLANS { "plan" } else { "rule" };
    audit(
        ctx,
        who,
        &format!("{verb}.save"),
        name,
        json!({ "version": saved.version }),
    )
    .await?;
    ctx.announce(change_for(kind, who));
    Ok(saved)
}

fn change_for(kind: &str, who: &Principal) -> Change {
    if kind == PLANS {
        Change::Plans(who.workspace)
    } else {
        Change::Rules(who.workspace)
    }
}

pub async fn delete_document(ctx: &Ctx, who: &Principal, kind: &str, name: &str) -> ApiResult<()> {
    who.require(UserRole::Operator)?;
    ctx.app
        .store
        .delete_document(who.workspace, kind, name)
        .await?;
    let verb = if kind == RULES { "rule" } else { "plan" };
    audit(ctx, who, &format!("{verb}.delete"), name, json!({})).await?;
    ctx.announce(change_for(kind, who));
    Ok(())
}

/// Applies a shipped SOP template to chosen groups of the workspace: one saved plan.
pub async fn apply_template(
    ctx: &Ctx,
    who: &Principal,
    template_id: &str,
    group_ids: &[i64],
    name: Option<&str>,
) -> ApiResult<Document> {
    who.require(UserRole::Operator)?;
    let template = qunzhu_sop::template(template_id)
        .ok_or_else(|| ApiError::invalid("template", "unknown template"))?;
    if group_ids.is_empty() {
        return Err(ApiError::invalid("groups", "pick at least one group"));
    }
    let mut chats = Vec::new();
    for id in group_ids {
        // `group` is scoped by workspace: another workspace's id is simply not found.
        chats.push(ctx.app.store.group(who.workspace, *id).await?.chat);
    }
    let name = name.filter(|n| !n.is_empty()).unwrap_or(template.id);
    validate::check_name(name).map_err(|message| ApiError::invalid("name", message))?;
    let workspace = ctx.app.store.workspace(who.workspace).await?;
    let source = template.to_toml(
        qunzhu_sop::Target::chats(chats.clone()),
        zone_of(&workspace.time_zone),
    );
    let saved = save_document(ctx, who, PLANS, name, &source)
        .await
        .map_err(ApiError::from)?;
    audit(
        ctx,
        who,
        "plan.apply_template",
        name,
        json!({ "template": template.id, "chats": chats }),
    )
    .await?;
    Ok(saved)
}

/// One upcoming SOP post, for calendars.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalendarEntry {
    pub plan: String,
    pub step: String,
    pub title: String,
    pub scheduled: DateTime<Utc>,
    /// Local `YYYY-MM-DD HH:MM` in the step's zone.
    pub local: String,
    pub groups: Vec<String>,
    pub text: String,
}

/// Upcoming posts of every valid plan (or one) for `days` days from `from`; `chat` narrows to a group.
pub async fn calendar(
    ctx: &Ctx,
    who: &Principal,
    plan: Option<&str>,
    chat: Option<&str>,
    from: DateTime<Utc>,
    days: u32,
) -> ApiResult<Vec<CalendarEntry>> {
    let groups = ctx.app.store.groups(who.workspace).await?;
    let facts: Vec<qunzhu_sop::GroupFacts> = groups
        .iter()
        .filter(|g| chat.is_none_or(|chat| g.group.chat == chat))
        .map(|g| {
            // The store keeps no creation date; the first day ever keeps relative rules quiet
            // rather than inventing an anchor.
            let mut facts =
                qunzhu_sop::GroupFacts::from_group(&g.group, DateTime::<Utc>::UNIX_EPOCH, true);
            facts.member_count = u32::try_from(g.members_present).unwrap_or(u32::MAX);
            facts
        })
        .collect();
    let documents = match plan {
        Some(name) => vec![ctx.app.store.document(who.workspace, PLANS, name).await?],
        None => ctx.app.store.documents(who.workspace, PLANS).await?,
    };
    let mut entries = Vec::new();
    for document in documents {
        // A plan saved before a checker change may no longer parse; the calendar skips it.
        let Ok(parsed) = validate::check_plan(&document.name, &document.source) else {
            continue;
        };
        for row in qunzhu_sop::preview(&parsed, &facts, from, days.min(62)) {
            entries.push(CalendarEntry {
                plan: document.name.clone(),
                step: row.step,
                title: row.title,
                scheduled: row.scheduled,
                local: row.local.format("%Y-%m-%d %H:%M").to_string(),
                groups: row.groups,
                text: row.sample_text,
            });
        }
    }
    entries.sort_by(|a, b| {
        a.scheduled
            .cmp(&b.scheduled)
            .then_with(|| a.plan.cmp(&b.plan))
    });
    Ok(entries)
}

/// The workspace's group that lives in `chat` on `platform`.
async fn group_by_id(ctx: &Ctx, who: &Principal, group_id: i64) -> ApiResult<Group> {
    Ok(ctx.app.store.group(who.workspace, group_id).await?)
}

pub async fn update_group(
    ctx: &Ctx,
    who: &Principal,
    group_id: i64,
    update: GroupUpdate,
) -> ApiResult<Group> {
    who.require(UserRole::Operator)?;
    if update
        .name
        .as_deref()
        .is_some_and(|name| name.trim().is_empty())
    {
        return Err(ApiError::invalid("name", "a group needs a name"));
    }
    if update
        .capacity
        .is_some_and(|capacity| capacity == 0 || capacity > 100_000)
    {
        return Err(ApiError::invalid("capacity", "between 1 and 100000"));
    }
    let group = ctx
        .app
        .store
        .update_group(who.workspace, group_id, update.clone())
        .await?;
    let detail = serde_json::to_value(&group).unwrap_or_default();
    audit(ctx, who, "group.update", &group.chat, detail).await?;
    Ok(group)
}

pub async fn update_member(
    ctx: &Ctx,
    who: &Principal,
    platform: Platform,
    user: &str,
    update: MemberUpdate,
) -> ApiResult<Member> {
    who.require(UserRole::Operator)?;
    let member = ctx
        .app
        .store
        .update_member(who.workspace, platform, user, update)
        .await?;
    let detail = json!({ "role": member.role, "tier": member.tier, "tags": member.tags });
    audit(
        ctx,
        who,
        "member.update",
        &format!("{platform}:{user}"),
        detail,
    )
    .await?;
    Ok(member)
}

/// Approves or denies a pending join request: an outbox action the dispatcher carries out.
pub async fn decide_join_request(
    ctx: &Ctx,
    who: &Principal,
    group_id: i64,
    member: &str,
    approve: bool,
    reason: &str,
) -> ApiResult<()> {
    who.require(UserRole::Operator)?;
    let group = group_by_id(ctx, who, group_id).await?;
    let pending = ctx.app.store.pending_join_requests(who.workspace).await?;
    let request = pending
        .iter()
        .find(|stored| {
            stored.event.chat == group.chat && stored.event.kind.member() == Some(member)
        })
        .ok_or_else(|| ApiError::not_found("join request"))?;
    let now = ctx.app.clock.now();
    let action = NewAction {
        workspace: who.workspace,
        platform: group.platform,
        chat: group.chat.clone(),
        // Derived from the request: deciding it twice (two tabs, a double click) writes once.
        key: format!("decide:{}", request.event.key),
        kind: ActionKind::DecideJoinRequest {
            member: member.to_string(),
            approve,
            reason: reason.to_string(),
        },
        created_at: now,
        not_before: now,
        expires_at: None,
        dry_run: false,
        origin: format!("api:{}", who.actor),
        cause: Some(request.event.key.clone()),
    };
    ctx.app.store.enqueue(vec![action]).await?;
    let verb = if approve {
        "join_request.approve"
    } else {
        "join_request.deny"
    };
    audit(
        ctx,
        who,
        verb,
        &format!("{}:{member}", group.chat),
        json!({ "reason": reason }),
    )
    .await?;
    Ok(())
}

/// Reverses a bot ban or mute by queueing the opposite action.
pub async fn undo_action(ctx: &Ctx, who: &Principal, action_id: i64) -> ApiResult<()> {
    who.require(UserRole::Operator)?;
    let action = ctx.app.store.action(action_id).await?;
    // `action` is looked up by id alone; another workspace's action must look missing.
    if action.workspace != who.workspace {
        return Err(ApiError::not_found("action"));
    }
    let now = ctx.app.clock.now();
    let (ws, platform, chat, by, cause) = (
        who.workspace,
        action.platform,
        action.chat.as_str(),
        who.actor.as_str(),
        action.key.as_str(),
    );
    let undo = match &action.kind {
        ActionKind::Ban { member, .. } => {
            qunzhu_moderation::undo::unban(ws, platform, chat, member, by, cause, now)
        }
        ActionKind::Mute { member, .. } => {
            qunzhu_moderation::undo::unmute(ws, platform, chat, member, by, cause, now)
        }
        _ => {
            return Err(ApiError::invalid(
                "action",
                "only bans and mutes can be undone",
            ))
        }
    };
    ctx.app.store.enqueue(vec![undo]).await?;
    audit(
        ctx,
        who,
        "moderation.undo",
        &action.key,
        json!({ "action": action.kind.name(), "chat": action.chat }),
    )
    .await?;
    Ok(())
}

/// A new API token; the secret is returned once and only its hash is kept.
pub async fn create_token(
    ctx: &Ctx,
    who: &Principal,
    name: &str,
    role: UserRole,
) -> ApiResult<(ApiToken, String)> {
    who.require(UserRole::Admin)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::invalid("name", "1–64 characters"));
    }
    if role > who.role {
        return Err(ApiError::invalid(
            "role",
            "a token cannot have more rights than its creator",
        ));
    }
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let token = ctx
        .app
        .store
        .create_api_token(
            who.workspace,
            name,
            role,
            &sha256_hex(&secret),
            ctx.app.clock.now(),
        )
        .await?;
    audit(
        ctx,
        who,
        "token.create",
        name,
        json!({ "id": token.id, "role": role }),
    )
    .await?;
    Ok((token, secret))
}

pub async fn revoke_token(ctx: &Ctx, who: &Principal, id: i64) -> ApiResult<()> {
    who.require(UserRole::Admin)?;
    ctx.app
        .store
        .revoke_api_token(who.workspace, id, ctx.app.clock.now())
        .await?;
    audit(ctx, who, "token.revoke", &id.to_string(), json!({})).await
}

pub async fn add_user(
    ctx: &Ctx,
    who: &Principal,
    login: &str,
    password: &str,
    role: UserRole,
) -> ApiResult<User> {
    who.require(UserRole::Admin)?;
    if role > who.role {
        return Err(ApiError::invalid(
            "role",
            "you cannot grant more rights than you have",
        ));
    }
    let user = crate::auth::create_user(
        ctx.app.store.as_ref(),
        who.workspace,
        login.trim(),
        password,
        role,
    )
    .await?;
    audit(
        ctx,
        who,
        "user.create",
        &user.login,
        json!({ "role": role }),
    )
    .await?;
    Ok(user)
}

/// Recent events of one member across the workspace's groups, newest first.
pub async fn member_history(
    ctx: &Ctx,
    who: &Principal,
    member: &Member,
    limit: usize,
) -> ApiResult<Vec<StoredEvent>> {
    let since = ctx.app.clock.now() - Duration::days(90);
    let mut events: Vec<StoredEvent> = ctx
        .app
        .store
        .events_since(who.workspace, since, 50_000)
        .await?
        .into_iter()
        .filter(|stored| {
            stored.event.platform == member.platform && involves(&stored.event, &member.user)
        })
        .collect();
    events.reverse();
    events.truncate(limit);
    Ok(events)
}

fn involves(event: &Event, user: &str) -> bool {
    event.kind.member() == Some(user)
        || matches!(&event.kind, EventKind::MemberLeft { by: Some(by), .. } if by == user)
}

/// Members silent for more than `days` (never newcomers, exempt roles or VIPs), longest first.
pub async fn lurkers(
    ctx: &Ctx,
    who: &Principal,
    days: i64,
) -> ApiResult<Vec<qunzhu_moderation::LurkerEntry>> {
    let now = ctx.app.clock.now();
    let query = qunzhu_storage::MemberQuery {
        silent_since: Some(now - Duration::days(days)),
        limit: Some(5000),
        ..qunzhu_storage::MemberQuery::default()
    };
    let roster: Vec<qunzhu_moderation::RosterEntry> = ctx
        .app
        .store
        .members(who.workspace, &query)
        .await?
        .into_iter()
        .map(|summary| qunzhu_moderation::RosterEntry {
            member: summary.member.user,
            display_name: summary.member.display_name,
            role: summary.member.role,
            tier: summary.member.tier,
            // Without a join time the member is treated as new, so never reported.
            joined_at: summary.joined_at.unwrap_or(now),
            last_spoke_at: summary.last_spoke_at,
        })
        .collect();
    let policy = qunzhu_moderation::LurkerPolicy {
        silent_days: days,
        ..qunzhu_moderation::LurkerPolicy::default()
    };
    Ok(qunzhu_moderation::lurker_report(&policy, &roster, now))
}
