//! Moderation: the join-request queue, the bot's rule actions with undo, and the lurker report.
//! Also the event and action lists other pages reuse.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use qunzhu_domain::{ActionKind, ActionRecord, EventKind};
use qunzhu_storage::{ActionFilter, StoredEvent, UserRole};

use super::{flash, html, see_other, Page, PageResult, Posted};
use crate::html::{card, empty_row, esc, pill, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/moderation", get(page))
        .route("/moderation/join-requests", post(decide))
        .route("/moderation/actions/{id}/undo", post(undo))
}

/// What an event says, in a few words.
fn describe(shell: &Shell, kind: &EventKind) -> String {
    let label = shell.t(&format!("ev.{}", kind.name()));
    match kind {
        EventKind::MessagePosted { text, .. } => {
            let snippet: String = text.chars().take(80).collect();
            format!("{label}: {snippet}")
        }
        EventKind::JoinRequested {
            reason: Some(reason),
            ..
        } => format!("{label}: {reason}"),
        EventKind::GroupRenamed { name, .. } => format!("{label}: {name}"),
        EventKind::DisplayNameChanged { new, .. } => format!("{label}: {new}"),
        _ => label.to_string(),
    }
}

/// Events as a timeline, newest first.
pub fn event_list(shell: &Shell, events: &[StoredEvent]) -> String {
    if events.is_empty() {
        return format!(r#"<p class="muted">{}</p>"#, shell.t("common.none"));
    }
    let mut out = String::from(r#"<ol class="timeline">"#);
    for stored in events {
        let member = stored.event.kind.member().unwrap_or("");
        let _ = write!(
            out,
            r#"<li><time datetime="{iso}">{when}</time><div><span class="small muted">{member} · {chat}</span><p>{what}</p></div></li>"#,
            iso = stored.event.at.to_rfc3339(),
            when = shell.when(stored.event.at),
            member = esc(member),
            chat = esc(&stored.event.chat),
            what = esc(&describe(shell, &stored.event.kind)),
        );
    }
    out.push_str("</ol>");
    out
}

fn action_member(kind: &ActionKind) -> &str {
    match kind {
        ActionKind::Kick { member, .. }
        | ActionKind::Ban { member, .. }
        | ActionKind::Unban { member, .. }
        | ActionKind::Mute { member, .. }
        | ActionKind::Unmute { member }
        | ActionKind::Invite { member }
        | ActionKind::DecideJoinRequest { member, .. }
        | ActionKind::SetPowerLevel { member, .. }
        | ActionKind::GrantReward { member, .. } => member,
        _ => "",
    }
}

fn action_reason(kind: &ActionKind) -> String {
    match kind {
        ActionKind::Kick { reason, .. }
        | ActionKind::Ban { reason, .. }
        | ActionKind::Unban { reason, .. }
        | ActionKind::Mute { reason, .. }
        | ActionKind::Redact { reason, .. }
        | ActionKind::DecideJoinRequest { reason, .. }
        | ActionKind::GrantReward { reason, .. } => reason.clone(),
        ActionKind::SendMessage { text, .. } => text.chars().take(60).collect(),
        _ => String::new(),
    }
}

/// Outbox actions as a table; `undo` adds an undo button to bans and mutes.
pub fn action_table(shell: &Shell, actions: &[ActionRecord], undo: bool) -> String {
    let mut rows = String::new();
    for a in actions {
        let undo_cell = if undo
            && shell.principal.can_edit()
            && matches!(a.kind, ActionKind::Ban { .. } | ActionKind::Mute { .. })
        {
            format!(
                r#"<form method="post" action="/moderation/actions/{}/undo">{}<button class="btn small" type="submit">{}</button></form>"#,
                a.id,
                shell.csrf_field(),
                shell.t("moderation.undo")
            )
        } else {
            String::new()
        };
        let _ = write!(
            rows,
            r#"<tr><td>{when}</td><td>{kind}</td><td>{member}</td><td class="small">{origin}</td><td>{status}</td><td class="small">{reason}</td>{undo_td}</tr>"#,
            when = shell.when(a.created_at),
            kind = pill("type", shell.t(&format!("act.{}", a.kind.name()))),
            member = esc(action_member(&a.kind)),
            origin = esc(&a.origin),
            status = pill(
                a.status.as_str(),
                shell.t(&format!("st.{}", a.status.as_str()))
            ),
            reason = esc(&action_reason(&a.kind)),
            undo_td = if undo {
                format!("<td>{undo_cell}</td>")
            } else {
                String::new()
            },
        );
    }
    let columns = if undo { 7 } else { 6 };
    if actions.is_empty() {
        rows = empty_row(shell.lang, columns);
    }
    format!(
        r#"<div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>{}</tr></thead><tbody>{rows}</tbody></table></div>"#,
        shell.t("common.time"),
        shell.t("common.action"),
        shell.t("common.member"),
        shell.t("moderation.rule"),
        shell.t("common.status"),
        shell.t("common.reason"),
        if undo { "<th></th>" } else { "" },
    )
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let ws = shell.principal.workspace;
    let store = ctx.app.store.as_ref();
    let requests = store.pending_join_requests(ws).await?;
    let groups = store.groups(ws).await?;
    let mut rows = String::new();
    for stored in &requests {
        let Some(group) = groups.iter().find(|g| {
            g.group.chat == stored.event.chat && g.group.platform == stored.event.platform
        }) else {
            continue;
        };
        let (member, name, reason) = match &stored.event.kind {
            EventKind::JoinRequested {
                member,
                display_name,
                reason,
            } => (
                member.as_str(),
                display_name.clone().unwrap_or_default(),
                reason.clone().unwrap_or_default(),
            ),
            _ => continue,
        };
        let buttons = if shell.principal.can_edit() {
            format!(
                r#"<form method="post" action="/moderation/join-requests" class="inline-actions">{csrf}<input type="hidden" name="group_id" value="{gid}"><input type="hidden" name="member" value="{m}"><button class="btn small primary" name="decision" value="approve">{approve}</button><button class="btn small danger" name="decision" value="deny">{deny}</button></form>"#,
                csrf = shell.csrf_field(),
                gid = group.group.id,
                m = esc(member),
                approve = shell.t("moderation.approve"),
                deny = shell.t("moderation.deny"),
            )
        } else {
            String::new()
        };
        let _ = write!(
            rows,
            r#"<tr><td>{when}</td><td><strong>{name}</strong><div class="small muted">{m}</div></td><td>{group}</td><td>{reason}</td><td>{buttons}</td></tr>"#,
            when = shell.when(stored.event.at),
            name = esc(&name),
            m = esc(member),
            group = esc(&group.group.name),
            reason = esc(&reason),
        );
    }
    if rows.is_empty() {
        rows = empty_row(shell.lang, 5);
    }
    let queue = format!(
        r#"<div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>"#,
        shell.t("common.time"),
        shell.t("common.member"),
        shell.t("common.group"),
        shell.t("common.reason"),
    );
    let bot = store
        .actions(
            ws,
            &ActionFilter {
                origin_prefix: Some("rule:".into()),
                limit: Some(50),
                ..ActionFilter::default()
            },
        )
        .await?;
    let lurkers = ctx.ops().lurkers(&shell.principal.actor(), 28).await?;
    let mut lurker_rows = String::new();
    for l in lurkers.iter().take(100) {
        let _ = write!(
            lurker_rows,
            r#"<tr><td>{name}<div class="small muted">{m}</div></td><td class="num">{days}</td><td>{last}</td></tr>"#,
            name = esc(&l.display_name),
            m = esc(&l.member),
            days = l.silent_days,
            last = shell.when_opt(l.last_spoke_at),
        );
    }
    if lurker_rows.is_empty() {
        lurker_rows = empty_row(shell.lang, 3);
    }
    let lurker_table = format!(
        r#"<div class="table-wrap"><table><thead><tr><th>{}</th><th class="num">{}</th><th>{}</th></tr></thead><tbody>{lurker_rows}</tbody></table></div>"#,
        shell.t("common.member"),
        shell.t("members.days"),
        shell.t("members.last_active"),
    );
    let body = format!(
        "{}{}{}{}",
        flash(&shell),
        card(shell.t("moderation.requests"), &queue),
        card(
            shell.t("moderation.bot_actions"),
            &action_table(&shell, &bot, true)
        ),
        card(shell.t("moderation.lurkers"), &lurker_table),
    );
    Ok(html(
        StatusCode::OK,
        shell.page("moderation", shell.t("moderation.title"), &body),
    ))
}

async fn decide(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    shell.principal.require(UserRole::Operator)?;
    let group_id: i64 = form
        .get("group_id")
        .parse()
        .map_err(|_| crate::ApiError::invalid("group_id", "not a group"))?;
    let approve = match form.get("decision") {
        "approve" => true,
        "deny" => false,
        _ => return Err(crate::ApiError::invalid("decision", "approve or deny").into()),
    };
    ctx.ops()
        .decide_join_request(
            &shell.principal.actor(),
            group_id,
            form.get("member"),
            approve,
            form.get("reason"),
        )
        .await?;
    Ok(see_other("/moderation?ok=decided"))
}

async fn undo(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    Posted(shell, _form): Posted,
) -> PageResult {
    ctx.ops().undo_action(&shell.principal.actor(), id).await?;
    Ok(see_other("/moderation?ok=undone"))
}
