//! `/livecodes` 活码: each live code with its public link and QR image, its groups' seats as
//! fill bars (spares marked), scans, seats and joins per channel, the operator alerts, and the
//! document editor that creates or changes a code. Saving goes through `qunzhu-ops`, the same
//! operation as `PUT /api/v1/livecodes/{code}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use qunzhu_ops::LiveCodeView;

use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::html::{none_row, section, Shell};
use crate::Ctx;

/// What a new code's editor starts with.
const EXAMPLE: &str = r#"title = "春季训练营"
platform = "matrix"
groups = ["!a:example.org", "!b:example.org"]
cap = 200
threshold = 80

[spare]
name = "春季训练营 {n} 群"
topic = "欢迎新朋友"
join_rule = "invite"
tags = ["spring"]
"#;

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/livecodes", get(page))
        .route("/livecodes/save", post(save))
}

fn fill_bar(used: u32, cap: u32) -> Markup {
    let percent = (u64::from(used) * 100 / u64::from(cap.max(1))).min(100);
    let class = match percent {
        100.. => "fill full",
        80.. => "fill near",
        _ => "fill",
    };
    html! {
        span class=(class) role="meter" aria-valuemin="0" aria-valuemax=(cap) aria-valuenow=(used) {
            span style={ "width:" (percent) "%" } {}
        }
    }
}

fn code_card(shell: &Shell, view: &LiveCodeView) -> Markup {
    html! {
        div.card data-livecode=(view.code) {
            h3 { (view.title) " " small.muted { code { (view.code) } " · " (view.platform.as_str()) } }
            div.livecode-head {
                img.qr src={ "/j/" (view.code) ".svg" } alt=(shell.t("livecode.qr")) width="120" height="120";
                p {
                    a href=(view.link) { (view.link) } br;
                    a href={ "/j/" (view.code) ".png" } download { (shell.t("livecode.png")) } " · "
                    a href={ "/j/" (view.code) ".svg" } download { "SVG" }
                    br; small.muted { (shell.t("livecode.channel_help")) " " code { (view.link) "?ch=store" } }
                }
            }
            h4 { (shell.t("livecode.groups")) }
            div.table-wrap { table {
                thead { tr { th { (shell.t("common.group")) } th { (shell.t("livecode.seats")) } } }
                tbody {
                    @for group in &view.groups {
                        tr data-chat=(group.chat) {
                            td {
                                (group.name.clone().unwrap_or_else(|| group.chat.clone()))
                                @if group.spare { " " small.muted { (shell.t("livecode.spare")) } }
                            }
                            td.num { (fill_bar(group.used, group.cap)) " " (group.used) span.muted { " / " (group.cap) } }
                        }
                    }
                    @for spare in &view.pending_spares {
                        tr { td.muted { (shell.t("livecode.creating")) " #" (spare.sequence) } td {} }
                    }
                }
            } }
            h4 { (shell.t("livecode.channels")) }
            div.table-wrap { table {
                thead { tr {
                    th { (shell.t("livecode.channel")) } th.num { (shell.t("livecode.scans")) }
                    th.num { (shell.t("livecode.seated")) } th.num { (shell.t("livecode.joins")) }
                } }
                tbody {
                    @for row in &view.channels {
                        tr { td { code { (row.channel) } } td.num { (row.scans) } td.num { (row.seats) } td.num { (row.joins) } }
                    }
                    @if view.channels.is_empty() { (none_row(shell.lang, 4)) }
                }
            } }
            @if shell.principal.can_edit() {
                details {
                    summary { (shell.t("livecode.edit")) }
                    (editor(shell, &view.code, &view.source))
                }
            }
        }
    }
}

fn editor(shell: &Shell, code: &str, source: &str) -> Markup {
    html! {
        form.stack method="post" action="/livecodes/save" {
            (shell.csrf())
            label { (shell.t("livecode.code")) input type="text" name="code" value=(code) required maxlength="32" pattern="[a-z0-9_-]{1,32}"; }
            label { (shell.t("livecode.document")) textarea name="source" rows="12" spellcheck="false" { (source) } }
            button.btn type="submit" { (shell.t("common.save")) }
        }
    }
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let who = shell.principal.actor();
    let ops = ctx.ops();
    let views = ops.livecodes(&who, &ctx.app.base_url).await?;
    let alerts = ops.livecode_alerts(&who).await?;
    let body = html! {
        (flash_markup(&shell))
        p.muted { (shell.t("livecode.help")) }
        @for routed in &alerts {
            @let alert = &routed.alert;
            p.notice.error role="alert" data-alert=(alert.kind) {
                code { (alert.code) } " " (shell.time(alert.at)) ": " (alert.message)
                br;
                small data-alert-route=(if routed.backroom.is_some() { "backroom" } else { "console" }) {
                    @match &routed.backroom {
                        Some(post) => { (shell.t("livecode.alert_backroom")) " " code { (post.chat) } " (" (post.status.as_str()) ")" }
                        None => { (shell.t("livecode.alert_console")) }
                    }
                }
            }
        }
        @for view in &views { (code_card(&shell, view)) }
        @if views.is_empty() { p.muted { (shell.t("livecode.none")) } }
        @if shell.principal.can_edit() {
            (section(shell.t("livecode.new"), editor(&shell, "", EXAMPLE)))
        }
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("livecodes", shell.t("livecode.title"), body),
    ))
}

async fn save(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    ctx.ops()
        .save_livecode(
            &shell.principal.actor(),
            form.get("code").trim(),
            form.get("source"),
        )
        .await?;
    Ok(see_other("/livecodes?ok=saved"))
}
