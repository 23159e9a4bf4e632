//! Rule files and SOP plans: TOML editors whose errors sit beside the lines they are about.
//!
//! A rejected save re-renders the editor with exactly the text that was typed, so nothing an
//! operator wrote is ever lost to a typo.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use qunzhu_storage::UserRole;

use super::forms::FieldErrors;
use super::{flash, html, see_other, Page, PageResult, Posted};
use crate::error::ApiError;
use crate::html::{card, esc, notice, Shell};
use crate::Ctx;
use qunzhu_ops::check::Problem;
use qunzhu_ops::{CalendarEntry, DocumentKind, OpsError};

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/rules", get(rules_index).post(create_rules))
        .route("/rules/{name}", get(edit_rules).post(save_rules))
        .route("/rules/{name}/delete", post(delete_rules))
        .route("/sop", get(super::sop::index).post(create_plan))
        .route("/sop/apply", post(super::sop::apply))
        .route("/sop/{name}", get(edit_plan).post(save_plan))
        .route("/sop/{name}/delete", post(delete_plan))
}

/// Where a kind lives in the console, its nav entry and its words.
struct Kind {
    doc: DocumentKind,
    base: &'static str,
    nav: &'static str,
    title: &'static str,
    source: &'static str,
    invalid: &'static str,
}

const RULE_KIND: Kind = Kind {
    doc: DocumentKind::Rules,
    base: "/rules",
    nav: "rules",
    title: "rules.title",
    source: "rules.source",
    invalid: "rules.invalid",
};
const PLAN_KIND: Kind = Kind {
    doc: DocumentKind::SopPlan,
    base: "/sop",
    nav: "sop",
    title: "sop.title",
    source: "sop.source",
    invalid: "sop.invalid",
};

/// The editor: name (for a new document), textarea with a line gutter, problems beside it.
fn editor(
    shell: &Shell,
    kind: &Kind,
    name: Option<&str>,
    typed_name: &str,
    source: &str,
    problems: &[Problem],
    errors: &FieldErrors,
) -> String {
    let action = name.map_or_else(
        || kind.base.to_string(),
        |n| format!("{}/{}", kind.base, esc(n)),
    );
    let name_field = if name.is_none() {
        super::forms::text(
            shell.t("common.name"),
            "name",
            typed_name,
            errors,
            r#"required pattern="[a-z0-9_][a-z0-9_-]*" autocomplete="off""#,
        ) + &format!(r#"<p class="hint">{}</p>"#, shell.t("rules.name_hint"))
    } else {
        String::new()
    };
    let bad_lines: Vec<usize> = problems.iter().filter_map(|p| p.line).collect();
    let mut problems_html = String::new();
    for p in problems {
        let place = match (p.line, p.column) {
            (Some(line), Some(col)) => format!(
                "{}:{col}",
                shell.t("rules.line").replace("{}", &line.to_string())
            ),
            (Some(line), None) => shell.t("rules.line").replace("{}", &line.to_string()),
            _ => String::new(),
        };
        let path = p
            .path
            .as_deref()
            .map_or_else(String::new, |path| format!(" <code>{}</code>", esc(path)));
        let _ = write!(
            problems_html,
            r#"<li data-line="{line}"><button type="button" class="link" data-goto="{line}">{place}</button>{path} {message}</li>"#,
            line = p.line.unwrap_or(0),
            place = esc(&place),
            message = esc(&p.message),
        );
    }
    let (aria, problem_block, top) = if problems.is_empty() {
        (String::new(), String::new(), String::new())
    } else {
        (
            r#" aria-invalid="true" aria-describedby="source-error""#.to_string(),
            format!(
                r#"<ul class="problems field-error" id="source-error" role="alert">{problems_html}</ul>"#
            ),
            notice("error", shell.t(kind.invalid)),
        )
    };
    let lines = source.lines().count().max(1);
    let mut gutter = String::new();
    for line in 1..=lines {
        let class = if bad_lines.contains(&line) {
            r#" class="bad""#
        } else {
            ""
        };
        let _ = write!(gutter, "<span{class}>{line}</span>");
    }
    let readonly = if shell.principal.can_edit() {
        ""
    } else {
        " readonly"
    };
    let save = if shell.principal.can_edit() {
        format!(
            r#"<div class="actions"><button class="btn primary" type="submit">{}</button></div>"#,
            shell.t("common.save")
        )
    } else {
        notice("info", shell.t("common.readonly"))
    };
    format!(
        r#"{top}<form method="post" action="{action}" class="editor-form">{csrf}{name_field}
<div class="field"><label for="f-source">{label}</label>{problem_block}
<div class="editor"><div class="gutter" aria-hidden="true" data-gutter data-bad="{bad}">{gutter}</div><textarea id="f-source" name="source" spellcheck="false" rows="22" wrap="off" data-source{aria}{readonly}>{source}</textarea></div></div>{save}</form>"#,
        csrf = shell.csrf_field(),
        label = shell.t(kind.source),
        bad = bad_lines
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(","),
        source = esc(source),
    )
}

async fn list_documents(ctx: &Ctx, shell: &Shell, kind: &Kind) -> Result<String, super::PageError> {
    let documents = ctx
        .app
        .store
        .documents(shell.principal.workspace, kind.doc.as_str())
        .await?;
    let mut rows = String::new();
    for d in &documents {
        let _ = write!(
            rows,
            r#"<tr><td><a class="strong" href="{base}/{n}">{n}</a></td><td class="num">v{v}</td><td>{when}</td><td>{by}</td></tr>"#,
            base = kind.base,
            n = esc(&d.name),
            v = d.version,
            when = shell.when(d.updated_at),
            by = esc(&d.updated_by),
        );
    }
    if documents.is_empty() {
        rows = crate::html::empty_row(shell.lang, 4);
    }
    Ok(format!(
        r#"<div class="table-wrap"><table><thead><tr><th>{}</th><th class="num">{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table></div>"#,
        shell.t("common.name"),
        shell.t("common.version"),
        shell.t("common.updated"),
        shell.t("common.actor"),
    ))
}

pub(super) async fn list_plans(ctx: &Ctx, shell: &Shell) -> Result<String, super::PageError> {
    list_documents(ctx, shell, &PLAN_KIND).await
}

async fn rules_index(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    render_index(
        &ctx,
        &shell,
        "",
        "",
        &[],
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_index(
    ctx: &Ctx,
    shell: &Shell,
    name: &str,
    source: &str,
    problems: &[Problem],
    errors: &FieldErrors,
    status: StatusCode,
) -> PageResult {
    let list = list_documents(ctx, shell, &RULE_KIND).await?;
    let new_form = if shell.principal.can_edit() {
        card(
            shell.t("common.new"),
            &editor(shell, &RULE_KIND, None, name, source, problems, errors),
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"{flash}<p class="lead">{sub}</p>{list}{new_form}"#,
        flash = flash(shell),
        sub = shell.t("rules.subtitle"),
        list = card(shell.t("rules.title"), &list)
    );
    Ok(html(
        status,
        shell.page("rules", shell.t("rules.title"), &body),
    ))
}

/// The editor page of one saved document (or of a rejected save, with what was typed).
async fn render_editor(
    ctx: &Ctx,
    shell: &Shell,
    kind: &Kind,
    name: &str,
    typed: Option<(&str, &[Problem])>,
) -> PageResult {
    let document = ctx
        .app
        .store
        .document(shell.principal.workspace, kind.doc.as_str(), name)
        .await?;
    let (source, problems, status) = match typed {
        Some((source, problems)) => (source, problems, StatusCode::UNPROCESSABLE_ENTITY),
        None => (document.source.as_str(), &[][..], StatusCode::OK),
    };
    let meta = format!(
        r#"<p class="muted small">v{} · {} · {}</p>"#,
        document.version,
        shell.when(document.updated_at),
        esc(&document.updated_by)
    );
    let mut extra = String::new();
    if kind.doc == DocumentKind::SopPlan {
        let entries = ctx
            .ops()
            .calendar(
                &shell.principal.actor(),
                Some(name),
                None,
                ctx.app.clock.now(),
                7,
            )
            .await?;
        extra = card(shell.t("group.calendar"), &calendar_list(shell, &entries));
    }
    let delete = if shell.principal.can_edit() {
        format!(
            r#"<form method="post" action="{}/{}/delete" class="inline" data-confirm="{}">{}<button class="btn danger" type="submit">{}</button></form>"#,
            kind.base,
            esc(name),
            shell.t("common.delete"),
            shell.csrf_field(),
            shell.t("common.delete")
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"{flash}<p class="lead"><a href="{base}">← {back}</a></p><div class="grid-editor">{editor}{extra}</div>{delete}"#,
        flash = flash(shell),
        base = kind.base,
        back = shell.t(kind.title),
        editor = card(
            name,
            &(meta
                + &editor(
                    shell,
                    kind,
                    Some(name),
                    name,
                    source,
                    problems,
                    &FieldErrors::default()
                ))
        ),
    );
    Ok(html(status, shell.page(kind.nav, name, &body)))
}

async fn edit_rules(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Path(name): Path<String>,
) -> PageResult {
    render_editor(&ctx, &shell, &RULE_KIND, &name, None).await
}

async fn edit_plan(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Path(name): Path<String>,
) -> PageResult {
    render_editor(&ctx, &shell, &PLAN_KIND, &name, None).await
}

async fn save_existing(
    ctx: &Ctx,
    shell: &Shell,
    kind: &Kind,
    name: &str,
    source: &str,
) -> PageResult {
    shell.principal.require(UserRole::Operator)?;
    match ctx
        .ops()
        .save_document(&shell.principal.actor(), kind.doc, name, source)
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "{}/{}?ok=saved",
            kind.base,
            crate::html::url_part(name)
        ))),
        Err(OpsError::Problems(problems)) => {
            render_editor(ctx, shell, kind, name, Some((source, &problems))).await
        }
        Err(error) => Err(ApiError::from(error).into()),
    }
}

async fn save_rules(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    Posted(shell, form): Posted,
) -> PageResult {
    save_existing(&ctx, &shell, &RULE_KIND, &name, form.get("source")).await
}

async fn save_plan(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    Posted(shell, form): Posted,
) -> PageResult {
    save_existing(&ctx, &shell, &PLAN_KIND, &name, form.get("source")).await
}

/// Creates a document from the "new" form; a bad name or source re-renders the form as typed.
async fn create(
    ctx: &Ctx,
    shell: &Shell,
    kind: &Kind,
    name: &str,
    source: &str,
) -> Result<Result<(), (FieldErrors, Vec<Problem>)>, super::PageError> {
    shell.principal.require(UserRole::Operator)?;
    let mut errors = FieldErrors::default();
    if let Err(message) = qunzhu_ops::check::check_name(name) {
        errors.add("name", message);
        return Ok(Err((errors, Vec::new())));
    }
    if ctx
        .app
        .store
        .document(shell.principal.workspace, kind.doc.as_str(), name)
        .await
        .is_ok()
    {
        errors.add(
            "name",
            if shell.lang == crate::i18n::Lang::Zh {
                "该名称已存在"
            } else {
                "This name is taken"
            },
        );
        return Ok(Err((errors, Vec::new())));
    }
    match ctx
        .ops()
        .save_document(&shell.principal.actor(), kind.doc, name, source)
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(OpsError::Problems(problems)) => Ok(Err((errors, problems))),
        Err(error) => Err(ApiError::from(error).into()),
    }
}

async fn create_rules(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let (name, source) = (form.get("name").trim(), form.get("source"));
    match create(&ctx, &shell, &RULE_KIND, name, source).await? {
        Ok(()) => Ok(see_other(&format!(
            "/rules/{}?ok=saved",
            crate::html::url_part(name)
        ))),
        Err((errors, problems)) => {
            render_index(
                &ctx,
                &shell,
                name,
                source,
                &problems,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn create_plan(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let (name, source) = (form.get("name").trim(), form.get("source"));
    match create(&ctx, &shell, &PLAN_KIND, name, source).await? {
        Ok(()) => Ok(see_other(&format!(
            "/sop/{}?ok=saved",
            crate::html::url_part(name)
        ))),
        Err((errors, problems)) => {
            let typed = super::sop::Typed {
                name,
                source,
                problems: &problems,
                errors: Some(&errors),
                ..super::sop::Typed::default()
            };
            super::sop::render_index(&ctx, &shell, 0, typed, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// The "new plan" editor, for the SOP page.
pub(super) fn new_plan_editor(
    shell: &Shell,
    name: &str,
    source: &str,
    problems: &[Problem],
    errors: &FieldErrors,
) -> String {
    editor(shell, &PLAN_KIND, None, name, source, problems, errors)
}

async fn delete_rules(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    Posted(shell, _form): Posted,
) -> PageResult {
    ctx.ops()
        .delete_document(&shell.principal.actor(), DocumentKind::Rules, &name)
        .await?;
    Ok(see_other("/rules?ok=saved"))
}

async fn delete_plan(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    Posted(shell, _form): Posted,
) -> PageResult {
    ctx.ops()
        .delete_document(&shell.principal.actor(), DocumentKind::SopPlan, &name)
        .await?;
    Ok(see_other("/sop?ok=saved"))
}

/// Upcoming posts as a compact list (group page, plan page).
pub fn calendar_list(shell: &Shell, entries: &[CalendarEntry]) -> String {
    if entries.is_empty() {
        return format!(r#"<p class="muted">{}</p>"#, shell.t("common.none"));
    }
    let mut out = String::from(r#"<ol class="timeline">"#);
    for e in entries.iter().take(12) {
        let _ = write!(
            out,
            r#"<li><time datetime="{iso}">{local}</time><div><strong>{title}</strong> <span class="muted small">{plan}</span><p class="small">{groups}</p></div></li>"#,
            iso = e.scheduled.to_rfc3339(),
            local = esc(&e.local),
            title = esc(&e.title),
            plan = esc(&e.plan),
            groups = esc(&e.groups.join("、")),
        );
    }
    out.push_str("</ol>");
    if entries.len() > 12 {
        let _ = write!(
            out,
            r#"<p><a href="/sop">{} ({}) →</a></p>"#,
            shell.t("common.more"),
            entries.len() - 12
        );
    }
    out
}
