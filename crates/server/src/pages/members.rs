//! Members: search and filters, and one member's page with history and an edit form.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use qunzhu_domain::{Member, MemberRole, MemberTier};
use qunzhu_storage::{MemberUpdate, UserRole};

use super::forms::{choice, parse_tags, text, FieldErrors};
use super::{flash, html, see_other, FormData, Page, PageResult, Posted};
use crate::api::community::MemberParams;
use crate::api::Params;
use crate::html::{card, empty_row, esc, notice, pill, select, url_part, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/members", get(list))
        .route("/members/{platform}/{user}", get(detail).post(save))
}

fn options<T: Copy>(
    shell: &Shell,
    all: &[T],
    prefix: &str,
    name: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|v| {
            (
                name(*v).to_string(),
                shell.t(&format!("{prefix}.{}", name(*v))).to_string(),
            )
        })
        .collect()
}

async fn list(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<MemberParams>,
) -> PageResult {
    let ws = shell.principal.workspace;
    if let Some(id) = q.group_id {
        ctx.app.store.group(ws, id).await?;
    }
    let members = ctx
        .app
        .store
        .members(ws, &q.to_query(ctx.app.clock.now()))
        .await?;
    let groups = ctx.app.store.groups(ws).await?;
    let group_options: Vec<(String, String)> = groups
        .iter()
        .map(|g| (g.group.id.to_string(), g.group.name.clone()))
        .collect();
    let tiers = options(&shell, MemberTier::ALL, "tier", MemberTier::as_str);
    let roles = options(&shell, MemberRole::ALL, "role", MemberRole::as_str);
    let days = |v: Option<i64>| v.map(|d| d.to_string()).unwrap_or_default();
    let all = shell.t("common.all");
    let filters = format!(
        r#"<form method="get" action="/members" class="filters" role="search">
<div class="field"><label for="q-text">{text_l}</label><input id="q-text" name="text" type="search" value="{text}"></div>
<div class="field"><label for="q-tag">{tag_l}</label><input id="q-tag" name="tag" value="{tag}"></div>
<div class="field"><label for="q-tier">{tier_l}</label>{tier}</div>
<div class="field"><label for="q-role">{role_l}</label>{role}</div>
<div class="field"><label for="q-group">{group_l}</label>{group}</div>
<div class="field"><label for="q-active">{active_l} ({days_l})</label><input id="q-active" name="active_days" inputmode="numeric" value="{active}"></div>
<div class="field"><label for="q-silent">{silent_l} ({days_l})</label><input id="q-silent" name="silent_days" inputmode="numeric" value="{silent}"></div>
<div class="field"><button class="btn primary" type="submit">{search}</button></div></form>"#,
        text_l = shell.t("members.text"),
        text = esc(q.text.as_deref().unwrap_or("")),
        tag_l = shell.t("common.tags"),
        tag = esc(q.tag.as_deref().unwrap_or("")),
        tier_l = shell.t("members.tier"),
        tier = select(
            "tier",
            "q-tier",
            &tiers,
            q.tier.map_or("", MemberTier::as_str),
            Some(all)
        ),
        role_l = shell.t("members.role"),
        role = select(
            "role",
            "q-role",
            &roles,
            q.role.map_or("", MemberRole::as_str),
            Some(all)
        ),
        group_l = shell.t("common.group"),
        group = select(
            "group_id",
            "q-group",
            &group_options,
            &q.group_id.map(|g| g.to_string()).unwrap_or_default(),
            Some(all)
        ),
        active_l = shell.t("members.active_within"),
        silent_l = shell.t("members.silent_for"),
        days_l = shell.t("members.days"),
        active = days(q.active_days),
        silent = days(q.silent_days),
        search = shell.t("common.search"),
    );
    let mut rows = String::new();
    for m in &members {
        let tags: String = m.member.tags.iter().map(|t| pill("tag", t)).collect();
        let _ = write!(
            rows,
            r#"<tr><td><a class="strong" href="/members/{p}/{u}">{name}</a><div class="muted small">{user}</div></td><td>{tier}</td><td>{role}</td><td>{tags}</td><td class="num">{groups}</td><td class="num">{messages}</td><td>{last}</td></tr>"#,
            p = esc(m.member.platform.as_str()),
            u = url_part(&m.member.user),
            name = esc(&m.member.display_name),
            user = esc(&m.member.user),
            tier = pill(
                m.member.tier.as_str(),
                shell.t(&format!("tier.{}", m.member.tier.as_str()))
            ),
            role = shell.t(&format!("role.{}", m.member.role.as_str())),
            groups = m.groups,
            messages = m.messages,
            last = shell.when_opt(m.last_spoke_at),
        );
    }
    if members.is_empty() {
        rows = empty_row(shell.lang, 7);
    }
    let body = format!(
        r#"<section class="card">{filters}</section><section class="card"><div class="table-wrap"><table><thead><tr><th>{member}</th><th>{tier}</th><th>{role}</th><th>{tags}</th><th class="num">{groups}</th><th class="num">{messages}</th><th>{last}</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        member = shell.t("common.member"),
        tier = shell.t("members.tier"),
        role = shell.t("members.role"),
        tags = shell.t("common.tags"),
        groups = shell.t("members.groups"),
        messages = shell.t("members.messages"),
        last = shell.t("members.last_active"),
    );
    Ok(html(
        StatusCode::OK,
        shell.page("members", shell.t("members.title"), &body),
    ))
}

fn values_of(member: &Member) -> FormData {
    FormData(vec![
        ("role".into(), member.role.as_str().into()),
        ("tier".into(), member.tier.as_str().into()),
        ("tags".into(), member.tags.join(", ")),
    ])
}

async fn detail(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Path((platform, user)): Path<(String, String)>,
) -> PageResult {
    let platform = crate::api::community::parse_platform(&platform)?;
    let member = ctx
        .app
        .store
        .member(shell.principal.workspace, platform, &user)
        .await?;
    render(
        &ctx,
        &shell,
        &member,
        &values_of(&member),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render(
    ctx: &Ctx,
    shell: &Shell,
    member: &Member,
    values: &FormData,
    errors: &FieldErrors,
    status: StatusCode,
) -> PageResult {
    let history = ctx
        .ops()
        .member_history(&shell.principal.actor(), member, 100)
        .await?;
    let disabled = if shell.principal.can_edit() {
        ""
    } else {
        " disabled"
    };
    let readonly = if shell.principal.can_edit() {
        String::new()
    } else {
        notice("info", shell.t("common.readonly"))
    };
    let top = if errors.is_empty() {
        String::new()
    } else {
        notice("error", shell.t("error.fix_below"))
    };
    let form = format!(
        r#"{readonly}{top}<form method="post" action="/members/{p}/{u}" class="form-grid" novalidate>{csrf}<fieldset{disabled}>{role}{tier}{tags}<div class="actions"><button class="btn primary" type="submit">{save}</button></div></fieldset></form>"#,
        p = esc(member.platform.as_str()),
        u = url_part(&member.user),
        csrf = shell.csrf_field(),
        role = choice(
            shell.t("members.role"),
            "role",
            &options(shell, MemberRole::ALL, "role", MemberRole::as_str),
            values.get("role"),
            errors
        ),
        tier = choice(
            shell.t("members.tier"),
            "tier",
            &options(shell, MemberTier::ALL, "tier", MemberTier::as_str),
            values.get("tier"),
            errors
        ),
        tags = text(
            shell.t("common.tags"),
            "tags",
            values.get("tags"),
            errors,
            ""
        ),
        save = shell.t("common.save"),
    );
    let body = format!(
        r#"{flash}<p class="lead"><a href="/members">← {back}</a> · <code>{user}</code></p><div class="grid2">{edit}{history}</div>"#,
        flash = flash(shell),
        back = shell.t("common.back"),
        user = esc(&member.user),
        edit = card(shell.t("common.edit"), &form),
        history = card(
            shell.t("members.history"),
            &super::moderation::event_list(shell, &history)
        ),
    );
    Ok(html(
        status,
        shell.page("members", &member.display_name, &body),
    ))
}

async fn save(
    State(ctx): State<Ctx>,
    Path((platform, user)): Path<(String, String)>,
    Posted(shell, form): Posted,
) -> PageResult {
    shell.principal.require(UserRole::Operator)?;
    let platform = crate::api::community::parse_platform(&platform)?;
    let member = ctx
        .app
        .store
        .member(shell.principal.workspace, platform, &user)
        .await?;
    let mut errors = FieldErrors::default();
    let role = MemberRole::parse(form.get("role"))
        .map_err(|e| errors.add("role", e.to_string()))
        .ok();
    let tier = MemberTier::parse(form.get("tier"))
        .map_err(|e| errors.add("tier", e.to_string()))
        .ok();
    let tags = parse_tags(form.get("tags"));
    if let Some(long) = tags.iter().find(|t| t.chars().count() > 32) {
        errors.add("tags", format!("“{long}” > 32"));
    }
    if !errors.is_empty() {
        return render(
            &ctx,
            &shell,
            &member,
            &form,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    ctx.ops()
        .update_member(
            &shell.principal.actor(),
            platform,
            &user,
            MemberUpdate {
                role,
                tier,
                tags: Some(tags),
            },
        )
        .await?;
    Ok(see_other(&format!(
        "/members/{}/{}?ok=saved",
        platform.as_str(),
        url_part(&user)
    )))
}
