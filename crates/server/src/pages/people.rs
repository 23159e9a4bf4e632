//! The people and group-health pages of 数据分析: member tiers from behaviour (with the rules
//! beside the table), KOLs and lurkers (each with its definition), and the dying groups with
//! their score, the suggested fate and a one-step form to apply it. Each table has its CSV
//! from the API; everything is read and decided through `qunzhu-ops`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use maud::{html as markup, Markup};
use qunzhu_domain::fate::GroupFate;
use qunzhu_domain::tier::{Combine, TierRule};
use qunzhu_domain::{GroupId, MemberTier};
use qunzhu_ops::analytics::FateDecision;

use super::{flash_markup, html, see_other, Page, PageResult, Posted};
use crate::api::people::PeopleFilter;
use crate::api::Params;
use crate::html::{none_row, section, tag, url_part, Shell};
use crate::{ApiError, Ctx};

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/analytics/tiers", get(tiers_page))
        .route("/analytics/kols", get(kols_page))
        .route("/analytics/lurkers", get(lurkers_page))
        .route("/analytics/dying", get(dying_page))
        .route("/analytics/dying/fate", post(apply_fate))
}

/// The analytics pages' own menu, so each view is one tap from the others on a phone.
pub(crate) fn subnav(shell: &Shell, here: &str) -> Markup {
    let items = [
        ("/analytics", "an.title"),
        ("/analytics/tiers", "pe.tiers"),
        ("/analytics/kols", "pe.kols"),
        ("/analytics/lurkers", "pe.lurkers"),
        ("/analytics/dying", "pe.dying"),
    ];
    markup! {
        nav.subnav aria-label=(shell.t("an.title")) {
            @for (path, key) in items {
                @if path == here { strong { (shell.t(key)) } } @else { a href=(path) { (shell.t(key)) } }
                " "
            }
        }
    }
}

/// The query string of a filter, for the CSV link and the pager.
fn carried(q: &PeopleFilter) -> String {
    let mut parts = Vec::new();
    let mut push = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            parts.push(format!("{name}={}", url_part(&value)));
        }
    };
    push("platform", q.platform.clone());
    push("chat", q.chat.clone());
    push("tier", q.tier.map(|t| t.as_str().to_string()));
    push("min_referrals", q.min_referrals.map(|n| n.to_string()));
    push("max_messages", q.max_messages.map(|n| n.to_string()));
    push("grace_days", q.grace_days.map(|n| n.to_string()));
    parts.join("&")
}

/// Previous and next links for a page of `total` rows.
fn pager(shell: &Shell, path: &str, q: &PeopleFilter, total: usize, shown: usize) -> Markup {
    let offset = q.offset.unwrap_or(0);
    let limit = q
        .limit
        .unwrap_or(100)
        .clamp(1, qunzhu_ops::people::MAX_PAGE);
    let carry = carried(q);
    markup! {
        p.pager {
            (shell.t("pe.total")) " " (total)
            @if offset > 0 {
                " " a href=(format!("{path}?{carry}&offset={}&limit={limit}", offset.saturating_sub(limit))) { "← " (shell.t("pe.prev")) }
            }
            @if offset + shown < total {
                " " a href=(format!("{path}?{carry}&offset={}&limit={limit}", offset + limit)) { (shell.t("pe.next")) " →" }
            }
        }
    }
}

fn group_fields(shell: &Shell, q: &PeopleFilter) -> Markup {
    markup! {
        label { (shell.t("an.platform")) " " input name="platform" value=[q.platform.as_deref()] size="8"; }
        label { (shell.t("an.chat")) " " input name="chat" value=[q.chat.as_deref()] size="16"; }
    }
}

fn rule_text(shell: &Shell, rule: &TierRule) -> String {
    let mut parts = Vec::new();
    if let Some(cents) = rule.min_spend_cents {
        parts.push(format!(
            "{} ≥ {:.2}",
            shell.t("pe.spend"),
            cents as f64 / 100.0
        ));
    }
    if let Some(points) = rule.min_points {
        parts.push(format!("{} ≥ {points}", shell.t("pe.points")));
    }
    if let Some(days) = rule.min_active_days {
        parts.push(format!("{} ≥ {days}", shell.t("pe.active_days")));
    }
    if let Some(checkins) = rule.min_checkins {
        parts.push(format!("{} ≥ {checkins}", shell.t("pe.checkins")));
    }
    let joint = match rule.combine {
        Combine::Any => shell.t("pe.or"),
        Combine::All => shell.t("pe.and"),
    };
    parts.join(joint)
}

fn member_link(platform: qunzhu_domain::Platform, member: &str) -> Markup {
    markup! { a href=(format!("/members/{}/{}", platform.as_str(), url_part(member))) { (member) } }
}

async fn tiers_page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<PeopleFilter>,
) -> PageResult {
    let page = ctx
        .ops()
        .member_tiers(
            &shell.principal.actor(),
            q.tier,
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(100),
        )
        .await?;
    let rules = &ctx.tiers;
    let body = markup! {
        (subnav(&shell, "/analytics/tiers"))
        div.grid2 {
            form.filters method="get" action="/analytics/tiers" {
                label { (shell.t("members.tier")) " "
                    select name="tier" {
                        option value="" { (shell.t("an.all")) }
                        @for tier in MemberTier::ALL {
                            option value=(tier.as_str()) selected[q.tier == Some(*tier)] { (shell.t(&format!("tier.{}", tier.as_str()))) }
                        }
                    }
                }
                button type="submit" { (shell.t("an.apply")) }
            }
            div {
                h3 { (shell.t("an.definitions")) }
                dl.defs data-tier-rules {
                    @if !rules.enabled { dt { } dd { (shell.t("pe.tiers_off")) } }
                    dt { (shell.t("tier.vip")) } dd { (rule_text(&shell, &rules.vip)) }
                    dt { (shell.t("tier.regular")) } dd { (rule_text(&shell, &rules.regular)) }
                    dt { (shell.t("tier.prospect")) } dd { (shell.t("pe.prospect_def")) }
                    dt { (shell.t("pe.window")) } dd { (rules.window_days) " " (shell.t("an.days")) }
                }
                p.muted { (shell.t("pe.tiers_hint")) }
            }
        }
        div.table-wrap {
            table data-tiers {
                thead { tr {
                    th { (shell.t("an.member")) } th { (shell.t("members.tier")) } th { (shell.t("pe.spend")) }
                    th { (shell.t("pe.points")) } th { (shell.t("pe.active_days")) } th { (shell.t("pe.checkins")) }
                } }
                tbody {
                    @for row in &page.rows {
                        tr {
                            td { (member_link(row.platform, &row.member)) }
                            td { (tag(row.tier.as_str(), shell.t(&format!("tier.{}", row.tier.as_str())))) }
                            td.num { (format!("{:.2}", row.inputs.spend_cents as f64 / 100.0)) }
                            td.num { (row.inputs.points) }
                            td.num { (row.inputs.active_days) }
                            td.num { (row.inputs.checkins) }
                        }
                    }
                    @if page.rows.is_empty() { (none_row(shell.lang, 6)) }
                }
            }
        }
        (pager(&shell, "/analytics/tiers", &q, page.total, page.rows.len()))
        p { a.btn href=(format!("/api/v1/analytics/tiers.csv?{}", carried(&q))) { (shell.t("pe.csv")) } }
    };
    Ok(html(
        StatusCode::OK,
        shell.render(
            "analytics",
            shell.t("pe.tiers"),
            section(shell.t("pe.tiers"), body),
        ),
    ))
}

async fn kols_page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<PeopleFilter>,
) -> PageResult {
    let filter = q.kols()?;
    let definition = filter.definition();
    let page = ctx
        .ops()
        .kols(
            &shell.principal.actor(),
            &filter,
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(100),
        )
        .await?;
    let body = markup! {
        (subnav(&shell, "/analytics/kols"))
        div.grid2 {
            form.filters method="get" action="/analytics/kols" {
                (group_fields(&shell, &q))
                label { (shell.t("pe.min_referrals")) " " input name="min_referrals" type="number" min="1" max="10000" value=(definition.min_referrals); }
                button type="submit" { (shell.t("an.apply")) }
            }
            div {
                h3 { (shell.t("an.definitions")) }
                p data-kol-definition { (shell.t("pe.kol_def")) " " strong { (definition.min_referrals) } }
                p.muted { (shell.t("pe.kol_why")) }
            }
        }
        div.table-wrap {
            table data-kols {
                thead { tr {
                    th { (shell.t("an.member")) } th { (shell.t("pe.stayed")) } th { (shell.t("an.messages")) } th { (shell.t("pe.groups")) }
                } }
                tbody {
                    @for row in &page.rows {
                        tr {
                            td { (member_link(row.platform, &row.member)) }
                            td.num { (row.referrals_stayed) }
                            td.num { (row.messages) }
                            td.num { (row.groups) }
                        }
                    }
                    @if page.rows.is_empty() { (none_row(shell.lang, 4)) }
                }
            }
        }
        (pager(&shell, "/analytics/kols", &q, page.total, page.rows.len()))
        p { a.btn href=(format!("/api/v1/analytics/kols.csv?{}", carried(&q))) { (shell.t("pe.csv")) } }
    };
    Ok(html(
        StatusCode::OK,
        shell.render(
            "analytics",
            shell.t("pe.kols"),
            section(shell.t("pe.kols"), body),
        ),
    ))
}

async fn lurkers_page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<PeopleFilter>,
) -> PageResult {
    let filter = q.lurkers()?;
    let definition = filter.definition();
    let page = ctx
        .ops()
        .lurker_view(
            &shell.principal.actor(),
            &filter,
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(100),
        )
        .await?;
    let body = markup! {
        (subnav(&shell, "/analytics/lurkers"))
        div.grid2 {
            form.filters method="get" action="/analytics/lurkers" {
                (group_fields(&shell, &q))
                label { (shell.t("pe.max_messages")) " " input name="max_messages" type="number" min="0" max="1000000" value=(definition.max_messages); }
                label { (shell.t("pe.grace_days")) " " input name="grace_days" type="number" min="0" max="365" value=(definition.grace_days); }
                button type="submit" { (shell.t("an.apply")) }
            }
            div {
                h3 { (shell.t("an.definitions")) }
                p data-lurker-definition {
                    (shell.t("pe.lurker_def1")) " " strong { (definition.grace_days) } " " (shell.t("an.days")) (shell.t("pe.lurker_def2")) " " strong { (definition.max_messages) }
                }
            }
        }
        div.table-wrap {
            table data-lurkers {
                thead { tr {
                    th { (shell.t("an.member")) } th { (shell.t("an.chat")) } th { (shell.t("an.joined")) }
                    th { (shell.t("an.messages")) } th { (shell.t("pe.last_active")) }
                } }
                tbody {
                    @for row in &page.rows {
                        tr {
                            td { (member_link(row.platform, &row.member)) }
                            td { (row.chat) }
                            td { (shell.when_opt(row.joined_at)) }
                            td.num { (row.messages) }
                            td { (shell.when_opt(row.last_active_at)) }
                        }
                    }
                    @if page.rows.is_empty() { (none_row(shell.lang, 5)) }
                }
            }
        }
        (pager(&shell, "/analytics/lurkers", &q, page.total, page.rows.len()))
        p { a.btn href=(format!("/api/v1/analytics/lurkers.csv?{}", carried(&q))) { (shell.t("pe.csv")) } }
    };
    Ok(html(
        StatusCode::OK,
        shell.render(
            "analytics",
            shell.t("pe.lurkers"),
            section(shell.t("pe.lurkers"), body),
        ),
    ))
}

async fn dying_page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let who = shell.principal.actor();
    let ops = ctx.ops();
    let all = ops.group_verdicts(&who, false).await?;
    let dying: Vec<_> = all.iter().filter(|g| g.verdict.dying).collect();
    let today = ctx.app.clock.now().with_timezone(&shell.zone).date_naive();
    let body = markup! {
        (subnav(&shell, "/analytics/dying"))
        (flash_markup(&shell))
        p.muted data-dying-definition { (shell.t("pe.dying_def")) }
        @if dying.is_empty() {
            p.muted role="status" { (shell.t("pe.none_dying")) }
        }
        @for group in &dying {
            @let fate = group.verdict.suggestion.unwrap_or(GroupFate::Reactivate);
            div.card data-dying=(group.group_id) {
                h3 {
                    a href=(format!("/groups/{}", group.group_id)) { (group.name) } " "
                    (tag("dry_run", &format!("{} {}", shell.t("pe.score"), group.verdict.score)))
                }
                p.small {
                    (shell.t("pe.members")) " " (group.trend.members) " · "
                    (shell.t("pe.week_messages")) " " (group.trend.week_messages) " · "
                    (shell.t("pe.week_speakers")) " " (group.trend.week_speakers) " · "
                    (shell.t("pe.silent_days")) " " (group.trend.silent_days)
                }
                p { (shell.t("pe.suggested")) " " strong data-suggestion=(fate.as_str()) { (shell.t(&format!("fate.{}", fate.as_str()))) } }
                @if shell.principal.can_edit() {
                    form.stack method="post" action="/analytics/dying/fate" data-confirm=(shell.t(&format!("fate.{}", fate.as_str()))) {
                        (shell.csrf())
                        input type="hidden" name="group" value=(group.group_id);
                        // A double submit the same day is the same request: one action.
                        input type="hidden" name="request" value=(format!("console:{}:{today}", group.group_id));
                        label { (shell.t("pe.fate")) " "
                            select name="fate" {
                                @for choice in GroupFate::ALL {
                                    option value=(choice.as_str()) selected[*choice == fate] { (shell.t(&format!("fate.{}", choice.as_str()))) }
                                }
                            }
                        }
                        label { (shell.t("pe.fate_text")) textarea name="text" rows="2" {} }
                        label { (shell.t("pe.merge_into")) " "
                            select name="into" {
                                option value="" { "—" }
                                @for other in all.iter().filter(|o| o.group_id != group.group_id) {
                                    option value=(other.group_id) { (other.name) }
                                }
                            }
                        }
                        button.btn.danger type="submit" { (shell.t("pe.apply_fate")) }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        shell.render(
            "analytics",
            shell.t("pe.dying"),
            section(shell.t("pe.dying"), body),
        ),
    ))
}

async fn apply_fate(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let group: GroupId = form
        .get("group")
        .parse()
        .map_err(|_| ApiError::invalid("group", "a group id"))?;
    let fate = GroupFate::parse(form.get("fate"))
        .map_err(|error| ApiError::invalid("fate", error.to_string()))?;
    let into = match form.get("into").trim() {
        "" => None,
        text => Some(
            text.parse()
                .map_err(|_| ApiError::invalid("into", "a group id"))?,
        ),
    };
    let text = Some(form.get("text").to_string()).filter(|text| !text.trim().is_empty());
    ctx.ops()
        .decide_group_fate(
            &shell.principal.actor(),
            group,
            FateDecision {
                fate,
                text,
                into,
                request: format!("{}:{}", form.get("request"), fate.as_str()),
            },
        )
        .await?;
    Ok(see_other("/analytics/dying?ok=saved"))
}
