//! 落地页 (`/landing`): landing pages with their views, phones and joins per channel; the page
//! editor with a live preview drawn by the public page's own renderer
//! ([`crate::landing_page::render`]) inside a sandboxed frame; the leads, masked, with delete
//! (one lead, or every lead of a phone) and the owners' CSV export. Every change goes through
//! the same `qunzhu-ops` operations as `/api/v1/landing-pages`.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use qunzhu_growth::landing::EXAMPLE as EXAMPLE_FOR_NEW;
use qunzhu_ops::landing::check_landing;
use qunzhu_ops::{LandingView, LeadView, OpsError, Problem};
use qunzhu_storage::{ChannelCounts, UserRole};

use super::{html, see_other, Page, PageError, PageResult, Posted};
use crate::error::ApiError;
use crate::html::{url_part, Shell};
use crate::landing_page::{render, Render};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/landing", get(list))
        .route("/landing/open", get(open))
        .route("/landing/preview", post(preview))
        .route("/landing/forget", post(forget))
        .route("/landing/leads/{id}/delete", post(delete_lead))
        .route("/landing/{name}", get(editor).post(save))
        .route("/landing/{name}/leads.csv", get(export))
}

fn rate(part: i64, whole: i64) -> String {
    if whole == 0 {
        "—".to_string()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn counts_table(shell: &Shell, counts: &[ChannelCounts]) -> Markup {
    html! {
        @if counts.is_empty() {
            p.muted { (shell.t("landing.no_visits")) }
        } @else {
            div.table-wrap { table data-counts {
                thead { tr {
                    th { (shell.t("landing.channel")) }
                    th.num { (shell.t("landing.views")) }
                    th.num { (shell.t("landing.phones")) }
                    th.num { (shell.t("landing.joins")) }
                    th.num { (shell.t("landing.conversion")) }
                } }
                tbody { @for row in counts {
                    tr data-channel=(row.channel) {
                        td { (row.channel) }
                        td.num { (row.views) }
                        td.num { (row.phones) }
                        td.num { (row.joins) }
                        td.num { (rate(row.phones + row.joins, row.views)) }
                    }
                } }
            } }
        }
    }
}

async fn workspace_slug(ctx: &Ctx, shell: &Shell) -> Result<String, PageError> {
    Ok(ctx
        .app
        .store
        .workspace(shell.principal.workspace)
        .await?
        .slug)
}

fn public_path(slug: &str, name: &str) -> String {
    format!("/h5/{}/{}", url_part(slug), url_part(name))
}

async fn list(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let pages = ctx.ops().landing_pages(&shell.principal.actor()).await?;
    let slug = workspace_slug(&ctx, &shell).await?;
    let body = html! {
        (super::flash_markup(&shell))
        section.card {
            h1 { (shell.t("landing.title")) }
            p.muted { (shell.t("landing.lead")) }
            @if pages.is_empty() { p.muted data-empty { (shell.t("landing.empty")) } }
            @for view in &pages {
                @let (views, phones, joins) = view.totals();
                article.card data-landing=(view.name) {
                    h2 { a href={ "/landing/" (url_part(&view.name)) } { (view.name) } }
                    @if let Some(page) = &view.page { p { strong { (page.title) } } }
                    @if !view.problems.is_empty() { p.notice.error role="alert" { (shell.t("landing.broken")) } }
                    p {
                        a href=(public_path(&slug, &view.name)) { code { (public_path(&slug, &view.name)) } }
                    }
                    p.muted {
                        (shell.t("landing.views")) " " (views) " · "
                        (shell.t("landing.phones")) " " (phones) " · "
                        (shell.t("landing.joins")) " " (joins)
                    }
                }
            }
        }
        section.card {
            h2 { (shell.t("landing.new")) }
            form.stack method="get" action="/landing/open" {
                label for="name" { (shell.t("landing.name")) }
                input #name name="name" type="text" required maxlength="64" pattern="[a-z0-9_][a-z0-9_\\-]*" placeholder="spring";
                button.btn type="submit" { (shell.t("landing.create")) }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        shell.render("landing", shell.t("landing.title"), body),
    ))
}

#[derive(serde::Deserialize)]
struct OpenQuery {
    #[serde(default)]
    name: String,
}

async fn open(
    Page(_shell): Page,
    axum::extract::Query(query): axum::extract::Query<OpenQuery>,
) -> PageResult {
    qunzhu_ops::check::check_name(&query.name)
        .map_err(|message| PageError(ApiError::invalid("name", message)))?;
    Ok(see_other(&format!("/landing/{}", url_part(&query.name))))
}

fn problems_list(shell: &Shell, problems: &[Problem]) -> Markup {
    html! {
        div data-landing-problems {
            @if !problems.is_empty() {
                p.notice.error role="alert" { (shell.t("landing.problems")) }
                ul.problems { @for problem in problems {
                    li { code { (problem.field()) } " " (problem.message) }
                } }
            }
        }
    }
}

fn problems_of(error: &OpsError) -> Vec<Problem> {
    match error {
        OpsError::Problems(found) => found.clone(),
        other => vec![Problem {
            line: None,
            column: None,
            path: None,
            message: other.to_string(),
        }],
    }
}

/// The preview frame: the public page's HTML as `srcdoc`, sandboxed (no script, no form posts).
fn preview_frame(shell: &Shell, page_html: Option<&str>) -> Markup {
    html! {
        div.landing-preview {
            h2 { (shell.t("landing.preview")) }
            p.muted.small { (shell.t("landing.preview_hint")) }
            iframe data-landing-preview title=(shell.t("landing.preview")) sandbox="allow-same-origin"
                width="375" height="640" srcdoc=(page_html.unwrap_or("")) {}
        }
    }
}

struct Editor<'a> {
    name: &'a str,
    source: &'a str,
    saved: Option<&'a LandingView>,
    problems: Vec<Problem>,
    preview: Option<String>,
    leads: Vec<LeadView>,
    public: String,
}

fn leads_section(shell: &Shell, editor: &Editor<'_>) -> Markup {
    let owner = shell.principal.role >= UserRole::Owner;
    html! {
        section.card #leads {
            h2 { (shell.t("landing.leads")) " (" (editor.leads.len()) ")" }
            @if owner && !editor.leads.is_empty() {
                p { a.btn href={ "/landing/" (url_part(editor.name)) "/leads.csv" } download={ (editor.name) "-leads.csv" } data-export { (shell.t("landing.export")) } }
            }
            @if editor.leads.is_empty() {
                p.muted { (shell.t("landing.no_leads")) }
            } @else {
                div.table-wrap { table data-leads {
                    thead { tr {
                        th { (shell.t("landing.when")) }
                        th { (shell.t("landing.channel")) }
                        th { (shell.t("landing.phone")) }
                        th {}
                    } }
                    tbody { @for lead in &editor.leads {
                        tr data-lead=(lead.id) {
                            td { (shell.time(lead.at)) }
                            td { (lead.channel) }
                            td { code data-masked { (lead.masked) } }
                            td { form.inline method="post" action={ "/landing/leads/" (lead.id) "/delete" } {
                                (shell.csrf())
                                input type="hidden" name="page" value=(editor.name);
                                button.btn.small.danger type="submit" { (shell.t("landing.delete")) }
                            } }
                        }
                    } }
                } }
            }
            form.stack method="post" action="/landing/forget" {
                (shell.csrf())
                input type="hidden" name="page" value=(editor.name);
                label for="forget" { (shell.t("landing.forget")) }
                input #forget name="phone" type="tel" inputmode="tel" required maxlength="32";
                button.btn.small.danger type="submit" { (shell.t("landing.forget_button")) }
            }
        }
    }
}

fn editor_page(shell: &Shell, editor: Editor<'_>) -> String {
    let name = editor.name;
    let body = html! {
        (super::flash_markup(shell))
        @if let Some(note) = flash_count(shell) { p.notice.ok role="status" { (note) } }
        section.card {
            h1 { (shell.t("landing.title")) " · " (name) }
            p { (shell.t("landing.public")) " " a href=(editor.public) data-public { code { (editor.public) } } }
            @if editor.saved.is_none() { p.muted { (shell.t("landing.unsaved")) } }
            div.landing-editor data-landing-editor {
                form.stack method="post" action={ "/landing/" (url_part(name)) } data-landing-form {
                    (shell.csrf())
                    input type="hidden" name="name" value=(name);
                    label for="source" { (shell.t("landing.document")) }
                    textarea #source name="source" rows="28" spellcheck="false" data-landing-source { (editor.source) }
                    (problems_list(shell, &editor.problems))
                    button.btn type="submit" { (shell.t("landing.save")) }
                }
                (preview_frame(shell, editor.preview.as_deref()))
            }
            p.muted.small { (shell.t("landing.help")) }
            p { a href="/landing" { (shell.t("landing.back")) } }
        }
        @if let Some(saved) = editor.saved {
            section.card {
                h2 { (shell.t("landing.by_channel")) }
                (counts_table(shell, &saved.counts))
            }
        }
        (leads_section(shell, &editor))
    };
    shell.render("landing", name, body)
}

/// `?forgot=N` after forgetting a phone: how many leads went.
fn flash_count(shell: &Shell) -> Option<String> {
    let query = shell.here.split_once('?').map(|(_, q)| q)?;
    let count: usize = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("forgot="))?
        .parse()
        .ok()?;
    Some(format!("{} {count}", shell.t("landing.forgotten")))
}

fn preview_of(name: &str, source: &str, public: &str) -> (Option<String>, Vec<Problem>) {
    match check_landing(name, source) {
        Ok(page) => {
            let state = Render {
                base: public.to_string(),
                ..Render::default()
            };
            (Some(render(&page, &state)), Vec::new())
        }
        Err(error) => (None, problems_of(&error)),
    }
}

async fn show_editor(
    ctx: &Ctx,
    shell: &Shell,
    name: &str,
    submitted: Option<(&str, Vec<Problem>)>,
) -> PageResult {
    let actor = shell.principal.actor();
    let saved = match ctx.ops().landing_page(&actor, name).await {
        Ok(view) => Some(view),
        Err(OpsError::NotFound(_)) => {
            qunzhu_ops::check::check_name(name)
                .map_err(|message| PageError(ApiError::invalid("name", message)))?;
            None
        }
        Err(error) => return Err(error.into()),
    };
    let leads = match &ctx.phone_vault {
        Some(vault) => ctx.ops().landing_leads(&actor, vault, name).await?,
        None => Vec::new(),
    };
    let public = public_path(&workspace_slug(ctx, shell).await?, name);
    let status = if submitted.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let source = match (&submitted, &saved) {
        (Some((source, _)), _) => source.to_string(),
        (None, Some(view)) => view.source.clone(),
        (None, None) => EXAMPLE_FOR_NEW.to_string(),
    };
    let (preview, mut problems) = preview_of(name, &source, &public);
    if let Some((_, refused)) = submitted {
        problems = refused;
    }
    let editor = Editor {
        name,
        source: &source,
        saved: saved.as_ref(),
        problems,
        preview,
        leads,
        public,
    };
    Ok(html(status, editor_page(shell, editor)))
}

async fn editor(State(ctx): State<Ctx>, Page(shell): Page, Path(name): Path<String>) -> PageResult {
    show_editor(&ctx, &shell, &name, None).await
}

async fn save(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    Posted(shell, form): Posted,
) -> PageResult {
    let source = form.get("source");
    match ctx
        .ops()
        .save_landing(&shell.principal.actor(), &name, source)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/landing/{}?ok=saved", url_part(&name)))),
        Err(error @ (OpsError::Problems(_) | OpsError::Invalid { .. })) => {
            show_editor(&ctx, &shell, &name, Some((source, problems_of(&error)))).await
        }
        Err(error) => Err(error.into()),
    }
}

/// The live preview's fetch: the page as visitors would get it (200), or its problems (422).
async fn preview(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let name = form.get("name");
    let public = public_path(&workspace_slug(&ctx, &shell).await?, name);
    let (page, problems) = preview_of(name, form.get("source"), &public);
    let (status, body) = match page {
        Some(page) => (StatusCode::OK, page),
        None => (
            StatusCode::UNPROCESSABLE_ENTITY,
            problems_list(&shell, &problems).into_string(),
        ),
    };
    Ok(html(status, body))
}

fn back_to(page: &str, anchor: &str) -> String {
    if qunzhu_ops::check::check_name(page).is_ok() {
        format!("/landing/{}{anchor}", url_part(page))
    } else {
        "/landing".to_string()
    }
}

async fn delete_lead(
    State(ctx): State<Ctx>,
    Path(id): Path<i64>,
    Posted(shell, form): Posted,
) -> PageResult {
    ctx.ops()
        .delete_landing_lead(&shell.principal.actor(), id)
        .await?;
    Ok(see_other(&back_to(form.get("page"), "?forgot=1#leads")))
}

fn vault(ctx: &Ctx) -> Result<std::sync::Arc<qunzhu_ops::PhoneVault>, PageError> {
    ctx.phone_vault.clone().ok_or_else(|| {
        PageError(ApiError::new(
            crate::ErrorCode::Unavailable,
            "this process has no phone key",
        ))
    })
}

async fn forget(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let vault = vault(&ctx)?;
    let gone = ctx
        .ops()
        .forget_landing_phone(&shell.principal.actor(), &vault, form.get("phone"))
        .await?;
    Ok(see_other(&back_to(
        form.get("page"),
        &format!("?forgot={gone}#leads"),
    )))
}

async fn export(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let vault = vault(&ctx)?;
    let csv = ctx
        .ops()
        .export_landing_leads(&shell.principal.actor(), &vault, &name)
        .await?;
    let disposition = format!(
        "attachment; filename=\"{}-leads.csv\"",
        name.replace('"', "")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv,
    )
        .into_response())
}
