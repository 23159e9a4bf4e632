//! `/banlist` 黑名单: the brand-wide ban list (who, why, by whom, when, from where), a form to
//! ban in every group, unban buttons, and the followed Matrix policy lists with their dry-run
//! (who each would ban where) and the button that enforces one. Everything goes through
//! `qunzhu-ops`, the same operations as `/api/v1/banlist` and `qunzhu banlist`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use qunzhu_domain::{BanSource, BanTarget, ListMode, Platform};
use qunzhu_ops::banlist::BanOverview;

use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::html::{none_row, section, tag, Shell};
use crate::{ApiError, Ctx};

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/banlist", get(page))
        .route("/banlist/ban", post(ban))
        .route("/banlist/unban", post(unban))
        .route("/banlist/follow", post(follow))
        .route("/banlist/enforce", post(enforce))
        .route("/banlist/unfollow", post(unfollow))
}

fn platform_field(value: &str) -> Result<Platform, ApiError> {
    Platform::parse(value).map_err(|error| ApiError::invalid("platform", error.to_string()))
}

fn bans_table(shell: &Shell, overview: &BanOverview) -> Markup {
    html! {
        div.table-wrap { table #bans {
            thead { tr {
                th { (shell.t("banlist.entity")) } th { (shell.t("common.reason")) }
                th { (shell.t("banlist.decided_by")) } th { (shell.t("common.time")) }
                th { (shell.t("banlist.source")) } th {}
            } }
            tbody {
                @for ban in &overview.bans {
                    tr data-ban=(ban.entity) {
                        td {
                            code { (ban.entity) } " "
                            (tag("type", ban.platform.as_str()))
                            @if ban.target == BanTarget::Server { " " (tag("type", shell.t("banlist.server"))) }
                        }
                        td { (ban.reason) }
                        td.small { (ban.decided_by) }
                        td.small { (shell.time(ban.decided_at)) }
                        td.small {
                            @match &ban.source {
                                BanSource::Own => { (shell.t("banlist.own")) }
                                BanSource::List(room) => { code { (room) } }
                            }
                        }
                        td {
                            @if shell.principal.can_edit() && ban.source == BanSource::Own {
                                form method="post" action="/banlist/unban" data-confirm=(shell.t("banlist.unban")) {
                                    (shell.csrf())
                                    input type="hidden" name="platform" value=(ban.platform.as_str());
                                    input type="hidden" name="entity" value=(ban.entity);
                                    button.btn.small type="submit" { (shell.t("banlist.unban")) }
                                }
                            }
                        }
                    }
                }
                @if overview.bans.is_empty() { (none_row(shell.lang, 6)) }
            }
        } }
        @for refusal in &overview.refused {
            p.notice.error role="alert" { (shell.t("banlist.refused")) " " code { (refusal.entity) } " → " code { (refusal.protects) } }
        }
    }
}

fn ban_form(shell: &Shell) -> Markup {
    html! {
        @if shell.principal.can_edit() {
            form.stack method="post" action="/banlist/ban" #ban-form {
                (shell.csrf())
                label { (shell.t("banlist.entity")) input type="text" name="entity" required placeholder="@spam:example.org / @*:spam.example"; }
                label { (shell.t("common.reason")) input type="text" name="reason" required; }
                label { (shell.t("banlist.platform"))
                    select name="platform" {
                        @for platform in Platform::ALL { option value=(platform.as_str()) { (platform.as_str()) } }
                    }
                }
                label { input type="checkbox" name="server" value="1"; " " (shell.t("banlist.server")) }
                button.btn.danger type="submit" { (shell.t("banlist.ban")) }
            }
        }
    }
}

fn lists_section(shell: &Shell, overview: &BanOverview) -> Markup {
    let admin = shell.principal.role >= qunzhu_storage::UserRole::Admin;
    html! {
        p.muted { (shell.t("banlist.lists_help")) }
        @for view in &overview.lists {
            div.card data-list=(view.list.room) {
                h3 {
                    code { (view.list.room) } " "
                    @match view.list.mode {
                        ListMode::DryRun => { (tag("dry_run", shell.t("banlist.dry_run"))) }
                        ListMode::Enforced => { (tag("done", shell.t("banlist.enforced"))) }
                    }
                    " " small.muted { (view.rules) " " (shell.t("banlist.rules")) }
                }
                h4 { (shell.t(if view.list.mode == ListMode::DryRun { "banlist.would_ban" } else { "banlist.bans_where" })) }
                div.table-wrap { table {
                    thead { tr { th { (shell.t("common.member")) } th { (shell.t("common.group")) } th { (shell.t("banlist.entity")) } th { (shell.t("common.reason")) } } }
                    tbody {
                        @for would in &view.would_ban {
                            tr { td { code { (would.member) } } td { code { (would.chat) } } td { code { (would.entity) } } td { (would.reason) } }
                        }
                        @if view.would_ban.is_empty() { (none_row(shell.lang, 4)) }
                    }
                } }
                @for refusal in &view.refused {
                    p.notice.error role="alert" { (shell.t("banlist.refused")) " " code { (refusal.entity) } " → " code { (refusal.protects) } }
                }
                @if admin {
                    @if view.list.mode == ListMode::DryRun {
                        form.inline method="post" action="/banlist/enforce" data-confirm=(shell.t("banlist.enforce")) {
                            (shell.csrf())
                            input type="hidden" name="room" value=(view.list.room);
                            button.btn.danger type="submit" { (shell.t("banlist.enforce")) }
                        }
                    }
                    form.inline method="post" action="/banlist/unfollow" {
                        (shell.csrf())
                        input type="hidden" name="room" value=(view.list.room);
                        button.btn.small type="submit" { (shell.t("banlist.unfollow")) }
                    }
                }
            }
        }
        @if admin {
            form.stack method="post" action="/banlist/follow" #follow-form {
                (shell.csrf())
                label { (shell.t("banlist.room")) input type="text" name="room" required placeholder="!policy:example.org"; }
                button.btn type="submit" { (shell.t("banlist.follow")) }
            }
        }
    }
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let overview = ctx.ops().ban_overview(&shell.principal.actor()).await?;
    let body = html! {
        (flash_markup(&shell))
        p.muted { (shell.t("banlist.help")) }
        (section(shell.t("banlist.ban"), ban_form(&shell)))
        (section(shell.t("banlist.title"), bans_table(&shell, &overview)))
        (section(shell.t("banlist.lists"), lists_section(&shell, &overview)))
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("banlist", shell.t("banlist.title"), body),
    ))
}

async fn ban(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    let target = if form.get("server").is_empty() {
        BanTarget::User
    } else {
        BanTarget::Server
    };
    ctx.ops()
        .ban(
            &shell.principal.actor(),
            platform_field(form.get("platform"))?,
            target,
            form.get("entity").trim(),
            form.get("reason"),
        )
        .await?;
    Ok(see_other("/banlist?ok=saved"))
}

async fn unban(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    ctx.ops()
        .unban(
            &shell.principal.actor(),
            platform_field(form.get("platform"))?,
            form.get("entity"),
            form.get("reason"),
        )
        .await?;
    Ok(see_other("/banlist?ok=saved"))
}

async fn follow(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    ctx.ops()
        .follow_list(&shell.principal.actor(), form.get("room").trim())
        .await?;
    Ok(see_other("/banlist?ok=saved"))
}

async fn enforce(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    ctx.ops()
        .enforce_list(&shell.principal.actor(), form.get("room"))
        .await?;
    Ok(see_other("/banlist?ok=saved"))
}

async fn unfollow(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    ctx.ops()
        .unfollow_list(&shell.principal.actor(), form.get("room"))
        .await?;
    Ok(see_other("/banlist?ok=saved"))
}
