//! The audit log: every change a person made, and every action the bot took.

use std::fmt::Write;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use qunzhu_storage::ActionFilter;
use serde::Deserialize;

use super::{html, Page, PageResult};
use crate::api::Params;
use crate::html::{card, empty_row, esc};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new().route("/audit", get(page))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct AuditQuery {
    before: Option<i64>,
}

const PAGE_SIZE: usize = 50;

async fn page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<AuditQuery>,
) -> PageResult {
    let ws = shell.principal.workspace;
    let entries = ctx.app.store.audit_log(ws, q.before, PAGE_SIZE).await?;
    let mut rows = String::new();
    for e in &entries {
        let detail = if e.detail.as_object().is_some_and(|o| o.is_empty()) {
            String::new()
        } else {
            e.detail.to_string()
        };
        let _ = write!(
            rows,
            r#"<tr><td>{when}</td><td>{actor}</td><td><code>{action}</code></td><td>{subject}</td><td class="small mono">{detail}</td></tr>"#,
            when = shell.when(e.at),
            actor = esc(&e.actor),
            action = esc(&e.action),
            subject = esc(&e.subject),
            detail = esc(&detail.chars().take(160).collect::<String>()),
        );
    }
    if entries.is_empty() {
        rows = empty_row(shell.lang, 5);
    }
    let older = match entries.last() {
        Some(last) if entries.len() == PAGE_SIZE => format!(
            r#"<p><a class="btn" href="/audit?before={}">{} →</a></p>"#,
            last.id,
            shell.t("audit.older")
        ),
        _ => String::new(),
    };
    let people = format!(
        r#"<div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table></div>{older}"#,
        shell.t("common.time"),
        shell.t("common.actor"),
        shell.t("common.action"),
        shell.t("common.subject"),
        shell.t("common.detail"),
    );
    let bot = ctx
        .app
        .store
        .actions(
            ws,
            &ActionFilter {
                limit: Some(100),
                ..ActionFilter::default()
            },
        )
        .await?;
    let body = format!(
        "{}{}",
        card(shell.t("audit.people"), &people),
        card(
            shell.t("audit.bot"),
            &super::moderation::action_table(&shell, &bot, false)
        )
    );
    Ok(html(
        StatusCode::OK,
        shell.page("audit", shell.t("audit.title"), &body),
    ))
}
