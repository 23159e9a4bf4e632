//! The poster console (海报): the template's editor beside a preview drawn by the same renderer
//! as members' posters (`/p/{code}.png`); saving refuses a text that does not fit, with its
//! line:column. Without a CJK font the page says which package to install.

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

fn page(shell: &Shell, source: &str, shown: &Preview, saved_problems: Option<&str>) -> String {
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
        }
    };
    shell.render("posters", shell.t("posters.title"), body)
}

async fn editor(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let view = ctx.ops().poster_view(&shell.principal.actor()).await?;
    let shown = preview(&ctx, &shell, &view.source).await?;
    Ok(html(
        StatusCode::OK,
        page(&shell, &view.source, &shown, None),
    ))
}

async fn submit(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let source = form.get("source");
    if form.get("intent") == "save" {
        let Some(font) = ctx.posters.font() else {
            return Ok(html(
                StatusCode::SERVICE_UNAVAILABLE,
                page(&shell, source, &Preview::NoFont, None),
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
                return Ok(html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    page(&shell, source, &shown, Some(&error.to_string())),
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
    Ok(html(status, page(&shell, source, &shown, None)))
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
