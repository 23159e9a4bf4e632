//! The overview: today's and the last 30 days' numbers with charts, refreshed in place.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use maud::{html, Markup};

use super::{html as respond, Page, PageResult};
use crate::html::{section, svg, Shell};
use crate::stats::{self, Overview};
use crate::svg::{chart, sparkline, Mark, Series};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/", get(overview_page))
        .route("/overview/live", get(live_fragment))
}

/// The overview's numbers, kept when slow to read (snapshot.rs).
async fn load(ctx: &Ctx, shell: &Shell) -> Result<std::sync::Arc<Overview>, super::PageError> {
    let (store, clock) = (ctx.app.store.clone(), ctx.app.clock.clone());
    let (workspace, zone) = (shell.principal.workspace, shell.zone);
    Ok(ctx
        .snapshots
        .overview
        .get(workspace, move || async move {
            stats::overview(store.as_ref(), workspace, zone, clock.now(), 30).await
        })
        .await?)
}

async fn overview_page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let overview = load(&ctx, &shell).await?;
    // The engine widget escapes every value it shows (health.rs); it is inserted as built.
    let engine = maud::PreEscaped(super::health::widget(&ctx, &shell).await?);
    let body = html! {
        // A fresh install: say what to do next instead of showing thirty days of zeros alone.
        @if overview.groups == 0 {
            section.card data-next-step {
                h2 { (shell.t("overview.no_groups")) }
                p { (shell.t("overview.next_step")) }
                p { a.btn.primary href="/help/matrix" { (shell.t("overview.connect_matrix")) } }
            }
        }
        p.lead { (shell.t("overview.subtitle")) " " span.live-dot aria-hidden="true" {} span.muted { (shell.t("common.live")) } }
        (engine)
        div data-live="/overview/live" data-every="10000" aria-live="polite" { (fragment(&shell, &overview)) }
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("overview", shell.t("overview.title"), body),
    ))
}

async fn live_fragment(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let overview = load(&ctx, &shell).await?;
    Ok(respond(
        StatusCode::OK,
        fragment(&shell, &overview).into_string(),
    ))
}

/// Metric cards and charts; also what the page swaps in every ten seconds.
fn fragment(shell: &Shell, overview: &Overview) -> Markup {
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
    let cards = html! {
        div.metrics {
            @for (key, pick, summed) in metrics {
                @let series: Vec<u64> = overview.days.iter().map(pick).collect();
                @let label = shell.t(key);
                @let secondary = if summed {
                    format!("{} {}", shell.t("common.last30"), pick(&overview.totals))
                } else {
                    let first = series.first().copied().unwrap_or(0);
                    let change = pick(&overview.today) as i64 - first as i64;
                    format!("{} {change:+}", shell.t("common.last30"))
                };
                article.metric data-metric=(key) {
                    h3 { (label) small { (shell.t("common.today")) } }
                    p.num { (pick(&overview.today)) }
                    p.sub { (secondary) }
                    (svg(sparkline(&series, label)))
                }
            }
        }
    };
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
    html! {
        (cards)
        div.grid2 {
            (section(shell.t("chart.activity"), svg(activity)))
            (section(shell.t("chart.flow"), svg(flow)))
        }
    }
}
