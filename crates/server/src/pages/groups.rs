//! Groups: the table an operator works from (search, filters, sort, CSV), and one group's page
//! opening with its 30-day numbers and charts, then its positioning form.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qunzhu_domain::{DocumentKind, Group, GroupId, GroupStatus, GroupType, Positioning};
use qunzhu_storage::{ActionFilter, GroupUpdate, MemberQuery};

use super::forms::{check_field, choice_field, parse_tags, text_field, FieldErrors, Input};
use super::{flash_markup, html as respond, see_other, FormData, Page, PageResult, Posted};
use crate::api::Params;
use crate::group_table::{self, Fill, GroupRow, Period, SortKey, TableQuery, TableView};
use crate::html::{flash_notice, none_row, section, select_box, svg, tag, url_part, Shell};
use crate::svg::{chart, sparkline, Mark, Series};
use crate::{ApiError, Ctx};
use qunzhu_moderation::powers::{Instead, PowerWarning};
use qunzhu_ops::powers::GroupPowers;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/groups", get(list))
        .route("/groups.csv", get(csv))
        .route("/groups/{id}", get(detail).post(save))
}

pub fn type_label(shell: &Shell, group_type: GroupType) -> &'static str {
    shell.t(&format!("gtype.{}", group_type.as_str()))
}

/// The workspace's table (kept when slow to read), the checked view and every tag in use.
async fn table(
    ctx: &Ctx,
    shell: &Shell,
    query: &TableQuery,
) -> Result<(TableView, std::sync::Arc<Vec<GroupRow>>, Vec<String>), ApiError> {
    let view = query
        .view()
        .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let rows = ctx
        .group_rows(shell.principal.workspace, shell.zone)
        .await?;
    let mut tags: Vec<String> = rows
        .iter()
        .flat_map(|r| r.summary.group.tags.iter().cloned())
        .collect();
    tags.sort();
    tags.dedup();
    Ok((view, rows, tags))
}

/// The query string of this view with some keys replaced (for sort links and the CSV link).
fn query_with(view: &TableView, sort: SortKey, ascending: bool) -> String {
    let mut parts = Vec::new();
    let mut push = |key: &str, value: &str| {
        if !value.is_empty() {
            parts.push(format!("{key}={}", url_part(value)));
        }
    };
    push("q", &view.text);
    push("type", view.group_type.map_or("", GroupType::as_str));
    push("tag", view.tag.as_deref().unwrap_or(""));
    push("status", view.status.map_or("", GroupStatus::as_str));
    push("period", view.period.as_str());
    push("sort", sort.as_str());
    push("dir", if ascending { "asc" } else { "desc" });
    parts.join("&")
}

fn ratio(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

fn signed(value: i64) -> String {
    if value > 0 {
        format!("+{value}")
    } else {
        value.to_string()
    }
}

/// A sortable column header: a link that sorts by it (or flips the order if it already does).
fn header_cell(
    shell: &Shell,
    view: &TableView,
    key: SortKey,
    label: &str,
    numeric: bool,
) -> Markup {
    let current = view.sort == key;
    let ascending = if current {
        !view.ascending
    } else {
        key.ascending_by_default()
    };
    let aria = current.then_some(if view.ascending {
        "ascending"
    } else {
        "descending"
    });
    let arrow = match (current, view.ascending) {
        (false, _) => "",
        (true, true) => " ▲",
        (true, false) => " ▼",
    };
    html! {
        th.num[numeric] aria-sort=[aria] scope="col" {
            a.sort href={ "/groups?" (query_with(view, key, ascending)) } data-sort=(key.as_str())
                title=(shell.t("groups.sort_by")) { (label) (arrow) }
        }
    }
}

fn filters(shell: &Shell, view: &TableView, tags: &[String]) -> Markup {
    let all = shell.t("common.all");
    let types: Vec<(String, String)> = GroupType::ALL
        .iter()
        .map(|t| (t.as_str().to_string(), type_label(shell, *t).to_string()))
        .collect();
    let statuses: Vec<(String, String)> = GroupStatus::ALL
        .iter()
        .map(|s| {
            let label = shell.t(&format!("gstatus.{}", s.as_str()));
            (s.as_str().to_string(), label.to_string())
        })
        .collect();
    let tag_options: Vec<(String, String)> = tags.iter().map(|t| (t.clone(), t.clone())).collect();
    let periods: Vec<(String, String)> = Period::ALL
        .iter()
        .map(|p| {
            let label = shell.t(&format!("period.{}", p.as_str()));
            (p.as_str().to_string(), label.to_string())
        })
        .collect();
    html! {
        form.filters method="get" action="/groups" role="search" {
            div.field { label for="g-q" { (shell.t("groups.search")) } input #g-q name="q" type="search" value=(view.text); }
            div.field { label for="g-type" { (shell.t("common.type")) } (select_box("type", "g-type", &types, view.group_type.map_or("", GroupType::as_str), Some(all))) }
            div.field { label for="g-tag" { (shell.t("common.tags")) } (select_box("tag", "g-tag", &tag_options, view.tag.as_deref().unwrap_or(""), Some(all))) }
            div.field { label for="g-status" { (shell.t("common.status")) } (select_box("status", "g-status", &statuses, view.status.map_or("", GroupStatus::as_str), Some(all))) }
            div.field { label for="g-period" { (shell.t("groups.period")) } (select_box("period", "g-period", &periods, view.period.as_str(), None)) }
            input type="hidden" name="sort" value=(view.sort.as_str());
            div.field { button.btn.primary type="submit" { (shell.t("common.filter")) } }
            div.field { a.btn href={ "/groups.csv?" (query_with(view, view.sort, view.ascending)) } download="groups.csv" { (shell.t("groups.csv")) } }
        }
    }
}

fn health_pill(shell: &Shell, row: &GroupRow) -> Markup {
    let health = row.health.as_str();
    tag(health, shell.t(&format!("health.{health}")))
}

fn capacity_cell(shell: &Shell, row: &GroupRow) -> Markup {
    let class = match row.fill {
        Fill::Room => "num cap",
        Fill::Near => "num cap near",
        Fill::Full => "num cap full",
    };
    html! {
        td class=(class) data-fill=(format!("{:?}", row.fill).to_lowercase()) {
            (row.members) span.muted { " / " (row.cap) }
            @match row.fill {
                Fill::Near => { br; small { (shell.t("fill.near")) } }
                Fill::Full => { br; small { (shell.t("fill.full")) } }
                Fill::Room => {}
            }
        }
    }
}

async fn list(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(query): Params<TableQuery>,
) -> PageResult {
    let (view, table, tags) = table(&ctx, &shell, &query).await?;
    let matching = view.select(&table);
    let members: u64 = matching.iter().map(|r| r.members).sum();
    let pages = matching.len().div_ceil(group_table::PAGE_ROWS).max(1);
    let page = view.page.clamp(1, pages);
    let rows = &matching[((page - 1) * group_table::PAGE_ROWS).min(matching.len())
        ..(page * group_table::PAGE_ROWS).min(matching.len())];
    let columns: [(SortKey, &str, bool); 13] = [
        (SortKey::Name, "common.name", false),
        (SortKey::Fill, "groups.size", true),
        (SortKey::Net, "groups.net", true),
        (SortKey::Joins, "metric.joins", true),
        (SortKey::Left, "groups.left", true),
        (SortKey::Removed, "groups.removed", true),
        (SortKey::Speakers, "metric.speakers", true),
        (SortKey::Ratio, "groups.ratio", true),
        (SortKey::Messages, "metric.messages", true),
        (SortKey::Checkins, "groups.checkins", true),
        (SortKey::Clicks, "groups.clicks", true),
        (SortKey::Members, "groups.members_now", true),
        (SortKey::Health, "groups.health", false),
    ];
    let body = html! {
        p.lead {
            (matching.len()) " " (shell.t("groups.n_groups")) " · " (members) " " (shell.t("groups.n_members"))
            " · " (shell.t(&format!("period.{}", view.period.as_str())))
        }
        (filters(&shell, &view, &tags))
        section.card {
            div.table-wrap {
                table.groups #group-table {
                    thead { tr {
                        @for (key, label, numeric) in columns.iter().take(12) {
                            @if *key != SortKey::Members {
                                (header_cell(&shell, &view, *key, shell.t(label), *numeric))
                            }
                        }
                        th scope="col" { (shell.t("groups.activity")) }
                        (header_cell(&shell, &view, SortKey::Health, shell.t("groups.health"), false))
                    } }
                    tbody {
                        @for row in rows {
                            @let g = &row.summary.group;
                            @let p = row.period(view.period);
                            @let spark: Vec<u64> = row.days.iter().map(|d| d.messages).collect();
                            tr data-group=(g.id) {
                                td {
                                    a.strong href={ "/groups/" (g.id) } { (g.name) }
                                    div.muted.small {
                                        (type_label(&shell, g.group_type)) " · " (g.platform.as_str())
                                        @for t in &g.tags { " " (tag("tag", t)) }
                                    }
                                }
                                (capacity_cell(&shell, row))
                                td.num.net.neg[p.net < 0] { (signed(p.net)) }
                                td.num { (p.joins) }
                                td.num { (p.left) }
                                td.num { (p.removed) }
                                td.num { (p.speakers) }
                                td.num { (ratio(p.speaker_ratio)) }
                                td.num data-messages=(p.messages) { (p.messages) }
                                td.num { (p.checkins) }
                                td.num { (p.link_clicks) }
                                td { (svg(sparkline(&spark[spark.len().saturating_sub(14)..], shell.t("groups.activity")))) }
                                td { (health_pill(&shell, row)) }
                            }
                        }
                        @if rows.is_empty() { (none_row(shell.lang, 13)) }
                    }
                }
            }
            (crate::html::pager(&shell, page, pages, |to| {
                format!("/groups?{}&page={to}", query_with(&view, view.sort, view.ascending))
            }))
        }
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("groups", shell.t("groups.title"), body),
    ))
}

/// A CSV cell: quoted when needed, and a leading `= + - @` defused so a spreadsheet never runs it.
pub(crate) fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The table as CSV: every group that matches, with today's, 7 days' and 30 days' numbers.
async fn csv(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(query): Params<TableQuery>,
) -> PageResult {
    let (view, table, _) = table(&ctx, &shell, &query).await?;
    let rows = view.select(&table);
    let mut header = vec![
        "id", "name", "platform", "chat", "type", "status", "tags", "members", "cap", "health",
    ]
    .into_iter()
    .map(str::to_string)
    .collect::<Vec<_>>();
    for period in Period::ALL {
        for column in [
            "net",
            "joins",
            "left",
            "removed",
            "speakers",
            "speaker_ratio",
            "messages",
            "checkins",
            "link_clicks",
        ] {
            header.push(format!("{column}_{}", period.as_str()));
        }
    }
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in &rows {
        let g = &row.summary.group;
        let mut cells = vec![
            g.id.to_string(),
            g.name.clone(),
            g.platform.as_str().to_string(),
            g.chat.clone(),
            g.group_type.as_str().to_string(),
            g.status.as_str().to_string(),
            g.tags.join(";"),
            row.members.to_string(),
            row.cap.to_string(),
            row.health.as_str().to_string(),
        ];
        for period in Period::ALL {
            let p = row.period(period);
            cells.extend([
                p.net.to_string(),
                p.joins.to_string(),
                p.left.to_string(),
                p.removed.to_string(),
                p.speakers.to_string(),
                format!("{:.4}", p.speaker_ratio),
                p.messages.to_string(),
                p.checkins.to_string(),
                p.link_clicks.to_string(),
            ]);
        }
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"groups.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        // A byte-order mark so spreadsheet programs read the Chinese names as UTF-8.
        format!("\u{feff}{out}"),
    )
        .into_response())
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

fn edit_form(shell: &Shell, id: GroupId, values: &FormData, errors: &FieldErrors) -> Markup {
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
    let text = |label: &str, name: &str, input: Input| {
        text_field(shell.t(label), name, values.get(name), errors, input)
    };
    html! {
        @if !errors.is_empty() { (flash_notice("error", shell.t("error.fix_below"))) }
        form.form-grid method="post" action={ "/groups/" (id) } novalidate {
            (shell.csrf())
            fieldset disabled[!shell.principal.can_edit()] {
                (text("common.name", "name", Input::Required))
                (choice_field(shell.t("common.type"), "group_type", &types, values.get("group_type"), errors))
                (choice_field(shell.t("common.status"), "status", &statuses, values.get("status"), errors))
                (text("group.capacity", "capacity", Input::Numeric))
                (text("common.tags", "tags", Input::Plain))
                (text("group.purpose", "purpose", Input::Plain))
                (text("group.audience", "audience", Input::Plain))
                (text("group.value", "value", Input::Plain))
                (text("group.channel", "channel", Input::Plain))
                (check_field(shell.t("group.paid"), "paid", !values.get("paid").is_empty()))
                div.actions { button.btn.primary type="submit" { (shell.t("common.save")) } }
            }
        }
    }
}

async fn detail(State(ctx): State<Ctx>, Page(shell): Page, Path(id): Path<GroupId>) -> PageResult {
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

/// The group's numbers for today, 7 and 30 days, and its 30-day charts.
fn numbers(shell: &Shell, row: &GroupRow) -> Markup {
    type Pick = fn(&group_table::PeriodStats) -> String;
    let lines: [(&str, Pick); 9] = [
        ("groups.net", |p| signed(p.net)),
        ("metric.joins", |p| p.joins.to_string()),
        ("groups.left", |p| p.left.to_string()),
        ("groups.removed", |p| p.removed.to_string()),
        ("metric.speakers", |p| p.speakers.to_string()),
        ("groups.ratio", |p| ratio(p.speaker_ratio)),
        ("metric.messages", |p| p.messages.to_string()),
        ("groups.checkins", |p| p.checkins.to_string()),
        ("groups.clicks", |p| p.link_clicks.to_string()),
    ];
    let labels: Vec<String> = row
        .days
        .iter()
        .map(|d| d.day.format("%m-%d").to_string())
        .collect();
    let pick = |f: fn(&qunzhu_storage::GroupDayReport) -> u64| {
        row.days.iter().map(f).collect::<Vec<u64>>()
    };
    let activity = chart(
        shell.t("chart.activity"),
        &labels,
        &[
            Series {
                name: shell.t("metric.messages"),
                values: pick(|d| d.messages),
                mark: Mark::Bars,
                class: "s1",
            },
            Series {
                name: shell.t("metric.speakers"),
                values: pick(|d| d.speakers),
                mark: Mark::Line,
                class: "s2",
            },
        ],
    );
    let flow = chart(
        shell.t("chart.flow"),
        &labels,
        &[
            Series {
                name: shell.t("metric.joins"),
                values: pick(|d| d.joins),
                mark: Mark::Bars,
                class: "s3",
            },
            Series {
                name: shell.t("groups.left"),
                values: pick(|d| d.left),
                mark: Mark::Bars,
                class: "s4",
            },
            Series {
                name: shell.t("groups.removed"),
                values: pick(|d| d.removed),
                mark: Mark::Bars,
                class: "s5",
            },
        ],
    );
    let engagement = chart(
        shell.t("chart.engagement"),
        &labels,
        &[
            Series {
                name: shell.t("groups.checkins"),
                values: pick(|d| d.checkins),
                mark: Mark::Bars,
                class: "s3",
            },
            Series {
                name: shell.t("groups.clicks"),
                values: pick(|d| d.link_clicks),
                mark: Mark::Line,
                class: "s1",
            },
        ],
    );
    html! {
        div.metrics.group-metrics {
            article.metric data-metric="members" {
                h3 { (shell.t("metric.members")) small { (shell.t("common.today")) } }
                p.num { (row.members) }
                p.sub { (shell.t("groups.size")) " " (row.members) " / " (row.cap) }
            }
            article.metric data-metric="health" {
                h3 { (shell.t("groups.health")) }
                p { (health_pill(shell, row)) }
                p.sub { (shell.t("groups.ratio")) " " (ratio(row.week.speaker_ratio)) " · 7d" }
            }
        }
        div.grid2 {
        section.card {
            h2 { (shell.t("group.numbers")) }
            div.table-wrap { table.numbers {
                thead { tr {
                    th {}
                    @for period in Period::ALL { th.num scope="col" { (shell.t(&format!("period.{}", period.as_str()))) } }
                } }
                tbody {
                    @for (key, f) in lines {
                        tr { th scope="row" { (shell.t(key)) } @for period in Period::ALL { td.num { (f(row.period(period))) } } }
                    }
                }
            } }
        }
            (section(shell.t("chart.engagement"), svg(engagement)))
        }
        div.grid2 {
            (section(shell.t("chart.activity"), svg(activity)))
            (section(shell.t("chart.flow"), svg(flow)))
        }
    }
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
    let now = ctx.app.clock.now();
    let row = group_table::group_rows(store, ws, shell.zone, now, Some(group.id))
        .await?
        .into_iter()
        .next();
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
    // Moderation only: welcomes, FAQ answers and rewards are not 审核处理.
    let mut modlog = store
        .actions(
            ws,
            &ActionFilter {
                chat: Some(group.chat.clone()),
                origin_prefix: Some("rule:".into()),
                limit: Some(200),
                ..ActionFilter::default()
            },
        )
        .await?;
    modlog.retain(|a| {
        crate::classify::classify(&a.origin, &a.kind) == crate::classify::ActionClass::Moderation
    });
    modlog.truncate(30);
    let calendar = ctx
        .ops()
        .calendar(&shell.principal.actor(), None, Some(&group.chat), now, 7)
        .await?;
    let mut names = super::names::Names::load(ctx, shell).await?;
    names.add_from(ctx, shell, &events, &modlog).await?;
    let mut rules = Vec::new();
    for document in store.documents(ws, DocumentKind::Rules).await? {
        let profile = qunzhu_moderation::check(&document.source, &document.name)
            .ok()
            .and_then(|set| {
                set.profile_for(&group.chat, group.group_type)
                    .map(|p| p.name.clone())
            });
        rules.push((document.name, profile));
    }
    let powers = ctx
        .ops()
        .group_powers(&shell.principal.actor(), group)
        .await?;
    let body = html! {
        (flash_markup(shell))
        p.lead {
            a href="/groups" { "← " (shell.t("common.back")) } " · " (group.platform.as_str()) " · " code { (group.chat) } " · "
            a #board-link href={ "/leaderboards?group=" (group.id) } { (shell.t("board.title")) " →" }
        }
        @if let Some(row) = &row { (numbers(shell, row)) }
        div.grid2 {
            section.card {
                h2 { (shell.t("group.positioning")) }
                @if !shell.principal.can_edit() { (flash_notice("info", shell.t("common.readonly"))) }
                (edit_form(shell, group.id, values, errors))
            }
            div.stack {
                section.card {
                    h2 { (shell.t("group.rules")) }
                    ul.plain {
                        @for (name, profile) in &rules {
                            li { a href={ "/rules/" (url_part(name)) } { (name) } @if let Some(p) = profile { " " (tag("type", p)) } }
                        }
                        @if rules.is_empty() { li.muted { (shell.t("common.none")) } }
                    }
                }
                (powers_markup(shell, &powers))
                (section(shell.t("group.calendar"), super::documents::calendar_markup(shell, &calendar)))
            }
        }
        div.grid2 {
            section.card {
                h2 { (shell.t("group.members")) }
                div.table-wrap { table {
                    thead { tr { th { (shell.t("common.member")) } th { (shell.t("members.role")) } th.num { (shell.t("members.messages")) } th { (shell.t("members.last_active")) } } }
                    tbody {
                        @for m in &members {
                            tr {
                                td { a href={ "/members/" (m.member.platform.as_str()) "/" (url_part(m.member.user.as_str())) } { (m.member.display_name) } }
                                td { (shell.t(&format!("role.{}", m.member.role.as_str()))) }
                                td.num { (m.messages) }
                                td { (shell.when_opt(m.last_spoke_at)) }
                            }
                        }
                        @if members.is_empty() { (none_row(shell.lang, 4)) }
                    }
                } }
            }
            (section(shell.t("group.events"), super::moderation::event_list(shell, &names, &events)))
        }
        (section(shell.t("group.modlog"), super::moderation::action_table(shell, &names, &modlog, false)))
    };
    Ok(respond(status, shell.render("groups", &group.name, body)))
}

/// One warning's sentence: the step the bot may not take, the rule asking for it, and what
/// happens instead, in the console's language.
pub(crate) fn power_warning_text(shell: &Shell, warning: &PowerWarning) -> String {
    let key = match warning.instead {
        Instead::Kick => "power.warn_kick",
        Instead::Nothing => "power.warn_none",
    };
    shell
        .t(key)
        .replace("{step}", shell.t(&format!("power.step.{}", warning.step)))
        .replace("{rule}", &warning.rule)
}

/// The bot's powers in the group, with a warning per rule step it may not take.
fn powers_markup(shell: &Shell, powers: &GroupPowers) -> Markup {
    html! {
        section.card #bot-powers {
            h2 { (shell.t("power.title")) }
            @match powers {
                GroupPowers::Unknown => { p.muted { (shell.t("power.unknown")) } }
                GroupPowers::Known { powers, warnings } => {
                    p.muted.small { (shell.t("power.level")) " " (powers.level) " · " (shell.when(powers.at)) }
                    @if warnings.is_empty() {
                        p.power-ok { (shell.t("power.ok")) }
                    }
                    @for warning in warnings {
                        p class="notice error power-warning" role="alert" data-rule=(warning.rule) data-step=(warning.step) {
                            (power_warning_text(shell, warning))
                        }
                    }
                }
            }
        }
    }
}

/// Reads the edit form; every problem is reported beside its field.
fn parse_update(shell: &Shell, form: &FormData) -> Result<GroupUpdate, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = form.get("name").trim();
    if name.is_empty() {
        errors.add("name", shell.t("group.name_required"));
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
            errors.add("capacity", shell.t("group.capacity_range"));
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
    Path(id): Path<GroupId>,
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
            ctx.snapshots.groups.forget(shell.principal.workspace);
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

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        for (given, expected) in [
            ("瑜伽营", "瑜伽营"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("-3", "-3"),
            ("@bot", "'@bot"),
        ] {
            assert_eq!(csv_cell(given), expected, "{given}");
        }
    }
}
