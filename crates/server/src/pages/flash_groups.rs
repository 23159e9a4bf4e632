//! `/flash` 快闪群: each flash plan with where its group stands (planned, creating, running,
//! closing, archived, stuck), when it opens and closes and the long-lived group offered at the
//! end, through `qunzhu-ops` (the same listing as `GET /api/v1/flash-groups`). Plans are saved
//! with `PUT /api/v1/flash-groups/{name}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::html;
use qunzhu_growth::flash::Stage;

use super::{html as respond, Page, PageResult};
use crate::html::{none_row, section, tag, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new().route("/flash", get(page))
}

fn stage_tag(shell: &Shell, stage: Option<Stage>) -> maud::Markup {
    let Some(stage) = stage else {
        return tag("dead", shell.t("flash.invalid"));
    };
    let kind = match stage {
        Stage::Planned | Stage::Creating | Stage::Created => "dry_run",
        Stage::Running | Stage::Closing | Stage::Archiving => "ok",
        Stage::Archived => "done",
        Stage::Stuck => "dead",
    };
    html! { span data-stage=(stage.as_str()) { (tag(kind, shell.t(&format!("flash.stage.{}", stage.as_str())))) } }
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let views = ctx.ops().flash_groups(&shell.principal.actor()).await?;
    let body = html! {
        p.muted { (shell.t("flash.help")) }
        (section(shell.t("flash.title"), html! {
            div.table-wrap { table {
                thead { tr {
                    th { (shell.t("flash.plan")) } th { (shell.t("common.status")) } th { (shell.t("common.group")) }
                    th { (shell.t("flash.opens")) } th { (shell.t("flash.closes")) } th { (shell.t("flash.link")) }
                } }
                tbody {
                    @for view in &views {
                        tr data-flash=(view.name) {
                            td { strong { (view.title.as_deref().unwrap_or(&view.name)) } br; code.small { (view.name) } }
                            td { (stage_tag(&shell, view.stage))
                                @for problem in &view.problems { br; span.small { (problem) } } }
                            td { @if let Some(chat) = &view.chat { code.small { (chat) } } }
                            td.small { @if let Some(at) = view.opens_at { (shell.time(at)) } }
                            td.small { @if let Some(at) = view.closes_at { (shell.time(at)) } }
                            td.small { @if let Some(link) = &view.link { code { (link) } } }
                        }
                    }
                    @if views.is_empty() { (none_row(shell.lang, 6)) }
                }
            } }
        }))
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("flash", shell.t("flash.title"), body),
    ))
}
