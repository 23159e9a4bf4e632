//! The audit log: every change a person made, and every action the bot took, filtered by group,
//! class, kind and time.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::html;
use serde::Deserialize;

use super::moderation::{action_table, group_options, ActionFilterForm};
use super::names::Names;
use super::{html as respond, Page, PageResult};
use crate::api::Params;
use crate::group_table::day_span;
use crate::html::{none_row, section};
use crate::Ctx;

pub fn routes() -> Router<Ctx> {
    Router::new().route("/audit", get(page))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct AuditQuery {
    before: Option<i64>,
    /// Verb prefix of people's changes (`rule.`, `join_request`).
    verb: Option<String>,
    actor: Option<String>,
    group: Option<String>,
    class: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

const PAGE_SIZE: usize = 50;

async fn page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(q): Params<AuditQuery>,
) -> PageResult {
    let ws = shell.principal.workspace;
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (verb, actor) = (blank(&q.verb), blank(&q.actor));
    let form = ActionFilterForm {
        group: q.group,
        class: q.class,
        kind: q.kind,
        from: q.from,
        to: q.to,
        ok: None,
    };
    let view = form.view(None)?;
    let entries = ctx
        .app
        .store
        .audit_entries(
            ws,
            &qunzhu_storage::AuditQuery {
                action: verb.clone(),
                actor: actor.clone(),
                since: view.from.map(|d| day_span(d, shell.zone).start),
                until: view.to.map(|d| day_span(d, shell.zone).end),
                before: q.before,
                limit: PAGE_SIZE,
            },
        )
        .await?;
    let day = |d: Option<chrono::NaiveDate>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let older_link = |id: i64| {
        let mut link = format!("/audit?before={id}");
        for (key, value) in [
            ("verb", verb.clone().unwrap_or_default()),
            ("actor", actor.clone().unwrap_or_default()),
            ("from", day(view.from)),
            ("to", day(view.to)),
        ] {
            if !value.is_empty() {
                link.push_str(&format!("&{key}={}", crate::html::url_part(&value)));
            }
        }
        link
    };
    let bot = view.load(&ctx, &shell, 100).await?;
    let mut names = Names::load(&ctx, &shell).await?;
    names.add_from(&ctx, &shell, &[], &bot).await?;
    let subject_members: Vec<(qunzhu_domain::Platform, String)> = entries
        .iter()
        .filter_map(|e| names.split_subject(&e.subject))
        .filter(|(_, _, member)| !member.is_empty())
        .map(|(platform, _, member)| (platform, member.to_string()))
        .collect();
    names.add_members(&ctx, &shell, subject_members).await?;
    let groups = group_options(&ctx, &shell).await?;
    let detail = |value: &serde_json::Value| -> String {
        if value.as_object().is_some_and(|o| o.is_empty()) {
            String::new()
        } else {
            value.to_string().chars().take(160).collect()
        }
    };
    let body = html! {
        section.card #people {
            h2 { (shell.t("audit.people")) }
            form.filters method="get" action="/audit" role="search" {
                div.field { label for="a-verb" { (shell.t("audit.verb")) } input #a-verb name="verb" value=(verb.as_deref().unwrap_or("")) placeholder="rule."; }
                div.field { label for="a-actor" { (shell.t("common.actor")) } input #a-actor name="actor" value=(actor.as_deref().unwrap_or("")) placeholder="user:…"; }
                div.field { label for="a-from" { (shell.t("common.from")) } input #a-from name="from" type="date" value=(day(view.from)); }
                div.field { label for="a-to" { (shell.t("common.to")) } input #a-to name="to" type="date" value=(day(view.to)); }
                div.field { button.btn.primary type="submit" { (shell.t("common.filter")) } }
            }
            div.table-wrap { table {
                thead { tr {
                    th { (shell.t("common.time")) } th { (shell.t("common.actor")) } th { (shell.t("common.action")) }
                    th { (shell.t("common.subject")) } th { (shell.t("common.detail")) }
                } }
                tbody {
                    @for e in &entries {
                        tr {
                            td { (shell.time(e.at)) }
                            td { (e.actor) }
                            td { code { (e.action) } }
                            td { (names.subject(&e.subject)) }
                            td.small.mono { (detail(&e.detail)) }
                        }
                    }
                    @if entries.is_empty() { (none_row(shell.lang, 5)) }
                }
            } }
            @if let (Some(last), true) = (entries.last(), entries.len() == PAGE_SIZE) {
                p { a.btn href=(older_link(last.id)) { (shell.t("audit.older")) " →" } }
            }
        }
        (section(shell.t("audit.bot"), html! {
            (view.form(&shell, &groups, "/audit"))
            (action_table(&shell, &names, &bot, false))
        }))
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("audit", shell.t("audit.title"), body),
    ))
}
