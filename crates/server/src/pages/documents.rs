//! Rule files and SOP plans: TOML editors whose errors sit beside the lines they are about.
//!
//! A rejected save re-renders the editor with exactly the text that was typed, so nothing an
//! operator wrote is ever lost to a typo.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use qunzhu_storage::UserRole;

use maud::{html, Markup};

use super::forms::FieldErrors;
use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::error::ApiError;
use crate::html::{flash_notice, none_row, section, url_part, Shell};
use crate::Ctx;
use qunzhu_ops::check::Problem;
use qunzhu_ops::{CalendarEntry, EditableKind, OpsError};

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/rules", get(rules_index).post(create_rules))
        .route("/rules/{name}", get(edit_rules).post(save_rules))
        .route("/rules/{name}/delete", post(delete_rules))
        .route("/help/rules", get(rules_reference))
        .route("/sop", get(super::sop::index).post(create_plan))
        .route("/sop/apply", post(super::sop::apply))
        .route("/sop/{name}", get(edit_plan).post(save_plan))
        .route("/sop/{name}/delete", post(delete_plan))
}

/// Where a kind lives in the console, its nav entry and its words.
struct Kind {
    doc: EditableKind,
    base: &'static str,
    nav: &'static str,
    title: &'static str,
    source: &'static str,
    invalid: &'static str,
}

const RULE_KIND: Kind = Kind {
    doc: EditableKind::Rules,
    base: "/rules",
    nav: "rules",
    title: "rules.title",
    source: "rules.source",
    invalid: "rules.invalid",
};
const PLAN_KIND: Kind = Kind {
    doc: EditableKind::SopPlan,
    base: "/sop",
    nav: "sop",
    title: "sop.title",
    source: "sop.source",
    invalid: "sop.invalid",
};

/// What the editor needs of a document kind: where it posts, its words, and whether the rule
/// reference is linked. Flash plans (`/flash`) use the same editor.
pub(super) struct EditorKind {
    pub base: &'static str,
    pub source: &'static str,
    pub invalid: &'static str,
    pub reference: bool,
}

impl Kind {
    fn editor(&self) -> EditorKind {
        EditorKind {
            base: self.base,
            source: self.source,
            invalid: self.invalid,
            reference: self.doc == EditableKind::Rules,
        }
    }
}

fn editor(
    shell: &Shell,
    kind: &Kind,
    name: Option<&str>,
    typed_name: &str,
    source: &str,
    problems: &[Problem],
    errors: &FieldErrors,
) -> Markup {
    source_editor(
        shell,
        &kind.editor(),
        name,
        typed_name,
        source,
        problems,
        errors,
    )
}

/// The editor: name (for a new document), textarea with a line gutter, problems beside it, a
/// soft-wrap toggle and (for rule files) the link to the reference.
pub(super) fn source_editor(
    shell: &Shell,
    kind: &EditorKind,
    name: Option<&str>,
    typed_name: &str,
    source: &str,
    problems: &[Problem],
    errors: &FieldErrors,
) -> Markup {
    let action = name.map_or_else(
        || kind.base.to_string(),
        |n| format!("{}/{}", kind.base, url_part(n)),
    );
    let bad_lines: Vec<usize> = problems.iter().filter_map(|p| p.line).collect();
    let lines = source.lines().count().max(1);
    let place = |p: &Problem| match (p.line, p.column) {
        (Some(line), Some(col)) => format!(
            "{}:{col}",
            shell.t("rules.line").replace("{}", &line.to_string())
        ),
        (Some(line), None) => shell.t("rules.line").replace("{}", &line.to_string()),
        _ => String::new(),
    };
    let bad = bad_lines
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let invalid = !problems.is_empty();
    html! {
        @if invalid { (flash_notice("error", shell.t(kind.invalid))) }
        form.editor-form method="post" action=(action) {
            (shell.csrf())
            @if name.is_none() {
                div.field {
                    label for="f-name" { (shell.t("common.name")) }
                    input #f-name name="name" value=(typed_name) required pattern="[a-z0-9_][a-z0-9_-]*" autocomplete="off"
                        aria-invalid=[errors.get("name").map(|_| "true")]
                        aria-describedby=[errors.get("name").map(|_| "name-error")];
                    @if let Some(message) = errors.get("name") { p.field-error #name-error { (message) } }
                }
                p.hint { (shell.t("rules.name_hint")) }
            }
            div.field {
                div.editor-head {
                    label for="f-source" { (shell.t(kind.source)) }
                    @if kind.reference {
                        a.small href="/help/rules" target="_blank" rel="help" { (shell.t("rules.reference")) }
                    }
                    label.wrap-toggle { input type="checkbox" data-wrap checked; " " (shell.t("editor.wrap")) }
                }
                @if invalid {
                    ul.problems.field-error #source-error role="alert" {
                        @for p in problems {
                            li data-line=(p.line.unwrap_or(0)) {
                                button.link type="button" data-goto=(p.line.unwrap_or(0)) { (place(p)) }
                                @if let Some(path) = &p.path { " " code { (path) } }
                                " " (super::problem_text::problem_text(shell.lang, &p.message))
                            }
                        }
                    }
                }
                div.editor.wrapping {
                    div.gutter aria-hidden="true" data-gutter data-bad=(bad) {
                        @for line in 1..=lines { span.bad[bad_lines.contains(&line)] { (line) } }
                    }
                    textarea #f-source name="source" spellcheck="false" rows="22" wrap="soft" data-source
                        aria-invalid=[invalid.then_some("true")] aria-describedby=[invalid.then_some("source-error")]
                        readonly[!shell.principal.can_edit()] { (source) }
                }
            }
            @if shell.principal.can_edit() {
                div.actions { button.btn.primary type="submit" { (shell.t("common.save")) } }
            } @else {
                (flash_notice("info", shell.t("common.readonly")))
            }
        }
    }
}

async fn list_documents(ctx: &Ctx, shell: &Shell, kind: &Kind) -> Result<Markup, super::PageError> {
    let documents = ctx
        .app
        .store
        .documents(shell.principal.workspace, kind.doc.kind())
        .await?;
    Ok(html! {
        div.table-wrap { table {
            thead { tr {
                th { (shell.t("common.name")) } th.num { (shell.t("common.version")) }
                th { (shell.t("common.updated")) } th { (shell.t("common.actor")) }
            } }
            tbody {
                @for d in &documents {
                    tr {
                        td { a.strong href={ (kind.base) "/" (url_part(&d.name)) } { (d.name) } }
                        td.num { "v" (d.version) }
                        td { (shell.when(d.updated_at)) }
                        td { (d.updated_by) }
                    }
                }
                @if documents.is_empty() { (none_row(shell.lang, 4)) }
            }
        } }
    })
}

pub(super) async fn list_plans(ctx: &Ctx, shell: &Shell) -> Result<String, super::PageError> {
    Ok(list_documents(ctx, shell, &PLAN_KIND).await?.into_string())
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
    let body = html! {
        (flash_markup(shell))
        p.lead { (shell.t("rules.subtitle")) " " a href="/help/rules" target="_blank" rel="help" { (shell.t("rules.reference")) } }
        (section(shell.t("rules.title"), list))
        @if shell.principal.can_edit() {
            (section(shell.t("common.new"), editor(shell, &RULE_KIND, None, name, source, problems, errors)))
        }
    };
    Ok(respond(
        status,
        shell.render("rules", shell.t("rules.title"), body),
    ))
}

/// The rule-file reference (`docs/rules.md`, in both languages), served from the binary.
async fn rules_reference(Page(_shell): Page) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        include_str!("../../../../docs/rules.md"),
    )
        .into_response()
}

/// The welcome, 群规 and warnings of a rule file as members will see them, rendered by the same
/// functions the guardian sends them with (for the workspace's first group, or a sample name).
async fn rule_preview(
    ctx: &Ctx,
    shell: &Shell,
    name: &str,
    source: &str,
) -> Result<Markup, super::PageError> {
    let Ok(set) = qunzhu_moderation::check(source, &format!("{name}.toml")) else {
        return Ok(html! {});
    };
    let group = ctx
        .app
        .store
        .groups(shell.principal.workspace)
        .await?
        .into_iter()
        .next()
        .map_or_else(
            || shell.t("preview.sample_group").to_string(),
            |g| g.group.name,
        );
    let sample: Vec<&str> = shell.t("preview.sample_names").split(' ').collect();
    let posts = qunzhu_moderation::preview(&set, &group, &sample);
    let body = html! {
        p.muted.small { (shell.t("preview.hint")) " " strong { (group) } }
        @if posts.is_empty() { p.muted { (shell.t("preview.none")) } }
        @for post in &posts {
            @let label = match &post.kind {
                qunzhu_moderation::PreviewKind::Welcome => shell.t("preview.welcome").to_string(),
                qunzhu_moderation::PreviewKind::GroupRules => shell.t("preview.group_rules").to_string(),
                qunzhu_moderation::PreviewKind::Warning(rule) => format!("{} · {rule}", shell.t("preview.warning")),
            };
            div.preview-post data-preview=(label) {
                div.small.muted { (label) " · " (post.profile) }
                div.preview-bubble { (post.text) }
            }
        }
    };
    Ok(section(shell.t("preview.title"), body))
}

/// The groups where the bot's stored powers fall short of what this rule file asks (shown
/// with the saved file, so a save answers with them at once); nothing when none do.
async fn rule_power_warnings(
    ctx: &Ctx,
    shell: &Shell,
    name: &str,
    source: &str,
) -> Result<Markup, super::PageError> {
    let groups = ctx
        .ops()
        .power_warnings_for_source(&shell.principal.actor(), name, source)
        .await?;
    if groups.is_empty() {
        return Ok(html! {});
    }
    Ok(html! {
        section.card #rule-power-warnings {
            h2 { (shell.t("power.title")) }
            p { (shell.t("power.saved_warnings")) }
            @for group in &groups {
                h3 { a href={ "/groups/" (group.group_id) } { (group.name) } }
                @for warning in &group.warnings {
                    p class="notice error power-warning" role="alert" data-rule=(warning.rule) data-step=(warning.step) {
                        (super::groups::power_warning_text(shell, warning))
                    }
                }
            }
        }
    })
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
        .document(shell.principal.workspace, kind.doc.kind(), name)
        .await?;
    let (source, problems, status) = match typed {
        Some((source, problems)) => (source, problems, StatusCode::UNPROCESSABLE_ENTITY),
        None => (document.source.as_str(), &[][..], StatusCode::OK),
    };
    let mut extra = html! {};
    if kind.doc == EditableKind::SopPlan {
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
        extra = section(shell.t("group.calendar"), calendar_markup(shell, &entries));
    }
    if kind.doc == EditableKind::Rules {
        let warned = rule_power_warnings(ctx, shell, name, source).await?;
        let preview = rule_preview(ctx, shell, name, source).await?;
        extra = html! { div.stack { (warned) (preview) } };
    }
    let body = html! {
        (flash_markup(shell))
        p.lead { a href=(kind.base) { "← " (shell.t(kind.title)) } }
        div.grid-editor {
            section.card {
                h2 { (name) }
                p.muted.small { "v" (document.version) " · " (shell.when(document.updated_at)) " · " (document.updated_by) }
                (editor(shell, kind, Some(name), name, source, problems, &FieldErrors::default()))
            }
            (extra)
        }
        @if shell.principal.can_edit() {
            form.inline method="post" action={ (kind.base) "/" (url_part(name)) "/delete" } data-confirm=(shell.t("common.delete")) {
                (shell.csrf())
                button.btn.danger type="submit" { (shell.t("common.delete")) }
            }
        }
    };
    Ok(respond(status, shell.render(kind.nav, name, body)))
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
        .document(shell.principal.workspace, kind.doc.kind(), name)
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
    editor(shell, &PLAN_KIND, None, name, source, problems, errors).into_string()
}

async fn delete_rules(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    Posted(shell, _form): Posted,
) -> PageResult {
    ctx.ops()
        .delete_document(&shell.principal.actor(), EditableKind::Rules, &name)
        .await?;
    Ok(see_other("/rules?ok=saved"))
}

async fn delete_plan(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    Posted(shell, _form): Posted,
) -> PageResult {
    ctx.ops()
        .delete_document(&shell.principal.actor(), EditableKind::SopPlan, &name)
        .await?;
    Ok(see_other("/sop?ok=saved"))
}

/// Upcoming posts as a compact list (group page, plan page).
pub fn calendar_markup(shell: &Shell, entries: &[CalendarEntry]) -> Markup {
    html! {
        @if entries.is_empty() { p.muted { (shell.t("common.none")) } }
        @else {
            ol.timeline {
                @for e in entries.iter().take(12) {
                    li {
                        time datetime=(e.scheduled.to_rfc3339()) { (e.local) }
                        div {
                            strong { (e.title) } " " span.muted.small { (e.plan) }
                            p.small { (e.groups.join("、")) }
                            // The post as members will see it.
                            @if !e.text.is_empty() {
                                details.preview-post { summary.small { (shell.t("preview.post")) } div.preview-bubble { (e.text) } }
                            }
                        }
                    }
                }
            }
            @if entries.len() > 12 {
                p { a href="/sop" { (shell.t("common.more")) " (" (entries.len() - 12) ") →" } }
            }
        }
    }
}
