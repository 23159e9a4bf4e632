//! `/lotteries` 抽奖: the workspace's lotteries with their state (open, closed, drawn), one
//! lottery's committed seed hash, entries and, once drawn, its seed and winners; opening one
//! and drawing a closed one go through `qunzhu-ops`, the same operations as `/api/v1/lotteries`
//! and `qunzhu lottery`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use qunzhu_growth::lottery::{ChanceRule, Prize, PrizeTier};
use qunzhu_ops::{CreateLottery, LotteryView};

use super::growth_forms::{chosen_group, fresh_request, group_select, groups, local_time, number};
use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::html::{none_row, section, tag, Shell};
use crate::{ApiError, Ctx};

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/lotteries", get(list).post(open))
        .route("/lotteries/{id}", get(one))
        .route("/lotteries/{id}/draw", post(draw))
}

/// `open`, `closed` (waiting for its draw) or `drawn`, with its label.
fn state(shell: &Shell, view: &LotteryView) -> Markup {
    let (kind, key) = if view.lottery.drawn.is_some() {
        ("done", "lot.drawn")
    } else if view.open {
        ("ok", "lot.open")
    } else {
        ("dry_run", "lot.closed")
    };
    html! { span data-state=(key.trim_start_matches("lot.")) { (tag(kind, shell.t(key))) } }
}

fn rule_text(shell: &Shell, rule: &ChanceRule) -> String {
    match rule {
        ChanceRule::Invite { chances } => format!("{} × {chances}", shell.t("lot.per_invite")),
        ChanceRule::CheckIn { chances } => format!("{} × {chances}", shell.t("lot.per_check_in")),
        ChanceRule::Points { points } => format!("{points} {}", shell.t("lot.points_per_chance")),
    }
}

fn open_form(shell: &Shell, groups: &[qunzhu_domain::Group]) -> Markup {
    html! {
        @if shell.principal.can_edit() && !groups.is_empty() {
            form.stack method="post" action="/lotteries" #lottery-form {
                (shell.csrf())
                input type="hidden" name="request" value=(fresh_request());
                label { (shell.t("lot.name")) input type="text" name="name" required maxlength="200"; }
                (group_select(shell, groups, None))
                label { (shell.t("lot.closes_at")) input type="datetime-local" name="closes_at" required; }
                label { (shell.t("lot.rule"))
                    select name="rule" {
                        option value="invite" { (shell.t("lot.per_invite")) }
                        option value="check_in" { (shell.t("lot.per_check_in")) }
                        option value="points" { (shell.t("lot.points_per_chance")) }
                    }
                }
                label { (shell.t("lot.rule_number")) input type="number" name="rule_number" min="1" value="1" required; }
                label { (shell.t("lot.tier")) input type="text" name="tier" required value=(shell.t("lot.first_prize")) maxlength="100"; }
                label { (shell.t("lot.winners")) input type="number" name="winners" min="1" value="1" required; }
                label { (shell.t("lot.prize_points")) input type="number" name="points" min="1" value="100" required; }
                label { (shell.t("lot.pool")) input type="text" name="pool" maxlength="200"; }
                button.btn.primary type="submit" { (shell.t("lot.open_one")) }
            }
        }
    }
}

async fn list(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let who = shell.principal.actor();
    let lotteries = ctx.ops().lotteries(&who, 100).await?;
    let groups = groups(&ctx, &shell).await?;
    let body = html! {
        (flash_markup(&shell))
        p.muted { (shell.t("lot.help")) }
        (section(shell.t("lot.title"), html! {
            div.table-wrap { table #lotteries {
                thead { tr {
                    th { (shell.t("lot.name")) } th { (shell.t("common.group")) }
                    th { (shell.t("common.status")) } th { (shell.t("lot.closes_at")) }
                } }
                tbody {
                    @for view in &lotteries {
                        tr data-lottery=(view.lottery.id) {
                            td { a href={ "/lotteries/" (view.lottery.id) } { (view.lottery.body.name) } }
                            td { code { (view.lottery.body.chat) } }
                            td { (state(&shell, view)) }
                            td.small { (shell.time(view.lottery.body.closes_at)) }
                        }
                    }
                    @if lotteries.is_empty() { (none_row(shell.lang, 4)) }
                }
            } }
        }))
        @if shell.principal.can_edit() { (section(shell.t("lot.open_one"), open_form(&shell, &groups))) }
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("lotteries", shell.t("lot.title"), body),
    ))
}

async fn one(State(ctx): State<Ctx>, Page(shell): Page, Path(id): Path<i64>) -> PageResult {
    let who = shell.principal.actor();
    let view = ctx.ops().lottery(&who, id).await?;
    let entries = ctx.ops().lottery_entries(&who, id).await?;
    let chances: u64 = entries.iter().map(|entry| u64::from(entry.chances)).sum();
    let lottery = &view.lottery;
    let awarded = lottery
        .drawn
        .as_ref()
        .map(|drawn| qunzhu_growth::lottery::award(&lottery.body.prizes, &drawn.winners))
        .unwrap_or_default();
    let body = html! {
        (flash_markup(&shell))
        p.lead { a href="/lotteries" { "← " (shell.t("common.back")) } " · " (state(&shell, &view)) }
        (section(&lottery.body.name, html! {
            dl.facts {
                dt { (shell.t("common.group")) } dd { code { (lottery.body.chat) } }
                dt { (shell.t("lot.opens_at")) } dd { (shell.time(lottery.body.opens_at)) }
                dt { (shell.t("lot.closes_at")) } dd { (shell.time(lottery.body.closes_at)) }
                dt { (shell.t("lot.commitment")) } dd { code.wrap #commitment { (lottery.body.commitment) } }
                @if let Some(seed) = &view.seed { dt { (shell.t("lot.seed")) } dd { code.wrap #seed { (seed) } } }
                dt { (shell.t("lot.rule")) } dd { @for rule in &lottery.body.rules { span.pill { (rule_text(&shell, rule)) } " " } }
                dt { (shell.t("lot.prizes")) } dd { @for tier in &lottery.body.prizes { span.pill { (tier.name) " × " (tier.count) " · " (tier.prize.describe()) } " " } }
                dt { (shell.t("lot.entries")) } dd #entries { (entries.len()) " " (shell.t("lot.entrants")) " · " (chances) " " (shell.t("lot.chances")) }
            }
            p.muted.small { (shell.t("lot.verify_help")) " " code { "qunzhu lottery verify --lottery " (lottery.id) } }
            @if lottery.drawn.is_none() && !view.open && shell.principal.can_edit() {
                form.inline method="post" action={ "/lotteries/" (lottery.id) "/draw" } data-confirm=(shell.t("lot.draw")) {
                    (shell.csrf())
                    button.btn.primary type="submit" { (shell.t("lot.draw")) }
                }
            }
        }))
        @if lottery.drawn.is_some() {
            (section(shell.t("lot.winners"), html! {
                div.table-wrap { table #winners {
                    thead { tr { th { "#" } th { (shell.t("common.member")) } th { (shell.t("lot.tier")) } } }
                    tbody {
                        @for (place, (member, tier)) in awarded.iter().enumerate() {
                            tr { td { (place + 1) } td { code { (member) } } td { (tier.name) " · " (tier.prize.describe()) } }
                        }
                        @if awarded.is_empty() { (none_row(shell.lang, 3)) }
                    }
                } }
            }))
        }
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("lotteries", &lottery.body.name, body),
    ))
}

async fn open(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let group = chosen_group(&ctx, &shell, &form).await?;
    let rule_number: i64 = number(&form, "rule_number")?;
    let chances = u32::try_from(rule_number).unwrap_or(0);
    let rule = match form.get("rule") {
        "invite" => ChanceRule::Invite { chances },
        "check_in" => ChanceRule::CheckIn { chances },
        "points" => ChanceRule::Points {
            points: rule_number,
        },
        other => {
            return Err(ApiError::invalid("rule", format!("unknown rule `{other}`")).into());
        }
    };
    let closes_at = local_time(&shell, &form, "closes_at")?
        .ok_or_else(|| ApiError::invalid("closes_at", "closes_at: when does it close?"))?;
    let create = CreateLottery {
        name: form.get("name").to_string(),
        platform: group.platform,
        chat: group.chat,
        campaign: None,
        rules: vec![rule],
        prizes: vec![PrizeTier {
            name: form.get("tier").trim().to_string(),
            count: number(&form, "winners")?,
            prize: Prize::Points {
                points: number(&form, "points")?,
            },
        }],
        pool: Some(form.get("pool").to_string()),
        closes_at,
        request: form.get("request").to_string(),
    };
    let view = ctx
        .ops()
        .create_lottery(&shell.principal.actor(), create)
        .await?;
    Ok(see_other(&format!(
        "/lotteries/{}?ok=saved",
        view.lottery.id
    )))
}

async fn draw(State(ctx): State<Ctx>, Path(id): Path<i64>, Posted(shell, _): Posted) -> PageResult {
    ctx.ops().draw_lottery(&shell.principal.actor(), id).await?;
    Ok(see_other(&format!("/lotteries/{id}?ok=saved")))
}
