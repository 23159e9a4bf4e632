//! `/offers` 秒杀: the time-limited offers with their stock counters (剩余 N 件), their windows
//! in the workspace's zone and their price, a form that creates one from its document (problems
//! shown with their line and column, the document kept), and `/offers/{id}` with who claimed
//! what, and the swap board (换物墙) of every group. Everything goes through `qunzhu-ops`, the same
//! operations as `/api/v1/offers` and `/api/v1/swaps`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use qunzhu_growth::swap::SwapState;
use qunzhu_ops::OpsError;
use qunzhu_storage::{ClaimState, GroupSwap, StoredOffer};
use rand::RngCore;

use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::html::{none_row, section, tag, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/offers", get(page).post(create))
        .route("/offers/{id}", get(detail))
}

/// A starting document: tonight 20:00 to 20:30, ten items for 100 points and a coupon.
fn example(shell: &Shell, now: DateTime<Utc>) -> String {
    let today = now.with_timezone(&shell.zone).date_naive();
    format!(
        "title = \"保温杯\"\nplatform = \"matrix\"\ngroup = \"!room:example.org\"\nkeyword = \"抢\"\nstock = 10\nstarts = \"{today} 20:00\"\nends = \"{today} 20:30\"\ncountdown_minutes = 30\npoints = 100\ncoupon = {{ offer = {{ type = \"amount_off\", cents = 500 }}, valid_days = 7 }}\n"
    )
}

fn state_of(shell: &Shell, offer: &StoredOffer, now: DateTime<Utc>) -> Markup {
    let spec = &offer.offer.spec;
    if offer.remaining == 0 {
        tag("dead", shell.t("offers.sold_out"))
    } else if now < spec.starts_at {
        tag("pending", shell.t("offers.upcoming"))
    } else if now < spec.ends_at {
        tag("done", shell.t("offers.open"))
    } else {
        tag("type", shell.t("offers.ended"))
    }
}

fn offers_table(shell: &Shell, offers: &[StoredOffer], now: DateTime<Utc>) -> Markup {
    html! {
        div.table-wrap { table #offers {
            thead { tr {
                th { (shell.t("offers.offer")) } th { (shell.t("common.group")) }
                th { (shell.t("offers.window")) } th.num { (shell.t("offers.left")) }
                th { (shell.t("offers.price")) } th { (shell.t("common.status")) }
            } }
            tbody {
                @for offer in offers {
                    @let spec = &offer.offer.spec;
                    tr data-offer=(offer.id) {
                        td { a href={ "/offers/" (offer.id) } { (spec.title) } br; small.muted { (shell.t("offers.keyword")) " 「" (spec.keyword) "」" } }
                        td.small { code { (spec.chat) } }
                        td.small { (shell.time(spec.starts_at)) " – " (shell.time(spec.ends_at)) }
                        td.num data-left=(offer.remaining) { (offer.remaining) " / " (spec.stock) }
                        td.small { (spec.describe()) }
                        td { (state_of(shell, offer, now)) }
                    }
                }
                @if offers.is_empty() { (none_row(shell.lang, 6)) }
            }
        } }
    }
}

fn swaps_table(shell: &Shell, swaps: &[GroupSwap]) -> Markup {
    html! {
        p.muted { (shell.t("swaps.help")) }
        div.table-wrap { table #swaps {
            thead { tr {
                th.num { "#" } th { (shell.t("common.group")) } th { (shell.t("common.member")) }
                th { (shell.t("swaps.offer")) } th { (shell.t("common.status")) }
            } }
            tbody {
                @for swap in swaps {
                    @let offer = &swap.offer;
                    tr {
                        td.num { (offer.id) }
                        td.small { code { (swap.chat) } }
                        td { code { (offer.member) } }
                        td { (shell.t("swaps.have")) " " (offer.have) " → " (shell.t("swaps.want")) " " (offer.want) }
                        td { @match &offer.state {
                            SwapState::Open => { (tag("pending", shell.t("swaps.open"))) }
                            SwapState::Swapped { with, .. } => { (tag("done", shell.t("swaps.swapped"))) " " code { (with) } }
                            SwapState::Withdrawn { .. } => { (tag("type", shell.t("swaps.withdrawn"))) }
                        } }
                    }
                }
                @if swaps.is_empty() { (none_row(shell.lang, 5)) }
            }
        } }
    }
}

fn create_form(shell: &Shell, source: &str, problems: &[qunzhu_ops::Problem]) -> Markup {
    let mut random = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let request = hex::encode(random);
    html! {
        @if shell.principal.can_edit() {
            form.stack method="post" action="/offers" #offer-form {
                (shell.csrf())
                input type="hidden" name="request" value=(request);
                p.muted { (shell.t("offers.doc_help")) }
                @if !problems.is_empty() {
                    ul.problems.field-error #source-error role="alert" {
                        @for problem in problems {
                            li data-line=(problem.line.unwrap_or(0)) {
                                (shell.t("offers.line")) " " (problem.line.unwrap_or(0)) ":" (problem.column.unwrap_or(0)) " " (problem.message)
                            }
                        }
                    }
                }
                label { (shell.t("offers.document"))
                    textarea name="source" rows="12" spellcheck="false" style="width:100%;max-width:100%;font-family:monospace"
                        aria-invalid=[(!problems.is_empty()).then_some("true")] { (source) }
                }
                button.btn.primary type="submit" { (shell.t("offers.create")) }
            }
        }
    }
}

async fn render(
    ctx: &Ctx,
    shell: &Shell,
    status: StatusCode,
    source: &str,
    problems: &[qunzhu_ops::Problem],
) -> PageResult {
    let offers = ctx.ops().offers(&shell.principal.actor(), 100).await?;
    let swaps = ctx.ops().swaps(&shell.principal.actor(), 100).await?;
    let body = html! {
        (flash_markup(shell))
        p.muted { (shell.t("offers.help")) }
        (section(shell.t("offers.title"), offers_table(shell, &offers, ctx.app.clock.now())))
        @if shell.principal.can_edit() {
            (section(shell.t("offers.new"), create_form(shell, source, problems)))
        }
        (section(shell.t("swaps.title"), swaps_table(shell, &swaps)))
    };
    Ok(respond(
        status,
        shell.render("offers", shell.t("offers.title"), body),
    ))
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let source = example(&shell, ctx.app.clock.now());
    render(&ctx, &shell, StatusCode::OK, &source, &[]).await
}

async fn create(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let source = form.get("source").to_string();
    match ctx
        .ops()
        .create_offer(&shell.principal.actor(), &source, form.get("request"))
        .await
    {
        Ok(view) => Ok(see_other(&format!("/offers/{}?ok=saved", view.offer.id))),
        Err(OpsError::Problems(problems)) => {
            render(
                &ctx,
                &shell,
                StatusCode::UNPROCESSABLE_ENTITY,
                &source,
                &problems,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn detail(State(ctx): State<Ctx>, Page(shell): Page, Path(id): Path<i64>) -> PageResult {
    let view = ctx.ops().offer(&shell.principal.actor(), id).await?;
    let spec = &view.offer.offer.spec;
    let body = html! {
        (flash_markup(&shell))
        (section(&spec.title, html! {
            p { (state_of(&shell, &view.offer, ctx.app.clock.now())) " " strong data-left=(view.offer.remaining) { (shell.t("offers.left")) " " (view.offer.remaining) " / " (spec.stock) } }
            p.small { (shell.time(spec.starts_at)) " – " (shell.time(spec.ends_at)) " · " (spec.describe()) " · " (shell.t("offers.keyword")) " 「" (spec.keyword) "」 · " code { (spec.chat) } }
            div.table-wrap { table #claims {
                thead { tr { th.num { "#" } th { (shell.t("common.member")) } th { (shell.t("common.time")) } th { (shell.t("common.status")) } th { (shell.t("offers.via")) } } }
                tbody {
                    @for claim in &view.claims {
                        tr {
                            td.num { (claim.rank) }
                            td { code { (claim.member) } }
                            td.small { (shell.time(claim.at)) }
                            td { @match claim.state {
                                ClaimState::Paid => { (tag("done", shell.t("offers.paid"))) }
                                ClaimState::Reserved => { (tag("pending", shell.t("offers.reserved"))) }
                            } }
                            td.small { code { (claim.via) } }
                        }
                    }
                    @if view.claims.is_empty() { (none_row(shell.lang, 5)) }
                }
            } }
            details { summary { (shell.t("offers.document")) } pre { (view.offer.offer.source) } }
            p { a href="/offers" { "← " (shell.t("offers.title")) } }
        }))
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("offers", &spec.title, body),
    ))
}
