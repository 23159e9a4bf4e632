//! The invite-task console (任务宝): campaigns with each inviter's standing, a campaign's
//! document editor, the shipped templates, and the prize review queue (approve, or reject with a
//! reason), all through the same `qunzhu-ops` operations as `/api/v1/campaigns`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{NaiveDate, TimeZone, Utc};
use maud::{html, Markup};
use qunzhu_growth::{PrizeState, TaskPrize, TaskPrizeRow};
use qunzhu_ops::{CampaignView, OpsError, PrizeDecision};
use qunzhu_storage::PrizeFilter;

use super::{flash_markup, html, see_other, Page, PageResult, Posted};
use crate::html::{url_part, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/campaigns", get(list))
        .route("/campaigns/template", post(apply_template))
        .route("/campaigns/decide", post(decide))
        .route("/campaigns/{name}", get(editor).post(save))
}

fn state_word(shell: &Shell, state: PrizeState) -> &'static str {
    shell.t(match state {
        PrizeState::Pending => "campaigns.state_pending",
        PrizeState::Approved => "campaigns.state_approved",
        PrizeState::Granted => "campaigns.state_granted",
        PrizeState::Rejected => "campaigns.state_rejected",
        PrizeState::Withdrawn => "campaigns.state_withdrawn",
        PrizeState::Reversed => "campaigns.state_reversed",
        PrizeState::Kept => "campaigns.state_kept",
    })
}

fn prize_text(shell: &Shell, prize: &TaskPrize) -> String {
    match prize {
        TaskPrize::Points { points } => format!("{points} {}", shell.t("campaigns.points")),
        TaskPrize::Coupon { offer, .. } => {
            format!("{} {}", shell.t("campaigns.coupon"), offer.describe())
        }
    }
}

fn campaign_card(shell: &Shell, view: &CampaignView) -> Markup {
    let name = &view.document.name;
    html! {
        section.card data-campaign=(name) {
            h2 { a href={ "/campaigns/" (url_part(name)) } { (name) } }
            @if let Some(campaign) = &view.campaign {
                p { strong { (campaign.title) } " · " (campaign.groups.join(", ")) }
                p.muted { (shell.when(campaign.starts)) " – " (shell.when(campaign.ends)) }
                p {
                    (shell.t("campaigns.thresholds")) ": "
                    @for step in &campaign.thresholds { span.pill { (step.invites) " → " (prize_text(shell, &step.prize)) } " " }
                }
            }
            @if !view.problems.is_empty() {
                p.notice.error role="alert" { (shell.t("campaigns.problems")) }
                ul { @for problem in &view.problems { li { code { (problem) } } } }
            }
            @if view.standings.is_empty() {
                p.muted { (shell.t("campaigns.no_invites")) }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr {
                            th { (shell.t("campaigns.inviter")) }
                            th.num { (shell.t("campaigns.counted")) }
                            th.num { (shell.t("campaigns.waiting")) }
                            th.num { (shell.t("campaigns.flagged")) }
                            th {}
                        } }
                        tbody { @for standing in &view.standings {
                            tr data-inviter=(standing.inviter) {
                                td { (standing.inviter) }
                                td.num { (standing.counted) }
                                td.num { (standing.waiting) }
                                td.num { (standing.flagged) }
                                td { @if standing.suspended { span.pill.dead { (shell.t("campaigns.suspended")) } } }
                            }
                        } }
                    }
                }
            }
        }
    }
}

fn decide_forms(shell: &Shell, prize: &TaskPrizeRow) -> Markup {
    html! {
        form.inline method="post" action="/campaigns/decide" {
            (shell.csrf())
            input type="hidden" name="campaign" value=(prize.campaign);
            input type="hidden" name="inviter" value=(prize.inviter);
            input type="hidden" name="threshold" value=(prize.threshold);
            input type="hidden" name="decision" value="approve";
            button.btn.small type="submit" data-decide="approve" { (shell.t("campaigns.approve")) }
        }
        form.inline method="post" action="/campaigns/decide" {
            (shell.csrf())
            input type="hidden" name="campaign" value=(prize.campaign);
            input type="hidden" name="inviter" value=(prize.inviter);
            input type="hidden" name="threshold" value=(prize.threshold);
            input type="hidden" name="decision" value="reject";
            input type="text" name="reason" required maxlength="2000" placeholder=(shell.t("campaigns.reason")) aria-label=(shell.t("campaigns.reason"));
            button.btn.small.danger type="submit" data-decide="reject" { (shell.t("campaigns.reject")) }
        }
    }
}

fn prize_table(shell: &Shell, prizes: &[TaskPrizeRow], decide: bool) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr {
                    th { (shell.t("campaigns.name")) }
                    th { (shell.t("campaigns.inviter")) }
                    th.num { (shell.t("campaigns.threshold")) }
                    th { (shell.t("campaigns.prize")) }
                    th { (shell.t("campaigns.earned")) }
                    th { (shell.t("campaigns.state")) }
                    th {}
                } }
                tbody { @for prize in prizes {
                    tr data-prize=(prize.grant_key()) {
                        td { (prize.campaign) }
                        td { (prize.inviter) }
                        td.num { (prize.threshold) }
                        td { (prize_text(shell, &prize.prize)) }
                        td { (shell.time(prize.earned_at)) }
                        td { (state_word(shell, prize.state)) @if !prize.note.is_empty() { br; small.muted { (prize.note) } } }
                        td.actions { @if decide { (decide_forms(shell, prize)) } }
                    }
                } }
            }
        }
    }
}

async fn list(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    render(&ctx, &shell, None).await
}

async fn render(ctx: &Ctx, shell: &Shell, refused: Option<String>) -> PageResult {
    let who = shell.principal.actor();
    let campaigns = ctx.ops().campaigns(&who).await?;
    let queue = PrizeFilter {
        state: Some(PrizeState::Pending),
        ..Default::default()
    };
    let pending = ctx.ops().task_prizes(&who, &queue, 200).await?;
    let kept_filter = PrizeFilter {
        state: Some(PrizeState::Kept),
        ..Default::default()
    };
    let kept = ctx.ops().task_prizes(&who, &kept_filter, 200).await?;
    let recent = ctx
        .ops()
        .task_prizes(&who, &PrizeFilter::default(), 50)
        .await?;
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = html! {
        (flash_markup(shell))
        @if let Some(text) = &refused { p.notice.error role="alert" { (text) } }
        section.card #review {
            h2 { (shell.t("campaigns.review")) }
            @if pending.is_empty() { p.muted { (shell.t("campaigns.review_empty")) } }
            @else { (prize_table(shell, &pending, true)) }
            @if !kept.is_empty() {
                h3 #kept { (shell.t("campaigns.kept")) }
                (prize_table(shell, &kept, false))
            }
        }
        @if campaigns.is_empty() { section.card { p { (shell.t("campaigns.empty")) } } }
        @for view in &campaigns { (campaign_card(shell, view)) }
        section.card #templates {
            h2 { (shell.t("campaigns.template")) }
            form.stack method="post" action="/campaigns/template" {
                (shell.csrf())
                label { (shell.t("campaigns.template")) select name="template" {
                    option value="invite_ten" { (shell.t("campaigns.template_invite_ten")) }
                    option value="join_gift_both" { (shell.t("campaigns.template_join_gift_both")) }
                } }
                label { (shell.t("campaigns.name")) input type="text" name="name" required maxlength="64" pattern="[a-z0-9_][a-z0-9_-]*"; }
                label { (shell.t("campaigns.platform")) select name="platform" {
                    option value="matrix" { "Matrix" } option value="telegram" { "Telegram" }
                    option value="wecom" { "WeCom" } option value="sandbox" { "Sandbox" }
                } }
                label { (shell.t("campaigns.groups")) input type="text" name="groups" required placeholder="!room:example.org"; }
                label { (shell.t("campaigns.starts")) input type="date" name="starts" required; }
                label { (shell.t("campaigns.ends")) input type="date" name="ends" required; }
                button.btn type="submit" { (shell.t("campaigns.create")) }
            }
        }
        @if !recent.is_empty() {
            section.card #prizes { h2 { (shell.t("campaigns.prizes")) } (prize_table(shell, &recent, false)) }
        }
    };
    Ok(html(
        status,
        shell.render("campaigns", shell.t("campaigns.title"), body),
    ))
}

/// A date field as the start of that day in the workspace's zone.
fn local_day(shell: &Shell, field: &str, text: &str) -> Result<chrono::DateTime<Utc>, OpsError> {
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| OpsError::invalid(field, format!("`{text}` is not a date like 2026-12-01")))?;
    let midnight = day
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| OpsError::invalid(field, "not a day"))?;
    shell
        .zone
        .from_local_datetime(&midnight)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| {
            OpsError::invalid(
                field,
                "that day has no midnight in the workspace's time zone",
            )
        })
}

fn refusal_text(error: &OpsError) -> Option<String> {
    match error {
        OpsError::Invalid { .. } | OpsError::Problems(_) | OpsError::NotFound(_) => {
            Some(error.to_string())
        }
        _ => None,
    }
}

async fn apply_template(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let attempt = async {
        let platform = qunzhu_domain::Platform::parse(form.get("platform"))
            .map_err(|error| OpsError::invalid("platform", error.to_string()))?;
        let groups: Vec<String> = form
            .get("groups")
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(String::from)
            .collect();
        let starts = local_day(&shell, "starts", form.get("starts"))?;
        let ends = local_day(&shell, "ends", form.get("ends"))?;
        let english = shell.lang == crate::i18n::Lang::En;
        ctx.ops()
            .apply_campaign_template(
                &shell.principal.actor(),
                form.get("template"),
                form.get("name"),
                platform,
                &groups,
                starts,
                ends,
                english,
            )
            .await
    };
    match attempt.await {
        Ok(saved) => Ok(see_other(&format!(
            "/campaigns/{}?ok=saved",
            url_part(&saved.name)
        ))),
        Err(error) => match refusal_text(&error) {
            Some(text) => render(&ctx, &shell, Some(text)).await,
            None => Err(error.into()),
        },
    }
}

async fn decide(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let decision = if form.get("decision") == "approve" {
        PrizeDecision::Approve
    } else {
        PrizeDecision::Reject
    };
    let threshold: u32 = match form.get("threshold").parse() {
        Ok(threshold) => threshold,
        Err(_) => {
            return render(
                &ctx,
                &shell,
                Some(OpsError::invalid("threshold", "not a number").to_string()),
            )
            .await
        }
    };
    let decided = ctx
        .ops()
        .decide_prize(
            &shell.principal.actor(),
            form.get("campaign"),
            form.get("inviter"),
            threshold,
            decision,
            form.get("reason"),
        )
        .await;
    match decided {
        Ok(_) => Ok(see_other("/campaigns?ok=decided#review")),
        Err(error) => match refusal_text(&error) {
            Some(text) => render(&ctx, &shell, Some(text)).await,
            None => Err(error.into()),
        },
    }
}

fn editor_page(shell: &Shell, name: &str, source: &str, refused: Option<String>) -> String {
    let body = html! {
        (flash_markup(shell))
        @if let Some(text) = &refused { p.notice.error role="alert" { (text) } }
        section.card {
            form.stack method="post" action={ "/campaigns/" (url_part(name)) } {
                (shell.csrf())
                label for="source" { (shell.t("campaigns.document")) }
                textarea #source name="source" rows="24" spellcheck="false" { (source) }
                button.btn type="submit" { (shell.t("campaigns.save")) }
            }
            p { a href="/campaigns" { (shell.t("campaigns.back")) } }
        }
    };
    shell.render("campaigns", name, body)
}

async fn editor(State(ctx): State<Ctx>, Page(shell): Page, Path(name): Path<String>) -> PageResult {
    let view = ctx.ops().campaign(&shell.principal.actor(), &name).await?;
    let refused = (!view.problems.is_empty()).then(|| view.problems.join("\n"));
    Ok(html(
        StatusCode::OK,
        editor_page(&shell, &name, &view.document.source, refused),
    ))
}

async fn save(
    State(ctx): State<Ctx>,
    Path(name): Path<String>,
    Posted(shell, form): Posted,
) -> PageResult {
    match ctx
        .ops()
        .save_campaign(&shell.principal.actor(), &name, form.get("source"))
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/campaigns/{}?ok=saved",
            url_part(&name)
        ))),
        Err(error) => match refusal_text(&error) {
            Some(text) => Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                editor_page(&shell, &name, form.get("source"), Some(text)),
            )),
            None => Err(error.into()),
        },
    }
}
