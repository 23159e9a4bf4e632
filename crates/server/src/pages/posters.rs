//! The poster console (海报): the template's editor beside a preview drawn by the same renderer
//! as members' posters (`/p/{code}.png`); saving refuses a text that does not fit, with its
//! line:column. Without a CJK font the page says which package to install.
//!
//! The background image is uploaded from the same page (`POST /posters/background`): the page's
//! script reads the chosen file into a base64 field (the server takes no multipart bodies), and
//! `qunzhu_ops` checks it — PNG or JPEG, at most 1 MiB, decodable — before keeping it.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use maud::html;
use qunzhu_ops::OpsError;

use super::{flash_markup, html, see_other, Page, PageResult, Posted};
use crate::html::Shell;
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/posters", get(editor).post(submit))
        .route("/posters/preview.png", post(preview_png))
        .route("/posters/background", post(background))
}

/// A preview's outcome: the PNG as a `data:` address (the console's CSP allows those), or why
/// there is none.
enum Preview {
    Image(String),
    Refused(String),
    NoFont,
}

async fn preview(ctx: &Ctx, shell: &Shell, source: &str) -> Result<Preview, OpsError> {
    let Some(font) = ctx.posters.font() else {
        return Ok(Preview::NoFont);
    };
    match ctx
        .ops()
        .poster_preview(&shell.principal.actor(), source, font)
        .await
    {
        Ok(png) => Ok(Preview::Image(format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png)
        ))),
        Err(error @ (OpsError::Problems(_) | OpsError::Invalid { .. })) => {
            Ok(Preview::Refused(error.to_string()))
        }
        Err(error) => Err(error),
    }
}

/// The background card: what is kept, the upload form and the remove button.
fn background_card(shell: &Shell, kept: Option<i64>) -> maud::Markup {
    html! {
        section.card data-poster-background {
            h2 { (shell.t("posters.background")) }
            p.muted.small {
                @match kept {
                    Some(version) => { (shell.t("posters.background_kept")) " (v" (version) ")" }
                    None => { (shell.t("posters.background_none")) }
                }
            }
            @if shell.principal.can_edit() {
                form.stack method="post" action="/posters/background" data-background-form {
                    (shell.csrf())
                    label for="f-background" { (shell.t("posters.background_file")) }
                    input #f-background type="file" accept="image/png,image/jpeg" data-background-file;
                    input type="hidden" name="image" data-background-image;
                    div.row {
                        button.btn type="submit" name="intent" value="upload" { (shell.t("posters.background_upload")) }
                        @if kept.is_some() {
                            button.btn.secondary type="submit" name="intent" value="remove" { (shell.t("posters.background_remove")) }
                        }
                    }
                }
            }
        }
    }
}

fn page(
    shell: &Shell,
    source: &str,
    shown: &Preview,
    saved_problems: Option<&str>,
    background: Option<i64>,
) -> String {
    let body = html! {
        (flash_markup(shell))
        @if let Some(text) = saved_problems { p.notice.error role="alert" { (text) } }
        div.poster-editor {
            section.card {
                h2 { (shell.t("posters.template")) }
                p.muted.small { (shell.t("posters.hint")) }
                form.stack method="post" action="/posters" data-poster-form {
                    (shell.csrf())
                    label for="f-source" { (shell.t("posters.source")) }
                    textarea #f-source name="source" rows="24" spellcheck="false" data-poster-source { (source) }
                    div.row {
                        button.btn.secondary type="submit" name="intent" value="preview" { (shell.t("posters.preview")) }
                        button.btn type="submit" name="intent" value="save" { (shell.t("posters.save")) }
                    }
                }
            }
            section.card {
                h2 { (shell.t("posters.preview_title")) }
                @match shown {
                    Preview::Image(data) => {
                        img.poster-preview src=(data) alt=(shell.t("posters.preview_alt")) data-poster-preview;
                        p.notice.error role="alert" hidden data-poster-problems {}
                    }
                    Preview::Refused(text) => {
                        img.poster-preview alt=(shell.t("posters.preview_alt")) hidden data-poster-preview;
                        p.notice.error role="alert" data-poster-problems { (text) }
                    }
                    Preview::NoFont => {
                        p.notice.error role="alert" { (shell.t("posters.no_font")) " " code { "apt-get install fonts-noto-cjk" } }
                    }
                }
            }
            (background_card(shell, background))
        }
    };
    shell.render("posters", shell.t("posters.title"), body)
}

async fn editor(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let view = ctx.ops().poster_view(&shell.principal.actor()).await?;
    let shown = preview(&ctx, &shell, &view.source).await?;
    let kept = kept_background(&ctx, &shell).await?;
    Ok(html(
        StatusCode::OK,
        page(&shell, &view.source, &shown, None, kept),
    ))
}

/// The kept background's version, if any.
async fn kept_background(ctx: &Ctx, shell: &Shell) -> Result<Option<i64>, OpsError> {
    Ok(ctx
        .ops()
        .poster_background(shell.principal.actor().workspace)
        .await?
        .map(|kept| kept.version))
}

/// Uploads (checked) or removes the background; a refused file is the page again with why.
async fn background(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let who = shell.principal.actor();
    let done = if form.get("intent") == "remove" {
        ctx.ops().remove_poster_background(&who).await
    } else {
        ctx.ops()
            .save_poster_background(&who, form.get("image"))
            .await
            .map(|_| ())
    };
    match done {
        Ok(()) => Ok(see_other("/posters?ok=saved")),
        Err(error @ OpsError::Invalid { .. }) => {
            let view = ctx.ops().poster_view(&who).await?;
            let shown = preview(&ctx, &shell, &view.source).await?;
            let kept = kept_background(&ctx, &shell).await?;
            let text = format!("{} {error}", shell.t("posters.background_refused"));
            Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&shell, &view.source, &shown, Some(&text), kept),
            ))
        }
        Err(error) => Err(error.into()),
    }
}

async fn submit(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let source = form.get("source");
    if form.get("intent") == "save" {
        let Some(font) = ctx.posters.font() else {
            return Ok(html(
                StatusCode::SERVICE_UNAVAILABLE,
                page(&shell, source, &Preview::NoFont, None, None),
            ));
        };
        match ctx
            .ops()
            .save_poster_template(&shell.principal.actor(), source, font)
            .await
        {
            Ok(_) => return Ok(see_other("/posters?ok=saved")),
            Err(error @ (OpsError::Problems(_) | OpsError::Invalid { .. })) => {
                let shown = preview(&ctx, &shell, source).await?;
                let kept = kept_background(&ctx, &shell).await?;
                return Ok(html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    page(&shell, source, &shown, Some(&error.to_string()), kept),
                ));
            }
            Err(error) => return Err(error.into()),
        }
    }
    let shown = preview(&ctx, &shell, source).await?;
    let status = match shown {
        Preview::Image(_) => StatusCode::OK,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let kept = kept_background(&ctx, &shell).await?;
    Ok(html(status, page(&shell, source, &shown, None, kept)))
}

/// The live preview the editor's script asks for as the operator types: the PNG, or the
/// problems as text with 422.
async fn preview_png(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> Response {
    let text = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let Some(font) = ctx.posters.font() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            shell.t("posters.no_font").to_string(),
        );
    };
    match ctx
        .ops()
        .poster_preview(&shell.principal.actor(), form.get("source"), font)
        .await
    {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Err(error @ (OpsError::Problems(_) | OpsError::Invalid { .. })) => {
            text(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
        }
        Err(error) => {
            tracing::error!(%error, "poster preview failed");
            text(StatusCode::SERVICE_UNAVAILABLE, "try again later".into())
        }
    }
}
