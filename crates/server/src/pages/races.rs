//! `/races` 排行赛 (比): every leaderboard race with its phase, groups, metric and window, and
//! `/races/{name}`, one race with its live standings (the metric since the opening), rank
//! prizes, recorded winners and the document editor; saved through `POST /races`. Everything
//! goes through `qunzhu-ops`, the same operations as `/api/v1/races`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qunzhu_engine::RacePhase;
use qunzhu_growth::leaderboard::Board;
use qunzhu_growth::lottery::Prize;
use qunzhu_growth::race_doc::EXAMPLE;
use qunzhu_ops::{OpsError, RaceView};

use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::html::{none_row, section, tag, url_part, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/races", get(list).post(save))
        .route("/races/{name}", get(detail))
}

fn phase_tag(shell: &Shell, phase: Option<RacePhase>) -> Markup {
    let (kind, key) = match phase {
        None => ("dead", "race.invalid"),
        Some(RacePhase::Planned) => ("dry_run", "race.phase.planned"),
        Some(RacePhase::Running) => ("ok", "race.phase.running"),
        Some(RacePhase::Ending) => ("pending", "race.phase.ending"),
        Some(RacePhase::Settled) => ("pending", "race.phase.settled"),
        Some(RacePhase::Finished) => ("done", "race.phase.finished"),
    };
    let name = phase.map_or("invalid", RacePhase::as_str);
    html! { span data-phase=(name) { (tag(kind, shell.t(key))) } }
}

fn metric_name(shell: &Shell, metric: Option<Board>) -> &'static str {
    match metric {
        Some(Board::Invites) => shell.t("race.metric.invites"),
        Some(Board::CheckIns) => shell.t("race.metric.check_ins"),
        Some(Board::Points) => shell.t("race.metric.points"),
        None => "",
    }
}

fn prize_text(shell: &Shell, prize: &Prize) -> String {
    match prize {
        Prize::Points { points } => format!("{points} {}", shell.t("race.points")),
        Prize::Coupon { offer, .. } => format!("{} {}", shell.t("race.coupon"), offer.describe()),
    }
}

fn races_table(shell: &Shell, views: &[RaceView]) -> Markup {
    html! {
        div.table-wrap { table #races {
            thead { tr {
                th { (shell.t("race.name")) } th { (shell.t("common.status")) } th { (shell.t("race.metric")) }
                th { (shell.t("race.window")) } th { (shell.t("race.groups")) }
            } }
            tbody {
                @for view in views {
                    tr data-race=(view.name) {
                        td {
                            a href={ "/races/" (url_part(&view.name)) } { strong { (view.title.as_deref().unwrap_or(&view.name)) } }
                            br; code.small { (view.name) }
                        }
                        td { (phase_tag(shell, view.phase))
                            @for problem in &view.problems { br; span.small { (problem) } } }
                        td { (metric_name(shell, view.metric)) }
                        td.small {
                            @if let (Some(opens), Some(closes)) = (view.opens_at, view.closes_at) {
                                (shell.time(opens)) " – " (shell.time(closes))
                            }
                        }
                        td.small { @for group in &view.groups { code { (group) } " " } }
                    }
                }
                @if views.is_empty() { (none_row(shell.lang, 5)) }
            }
        } }
    }
}

fn editor(shell: &Shell, name: &str, source: &str, fixed_name: bool) -> Markup {
    html! {
        form.stack method="post" action="/races" {
            (shell.csrf())
            label for="name" { (shell.t("race.name")) }
            @if fixed_name {
                input #name name="name" value=(name) readonly;
            } @else {
                input #name name="name" value=(name) required pattern="[a-z0-9_-]{1,32}";
            }
            label for="source" { (shell.t("race.document")) }
            textarea #source name="source" rows="18" spellcheck="false" { (source) }
            button.btn type="submit" { (shell.t("race.save")) }
        }
        p.small.muted { (shell.t("race.editor_help")) }
    }
}

fn standings_table(shell: &Shell, view: &RaceView) -> Markup {
    html! {
        div.table-wrap { table #standings {
            thead { tr { th { (shell.t("race.rank")) } th { (shell.t("common.member")) } th { (shell.t("race.score")) } } }
            tbody {
                @for row in &view.standings {
                    tr { td { (row.rank) } td { (row.row.display_name) br; code.small { (row.row.member) } } td { (row.row.score) } }
                }
                @if view.standings.is_empty() { (none_row(shell.lang, 3)) }
            }
        } }
    }
}

fn prizes_table(shell: &Shell, view: &RaceView) -> Markup {
    html! {
        div.table-wrap { table #prizes {
            thead { tr { th { (shell.t("race.ranks")) } th { (shell.t("race.prize")) } } }
            tbody {
                @for tier in &view.prizes {
                    tr {
                        td { @if tier.from == tier.to { (tier.from) } @else { (tier.from) "–" (tier.to) } }
                        td { (prize_text(shell, &tier.prize)) }
                    }
                }
                @if view.prizes.is_empty() { (none_row(shell.lang, 2)) }
            }
        } }
    }
}

fn awards_table(shell: &Shell, view: &RaceView) -> Markup {
    html! {
        div.table-wrap { table #awards {
            thead { tr { th { (shell.t("race.rank")) } th { (shell.t("common.member")) } th { (shell.t("race.score")) } th { (shell.t("race.prize")) } } }
            tbody {
                @for award in &view.awards {
                    tr { td { (award.rank) } td { code { (award.member) } } td { (award.score) } td { (prize_text(shell, &award.prize)) } }
                }
                @if view.awards.is_empty() { (none_row(shell.lang, 4)) }
            }
        } }
    }
}

async fn render_list(
    ctx: &Ctx,
    shell: &Shell,
    form: (&str, &str),
    refused: Option<String>,
) -> PageResult {
    let views = ctx.ops().races(&shell.principal.actor()).await?;
    let body = html! {
        (flash_markup(shell))
        @if let Some(text) = &refused { p.notice.error role="alert" { (text) } }
        p.muted { (shell.t("race.help")) }
        (section(shell.t("race.title"), races_table(shell, &views)))
        @if shell.principal.can_edit() { (section(shell.t("race.new"), editor(shell, form.0, form.1, false))) }
    };
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(respond(
        status,
        shell.render("races", shell.t("race.title"), body),
    ))
}

async fn list(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    render_list(&ctx, &shell, ("", EXAMPLE), None).await
}

async fn render_detail(
    ctx: &Ctx,
    shell: &Shell,
    name: &str,
    edited: Option<&str>,
    refused: Option<String>,
) -> PageResult {
    let view = ctx.ops().race(&shell.principal.actor(), name).await?;
    let source = edited.unwrap_or(view.source.as_deref().unwrap_or_default());
    let body = html! {
        (flash_markup(shell))
        @if let Some(text) = &refused { p.notice.error role="alert" { (text) } }
        p { a href="/races" { "← " (shell.t("race.title")) } }
        section.card data-race=(view.name) {
            h2 { (view.title.as_deref().unwrap_or(&view.name)) " " (phase_tag(shell, view.phase)) }
            @if !view.problems.is_empty() {
                p.notice.error role="alert" { (shell.t("race.problems")) }
                ul { @for problem in &view.problems { li { code { (problem) } } } }
            }
            p { (metric_name(shell, view.metric)) " · " @for group in &view.groups { code { (group) } " " } }
            @if let (Some(opens), Some(closes)) = (view.opens_at, view.closes_at) {
                p.muted { (shell.time(opens)) " – " (shell.time(closes)) }
            }
            @if let Some(every) = view.post_every_minutes {
                p.small.muted { (shell.t("race.cadence")) ": " @if every == 0 { (shell.t("race.result_only")) } @else { (every) " min" } }
            }
            @if let Some(at) = view.opened_at { p.small.muted { (shell.t("race.opened")) ": " (shell.time(at)) } }
        }
        (section(shell.t("race.standings"), standings_table(shell, &view)))
        (section(shell.t("race.prizes"), prizes_table(shell, &view)))
        (section(shell.t("race.winners"), awards_table(shell, &view)))
        @if shell.principal.can_edit() { (section(shell.t("race.edit"), editor(shell, &view.name, source, true))) }
    };
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(respond(
        status,
        shell.render("races", shell.t("race.title"), body),
    ))
}

async fn detail(State(ctx): State<Ctx>, Page(shell): Page, Path(name): Path<String>) -> PageResult {
    render_detail(&ctx, &shell, &name, None, None).await
}

async fn save(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let name = form.get("name").trim().to_string();
    let source = form.get("source");
    let who = shell.principal.actor();
    match ctx.ops().save_race(&who, &name, source).await {
        Ok(_) => Ok(see_other(&format!("/races/{}?ok=saved", url_part(&name)))),
        Err(error @ (OpsError::Invalid { .. } | OpsError::Problems(_))) => {
            // An existing race is edited on its own page; a new one on the list.
            match ctx.ops().race(&who, &name).await {
                Ok(_) => {
                    render_detail(&ctx, &shell, &name, Some(source), Some(error.to_string())).await
                }
                Err(_) => render_list(&ctx, &shell, (&name, source), Some(error.to_string())).await,
            }
        }
        Err(error) => Err(error.into()),
    }
}
