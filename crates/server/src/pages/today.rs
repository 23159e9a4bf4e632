//! 今日: the morning routine on one page. What happened since yesterday, grouped by group
//! (removals, mutes, redactions, dead or stuck actions with their reasons); join requests to
//! approve or deny; today's posts with their status; posts a person must make, to confirm.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::Duration;
use maud::{html, Markup};
use qunzhu_domain::{local_day, ActionId, ActionKind, ActionRecord, ActionStatus, Platform};
use qunzhu_storage::ActionQuery;

use super::moderation::{action_reason, join_requests};
use super::names::{action_member, Names};
use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::classify::{classify, ActionClass};
use crate::group_table::day_span;
use crate::html::{none_row, section, tag, Shell};
use crate::{ApiError, Ctx};

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/today", get(page))
        .route("/today/tasks/{id}/confirm", post(confirm_task))
}

/// An action still waiting this long after it was due is stuck.
const STUCK_AFTER_MINUTES: i64 = 30;

/// Actions since yesterday's start worth a look: moderation that took effect, and anything dead
/// or stuck.
async fn since_yesterday(ctx: &Ctx, shell: &Shell) -> Result<Vec<ActionRecord>, ApiError> {
    let now = ctx.app.clock.now();
    let yesterday = local_day(now, shell.zone) - Duration::days(1);
    let since = day_span(yesterday, shell.zone).start;
    let ws = shell.principal.workspace;
    let moderation = ctx
        .app
        .store
        .query_actions(
            ws,
            &ActionQuery {
                kinds: ["kick", "ban", "mute", "redact", "unban", "unmute"]
                    .map(String::from)
                    .to_vec(),
                since: Some(since),
                limit: 1000,
                ..ActionQuery::default()
            },
        )
        .await?;
    let troubled = ctx
        .app
        .store
        .query_actions(
            ws,
            &ActionQuery {
                statuses: vec![
                    ActionStatus::Dead,
                    ActionStatus::Pending,
                    ActionStatus::InFlight,
                ],
                due_since: Some(since),
                due_until: Some(now - Duration::minutes(STUCK_AFTER_MINUTES)),
                limit: 1000,
                ..ActionQuery::default()
            },
        )
        .await?;
    let mut all: Vec<ActionRecord> = moderation
        .into_iter()
        .filter(|a| classify(&a.origin, &a.kind) == ActionClass::Moderation)
        .filter(|a| crate::classify::counts_as_taken(a.status))
        .collect();
    for action in troubled {
        // Person tasks wait for a person by design; they have their own list below.
        if matches!(
            action.kind,
            ActionKind::PersonTask { .. } | ActionKind::MomentTask { .. }
        ) || all.iter().any(|a| a.id == action.id)
        {
            continue;
        }
        all.push(action);
    }
    all.sort_by_key(|a| std::cmp::Reverse(a.created_at));
    Ok(all)
}

fn is_stuck(action: &ActionRecord) -> bool {
    matches!(
        action.status,
        ActionStatus::Pending | ActionStatus::InFlight
    )
}

fn happenings(shell: &Shell, names: &Names, actions: &[ActionRecord]) -> Markup {
    let mut by_group: BTreeMap<(String, Platform), Vec<&ActionRecord>> = BTreeMap::new();
    for action in actions {
        by_group
            .entry((
                names
                    .group_name(action.platform, &action.chat)
                    .unwrap_or(&action.chat)
                    .to_string(),
                action.platform,
            ))
            .or_default()
            .push(action);
    }
    html! {
        @if by_group.is_empty() { p.muted #quiet-night { (shell.t("today.quiet")) } }
        @for ((_, platform), list) in &by_group {
            @let chat = &list[0].chat;
            div.today-group data-chat=(chat) {
                h3 {
                    (names.group(*platform, chat))
                    @for (kind, count) in counts(list) { " " (tag("type", &format!("{} {count}", shell.t(&format!("act.{kind}"))))) }
                }
                ul.plain.events {
                    @for a in list {
                        li data-action=(a.id) {
                            (shell.time(a.created_at)) " "
                            (tag("type", shell.t(&format!("act.{}", a.kind.name())))) " "
                            (names.member(a.platform, action_member(&a.kind).unwrap_or(""))) " "
                            span.small { (action_reason(&a.kind)) }
                            @if a.status == ActionStatus::Dead || is_stuck(a) {
                                " " (tag(a.status.as_str(), shell.t(if is_stuck(a) { "today.stuck" } else { "st.dead" })))
                                @if let Some(error) = &a.last_error { div.small.error { (error) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn counts(list: &[&ActionRecord]) -> Vec<(&'static str, usize)> {
    let mut out: Vec<(&'static str, usize)> = Vec::new();
    for a in list {
        let kind = a.kind.name();
        match out.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => out.push((kind, 1)),
        }
    }
    out
}

/// The group-facing text of a post or task, shortened for a list.
fn post_text(kind: &ActionKind) -> String {
    match kind {
        ActionKind::SendMessage { text, .. }
        | ActionKind::PersonTask { text }
        | ActionKind::MomentTask { text, .. } => {
            let first: String = text.chars().take(90).collect();
            if text.chars().count() > 90 {
                format!("{first}…")
            } else {
                first
            }
        }
        _ => String::new(),
    }
}

async fn page(State(ctx): State<Ctx>, Page(shell): Page) -> PageResult {
    let ws = shell.principal.workspace;
    let now = ctx.app.clock.now();
    let mut names = Names::load(&ctx, &shell).await?;
    let happened = since_yesterday(&ctx, &shell).await?;
    names.add_from(&ctx, &shell, &[], &happened).await?;
    let requests = join_requests(&ctx, &shell, &mut names, "/today").await?;
    let today = day_span(local_day(now, shell.zone), shell.zone);
    let posts = ctx
        .app
        .store
        .query_actions(
            ws,
            &ActionQuery {
                origins: vec!["sop:".into()],
                due_since: Some(today.start),
                due_until: Some(today.end),
                limit: 500,
                ..ActionQuery::default()
            },
        )
        .await?;
    let tasks = ctx
        .app
        .store
        .query_actions(
            ws,
            &ActionQuery {
                // 朋友圈 posts (moment tasks) wait for a person just like group posts.
                kinds: vec!["person_task".into(), "moment_task".into()],
                statuses: vec![ActionStatus::Pending],
                limit: 500,
                ..ActionQuery::default()
            },
        )
        .await?;
    let mut posts: Vec<&ActionRecord> = posts
        .iter()
        .filter(|a| {
            !matches!(
                a.kind,
                ActionKind::PersonTask { .. } | ActionKind::MomentTask { .. }
            )
        })
        .collect();
    posts.sort_by_key(|a| a.not_before);
    let body = html! {
        (flash_markup(&shell))
        p.lead { (shell.t("today.subtitle")) " " (shell.when(now)) }
        div.grid2 {
            section.card #since-yesterday {
                h2 { (shell.t("today.happened")) }
                (happenings(&shell, &names, &happened))
            }
            div.stack {
                (section(shell.t("moderation.requests"), requests))
                section.card #person-tasks {
                    h2 { (shell.t("today.tasks")) " · " (tasks.len()) }
                    @if tasks.is_empty() { p.muted { (shell.t("today.no_tasks")) } }
                    ul.plain.tasks {
                        @for t in &tasks {
                            li data-task=(t.id) {
                                div { strong { (names.group(t.platform, &t.chat)) } " · " span.small.muted { (shell.t("today.due")) " " (shell.when(t.not_before)) } }
                                pre.post-preview { (post_text(&t.kind)) }
                                @if shell.principal.can_edit() {
                                    form method="post" action={ "/today/tasks/" (t.id) "/confirm" } {
                                        (shell.csrf())
                                        button.btn.small.primary type="submit" { (shell.t("today.confirm_sent")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #today-posts {
            h2 { (shell.t("today.posts")) " · " (posts.len()) }
            div.table-wrap { table {
                thead { tr { th { (shell.t("today.due")) } th { (shell.t("common.group")) } th { (shell.t("today.post")) } th { (shell.t("common.status")) } } }
                tbody {
                    @for p in &posts {
                        tr data-post=(p.id) {
                            td { (shell.time(p.not_before)) }
                            td { (names.group(p.platform, &p.chat)) }
                            td.small { (post_text(&p.kind)) }
                            td {
                                (tag(p.status.as_str(), shell.t(&format!("st.{}", p.status.as_str()))))
                                @if let Some(error) = &p.last_error { div.small.error { (error) } }
                            }
                        }
                    }
                    @if posts.is_empty() { (none_row(shell.lang, 4)) }
                }
            } }
        }
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("today", shell.t("today.title"), body),
    ))
}

async fn confirm_task(
    State(ctx): State<Ctx>,
    Path(id): Path<ActionId>,
    Posted(shell, _form): Posted,
) -> PageResult {
    ctx.ops().confirm_task(&shell.principal.actor(), id).await?;
    Ok(see_other("/today?ok=confirmed"))
}
