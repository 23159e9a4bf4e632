//! The overview: today's and the last 30 days' numbers with charts, refreshed in place.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use std::fmt::Write;

use super::{html, Page, PageResult};
use crate::html::{esc, Shell};
use crate::stats::{self, Overview};
use crate::svg::{chart, sparkline, Mark, Series};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/", get(overview_page))
        .route("/overview/live", get(live_fragment))
}

async fn load(ctx: &Ctx, shell: &Shell) -> Result<Overview, super::PageError> {
    let now = ctx.app.clock.now();
    Ok(stats::overview(
        ctx.app.store.as_ref(),
        shell.principal.workspace,
        shell.zone,
        now,
        30,
    )
    .await?)
}

async fn overview_page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let overview = load(&ctx, &shell).await?;
    let body = format!(
        r#"<p class="lead">{subtitle} <span class="live-dot" aria-hidden="true"></span><span class="muted">{live}</span></p>
<div data-live="/overview/live" data-every="10000" aria-live="polite">{fragment}</div>"#,
        subtitle = shell.t("overview.subtitle"),
        live = shell.t("common.live"),
        fragment = fragment(&shell, &overview),
    );
    Ok(html(
        StatusCode::OK,
        shell.page("overview", shell.t("overview.title"), &body),
    ))
}

async fn live_fragment(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let overview = load(&ctx, &shell).await?;
    Ok(html(StatusCode::OK, fragment(&shell, &overview)))
}

/// Metric cards and charts; also what the page swaps in every ten seconds.
fn fragment(shell: &Shell, overview: &Overview) -> String {
    type Pick = fn(&stats::DayStats) -> u64;
    let metrics: [(&str, Pick, bool); 8] = [
        ("metric.members", |d| d.members, false),
        ("metric.joins", |d| d.joins, true),
        ("groups.left", |d| d.left, true),
        ("groups.removed", |d| d.removed, true),
        ("metric.speakers", |d| d.speakers, true),
        ("metric.messages", |d| d.messages, true),
        ("metric.moderation", |d| d.moderation_actions, true),
        ("metric.posts", |d| d.posts_sent, true),
    ];
    let mut cards = String::from(r#"<div class="metrics">"#);
    for (key, pick, summed) in metrics {
        let series: Vec<u64> = overview.days.iter().map(pick).collect();
        let label = shell.t(key);
        let secondary = if summed {
            format!("{} {}", shell.t("common.last30"), pick(&overview.totals))
        } else {
            let first = series.first().copied().unwrap_or(0);
            let change = pick(&overview.today) as i64 - first as i64;
            format!("{} {change:+}", shell.t("common.last30"))
        };
        let _ = write!(
            cards,
            r#"<article class="metric" data-metric="{key}"><h3>{label}<small>{today_l}</small></h3><p class="num">{today}</p><p class="sub">{secondary}</p>{spark}</article>"#,
            key = esc(key),
            label = esc(label),
            today_l = shell.t("common.today"),
            today = pick(&overview.today),
            secondary = esc(&secondary),
            spark = sparkline(&series, label),
        );
    }
    cards.push_str("</div>");
    let labels: Vec<String> = overview
        .days
        .iter()
        .map(|d| d.day.format("%m-%d").to_string())
        .collect();
    let activity = chart(
        shell.t("chart.activity"),
        &labels,
        &[
            Series {
                name: shell.t("metric.messages"),
                values: overview.days.iter().map(|d| d.messages).collect(),
                mark: Mark::Bars,
                class: "s1",
            },
            Series {
                name: shell.t("metric.speakers"),
                values: overview.days.iter().map(|d| d.speakers).collect(),
                mark: Mark::Line,
                class: "s2",
            },
        ],
    );
    let flow = chart(
        shell.t("chart.flow"),
        &labels,
        &[
            Series {
                name: shell.t("metric.joins"),
                values: overview.days.iter().map(|d| d.joins).collect(),
                mark: Mark::Bars,
                class: "s3",
            },
            Series {
                name: shell.t("groups.left"),
                values: overview.days.iter().map(|d| d.left).collect(),
                mark: Mark::Bars,
                class: "s4",
            },
            Series {
                name: shell.t("groups.removed"),
                values: overview.days.iter().map(|d| d.removed).collect(),
                mark: Mark::Bars,
                class: "s5",
            },
        ],
    );
    format!(
        r#"{cards}<div class="grid2"><section class="card"><h2>{activity_title}</h2>{activity}</section><section class="card"><h2>{flow_title}</h2>{flow}</section></div>"#,
        activity_title = shell.t("chart.activity"),
        flow_title = shell.t("chart.flow"),
    )
}
