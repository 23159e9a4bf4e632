//! `/drops` 红包雨: point drops scheduled, running and past, each with its shares handed out
//! against its cap, and a form that starts one now or at a time, through `qunzhu-ops` (the same
//! operation as `POST /api/v1/drops` and `qunzhu drop start`). Drops an SOP step started are
//! listed with the step as their origin.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qunzhu_growth::drop::DropSpec;
use qunzhu_growth::lottery::Prize;
use qunzhu_ops::{DropPhase, DropView, ScheduleDrop};

use super::growth_forms::{chosen_group, fresh_request, group_select, groups, local_time, number};
use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::html::{none_row, section, tag, Shell};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new().route("/drops", get(page).post(start))
}

fn phase(shell: &Shell, phase: DropPhase) -> Markup {
    let (kind, key) = match phase {
        DropPhase::Scheduled => ("dry_run", "drop.scheduled"),
        DropPhase::Running => ("ok", "drop.running"),
        DropPhase::Over => ("done", "drop.over"),
    };
    html! { span data-phase=(phase.as_str()) { (tag(kind, shell.t(key))) } }
}

fn rows(shell: &Shell, drops: &[&DropView]) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr {
                th { (shell.t("drop.keyword")) } th { (shell.t("common.group")) } th { (shell.t("common.status")) }
                th.num { (shell.t("drop.claimed")) } th { (shell.t("drop.prize")) } th { (shell.t("drop.starts_at")) } th { (shell.t("drop.origin")) }
            } }
            tbody {
                @for view in drops {
                    tr data-drop=(view.stored.id) {
                        td { strong { (view.stored.drop.spec.keyword) } }
                        td { code { (view.stored.drop.chat) } }
                        td { (phase(shell, view.phase)) }
                        td.num { (view.claimed) " / " (view.stored.drop.spec.shares) }
                        td { (view.stored.drop.spec.prize.describe()) }
                        td.small { (shell.time(view.stored.drop.starts_at)) " · " (view.stored.drop.spec.minutes) " " (shell.t("drop.minutes_short")) }
                        td.small { code { (view.stored.drop.origin.to_string()) } }
                    }
                }
                @if drops.is_empty() { (none_row(shell.lang, 7)) }
            }
        } }
    }
}

fn start_form(shell: &Shell, groups: &[qunzhu_domain::Group]) -> Markup {
    html! {
        form.stack method="post" action="/drops" #drop-form {
            (shell.csrf())
            input type="hidden" name="request" value=(fresh_request());
            (group_select(shell, groups, None))
            label { (shell.t("drop.keyword")) input type="text" name="keyword" required maxlength="50" value="红包"; }
            label { (shell.t("drop.shares")) input type="number" name="shares" min="1" max="10000" value="10" required; }
            label { (shell.t("drop.points_each")) input type="number" name="points" min="1" value="10" required; }
            label { (shell.t("drop.minutes")) input type="number" name="minutes" min="1" max="1440" value="10" required; }
            label { (shell.t("drop.starts_at")) input type="datetime-local" name="starts_at"; small.muted { (shell.t("drop.now_if_empty")) } }
            button.btn.primary type="submit" { (shell.t("drop.start")) }
        }
    }
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let drops = ctx.ops().drop_views(&shell.principal.actor()).await?;
    let groups = groups(&ctx, &shell).await?;
    let (live, past): (Vec<&DropView>, Vec<&DropView>) =
        drops.iter().partition(|view| view.phase != DropPhase::Over);
    let body = html! {
        (flash_markup(&shell))
        p.muted { (shell.t("drop.help")) }
        (section(shell.t("drop.live"), rows(&shell, &live)))
        @if shell.principal.can_edit() && !groups.is_empty() { (section(shell.t("drop.start"), start_form(&shell, &groups))) }
        (section(shell.t("drop.past"), rows(&shell, &past)))
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("drops", shell.t("drop.title"), body),
    ))
}

async fn start(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let group = chosen_group(&ctx, &shell, &form).await?;
    let drop = ScheduleDrop {
        platform: group.platform,
        chat: group.chat,
        spec: DropSpec {
            keyword: form.get("keyword").trim().to_string(),
            shares: number(&form, "shares")?,
            prize: Prize::Points {
                points: number(&form, "points")?,
            },
            minutes: number(&form, "minutes")?,
        },
        starts_at: local_time(&shell, &form, "starts_at")?,
        request: form.get("request").to_string(),
    };
    ctx.ops()
        .schedule_drop(&shell.principal.actor(), drop)
        .await?;
    Ok(see_other("/drops?ok=saved"))
}
