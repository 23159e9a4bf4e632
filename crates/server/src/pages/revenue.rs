//! 订单与收益: the orders the shop reported with what each is credited to and its 晒单, campaign
//! ROI with the form that enters a cost, and the distribution (分销) statement per period with
//! its CSV. Rendered with maud; every change goes through `qunzhu-ops`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, Duration, NaiveDate};
use maud::{html as markup, Markup};
use qunzhu_domain::GroupId;
use rand::RngCore;

use super::groups::csv_cell;
use super::{html, Page, PageError, PageResult, Posted};
use crate::api::orders::Period;
use crate::api::Params;
use crate::error::ApiError;
use crate::html::{flash_notice, none_row, section, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/orders", get(orders_page))
        .route("/roi", get(campaigns_page))
        .route("/roi/costs", post(add_cost))
        .route("/distribution", get(distribution_page))
        .route("/distribution.csv", get(distribution_csv))
        .route("/distribution/owner", post(set_owner))
}

/// Cents as `1,234.56`, with the sign in front.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let whole = (cents.unsigned_abs() / 100).to_string();
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}.{:02}", cents.unsigned_abs() % 100)
}

/// `12.5` or `12` (yuan) as cents; `None` unless a positive amount with at most two decimals.
fn parse_money(text: &str) -> Option<i64> {
    let text = text.trim().replace(',', "");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let cents = whole.parse::<i64>().ok()?.checked_mul(100)?;
    let fraction = format!("{fraction:0<2}").parse::<i64>().ok()?;
    Some(cents + fraction).filter(|cents| *cents > 0)
}

/// The three pages' own tabs.
fn tabs(shell: &Shell, here: &str) -> Markup {
    markup! {
        nav.tabs aria-label=(shell.t("rev.title")) {
            @for (key, href) in [("rev.orders", "/orders"), ("rev.campaigns", "/roi"), ("rev.distribution", "/distribution")] {
                a href=(href) aria-current=[(href == here).then_some("page")] { (shell.t(key)) }
            }
        }
    }
}

fn period_form(shell: &Shell, action: &str, from: NaiveDate, to: NaiveDate) -> Markup {
    markup! {
        form.filters method="get" action=(action) {
            div.field { label for="from" { (shell.t("rev.from")) } input #from type="date" name="from" value=(from); }
            div.field { label for="to" { (shell.t("rev.to")) } input #to type="date" name="to" value=(to); }
            div.field { button.btn type="submit" { (shell.t("rev.show")) } }
        }
    }
}

async fn orders_page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<Period>,
) -> PageResult {
    let today = ctx.today(shell.principal.workspace).await?;
    let (from, to) = q.days(today, today - Duration::days(29))?;
    let orders = ctx
        .ops()
        .orders(&shell.principal.actor(), from, to, q.limit.unwrap_or(500))
        .await?;
    let sales = orders.iter().filter(|order| order.amount_cents > 0).count();
    let net: i64 = orders.iter().map(|order| order.amount_cents).sum();
    let showcased = orders
        .iter()
        .filter(|order| order.showcase_message.is_some())
        .count();
    let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "–".into());
    let body = markup! {
        (tabs(&shell, "/orders"))
        (period_form(&shell, "/orders", from, to))
        ul.kpis {
            li { strong { (sales) } span { (shell.t("rev.sales")) } }
            li { strong { (money(net)) } span { (shell.t("rev.net")) } }
            li { strong { (showcased) } span { (shell.t("rev.showcased")) } }
        }
        div.table-wrap {
            table data-orders {
                thead { tr {
                    th { (shell.t("rev.at")) } th { (shell.t("rev.order")) } th { (shell.t("rev.member")) }
                    th.num { (shell.t("rev.amount")) } th { (shell.t("rev.group")) } th { (shell.t("rev.push")) }
                    th { (shell.t("rev.campaign")) } th { (shell.t("rev.live_code")) } th { (shell.t("rev.showcase")) }
                } }
                tbody {
                    @if orders.is_empty() { (none_row(shell.lang, 9)) }
                    @for order in &orders {
                        tr {
                            td { (shell.when(order.at)) }
                            td { code { (order.order_id) } @if let Some(original) = &order.refund_of { " " small.muted { (shell.t("rev.refund_of")) " " (original) } } }
                            td { (order.member) }
                            td.num { (money(order.amount_cents)) " " small.muted { (order.currency) } }
                            td { (dash(&order.chat)) }
                            td { small { (dash(&order.push)) } }
                            td { (dash(&order.campaign)) }
                            td { (dash(&order.live_code)) }
                            td {
                                @match (&order.showcase_message, order.showcase_until) {
                                    (Some(_), _) => { span.pill.done { (shell.t("rev.showcase_posted")) } }
                                    (None, Some(until)) => { span.pill.pending { (shell.t("rev.showcase_until")) " " (shell.when(until)) } }
                                    (None, None) => { "–" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        shell.render(
            "orders",
            shell.t("rev.orders"),
            section(shell.t("rev.orders"), body),
        ),
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Flash {
    saved: Option<u8>,
}

async fn campaigns_page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(flash): Params<Flash>,
) -> PageResult {
    let lines = ctx
        .ops()
        .campaign_roi(&shell.principal.actor(), ctx.point_value_cents)
        .await?;
    // One id per rendered form: submitting it twice (a double click, a resend) adds one cost.
    let mut random = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let request = hex::encode(random);
    let ratio =
        |roi: Option<f64>| roi.map_or("–".to_string(), |roi| format!("{:.0}%", roi * 100.0));
    let body = markup! {
        (tabs(&shell, "/roi"))
        @if flash.saved.is_some() { (flash_notice("success", shell.t("rev.cost_saved"))) }
        p.lead { (shell.t("rev.roi_help")) " " (shell.t("rev.point_value")) " " (money(ctx.point_value_cents)) }
        div.table-wrap {
            table data-roi {
                thead { tr {
                    th { (shell.t("rev.campaign")) } th.num { (shell.t("rev.entered")) } th.num { (shell.t("rev.rewards")) }
                    th.num { (shell.t("rev.cost")) } th.num { (shell.t("rev.revenue")) } th.num { (shell.t("rev.sales")) }
                    th.num { (shell.t("rev.acquired")) } th.num { (shell.t("rev.roi")) } th.num { (shell.t("rev.cost_per_member")) }
                } }
                tbody {
                    @if lines.is_empty() { (none_row(shell.lang, 9)) }
                    @for line in &lines {
                        tr {
                            td { (line.campaign) }
                            td.num { (money(line.entered_cents)) }
                            td.num { (line.reward_points) " " small.muted { "= " (money(line.reward_cents)) } }
                            td.num { (money(line.cost_cents)) }
                            td.num { (money(line.revenue_cents)) }
                            td.num { (line.orders) }
                            td.num { (line.acquired) }
                            td.num { (ratio(line.roi)) }
                            td.num { (line.cost_per_acquired_cents.map_or("–".to_string(), money)) }
                        }
                    }
                }
            }
        }
        form.filters method="post" action="/roi/costs" {
            (shell.csrf())
            input type="hidden" name="request" value=(request);
            div.field { label for="campaign" { (shell.t("rev.campaign")) } input #campaign name="campaign" required maxlength="200"; }
            div.field { label for="amount" { (shell.t("rev.amount_yuan")) } input #amount name="amount" inputmode="decimal" required placeholder="500.00"; }
            div.field { label for="memo" { (shell.t("rev.memo")) } input #memo name="memo" maxlength="200"; }
            div.field { button.btn type="submit" { (shell.t("rev.add_cost")) } }
        }
    };
    Ok(html(
        StatusCode::OK,
        shell.render(
            "orders",
            shell.t("rev.campaigns"),
            section(shell.t("rev.campaigns"), body),
        ),
    ))
}

async fn add_cost(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let amount = parse_money(form.get("amount")).ok_or_else(|| {
        PageError(ApiError::invalid(
            "amount",
            "a positive amount in yuan, like 500 or 12.50",
        ))
    })?;
    ctx.ops()
        .add_campaign_cost(
            &shell.principal.actor(),
            form.get("campaign"),
            amount,
            form.get("memo"),
            form.get("request"),
        )
        .await?;
    Ok(Redirect::to("/roi?saved=1").into_response())
}

async fn statement(
    ctx: &Ctx,
    shell: &Shell,
    q: &Period,
) -> Result<(NaiveDate, NaiveDate, Vec<qunzhu_storage::StatementLine>), PageError> {
    let today = ctx.today(shell.principal.workspace).await?;
    let (from, to) = q.days(today, today.with_day(1).unwrap_or(today))?;
    let lines = ctx
        .ops()
        .commission_statement(&shell.principal.actor(), from, to)
        .await?;
    Ok((from, to, lines))
}

async fn set_owner(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let group: GroupId = form
        .get("group")
        .parse()
        .map_err(|_| PageError(ApiError::invalid("group", "choose a group")))?;
    ctx.ops()
        .set_group_owner(&shell.principal.actor(), group, form.get("owner").trim())
        .await?;
    Ok(Redirect::to("/distribution").into_response())
}

async fn distribution_page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<Period>,
) -> PageResult {
    let (from, to, lines) = statement(&ctx, &shell, &q).await?;
    let groups: Vec<(String, String)> = ctx
        .app
        .store
        .groups(shell.principal.workspace)
        .await?
        .into_iter()
        .map(|summary| (summary.group.id.to_string(), summary.group.name))
        .collect();
    let total: i64 = lines.iter().map(|line| line.amount_cents).sum();
    let body = markup! {
        (tabs(&shell, "/distribution"))
        p.lead { (shell.t("rev.distribution_help")) }
        (period_form(&shell, "/distribution", from, to))
        div.table-wrap {
            table data-statement {
                thead { tr { th { (shell.t("rev.member")) } th.num { (shell.t("rev.sales")) } th.num { (shell.t("rev.payable")) } } }
                tbody {
                    @if lines.is_empty() { (none_row(shell.lang, 3)) }
                    @for line in &lines {
                        tr { td { (line.earner) " " small.muted { (line.platform.as_str()) } } td.num { (line.orders) } td.num { (money(line.amount_cents)) } }
                    }
                }
                tfoot { tr { th { (shell.t("rev.total")) } td {} td.num { strong { (money(total)) } } } }
            }
        }
        p { a.btn href={ "/distribution.csv?from=" (from) "&to=" (to) } download="statement.csv" { (shell.t("rev.csv")) } }
        form.filters method="post" action="/distribution/owner" {
            (shell.csrf())
            div.field { label for="group" { (shell.t("rev.owner_group")) } (crate::html::select_box("group", "group", &groups, "", None)) }
            div.field { label for="owner" { (shell.t("rev.owner")) } input #owner name="owner" required maxlength="200" placeholder="@member:example.org"; }
            div.field { button.btn type="submit" { (shell.t("rev.set_owner")) } }
        }
    };
    Ok(html(
        StatusCode::OK,
        shell.render(
            "orders",
            shell.t("rev.distribution"),
            section(shell.t("rev.distribution"), body),
        ),
    ))
}

async fn distribution_csv(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<Period>,
) -> PageResult {
    let (from, to, lines) = statement(&ctx, &shell, &q).await?;
    let mut out = String::from("from,to,platform,member,orders,payable_cents,payable\r\n");
    for line in &lines {
        let cells = [
            from.to_string(),
            to.to_string(),
            line.platform.as_str().to_string(),
            line.earner.clone(),
            line.orders.to_string(),
            line.amount_cents.to_string(),
            money(line.amount_cents),
        ];
        out.push_str(
            &cells
                .iter()
                .map(|cell| csv_cell(cell))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"statement.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("\u{feff}{out}"),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_and_prints() {
        for (cents, text) in [
            (0, "0.00"),
            (5, "0.05"),
            (12_800, "128.00"),
            (-2_800, "-28.00"),
            (123_456_789, "1,234,567.89"),
        ] {
            assert_eq!(money(cents), text);
        }
        for (text, cents) in [
            ("500", Some(50_000)),
            ("12.5", Some(1_250)),
            ("12.05", Some(1_205)),
            ("1,000", Some(100_000)),
            ("0", None),
            ("-5", None),
            ("1.234", None),
            ("abc", None),
            ("", None),
        ] {
            assert_eq!(parse_money(text), cents, "{text}");
        }
    }
}
