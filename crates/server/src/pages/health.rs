//! The overview's engine widget: the loops that are down and each connector's state, so an
//! operator sees a stopped engine or an unreachable platform without reading logs.

use std::fmt::Write;

use qunzhu_engine::health::ConnectorState;

use crate::api::engine::ConnectorStatus;
use crate::html::{esc, Shell};
use crate::Ctx;

/// The widget's HTML; empty when this process runs no engine (a console-only process).
pub async fn widget(ctx: &Ctx, shell: &Shell) -> Result<String, super::PageError> {
    let report = ctx.health.report();
    let connectors = crate::api::engine::statuses(ctx, shell.principal.workspace).await?;
    if report.loops.is_empty() && connectors.is_empty() && report.documents.is_empty() {
        return Ok(String::new());
    }
    Ok(render(shell, &report.down, &connectors, &report.documents))
}

fn render(
    shell: &Shell,
    down: &[String],
    connectors: &[ConnectorStatus],
    documents: &[qunzhu_engine::health::DocumentHealth],
) -> String {
    let mut out = String::from(r#"<section class="card" id="engine-health">"#);
    let _ = write!(out, "<h2>{}</h2>", shell.t("health.title"));
    if down.is_empty() {
        let _ = write!(
            out,
            r#"<p class="notice ok" data-status="ok">{}</p>"#,
            shell.t("health.ok")
        );
    } else {
        let _ = write!(
            out,
            r#"<p class="notice error" data-status="degraded">{} {}</p>"#,
            shell.t("health.degraded"),
            esc(&down.join(", "))
        );
    }
    for document in documents {
        let _ = write!(
            out,
            r#"<p class="notice error" data-document="{name}">{label} <code>{name}</code> v{version}: {problem}</p>"#,
            label = shell.t("health.document_rejected"),
            name = esc(&document.name),
            version = document.version,
            problem = esc(document.problems.first().map_or("", String::as_str)),
        );
    }
    if !connectors.is_empty() {
        let _ = write!(
            out,
            r#"<div class="table-wrap"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th class="num">{}</th><th>{}</th></tr></thead><tbody>"#,
            shell.t("health.connector"),
            shell.t("health.state"),
            shell.t("health.last_poll"),
            shell.t("health.backlog"),
            shell.t("health.last_error"),
        );
        for connector in connectors {
            let state = match connector.state {
                ConnectorState::Connecting => shell.t("health.connecting"),
                ConnectorState::Connected => shell.t("health.connected"),
                ConnectorState::Failing => shell.t("health.failing"),
            };
            let error = connector
                .last_error
                .as_ref()
                .map_or(String::new(), |problem| {
                    format!("{} {}", shell.when(problem.at), problem.message)
                });
            let backlog = if connector.backlog_capped {
                format!("{}+", connector.backlog)
            } else {
                connector.backlog.to_string()
            };
            let _ = write!(
                out,
                r#"<tr data-connector="{id}"><td>{id}</td><td>{state}</td><td>{poll}</td><td class="num">{backlog}</td><td>{error}</td></tr>"#,
                id = esc(&connector.id),
                poll = esc(&shell.when_opt(connector.last_poll_ok)),
                error = esc(&error),
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    out
}
