//! 数据分析: the AARRR funnel with its definitions beside it, the join-week retention triangle
//! whose cells open the members behind them, the daily flow chart and CSV links — all read
//! from the rollup read models through `qunzhu-ops`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::{html as markup, Markup, PreEscaped};
use qunzhu_domain::funnel::{FunnelConfig, FunnelStage};
use qunzhu_domain::InviteChannel;

use super::{html, Page, PageResult};
use crate::api::analytics::Filter;
use crate::api::Params;
use crate::html::{card, url_part, Shell};
use crate::svg::{chart, funnel, Mark, Series};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/analytics", get(page))
        .route("/analytics/cohort", get(cohort_page))
}

/// The filter's query string, to carry into links.
fn carried(q: &Filter) -> String {
    let mut parts = Vec::new();
    let mut push = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            parts.push(format!("{name}={}", url_part(&value)));
        }
    };
    push("platform", q.platform.clone());
    push("chat", q.chat.clone());
    push("channel", q.channel.map(|c| c.as_str().to_string()));
    push("campaign", q.campaign.clone());
    parts.join("&")
}

/// The heat bucket (0–5) of a share.
fn heat(share: f64) -> u8 {
    (share * 5.0).ceil().clamp(0.0, 5.0) as u8
}

fn definitions(shell: &Shell, config: &FunnelConfig) -> Markup {
    let days = shell.t("an.days");
    markup! {
        dl.defs data-definitions {
            dt { (shell.t("stage.acquired")) } dd { (shell.t("an.def.acquired")) }
            dt { (shell.t("stage.activated")) }
            dd { (shell.t("an.def.activated")) " " (config.activation_days) " " (days) }
            dt { (shell.t("stage.retained")) }
            dd { (shell.t("an.def.retained")) " " (config.retention_week) }
            dt { (shell.t("stage.revenue")) }
            dd {
                (shell.t("an.def.revenue")) " "
                @if config.revenue_days == 0 { (shell.t("an.any_time")) } @else { (config.revenue_days) " " (days) }
            }
            dt { (shell.t("stage.referral")) } dd { (shell.t("an.def.referral")) }
        }
    }
}

fn filter_form(shell: &Shell, q: &Filter, config: &FunnelConfig) -> Markup {
    markup! {
        form.filters method="get" action="/analytics" {
            label { (shell.t("an.platform")) " " input name="platform" value=[q.platform.as_deref()] size="8"; }
            label { (shell.t("an.chat")) " " input name="chat" value=[q.chat.as_deref()] size="16"; }
            label { (shell.t("an.channel")) " "
                select name="channel" {
                    option value="" { (shell.t("an.all")) }
                    @for channel in [InviteChannel::Invited, InviteChannel::Link, InviteChannel::KnockApproved, InviteChannel::Direct] {
                        option value=(channel.as_str()) selected[q.channel == Some(channel)] { (shell.t(&format!("chan.{}", channel.as_str()))) }
                    }
                }
            }
            label { (shell.t("an.campaign")) " " input name="campaign" value=[q.campaign.as_deref()] size="10"; }
            label { (shell.t("an.activation_days")) " " input name="activation_days" type="number" min="1" max="365" value=(config.activation_days); }
            label { (shell.t("an.retention_week")) " " input name="retention_week" type="number" min="1" max="64" value=(config.retention_week); }
            label { (shell.t("an.revenue_days")) " " input name="revenue_days" type="number" min="0" max="3650" value=(config.revenue_days); }
            button type="submit" { (shell.t("an.apply")) }
        }
    }
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page, Params(q): Params<Filter>) -> PageResult {
    let who = shell.principal.actor();
    let facts = q.facts()?;
    let config = q.funnel_config(ctx.funnel);
    let ops = ctx.ops();
    let report = ops.funnel(&who, &facts, config, None).await?;
    let whole = report
        .rows
        .first()
        .map(|row| row.funnel)
        .unwrap_or_default();
    let stages: Vec<(String, u64)> = whole
        .stages()
        .iter()
        .map(|(stage, count)| {
            (
                shell.t(&format!("stage.{}", stage.as_str())).to_string(),
                *count,
            )
        })
        .collect();
    let funnel_svg = funnel(shell.t("an.funnel"), &stages);
    let by_channel = ops
        .funnel(
            &who,
            &facts,
            config,
            Some(qunzhu_ops::analytics::FunnelBy::Channel),
        )
        .await?;
    let cohorts = ops.cohorts(&who, &facts, q.weeks.unwrap_or(12)).await?;
    let today = ctx.app.clock.now().with_timezone(&shell.zone).date_naive();
    let (_, days) = ops
        .rollup_days(
            &who,
            &qunzhu_storage::RollupDayQuery {
                group: q.group()?,
                from: today - chrono::Duration::days(29),
                to: today,
            },
            0,
            5000,
        )
        .await?;
    // The workspace's (or the group's) days, summed over groups.
    let labels: Vec<String> = (0..30)
        .map(|n| {
            (today - chrono::Duration::days(29 - n))
                .format("%m-%d")
                .to_string()
        })
        .collect();
    let mut joins = vec![0u64; 30];
    let mut gone = vec![0u64; 30];
    let mut speakers = vec![0u64; 30];
    for row in &days {
        let index = (row.day - (today - chrono::Duration::days(29))).num_days();
        if let Ok(index) = usize::try_from(index) {
            if index < 30 {
                joins[index] += row.counts.joins().max(0) as u64;
                gone[index] += (row.counts.left + row.counts.removed).max(0) as u64;
                speakers[index] += row.counts.speakers.max(0) as u64;
            }
        }
    }
    let flow = chart(
        shell.t("an.flow"),
        &labels,
        &[
            Series {
                name: shell.t("an.joins"),
                values: joins,
                mark: Mark::Bars,
                class: "s3",
            },
            Series {
                name: shell.t("an.gone"),
                values: gone,
                mark: Mark::Bars,
                class: "s4",
            },
            Series {
                name: shell.t("an.speakers"),
                values: speakers,
                mark: Mark::Line,
                class: "s2",
            },
        ],
    );
    // The platform's own counts beside the rollups' (WeCom's statistics), last 30 days.
    let counted = ops
        .platform_counts(&who, today - chrono::Duration::days(29), today)
        .await?;
    let differing: Vec<_> = counted.iter().filter(|day| day.difference() != 0).collect();
    let carry = carried(&q);
    let body = markup! {
        (super::people::subnav(&shell, "/analytics"))
        (filter_form(&shell, &q, &config))
        div.grid2 {
            div { (PreEscaped(funnel_svg)) }
            div { h3 { (shell.t("an.definitions")) } (definitions(&shell, &config)) }
        }
        div.table-wrap {
            table data-funnel-by-channel {
                thead { tr {
                    th { (shell.t("an.channel")) }
                    @for stage in FunnelStage::ALL { th { (shell.t(&format!("stage.{}", stage.as_str()))) } }
                } }
                tbody {
                    @for row in &by_channel.rows {
                        tr {
                            td { (shell.t(&format!("chan.{}", row.key))) }
                            @for (_, count) in row.funnel.stages() { td.num { (count) } }
                        }
                    }
                }
            }
        }
        h3 { (shell.t("an.cohorts")) }
        p.muted { (shell.t("an.cohorts_hint")) }
        @if cohorts.is_empty() {
            p.muted role="status" { (shell.t("an.empty")) }
        } @else {
            div.table-wrap {
                table.cohorts data-cohorts {
                    thead { tr {
                        th { (shell.t("an.join_week")) } th { (shell.t("an.size")) }
                        @for k in 0..cohorts.iter().map(|r| r.active.len()).max().unwrap_or(0) { th { "W" (k) } }
                    } }
                    tbody {
                        @for row in &cohorts {
                            tr {
                                td { (row.week.to_string()) } td.num { (row.size) }
                                @for (k, active) in row.active.iter().enumerate() {
                                    @let share = *active as f64 / row.size.max(1) as f64;
                                    td class=(format!("cell num h{}", heat(share))) {
                                        a href=(format!("/analytics/cohort?week={}&k={k}&{carry}", row.week)) title=(active) {
                                            (format!("{:.0}%", share * 100.0))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h3 { (shell.t("an.flow")) }
        (PreEscaped(flow))
        h3 { (shell.t("an.reconcile")) }
        @if counted.is_empty() {
            p.muted role="status" data-reconcile="none" { (shell.t("an.reconcile_none")) }
        } @else {
            p data-reconcile=(differing.len()) {
                (shell.t("an.reconcile_checked")) " " (counted.len()) " · "
                (shell.t("an.reconcile_differ")) " " (differing.len())
            }
            @if !differing.is_empty() {
                div.table-wrap {
                    table data-reconcile-days {
                        thead { tr {
                            th { (shell.t("an.day")) } th { (shell.t("an.platform")) }
                            th { (shell.t("an.reconcile_theirs")) } th { (shell.t("an.reconcile_ours")) }
                            th { (shell.t("an.reconcile_diff")) }
                        } }
                        tbody {
                            @for day in &differing {
                                tr {
                                    td { (day.day.to_string()) } td { (day.platform.as_str()) }
                                    td.num { (day.platform_joins) } td.num { (day.qunzhu_joins) }
                                    td.num { (format!("{:+}", day.difference())) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p {
            a.btn href=(format!("/api/v1/analytics/days.csv?{carry}")) { (shell.t("an.csv_days")) } " "
            a.btn href=(format!("/api/v1/analytics/cohorts.csv?{carry}")) { (shell.t("an.csv_cohorts")) }
        }
    };
    let PreEscaped(body) = body;
    let body = card(shell.t("an.title"), &body);
    Ok(html(
        StatusCode::OK,
        shell.page("analytics", shell.t("an.title"), &body),
    ))
}

async fn cohort_page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<Filter>,
) -> PageResult {
    let who = shell.principal.actor();
    let page = ctx
        .ops()
        .cohort_members(
            &who,
            &q.facts()?,
            q.week,
            q.k.unwrap_or(0),
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(200),
        )
        .await?;
    let body = markup! {
        p.lead {
            (shell.t("an.join_week")) " " (q.week.map(|w| w.to_string()).unwrap_or_default()) " · W" (q.k.unwrap_or(0))
            " · " (shell.t("an.size")) " " (page.total)
        }
        @if page.rows.is_empty() {
            p.muted role="status" { (shell.t("an.empty")) }
        } @else {
            div.table-wrap {
                table data-cohort-members {
                    thead { tr {
                        th { (shell.t("an.member")) } th { (shell.t("an.chat")) } th { (shell.t("an.channel")) }
                        th { (shell.t("an.joined")) } th { (shell.t("an.messages")) } th { (shell.t("an.spend")) }
                    } }
                    tbody {
                        @for row in &page.rows {
                            tr {
                                td { a href=(format!("/members/{}/{}", row.platform.as_str(), url_part(&row.member))) { (row.member) } }
                                td { (row.chat) }
                                td { (shell.t(&format!("chan.{}", row.facts.channel.map_or("direct", |c| c.as_str())))) }
                                td { (shell.when_opt(row.facts.joined_at)) }
                                td.num { (row.facts.messages) }
                                td.num { (format!("{:.2}", row.facts.spend_cents as f64 / 100.0)) }
                            }
                        }
                    }
                }
            }
        }
        p { a.btn href=(format!("/analytics?{}", carried(&q))) { "← " (shell.t("an.title")) } }
    };
    let PreEscaped(body) = body;
    let body = card(shell.t("an.cohort_members"), &body);
    Ok(html(
        StatusCode::OK,
        shell.page("analytics", shell.t("an.cohort_members"), &body),
    ))
}
