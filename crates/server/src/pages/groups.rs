//! Groups: the list with activity and health, and one group's page with its positioning form.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use qunzhu_domain::{Group, GroupStatus, GroupType, Positioning};
use qunzhu_storage::{ActionFilter, GroupUpdate, MemberQuery};

use super::forms::{check, choice, parse_tags, text, FieldErrors};
use super::{flash, html, see_other, FormData, Page, PageResult, Posted};
use crate::html::{card, empty_row, esc, notice, pill, Shell};
use crate::stats::{self};
use crate::svg::sparkline;
use crate::Ctx;
use qunzhu_ops::check::RULES;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/groups", get(list))
        .route("/groups/{id}", get(detail).post(save))
}

pub fn type_label(shell: &Shell, group_type: GroupType) -> &'static str {
    shell.t(&format!("gtype.{}", group_type.as_str()))
}

async fn list(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let groups = stats::group_activity(
        ctx.app.store.as_ref(),
        shell.principal.workspace,
        shell.zone,
        ctx.app.clock.now(),
    )
    .await?;
    let mut rows = String::new();
    for g in &groups {
        let group = &g.summary.group;
        let health = g.health.as_str();
        let _ = write!(
            rows,
            r#"<tr><td><a class="strong" href="/groups/{id}">{name}</a><div class="muted small">{platform} · {chat}</div></td><td>{gtype}</td><td class="num">{size}<span class="muted"> / {cap}</span></td><td>{spark}</td><td>{health}</td></tr>"#,
            id = group.id,
            name = esc(&group.name),
            platform = esc(group.platform.as_str()),
            chat = esc(&group.chat),
            gtype = pill("type", type_label(&shell, group.group_type)),
            size = g.summary.members_present,
            cap = group.capacity,
            spark = sparkline(&g.messages_14d, shell.t("groups.activity")),
            health = pill(health, shell.t(&format!("health.{health}"))),
        );
    }
    if groups.is_empty() {
        rows = empty_row(shell.lang, 5);
    }
    let body = format!(
        r#"<section class="card"><div class="table-wrap"><table><thead><tr><th>{name}</th><th>{gtype}</th><th class="num">{size}</th><th>{activity}</th><th>{health}</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        name = shell.t("common.name"),
        gtype = shell.t("common.type"),
        size = shell.t("groups.size"),
        activity = shell.t("groups.activity"),
        health = shell.t("groups.health"),
    );
    Ok(html(
        StatusCode::OK,
        shell.page("groups", shell.t("groups.title"), &body),
    ))
}

/// The edit form's values, from the group or from what was typed.
fn form_values(group: &Group) -> FormData {
    let p = &group.positioning;
    FormData(vec![
        ("name".into(), group.name.clone()),
        ("group_type".into(), group.group_type.as_str().into()),
        ("status".into(), group.status.as_str().into()),
        ("capacity".into(), group.capacity.to_string()),
        ("tags".into(), group.tags.join(", ")),
        ("purpose".into(), p.purpose.clone()),
        ("audience".into(), p.audience.clone()),
        ("value".into(), p.value.clone()),
        (
            "paid".into(),
            if p.paid { "1".into() } else { String::new() },
        ),
        ("channel".into(), p.channel.clone()),
    ])
}

fn edit_form(shell: &Shell, id: i64, values: &FormData, errors: &FieldErrors) -> String {
    let types: Vec<(String, String)> = GroupType::ALL
        .iter()
        .map(|t| (t.as_str().to_string(), type_label(shell, *t).to_string()))
        .collect();
    let statuses: Vec<(String, String)> = GroupStatus::ALL
        .iter()
        .map(|s| {
            (
                s.as_str().to_string(),
                shell.t(&format!("gstatus.{}", s.as_str())).to_string(),
            )
        })
        .collect();
    let disabled = if shell.principal.can_edit() {
        ""
    } else {
        " disabled"
    };
    let top = if errors.is_empty() {
        String::new()
    } else {
        notice("error", shell.t("error.fix_below"))
    };
    format!(
        r#"{top}<form method="post" action="/groups/{id}" class="form-grid" novalidate>{csrf}<fieldset{disabled}>
{name}{gtype}{status}{capacity}{tags}{purpose}{audience}{value}{channel}{paid}
<div class="actions"><button class="btn primary" type="submit">{save}</button></div></fieldset></form>"#,
        csrf = shell.csrf_field(),
        name = text(
            shell.t("common.name"),
            "name",
            values.get("name"),
            errors,
            "required"
        ),
        gtype = choice(
            shell.t("common.type"),
            "group_type",
            &types,
            values.get("group_type"),
            errors
        ),
        status = choice(
            shell.t("common.status"),
            "status",
            &statuses,
            values.get("status"),
            errors
        ),
        capacity = text(
            shell.t("group.capacity"),
            "capacity",
            values.get("capacity"),
            errors,
            r#"inputmode="numeric""#
        ),
        tags = text(
            shell.t("common.tags"),
            "tags",
            values.get("tags"),
            errors,
            ""
        ),
        purpose = text(
            shell.t("group.purpose"),
            "purpose",
            values.get("purpose"),
            errors,
            ""
        ),
        audience = text(
            shell.t("group.audience"),
            "audience",
            values.get("audience"),
            errors,
            ""
        ),
        value = text(
            shell.t("group.value"),
            "value",
            values.get("value"),
            errors,
            ""
        ),
        channel = text(
            shell.t("group.channel"),
            "channel",
            values.get("channel"),
            errors,
            ""
        ),
        paid = check(
            shell.t("group.paid"),
            "paid",
            !values.get("paid").is_empty()
        ),
        save = shell.t("common.save"),
    )
}

async fn detail(State(ctx): State<Ctx>, Page(shell): Page, Path(id): Path<i64>) -> PageResult {
    let group = ctx.app.store.group(shell.principal.workspace, id).await?;
    render_detail(
        &ctx,
        &shell,
        &group,
        &form_values(&group),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_detail(
    ctx: &Ctx,
    shell: &Shell,
    group: &Group,
    values: &FormData,
    errors: &FieldErrors,
    status: StatusCode,
) -> PageResult {
    let ws = shell.principal.workspace;
    let store = ctx.app.store.as_ref();
    let members = store
        .members(
            ws,
            &MemberQuery {
                group_id: Some(group.id),
                limit: Some(50),
                ..MemberQuery::default()
            },
        )
        .await?;
    let events = store.recent_events(ws, &group.chat, 15).await?;
    let modlog = store
        .actions(
            ws,
            &ActionFilter {
                chat: Some(group.chat.clone()),
                origin_prefix: Some("rule:".into()),
                limit: Some(30),
                ..ActionFilter::default()
            },
        )
        .await?;
    let calendar = ctx
        .ops()
        .calendar(
            &shell.principal.actor(),
            None,
            Some(&group.chat),
            ctx.app.clock.now(),
            7,
        )
        .await?;

    let mut member_rows = String::new();
    for m in &members {
        let _ = write!(
            member_rows,
            r#"<tr><td><a href="/members/{p}/{u}">{name}</a></td><td>{role}</td><td class="num">{messages}</td><td>{last}</td></tr>"#,
            p = esc(m.member.platform.as_str()),
            u = crate::html::url_part(&m.member.user),
            name = esc(&m.member.display_name),
            role = shell.t(&format!("role.{}", m.member.role.as_str())),
            messages = m.messages,
            last = shell.when_opt(m.last_spoke_at),
        );
    }
    if members.is_empty() {
        member_rows = empty_row(shell.lang, 4);
    }
    let members_table = format!(
        r#"<div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th class="num">{}</th><th>{}</th></tr></thead><tbody>{member_rows}</tbody></table></div>"#,
        shell.t("common.member"),
        shell.t("members.role"),
        shell.t("members.messages"),
        shell.t("members.last_active"),
    );
    let events_list = super::moderation::event_list(shell, &events);
    let modlog_table = super::moderation::action_table(shell, &modlog, false);
    let calendar_list = super::documents::calendar_list(shell, &calendar);

    let mut rules = String::new();
    for document in store.documents(ws, RULES).await? {
        let profile = qunzhu_moderation::check(&document.source, &document.name)
            .ok()
            .and_then(|set| {
                set.profile_for(&group.chat, group.group_type)
                    .map(|p| p.name.clone())
            });
        let _ = write!(
            rules,
            r#"<li><a href="/rules/{n}">{n}</a> {profile}</li>"#,
            n = esc(&document.name),
            profile = profile.map_or_else(String::new, |name| pill("type", &name)),
        );
    }
    if rules.is_empty() {
        rules = format!(r#"<li class="muted">{}</li>"#, shell.t("common.none"));
    }
    let readonly = if shell.principal.can_edit() {
        String::new()
    } else {
        notice("info", shell.t("common.readonly"))
    };
    let body = format!(
        r#"{flash}<p class="lead"><a href="/groups">← {back}</a> · {platform} · <code>{chat}</code></p>
<div class="grid2"><section class="card"><h2>{positioning}</h2>{readonly}{form}</section>
<div class="stack">{rules_card}{calendar_card}</div></div>
<div class="grid2">{members_card}{events_card}</div>{modlog_card}"#,
        flash = flash(shell),
        back = shell.t("common.back"),
        platform = esc(group.platform.as_str()),
        chat = esc(&group.chat),
        positioning = shell.t("group.positioning"),
        form = edit_form(shell, group.id, values, errors),
        rules_card = card(
            shell.t("group.rules"),
            &format!(r#"<ul class="plain">{rules}</ul>"#)
        ),
        calendar_card = card(shell.t("group.calendar"), &calendar_list),
        members_card = card(shell.t("group.members"), &members_table),
        events_card = card(shell.t("group.events"), &events_list),
        modlog_card = card(shell.t("group.modlog"), &modlog_table),
    );
    Ok(html(status, shell.page("groups", &group.name, &body)))
}

/// Reads the edit form; every problem is reported beside its field.
fn parse_update(shell: &Shell, form: &FormData) -> Result<GroupUpdate, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = form.get("name").trim();
    if name.is_empty() {
        errors.add(
            "name",
            if shell.lang == crate::i18n::Lang::Zh {
                "请填写群名称"
            } else {
                "A group needs a name"
            },
        );
    }
    let group_type = GroupType::parse(form.get("group_type"))
        .map_err(|e| errors.add("group_type", e.to_string()))
        .ok();
    let status = GroupStatus::parse(form.get("status"))
        .map_err(|e| errors.add("status", e.to_string()))
        .ok();
    let capacity = match form.get("capacity").trim().parse::<u32>() {
        Ok(n) if (1..=100_000).contains(&n) => Some(n),
        _ => {
            errors.add(
                "capacity",
                if shell.lang == crate::i18n::Lang::Zh {
                    "请输入 1 到 100000 之间的整数"
                } else {
                    "A whole number from 1 to 100000"
                },
            );
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(GroupUpdate {
        name: Some(name.to_string()),
        group_type,
        status,
        capacity,
        tags: Some(parse_tags(form.get("tags"))),
        positioning: Some(Positioning {
            purpose: form.get("purpose").trim().to_string(),
            audience: form.get("audience").trim().to_string(),
            value: form.get("value").trim().to_string(),
            paid: !form.get("paid").is_empty(),
            channel: form.get("channel").trim().to_string(),
        }),
    })
}

async fn save(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    Posted(shell, form): Posted,
) -> PageResult {
    shell
        .principal
        .require(qunzhu_storage::UserRole::Operator)?;
    let group = ctx.app.store.group(shell.principal.workspace, id).await?;
    match parse_update(&shell, &form) {
        Ok(update) => {
            ctx.ops()
                .update_group(&shell.principal.actor(), id, update)
                .await?;
            Ok(see_other(&format!("/groups/{id}?ok=saved")))
        }
        Err(errors) => {
            render_detail(
                &ctx,
                &shell,
                &group,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
