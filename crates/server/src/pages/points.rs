//! `/members/{platform}/{user}/points` 积分与优惠券: one member's balance, their ledger entries
//! (reason, idempotency key, cause, the entry a reversal undoes) and their coupons with where
//! each stands (active, redeemed, expired, revoked with the reason). Read through `qunzhu-ops`,
//! the same reads as `/api/v1/ledger/members/…` and `/api/v1/coupons/members/…`; linked from the
//! member page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qunzhu_domain::{Account, Coupon, CouponStatus, Entry, Reason};

use super::{html as respond, Page, PageResult};
use crate::html::{none_row, section, tag, url_part, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new().route("/members/{platform}/{user}/points", get(page))
}

fn reason_key(reason: Reason) -> &'static str {
    match reason {
        Reason::CheckIn => "points.reason_check_in",
        Reason::Invite => "points.reason_invite",
        Reason::Lottery => "points.reason_lottery",
        Reason::JoinGift => "points.reason_join_gift",
        Reason::Drop => "points.reason_drop",
        Reason::Manual => "points.reason_manual",
        Reason::Spend => "points.reason_spend",
        Reason::Reversal => "points.reason_reversal",
        Reason::Commission => "points.reason_commission",
        Reason::Race => "points.reason_race",
    }
}

fn status(shell: &Shell, status: CouponStatus) -> Markup {
    let (kind, key) = match status {
        CouponStatus::Active => ("ok", "points.coupon_active"),
        CouponStatus::Redeemed => ("done", "points.coupon_redeemed"),
        CouponStatus::Expired => ("dry_run", "points.coupon_expired"),
        CouponStatus::Revoked => ("error", "points.coupon_revoked"),
    };
    html! { span data-status=(status.as_str()) { (tag(kind, shell.t(key))) } }
}

fn entries_table(shell: &Shell, account: &Account, entries: &[Entry]) -> Markup {
    html! {
        div.table-wrap { table #entries {
            thead { tr {
                th { (shell.t("common.time")) } th { (shell.t("common.reason")) } th.num { (shell.t("points.amount")) }
                th { (shell.t("points.memo")) } th { (shell.t("points.key")) } th { (shell.t("points.cause")) }
            } }
            tbody {
                @for entry in entries {
                    @let signed = if &entry.body.to == account { entry.body.amount } else { -entry.body.amount };
                    tr data-key=(entry.body.key) {
                        td.small { (shell.time(entry.body.at)) }
                        td { (shell.t(reason_key(entry.body.reason))) }
                        td.num { @if signed > 0 { "+" } (signed) }
                        td { (entry.body.memo) }
                        td.small { code.wrap { (entry.body.key) }
                            @if let Some(undone) = &entry.body.reverses { br; small.muted { (shell.t("points.reverses")) " " code { (undone) } } }
                        }
                        td.small { @if let Some(cause) = &entry.body.cause { code.wrap { (cause) } } }
                    }
                }
                @if entries.is_empty() { (none_row(shell.lang, 6)) }
            }
        } }
    }
}

fn coupons_table(shell: &Shell, coupons: &[Coupon], now: chrono::DateTime<chrono::Utc>) -> Markup {
    html! {
        div.table-wrap { table #coupons {
            thead { tr {
                th { (shell.t("points.code")) } th { (shell.t("points.offer")) } th { (shell.t("common.status")) }
                th { (shell.t("points.memo")) } th { (shell.t("points.expires")) }
            } }
            tbody {
                @for coupon in coupons {
                    tr data-code=(coupon.issued.code) {
                        td { code { (coupon.issued.code) } }
                        td { (coupon.issued.offer.describe()) }
                        td {
                            (status(shell, coupon.status(now)))
                            @if let (Some(at), Some(reason)) = (coupon.revoked_at, &coupon.revoked_reason) { br; small.muted { (shell.when(at)) " · " (reason) } }
                            @if let Some(at) = coupon.redeemed_at { br; small.muted { (shell.when(at)) } }
                        }
                        td { (coupon.issued.memo) }
                        td.small { (shell.when_opt(coupon.issued.expires_at)) }
                    }
                }
                @if coupons.is_empty() { (none_row(shell.lang, 5)) }
            }
        } }
    }
}

async fn page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Path((platform, user)): Path<(String, String)>,
) -> PageResult {
    let platform = crate::api::community::parse_platform(&platform)?;
    let who = shell.principal.actor();
    let points = ctx.ops().member_points(&who, platform, &user, 200).await?;
    let coupons = ctx.ops().member_coupons(&who, platform, &user).await?;
    let account = Account::member(platform, &user);
    let back = format!("/members/{}/{}", platform.as_str(), url_part(&user));
    let body = html! {
        p.lead { a href=(back) { "← " (points.display_name) } " · " code { (user) } }
        section.card {
            h2 { (shell.t("points.balance")) }
            p.big #balance { (points.balance) " " small { (shell.t("points.unit")) } }
        }
        (section(shell.t("points.entries"), entries_table(&shell, &account, &points.entries)))
        (section(shell.t("points.coupons"), coupons_table(&shell, &coupons, ctx.app.clock.now())))
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("members", &points.display_name, body),
    ))
}
