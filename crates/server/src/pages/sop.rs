//! The SOP page: the week calendar of upcoming posts, the plans, and applying a template.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{Datelike, Duration, NaiveTime, TimeZone};
use serde::Deserialize;

use super::forms::FieldErrors;
use super::{flash, html, see_other, Page, PageResult, Posted};
use crate::html::{card, esc, notice, Shell};
use crate::i18n::Lang;
use crate::Ctx;
use qunzhu_domain::GroupId;
use qunzhu_ops::check::Problem;

/// What a rejected form on this page had typed, to show it again.
#[derive(Default)]
pub(super) struct Typed<'a> {
    pub name: &'a str,
    pub source: &'a str,
    pub problems: &'a [Problem],
    pub errors: Option<&'a FieldErrors>,
    /// The template form's choices.
    pub template: &'a str,
    pub groups: Vec<String>,
    pub plan_name: &'a str,
    pub template_errors: Option<&'a FieldErrors>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct WeekQuery {
    week: i64,
}

pub(super) async fn index(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Query(q): Query<WeekQuery>,
) -> PageResult {
    render_index(
        &ctx,
        &shell,
        q.week.clamp(-52, 52),
        Typed::default(),
        StatusCode::OK,
    )
    .await
}

const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

async fn week_view(ctx: &Ctx, shell: &Shell, week: i64) -> Result<String, super::PageError> {
    let today = ctx.app.clock.now().with_timezone(&shell.zone).date_naive();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()))
        + Duration::weeks(week);
    let start = shell
        .zone
        .from_local_datetime(&monday.and_time(NaiveTime::MIN))
        .earliest()
        .map_or_else(|| ctx.app.clock.now(), |at| at.to_utc());
    let entries = ctx
        .ops()
        .calendar(&shell.principal.actor(), None, None, start, 7)
        .await?;
    let names = if shell.lang == Lang::Zh {
        WEEKDAYS_ZH
    } else {
        WEEKDAYS_EN
    };
    let mut columns = String::new();
    for (offset, weekday) in names.iter().enumerate() {
        let day = monday + Duration::days(offset as i64);
        let date = day.format("%Y-%m-%d").to_string();
        let mut items = String::new();
        for e in entries.iter().filter(|e| e.local.starts_with(&date)) {
            let _ = write!(
                items,
                r#"<li class="event" title="{text}"{status}><time>{time}</time><strong>{title}</strong><span class="small muted">{plan} · {groups}</span>{outcome}</li>"#,
                text = esc(&e.text),
                status = card_status(&e.outcome),
                time = esc(e.local.get(11..).unwrap_or("")),
                title = esc(&e.title),
                plan = esc(&e.plan),
                groups = targets(shell, &e.groups),
                outcome = outcome_line(shell, &e.outcome),
            );
        }
        let class = match day.cmp(&today) {
            std::cmp::Ordering::Equal => " today",
            std::cmp::Ordering::Less => " past",
            std::cmp::Ordering::Greater => "",
        };
        let _ = write!(
            columns,
            r#"<section class="day{class}" aria-label="{weekday} {date}"><h3>{weekday} <span>{md}</span></h3><ol>{items}</ol></section>"#,
            md = day.format("%m-%d"),
        );
    }
    Ok(format!(
        r#"<nav class="week-nav"><a class="btn" href="/sop?week={prev}">← {prev_l}</a><strong>{from} – {to}</strong><a class="btn" href="/sop?week={next}">{next_l} →</a></nav><div class="week" data-calendar>{columns}</div>"#,
        prev = week - 1,
        next = week + 1,
        prev_l = shell.t("sop.prev_week"),
        next_l = shell.t("sop.next_week"),
        from = monday.format("%Y-%m-%d"),
        to = (monday + Duration::days(6)).format("%m-%d"),
    ))
}

/// How many target names a card lists before it summarises them ("200 个群", with a toggle).
const NAMES_ON_CARD: usize = 3;

/// A card's targets: a few names, or a count that opens to the full list.
fn targets(shell: &Shell, groups: &[String]) -> String {
    if groups.len() <= NAMES_ON_CARD {
        return esc(&groups.join("、"));
    }
    let count = format!("{} {}", groups.len(), shell.t("push.groups_count"));
    format!(
        r#"<details class="targets"><summary>{}</summary>{}</details>"#,
        esc(&count),
        esc(&groups.join("、"))
    )
}

/// `data-status` of a card: its worst outcome so far, if any push of it was decided.
fn card_status(outcome: &qunzhu_ops::CardOutcome) -> &'static str {
    if outcome.failed > 0 {
        r#" data-status="failed""#
    } else if outcome.late > 0 {
        r#" data-status="late""#
    } else if outcome.sent > 0 {
        r#" data-status="sent""#
    } else if outcome.skipped > 0 {
        r#" data-status="skipped""#
    } else {
        ""
    }
}

/// "已发送 198 · 失败 2" and, once sent, "触达 973 · 点击 12 · 回复 5".
fn outcome_line(shell: &Shell, outcome: &qunzhu_ops::CardOutcome) -> String {
    let counts = [
        ("push.sent", outcome.sent),
        ("push.late", outcome.late),
        ("push.failed", outcome.failed),
        ("push.skipped", outcome.skipped),
    ];
    let decided: Vec<String> = counts
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(key, count)| format!("{} {count}", shell.t(key)))
        .collect();
    if decided.is_empty() {
        return String::new();
    }
    let mut line = format!(
        r#"<span class="small outcome">{}</span>"#,
        esc(&decided.join(" · "))
    );
    if outcome.went_out() {
        let _ = write!(
            line,
            r#"<span class="small muted numbers">{} {} · {} {} · {} {}</span>"#,
            shell.t("push.reach_short"),
            outcome.reach,
            shell.t("push.clicks_short"),
            outcome.clicks,
            shell.t("push.replies_short"),
            outcome.replies,
        );
    }
    line
}

async fn template_form(
    ctx: &Ctx,
    shell: &Shell,
    typed: &Typed<'_>,
) -> Result<String, super::PageError> {
    let groups = ctx.app.store.groups(shell.principal.workspace).await?;
    let empty = FieldErrors::default();
    let errors = typed.template_errors.unwrap_or(&empty);
    let mut templates = String::new();
    for (index, t) in qunzhu_sop::templates().iter().enumerate() {
        let checked = if typed.template == t.id || (typed.template.is_empty() && index == 0) {
            " checked"
        } else {
            ""
        };
        let name = if shell.lang == Lang::Zh {
            t.name_zh
        } else {
            t.name_en
        };
        let _ = write!(
            templates,
            r#"<label class="option"><input type="radio" name="template" value="{id}"{checked}><span><strong>{name}</strong><small>{desc}</small></span></label>"#,
            id = esc(t.id),
            name = esc(name),
            desc = esc(t.description),
        );
    }
    let mut boxes = String::new();
    for g in &groups {
        let id = g.group.id.to_string();
        let checked = if typed.groups.contains(&id) {
            " checked"
        } else {
            ""
        };
        let _ = write!(
            boxes,
            r#"<label class="option small"><input type="checkbox" name="groups" value="{id}"{checked}><span>{name} <small>{gtype}</small></span></label>"#,
            name = esc(&g.group.name),
            gtype = super::groups::type_label(shell, g.group.group_type),
        );
    }
    let group_error = errors.get("groups").map_or_else(String::new, |m| {
        format!(r#"<p class="field-error" id="groups-error">{}</p>"#, esc(m))
    });
    let name_field = super::forms::text(
        shell.t("common.name"),
        "plan",
        typed.plan_name,
        errors,
        r#"placeholder="daily-morning""#,
    );
    Ok(format!(
        r#"<form method="post" action="/sop/apply" class="stack" data-apply>{csrf}
<fieldset><legend>{template_l}</legend><div class="options">{templates}</div></fieldset>
<fieldset{invalid}><legend>{groups_l}</legend>{group_error}<div class="options cols">{boxes}</div></fieldset>
{name_field}<div class="actions"><button class="btn primary" type="submit">{apply}</button></div></form>"#,
        csrf = shell.csrf_field(),
        template_l = shell.t("sop.template"),
        groups_l = shell.t("sop.groups"),
        invalid = if group_error.is_empty() {
            ""
        } else {
            r#" aria-describedby="groups-error" class="invalid""#
        },
        apply = shell.t("sop.apply"),
    ))
}

pub(super) async fn render_index(
    ctx: &Ctx,
    shell: &Shell,
    week: i64,
    typed: Typed<'_>,
    status: StatusCode,
) -> PageResult {
    let calendar = week_view(ctx, shell, week).await?;
    let plans = super::documents::list_plans(ctx, shell).await?;
    let edit = shell.principal.can_edit();
    let apply = if edit {
        card(
            shell.t("sop.templates"),
            &template_form(ctx, shell, &typed).await?,
        )
    } else {
        String::new()
    };
    let no_errors = FieldErrors::default();
    let new_plan = if edit {
        let errors = typed.errors.unwrap_or(&no_errors);
        card(
            shell.t("common.new"),
            &super::documents::new_plan_editor(
                shell,
                typed.name,
                typed.source,
                typed.problems,
                errors,
            ),
        )
    } else {
        notice("info", shell.t("common.readonly"))
    };
    let body = format!(
        r#"{flash}<p class="lead">{sub}</p>{calendar}<div class="grid2">{plans}{apply}</div>{new_plan}"#,
        flash = flash(shell),
        sub = shell.t("sop.subtitle"),
        calendar = card(
            shell.t("sop.week"),
            &format!(
                r#"{calendar}<p><a class="btn" href="/pushes">{}</a></p>"#,
                shell.t("push.open")
            )
        ),
        plans = card(shell.t("sop.plans"), &plans),
    );
    Ok(html(status, shell.page("sop", shell.t("sop.title"), &body)))
}

pub(super) async fn apply(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    shell
        .principal
        .require(qunzhu_storage::UserRole::Operator)?;
    let template = form.get("template");
    let group_ids: Vec<GroupId> = form
        .all("groups")
        .iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    let name = form.get("plan").trim();
    let mut errors = FieldErrors::default();
    if group_ids.is_empty() {
        errors.add("groups", shell.t("sop.pick_groups"));
    }
    if !name.is_empty() {
        if let Err(message) = qunzhu_ops::check::check_name(name) {
            errors.add("plan", message);
        }
    }
    if errors.is_empty() {
        match ctx
            .ops()
            .apply_template(&shell.principal.actor(), template, &group_ids, Some(name))
            .await
            .map_err(crate::ApiError::from)
        {
            Ok(_) => return Ok(see_other("/sop?ok=saved")),
            Err(error) if error.code == crate::ErrorCode::InvalidInput => {
                errors.add(
                    if error.field.as_deref() == Some("name") {
                        "plan"
                    } else {
                        error.field.as_deref().unwrap_or("groups")
                    },
                    error.message,
                );
            }
            Err(error) => return Err(error.into()),
        }
    }
    let typed = Typed {
        template,
        groups: form.all("groups").into_iter().map(str::to_string).collect(),
        plan_name: name,
        template_errors: Some(&errors),
        ..Typed::default()
    };
    render_index(&ctx, &shell, 0, typed, StatusCode::UNPROCESSABLE_ENTITY).await
}
