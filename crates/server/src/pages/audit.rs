//! The audit log: every change a person made, and every action the bot took, filtered by group,
//! class, kind and time.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::html;
use serde::Deserialize;

use super::moderation::{action_table, group_options, ActionFilterForm};
use super::names::Names;
use super::{html as respond, Page, PageResult};
use crate::api::Params;
use crate::html::{none_row, section};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new().route("/audit", get(page))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct AuditQuery {
    before: Option<i64>,
    group: Option<String>,
    class: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

const PAGE_SIZE: usize = 50;

async fn page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<AuditQuery>,
) -> PageResult {
    let ws = shell.principal.workspace;
    let entries = ctx.app.store.audit_log(ws, q.before, PAGE_SIZE).await?;
    let form = ActionFilterForm {
        group: q.group,
        class: q.class,
        kind: q.kind,
        from: q.from,
        to: q.to,
        ok: None,
    };
    let view = form.view(None)?;
    let bot = view.load(&ctx, &shell, 100).await?;
    let mut names = Names::load(&ctx, &shell).await?;
    names.add_from(&ctx, &shell, &[], &bot).await?;
    let groups = group_options(&ctx, &shell).await?;
    let detail = |value: &serde_json::Value| -> String {
        if value.as_object().is_some_and(|o| o.is_empty()) {
            String::new()
        } else {
            value.to_string().chars().take(160).collect()
        }
    };
    let body = html! {
        section.card {
            h2 { (shell.t("audit.people")) }
            div.table-wrap { table {
                thead { tr {
                    th { (shell.t("common.time")) } th { (shell.t("common.actor")) } th { (shell.t("common.action")) }
                    th { (shell.t("common.subject")) } th { (shell.t("common.detail")) }
                } }
                tbody {
                    @for e in &entries {
                        tr {
                            td { (shell.time(e.at)) }
                            td { (e.actor) }
                            td { code { (e.action) } }
                            td { (e.subject) }
                            td.small.mono { (detail(&e.detail)) }
                        }
                    }
                    @if entries.is_empty() { (none_row(shell.lang, 5)) }
                }
            } }
            @if let (Some(last), true) = (entries.last(), entries.len() == PAGE_SIZE) {
                p { a.btn href={ "/audit?before=" (last.id) } { (shell.t("audit.older")) " →" } }
            }
        }
        (section(shell.t("audit.bot"), html! {
            (view.form(&shell, &groups, "/audit"))
            (action_table(&shell, &names, &bot, false))
        }))
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("audit", shell.t("audit.title"), body),
    ))
}
