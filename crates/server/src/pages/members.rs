//! Members: totals, filters, sort (messages, check-ins, clicks, last spoke) and pages, the bot and
//! members who left hidden by default; one member's page with complete history and an edit form.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use chrono::Duration;
use maud::{html, Markup};
use qunzhu_domain::{GroupId, Member, MemberId, MemberRole, MemberTier};
use qunzhu_storage::{MemberPageQuery, MemberSort, MemberUpdate, UserRole};
use serde::Deserialize;

use super::forms::{choice_field, parse_tags, text_field, FieldErrors, Input};
use super::names::Names;
use super::{flash_markup, html as respond, see_other, FormData, Page, PageResult, Posted};
use crate::api::{empty_as_none, Params};
use crate::html::{flash_notice, none_row, section, select_box, tag, url_part, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/members", get(list))
        .route("/members/{platform}/{user}", get(detail).post(save))
}

/// Rows per page of the member list.
const PAGE_SIZE: usize = 50;
/// How much of a member's history the member page shows.
const HISTORY: usize = 200;

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

/// The member list's query string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListParams {
    #[serde(deserialize_with = "empty_as_none")]
    text: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    tag: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    tier: Option<MemberTier>,
    #[serde(deserialize_with = "empty_as_none")]
    role: Option<MemberRole>,
    #[serde(deserialize_with = "empty_as_none")]
    group_id: Option<GroupId>,
    #[serde(deserialize_with = "empty_as_none")]
    active_days: Option<i64>,
    #[serde(deserialize_with = "empty_as_none")]
    silent_days: Option<i64>,
    #[serde(deserialize_with = "empty_as_none")]
    sort: Option<MemberSort>,
    #[serde(deserialize_with = "empty_as_none")]
    page: Option<usize>,
    /// `1` shows the bot itself too.
    #[serde(deserialize_with = "empty_as_none")]
    bots: Option<u8>,
    /// `1` shows members who left or were removed from every group.
    #[serde(deserialize_with = "empty_as_none")]
    gone: Option<u8>,
}

impl ListParams {
    fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }

    fn query(&self, now: chrono::DateTime<chrono::Utc>) -> MemberPageQuery {
        let days = |d: i64| now - Duration::days(d.clamp(0, 3650));
        MemberPageQuery {
            text: self.text.clone(),
            tag: self.tag.clone(),
            tier: self.tier,
            role: self.role,
            group_id: self.group_id,
            active_since: self.active_days.map(days),
            silent_since: self.silent_days.map(days),
            include_bots: self.bots == Some(1),
            include_gone: self.gone == Some(1),
            sort: self.sort.unwrap_or_default(),
            offset: (self.page() - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
        }
    }

    /// This query string with another page or sort.
    fn link(&self, page: usize, sort: Option<MemberSort>) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut push = |key: &str, value: Option<String>| {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                parts.push(format!("{key}={}", url_part(&value)));
            }
        };
        push("text", self.text.clone());
        push("tag", self.tag.clone());
        push("tier", self.tier.map(|t| t.as_str().to_string()));
        push("role", self.role.map(|r| r.as_str().to_string()));
        push("group_id", self.group_id.map(|g| g.to_string()));
        push("active_days", self.active_days.map(|d| d.to_string()));
        push("silent_days", self.silent_days.map(|d| d.to_string()));
        push("sort", sort.or(self.sort).map(|s| s.as_str().to_string()));
        push("bots", self.bots.map(|b| b.to_string()));
        push("gone", self.gone.map(|g| g.to_string()));
        push("page", Some(page.to_string()));
        format!("/members?{}", parts.join("&"))
    }
}

fn filters(shell: &Shell, q: &ListParams, groups: &[(String, String)]) -> Markup {
    let all = shell.t("common.all");
    let tiers = options(shell, MemberTier::ALL, "tier", MemberTier::as_str);
    let roles = options(shell, MemberRole::ALL, "role", MemberRole::as_str);
    let sorts = options(shell, MemberSort::ALL, "msort", MemberSort::as_str);
    let days = |v: Option<i64>| v.map(|d| d.to_string()).unwrap_or_default();
    html! {
        form.filters method="get" action="/members" role="search" {
            div.field { label for="q-text" { (shell.t("members.text")) } input #q-text name="text" type="search" value=(q.text.as_deref().unwrap_or("")); }
            div.field { label for="q-tag" { (shell.t("common.tags")) } input #q-tag name="tag" value=(q.tag.as_deref().unwrap_or("")); }
            div.field { label for="q-tier" { (shell.t("members.tier")) } (select_box("tier", "q-tier", &tiers, q.tier.map_or("", MemberTier::as_str), Some(all))) }
            div.field { label for="q-role" { (shell.t("members.role")) } (select_box("role", "q-role", &roles, q.role.map_or("", MemberRole::as_str), Some(all))) }
            div.field { label for="q-group" { (shell.t("common.group")) } (select_box("group_id", "q-group", groups, &q.group_id.map(|g| g.to_string()).unwrap_or_default(), Some(all))) }
            div.field { label for="q-active" { (shell.t("members.active_within")) " (" (shell.t("members.days")) ")" } input #q-active name="active_days" inputmode="numeric" value=(days(q.active_days)); }
            div.field { label for="q-silent" { (shell.t("members.silent_for")) " (" (shell.t("members.days")) ")" } input #q-silent name="silent_days" inputmode="numeric" value=(days(q.silent_days)); }
            div.field { label for="q-sort" { (shell.t("members.sort")) } (select_box("sort", "q-sort", &sorts, q.sort.unwrap_or_default().as_str(), None)) }
            div.field.check { input #q-bots type="checkbox" name="bots" value="1" checked[q.bots == Some(1)]; label for="q-bots" { (shell.t("members.show_bots")) } }
            div.field.check { input #q-gone type="checkbox" name="gone" value="1" checked[q.gone == Some(1)]; label for="q-gone" { (shell.t("members.show_gone")) } }
            div.field { button.btn.primary type="submit" { (shell.t("common.search")) } }
        }
    }
}

async fn list(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<ListParams>,
) -> PageResult {
    let ws = shell.principal.workspace;
    if let Some(id) = q.group_id {
        ctx.app.store.group(ws, id).await?;
    }
    let page = ctx
        .app
        .store
        .member_page(ws, &q.query(ctx.app.clock.now()))
        .await?;
    let groups = super::moderation::group_options(&ctx, &shell).await?;
    let pages = (page.total as usize).div_ceil(PAGE_SIZE).max(1);
    let current = q.page();
    let sort = q.sort.unwrap_or_default();
    let sort_head = |key: MemberSort, label: &str| {
        html! {
            th.num aria-sort=[(sort == key).then_some("descending")] {
                a.sort href=(q.link(1, Some(key))) data-sort=(key.as_str()) { (label) @if sort == key { " ▼" } }
            }
        }
    };
    let body = html! {
        section.card { (filters(&shell, &q, &groups)) }
        section.card {
            p.lead #member-total { (shell.t("members.total")) " " strong { (page.total) } " · " (shell.t("members.page")) " " (current) " / " (pages) }
            div.table-wrap { table #member-table {
                thead { tr {
                    th { (shell.t("common.member")) } th { (shell.t("members.tier")) } th { (shell.t("members.role")) } th { (shell.t("common.tags")) }
                    th.num { (shell.t("members.groups")) }
                    (sort_head(MemberSort::Messages, shell.t("members.messages")))
                    (sort_head(MemberSort::Checkins, shell.t("groups.checkins")))
                    (sort_head(MemberSort::Clicks, shell.t("groups.clicks")))
                    (sort_head(MemberSort::LastSpoke, shell.t("members.last_active")))
                } }
                tbody {
                    @for row in &page.rows {
                        @let m = &row.summary.member;
                        tr.gone[row.present_in == 0] {
                            td {
                                a.strong href={ "/members/" (m.platform.as_str()) "/" (url_part(m.user.as_str())) } { (m.display_name) }
                                div.muted.small { (m.user) @if row.bot { " " (tag("type", "bot")) } @if row.present_in == 0 { " " (tag("dead", shell.t("members.gone"))) } }
                            }
                            td { (tag(m.tier.as_str(), shell.t(&format!("tier.{}", m.tier.as_str())))) }
                            td { (shell.t(&format!("role.{}", m.role.as_str()))) }
                            td { @for t in &m.tags { (tag("tag", t)) " " } }
                            td.num { (row.present_in) span.muted { " / " (row.summary.groups) } }
                            td.num { (row.summary.messages) }
                            td.num { (row.checkins) }
                            td.num { (row.clicks) }
                            td { (shell.when_opt(row.summary.last_spoke_at)) }
                        }
                    }
                    @if page.rows.is_empty() { (none_row(shell.lang, 9)) }
                }
            } }
            (crate::html::pager(&shell, current, pages, |to| q.link(to, None)))
        }
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("members", shell.t("members.title"), body),
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
    Path((platform, user)): Path<(String, MemberId)>,
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
        .app
        .store
        .member_events(
            shell.principal.workspace,
            member.platform,
            &member.user,
            HISTORY,
        )
        .await?;
    let mut names = Names::load(ctx, shell).await?;
    names.add_from(ctx, shell, &history, &[]).await?;
    let roles = options(shell, MemberRole::ALL, "role", MemberRole::as_str);
    let tiers = options(shell, MemberTier::ALL, "tier", MemberTier::as_str);
    let body = html! {
        (flash_markup(shell))
        p.lead {
            a href="/members" { "← " (shell.t("common.back")) } " · " code { (member.user) } " · "
            a #points-link href={ "/members/" (member.platform.as_str()) "/" (url_part(member.user.as_str())) "/points" } { (shell.t("points.title")) " →" }
        }
        div.grid2 {
            section.card {
                h2 { (shell.t("common.edit")) }
                @if !shell.principal.can_edit() { (flash_notice("info", shell.t("common.readonly"))) }
                @if !errors.is_empty() { (flash_notice("error", shell.t("error.fix_below"))) }
                form.form-grid method="post" action={ "/members/" (member.platform.as_str()) "/" (url_part(member.user.as_str())) } novalidate {
                    (shell.csrf())
                    fieldset disabled[!shell.principal.can_edit()] {
                        (choice_field(shell.t("members.role"), "role", &roles, values.get("role"), errors))
                        (choice_field(shell.t("members.tier"), "tier", &tiers, values.get("tier"), errors))
                        (text_field(shell.t("common.tags"), "tags", values.get("tags"), errors, Input::Plain))
                        div.actions { button.btn.primary type="submit" { (shell.t("common.save")) } }
                    }
                }
            }
            (section(shell.t("members.history"), super::moderation::event_list(shell, &names, &history)))
        }
    };
    Ok(respond(
        status,
        shell.render("members", &member.display_name, body),
    ))
}

async fn save(
    State(ctx): State<Ctx>,
    Path((platform, user)): Path<(String, MemberId)>,
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
        url_part(user.as_str())
    )))
}
