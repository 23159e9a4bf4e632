//! `/plays` 拼团砍价: the running and finished teams, bargains and assists with their state
//! (members or cuts against the goal, the price reached, the deadline), the play documents with
//! their check, and a form that saves a play; everything through `qunzhu-ops`, the same
//! operations as `/api/v1/plays` and `/api/v1/play-runs`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use qunzhu_growth::board::yuan;
use qunzhu_growth::play::{PlayRules, RunState};
use qunzhu_growth::run::Run;
use qunzhu_ops::{OpsError, PlayView};

use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::html::{none_row, section, tag, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/plays", get(page))
        .route("/plays/save", post(save))
}

/// Progress toward the goal: `2/3` members, `¥52.00 → ¥10.00`, `1/2` helpers.
fn progress(run: &Run, plays: &[PlayView]) -> String {
    let rules = plays
        .iter()
        .filter_map(|view| view.play.as_ref())
        .find(|play| play.name == run.play)
        .map(|play| &play.rules);
    match rules {
        Some(PlayRules::GroupBuy(rules)) => format!("{}/{}", run.count(), rules.team_size),
        Some(PlayRules::Bargain(rules)) => {
            format!("{} → {}", yuan(run.price_cents), yuan(rules.floor_cents))
        }
        Some(PlayRules::Assist(rules)) => format!("{}/{}", run.count(), rules.helpers),
        _ => run.count().to_string(),
    }
}

fn state_tag(shell: &Shell, state: RunState) -> Markup {
    let (kind, key) = match state {
        RunState::Open => ("pending", "plays.state.open"),
        RunState::Done => ("done", "plays.state.done"),
        RunState::Failed => ("dead", "plays.state.failed"),
    };
    tag(kind, shell.t(key))
}

fn kind_name(shell: &Shell, kind: &str) -> &'static str {
    match kind {
        "group_buy" => shell.t("plays.kind.group_buy"),
        "bargain" => shell.t("plays.kind.bargain"),
        "assist" => shell.t("plays.kind.assist"),
        _ => shell.t("plays.kind.gift"),
    }
}

fn runs_table(shell: &Shell, runs: &[Run], plays: &[PlayView]) -> Markup {
    html! {
        p.small {
            a href="/plays" { (shell.t("plays.all")) } " · "
            a href="/plays?state=open" { (shell.t("plays.state.open")) } " · "
            a href="/plays?state=done" { (shell.t("plays.state.done")) } " · "
            a href="/plays?state=failed" { (shell.t("plays.state.failed")) }
        }
        div.table-wrap { table #runs {
            thead { tr {
                th { (shell.t("plays.run")) } th { (shell.t("plays.starter")) }
                th { (shell.t("plays.progress")) } th { (shell.t("plays.state")) }
                th { (shell.t("plays.deadline")) }
            } }
            tbody {
                @for run in runs {
                    tr data-run={ (run.play) "#" (run.number) } {
                        td { code { (run.play) " #" (run.number) } " " (tag("type", kind_name(shell, &run.kind))) }
                        td.small { (run.starter) }
                        td {
                            (progress(run, plays))
                            @if !run.participants.is_empty() {
                                div.small.muted {
                                    @for (index, p) in run.participants.iter().enumerate() {
                                        @if index > 0 { "、" }
                                        (p.member)
                                        @if p.cents > 0 { " −" (yuan(p.cents)) }
                                    }
                                }
                            }
                        }
                        td { (state_tag(shell, run.state)) }
                        td.small { (shell.time(run.deadline)) }
                    }
                }
                @if runs.is_empty() { (none_row(shell.lang, 5)) }
            }
        } }
    }
}

fn plays_list(shell: &Shell, plays: &[PlayView]) -> Markup {
    html! {
        div.table-wrap { table #plays {
            thead { tr { th { (shell.t("plays.name")) } th { (shell.t("plays.kind")) } th { (shell.t("plays.groups")) } } }
            tbody {
                @for view in plays {
                    tr {
                        td {
                            code { (view.document.name) }
                            @if let Some(play) = &view.play { " " (play.title) }
                            @if !view.problems.is_empty() {
                                p.notice.error role="alert" { (shell.t("plays.problems")) }
                                ul { @for problem in &view.problems { li { code { (problem) } } } }
                            }
                        }
                        td { @if let Some(play) = &view.play { (kind_name(shell, play.rules.kind())) } }
                        td.small { @if let Some(play) = &view.play { (play.groups.join(", ")) } }
                    }
                }
                @if plays.is_empty() { (none_row(shell.lang, 3)) }
            }
        } }
    }
}

fn save_form(shell: &Shell, name: &str, source: &str) -> Markup {
    html! {
        form.stack method="post" action="/plays/save" {
            (shell.csrf())
            label for="name" { (shell.t("plays.name")) }
            input #name name="name" value=(name) required;
            label for="source" { (shell.t("plays.document")) }
            textarea #source name="source" rows="16" spellcheck="false" { (source) }
            button.btn type="submit" { (shell.t("plays.save")) }
        }
        p.small.muted { (shell.t("plays.help")) }
    }
}

async fn render(
    ctx: &Ctx,
    shell: &Shell,
    state: Option<&str>,
    form: (&str, &str),
    refused: Option<String>,
) -> PageResult {
    let who = shell.principal.actor();
    let plays = ctx.ops().plays(&who).await?;
    let runs = ctx.ops().play_runs(&who, None, state, Some(200)).await?;
    let body = html! {
        (flash_markup(shell))
        @if let Some(text) = &refused { p.notice.error role="alert" { (text) } }
        (section(shell.t("plays.runs"), runs_table(shell, &runs, &plays)))
        (section(shell.t("plays.plays"), plays_list(shell, &plays)))
        @if shell.principal.can_edit() { (section(shell.t("plays.save"), save_form(shell, form.0, form.1))) }
    };
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(respond(
        status,
        shell.render("plays", shell.t("plays.title"), body),
    ))
}

async fn page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> PageResult {
    render(
        &ctx,
        &shell,
        query.get("state").map(String::as_str),
        ("", ""),
        None,
    )
    .await
}

async fn save(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let name = form.get("name").trim().to_string();
    match ctx
        .ops()
        .save_play(&shell.principal.actor(), &name, form.get("source"))
        .await
    {
        Ok(_) => Ok(see_other("/plays?ok=saved")),
        Err(error @ (OpsError::Invalid { .. } | OpsError::Problems(_))) => {
            render(
                &ctx,
                &shell,
                None,
                (&name, form.get("source")),
                Some(error.to_string()),
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}
