//! `/flash` 快闪群: each flash plan with where its group stands (planned, creating, running,
//! closing, archived, dissolving, dissolved, stuck), when it opens and closes, how it ends and
//! the long-lived group offered at the end, and the TOML editor that creates (`/flash`) and
//! edits (`/flash/{name}`) a plan, its located problems beside it. Everything goes through
//! `qunzhu-ops` (`flash_groups`, `save_flash`), the same operations as `/api/v1/flash-groups`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qunzhu_growth::flash::{End, Stage};
use qunzhu_ops::{FlashView, OpsError, Problem};
use qunzhu_storage::UserRole;

use super::documents::{source_editor, EditorKind};
use super::forms::FieldErrors;
use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::error::ApiError;
use crate::html::{none_row, section, tag, url_part, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/flash", get(page).post(create))
        .route("/flash/{name}", get(edit).post(save))
}

const FLASH_KIND: EditorKind = EditorKind {
    base: "/flash",
    source: "flash.source",
    invalid: "flash.invalid",
    reference: false,
};

/// What the "new plan" editor starts with: every field a plan needs, the optional ones as
/// comments.
const STARTER: &str = r#"title = "双十二快闪"
platform = "matrix"
opens = "2026-12-10 10:00"
days = 3
link = "/j/vip"
# name = "双十二快闪群"
# tags = ["1212"]
# closing = "感谢参与！长期福利群：{link}"
# end = "dissolve"
# grace_hours = 24
"#;

fn stage_tag(shell: &Shell, stage: Option<Stage>) -> Markup {
    let Some(stage) = stage else {
        return tag("dead", shell.t("flash.invalid"));
    };
    let kind = match stage {
        Stage::Planned | Stage::Creating | Stage::Created => "dry_run",
        Stage::Running | Stage::Closing | Stage::Archiving | Stage::Dissolving => "ok",
        Stage::Archived | Stage::Dissolved => "done",
        Stage::Stuck => "dead",
    };
    html! { span data-stage=(stage.as_str()) { (tag(kind, shell.t(&format!("flash.stage.{}", stage.as_str())))) } }
}

fn end_text(shell: &Shell, view: &FlashView) -> Markup {
    match view.end {
        Some(End::Archive) => html! { (shell.t("flash.end.archive")) },
        Some(End::Dissolve) => html! {
            (shell.t("flash.end.dissolve"))
            @if let Some(at) = view.dissolves_at { br; span.small.muted { (shell.time(at)) } }
        },
        None => html! {},
    }
}

fn table(shell: &Shell, views: &[FlashView]) -> Markup {
    html! {
        div.table-wrap { table #flash-plans {
            thead { tr {
                th { (shell.t("flash.plan")) } th { (shell.t("flash.stage")) } th { (shell.t("common.group")) }
                th { (shell.t("flash.opens")) } th { (shell.t("flash.closes")) } th { (shell.t("flash.end")) }
                th { (shell.t("flash.link")) }
            } }
            tbody {
                @for view in views {
                    tr data-flash=(view.name) {
                        td {
                            a.strong href={ "/flash/" (url_part(&view.name)) } { (view.title.as_deref().unwrap_or(&view.name)) }
                            br; code.small { (view.name) }
                        }
                        td { (stage_tag(shell, view.stage))
                            @for problem in &view.problems { br; span.small { (problem) } } }
                        td { @if let Some(chat) = &view.chat { code.small { (chat) } } }
                        td.small { @if let Some(at) = view.opens_at { (shell.time(at)) } }
                        td.small { @if let Some(at) = view.closes_at { (shell.time(at)) } }
                        td.small { (end_text(shell, view)) }
                        td.small { @if let Some(link) = &view.link { code { (link) } } }
                    }
                }
                @if views.is_empty() { (none_row(shell.lang, 7)) }
            }
        } }
    }
}

/// What a rejected "new plan" form carried back.
struct Typed<'a> {
    name: &'a str,
    source: &'a str,
    problems: &'a [Problem],
    errors: &'a FieldErrors,
}

async fn render_index(
    ctx: &Ctx,
    shell: &Shell,
    typed: Option<Typed<'_>>,
    status: StatusCode,
) -> PageResult {
    let views = ctx.ops().flash_groups(&shell.principal.actor()).await?;
    let none = FieldErrors::default();
    let typed = typed.unwrap_or(Typed {
        name: "",
        source: STARTER,
        problems: &[],
        errors: &none,
    });
    let body = html! {
        (flash_markup(shell))
        p.muted { (shell.t("flash.help")) }
        (section(shell.t("flash.title"), table(shell, &views)))
        @if shell.principal.can_edit() {
            (section(shell.t("flash.new"), source_editor(shell, &FLASH_KIND, None, typed.name, typed.source, typed.problems, typed.errors)))
        }
    };
    Ok(respond(
        status,
        shell.render("flash", shell.t("flash.title"), body),
    ))
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    render_index(&ctx, &shell, None, StatusCode::OK).await
}

/// The editor of one saved plan (or of a rejected save, with what was typed), its row above.
async fn render_editor(
    ctx: &Ctx,
    shell: &Shell,
    name: &str,
    typed: Option<(&str, &[Problem])>,
) -> PageResult {
    let document = ctx
        .ops()
        .flash_document(&shell.principal.actor(), name)
        .await?;
    let views = ctx.ops().flash_groups(&shell.principal.actor()).await?;
    let row: Vec<FlashView> = views.into_iter().filter(|view| view.name == name).collect();
    let (source, problems, status) = match typed {
        Some((source, problems)) => (source, problems, StatusCode::UNPROCESSABLE_ENTITY),
        None => (document.source.as_str(), &[][..], StatusCode::OK),
    };
    let body = html! {
        (flash_markup(shell))
        p.lead { a href="/flash" { "← " (shell.t("flash.title")) } }
        (table(shell, &row))
        section.card {
            h2 { (name) }
            p.muted.small { "v" (document.version) " · " (shell.when(document.updated_at)) " · " (document.updated_by) }
            (source_editor(shell, &FLASH_KIND, Some(name), name, source, problems, &FieldErrors::default()))
        }
    };
    Ok(respond(status, shell.render("flash", name, body)))
}

async fn edit(State(ctx): State<Ctx>, Page(shell): Page, Path(name): Path<String>) -> PageResult {
    render_editor(&ctx, &shell, &name, None).await
}

async fn save(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    Posted(shell, form): Posted,
) -> PageResult {
    shell.principal.require(UserRole::Operator)?;
    let source = form.get("source");
    match ctx
        .ops()
        .save_flash(&shell.principal.actor(), &name, source)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/flash/{}?ok=saved", url_part(&name)))),
        Err(OpsError::Problems(problems)) => {
            render_editor(&ctx, &shell, &name, Some((source, &problems))).await
        }
        Err(error) => Err(ApiError::from(error).into()),
    }
}

/// Creates a plan from the "new" form; a taken name or a plan with problems re-renders the
/// form as typed.
async fn create(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    shell.principal.require(UserRole::Operator)?;
    let (name, source) = (form.get("name").trim(), form.get("source"));
    let mut errors = FieldErrors::default();
    let taken = ctx
        .ops()
        .flash_groups(&shell.principal.actor())
        .await?
        .iter()
        .any(|view| view.name == name);
    if !qunzhu_growth::livecode::valid_code(name) {
        errors.add("name", shell.t("flash.bad_name"));
    } else if taken {
        errors.add("name", shell.t("flash.taken"));
    }
    let problems = if !errors.is_empty() {
        Vec::new()
    } else {
        match ctx
            .ops()
            .save_flash(&shell.principal.actor(), name, source)
            .await
        {
            Ok(_) => return Ok(see_other(&format!("/flash/{}?ok=saved", url_part(name)))),
            Err(OpsError::Problems(problems)) => problems,
            Err(error) => return Err(ApiError::from(error).into()),
        }
    };
    let typed = Typed {
        name,
        source,
        problems: &problems,
        errors: &errors,
    };
    render_index(&ctx, &shell, Some(typed), StatusCode::UNPROCESSABLE_ENTITY).await
}
