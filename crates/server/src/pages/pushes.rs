//! 推送效果: every SOP push with what it did — status, lateness, reach, clicks, replies within
//! an hour — in the workspace's time zone. Rendered with maud, so every value is escaped unless
//! written `PreEscaped` on purpose.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::{html as markup, Markup, PreEscaped};
use qunzhu_ops::{PushEntry, PushOutcome};
use serde::Deserialize;

use super::{html, Page, PageResult};
use crate::api::Params;
use crate::html::{card, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new().route("/pushes", get(page))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct PushQuery {
    limit: Option<usize>,
}

const DEFAULT_LIMIT: usize = 200;
const MAX_LIMIT: usize = 2_000;

/// The i18n key of an outcome's label.
pub(super) fn outcome_key(outcome: PushOutcome) -> &'static str {
    match outcome {
        PushOutcome::Queued => "push.queued",
        PushOutcome::Sent => "push.sent",
        PushOutcome::Late => "push.late",
        PushOutcome::Failed => "push.failed",
        PushOutcome::Skipped => "push.skipped",
    }
}

/// The `pill` colour class the console already has for each state.
fn css(outcome: PushOutcome) -> &'static str {
    match outcome {
        PushOutcome::Queued => "pending",
        PushOutcome::Sent => "done",
        PushOutcome::Late => "quiet",
        PushOutcome::Failed => "dead",
        PushOutcome::Skipped => "skipped",
    }
}

fn row(shell: &Shell, entry: &PushEntry) -> Markup {
    let report = &entry.report;
    let went_out = report.sent_at.is_some();
    let late = report
        .late_seconds
        .filter(|seconds| *seconds > 0 && went_out)
        .map(|seconds| format!("+{} min", (seconds + 59) / 60));
    markup! {
        tr data-outcome=(format!("{:?}", entry.outcome).to_lowercase()) {
            td { time { (shell.when(report.scheduled)) } }
            td { (shell.when_opt(report.sent_at)) @if let Some(late) = late { " " small.muted { (late) } } }
            td { (entry.group) }
            td { code { (entry.plan) "/" (entry.step) } }
            td title=[report.reason.as_deref()] {
                span class=(format!("pill {}", css(entry.outcome))) { (shell.t(outcome_key(entry.outcome))) }
            }
            td.num { @if went_out { (report.reach) } @else { "–" } }
            td.num { @if went_out { (report.clicks) " / " (report.unique_clickers) } @else { "–" } }
            td.num { @if went_out { (report.replies_within_hour) } @else { "–" } }
            td.num { (entry.orders) }
            td.num { (super::revenue::money(entry.revenue_cents)) }
            td.small title=(report.text) { (report.text.chars().take(48).collect::<String>()) }
        }
    }
}

async fn page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<PushQuery>,
) -> PageResult {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let entries = ctx.ops().pushes(&shell.principal.actor(), limit).await?;
    let table = markup! {
        p.lead {
            (shell.t("push.subtitle")) " "
            strong { (shell.t("push.zone")) " " (shell.zone.name()) }
        }
        @if entries.is_empty() {
            p.muted role="status" { (shell.t("push.empty")) }
        } @else {
            div.table-wrap {
                table data-pushes {
                    thead { tr {
                        th { (shell.t("push.scheduled")) }
                        th { (shell.t("push.sent_at")) }
                        th { (shell.t("push.group")) }
                        th { (shell.t("push.step")) }
                        th { (shell.t("push.status")) }
                        th { (shell.t("push.reach")) }
                        th { (shell.t("push.clicks")) }
                        th { (shell.t("push.replies")) }
                        th { (shell.t("push.orders")) }
                        th { (shell.t("push.revenue")) }
                        th { (shell.t("push.text")) }
                    } }
                    tbody { @for entry in &entries { (row(&shell, entry)) } }
                }
            }
        }
        p { a.btn href="/sop" { "← " (shell.t("sop.title")) } }
    };
    let PreEscaped(body) = table;
    let body = card(shell.t("push.title"), &body);
    Ok(html(
        StatusCode::OK,
        shell.page("sop", shell.t("push.title"), &body),
    ))
}
