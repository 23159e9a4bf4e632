//! Moderation: the join-request queue, the bot's actions filtered by group, class, kind and
//! time (moderation apart from welcome, FAQ and rewards), with undo, and lurker reports per group
//! with the "确认移出" step. Also the event and action lists other pages reuse.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};
use qunzhu_domain::{ActionId, ActionKind, ActionRecord, EventKind, GroupId, MemberId};
use qunzhu_storage::{ActionQuery, StoredEvent, UserRole};
use serde::Deserialize;

use super::names::{action_member, Names};
use super::{flash_markup, html as respond, see_other, Page, PageResult, Posted};
use crate::api::Params;
use crate::classify::{classify, ActionClass};
use crate::group_table::day_span;
use crate::html::{none_row, section, select_box, tag, Shell};
use crate::{ApiError, Ctx};

pub fn routes() -> Router<Ctx> {
    Router::new()
        .route("/moderation", get(page))
        .route("/moderation/join-requests", post(decide))
        .route("/moderation/actions/{id}/undo", post(undo))
        .route(
            "/moderation/lurkers/{group_id}/confirm",
            post(confirm_lurkers),
        )
}

/// What an event says, in a few words.
fn describe(shell: &Shell, kind: &EventKind) -> String {
    let label = shell.t(&format!("ev.{}", kind.name()));
    match kind {
        EventKind::MessagePosted { text, .. } => {
            let snippet: String = text.chars().take(80).collect();
            format!("{label}: {snippet}")
        }
        EventKind::MemberLeft { how, .. } => {
            let how = match how {
                qunzhu_domain::LeaveHow::Left => "groups.left",
                _ => "groups.removed",
            };
            format!("{label} ({})", shell.t(how))
        }
        EventKind::JoinRequested {
            reason: Some(reason),
            ..
        } => format!("{label}: {reason}"),
        EventKind::GroupRenamed { name, .. } => format!("{label}: {name}"),
        EventKind::BotPowers { level, .. } => format!("{label}: {level}"),
        EventKind::DisplayNameChanged { new, .. } => format!("{label}: {new}"),
        _ => label.to_string(),
    }
}

/// Events as a timeline, newest first, with member and group names.
pub fn event_list(shell: &Shell, names: &Names, events: &[StoredEvent]) -> Markup {
    html! {
        @if events.is_empty() { p.muted { (shell.t("common.none")) } }
        @else {
            ol.timeline {
                @for stored in events {
                    @let e = &stored.event;
                    li {
                        (shell.time(e.at))
                        div {
                            span.small.muted {
                                (names.member(e.platform, e.kind.member().map(MemberId::as_str).unwrap_or(""))) " · " (names.group(e.platform, &e.chat))
                            }
                            p { (describe(shell, &e.kind)) }
                        }
                    }
                }
            }
        }
    }
}

pub fn action_reason(kind: &ActionKind) -> String {
    match kind {
        ActionKind::Kick { reason, .. }
        | ActionKind::Ban { reason, .. }
        | ActionKind::Unban { reason, .. }
        | ActionKind::Mute { reason, .. }
        | ActionKind::Redact { reason, .. }
        | ActionKind::DecideJoinRequest { reason, .. }
        | ActionKind::GrantReward { reason, .. } => reason.clone(),
        ActionKind::SendMessage { text, .. } | ActionKind::PersonTask { text } => {
            text.chars().take(60).collect()
        }
        _ => String::new(),
    }
}

/// Outbox actions as a table with their group; `undo` adds an undo button to bans and mutes.
pub fn action_table(shell: &Shell, names: &Names, actions: &[ActionRecord], undo: bool) -> Markup {
    let columns = if undo { 8 } else { 7 };
    html! {
        div.table-wrap { table.action-list {
            thead { tr {
                th { (shell.t("common.time")) } th { (shell.t("common.group")) } th { (shell.t("common.action")) }
                th { (shell.t("common.member")) } th { (shell.t("moderation.rule")) } th { (shell.t("common.status")) }
                th { (shell.t("common.reason")) }
                @if undo { th {} }
            } }
            tbody {
                @for a in actions {
                    tr data-action=(a.id) {
                        td { (shell.time(a.created_at)) }
                        td { (names.group(a.platform, &a.chat)) }
                        td { (tag("type", shell.t(&format!("act.{}", a.kind.name())))) }
                        td { (names.member(a.platform, action_member(&a.kind).unwrap_or(""))) }
                        td.small { (a.origin.to_string()) }
                        td {
                            (tag(a.status.as_str(), shell.t(&format!("st.{}", a.status.as_str()))))
                            @if let Some(error) = &a.last_error { div.small.muted { (error) } }
                        }
                        td.small { (action_reason(&a.kind)) }
                        @if undo {
                            td {
                                @if shell.principal.can_edit() && matches!(a.kind, ActionKind::Ban { .. } | ActionKind::Mute { .. }) {
                                    form method="post" action={ "/moderation/actions/" (a.id) "/undo" } {
                                        (shell.csrf())
                                        button.btn.small type="submit" { (shell.t("moderation.undo")) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if actions.is_empty() { (none_row(shell.lang, columns)) }
            }
        } }
    }
}

/// The filters of an action list: every field narrows; empty fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionFilterForm {
    pub group: Option<String>,
    /// An [`ActionClass`] name; moderation when absent on the moderation page.
    pub class: Option<String>,
    /// An action kind (`kick`, `ban`, …).
    pub kind: Option<String>,
    /// Local days, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    pub ok: Option<String>,
}

/// [`ActionFilterForm`] checked.
#[derive(Debug, Clone, Default)]
pub struct ActionFilterView {
    pub group_id: Option<GroupId>,
    pub class: Option<ActionClass>,
    pub kind: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

const KINDS: [&str; 12] = [
    "send_message",
    "kick",
    "ban",
    "unban",
    "mute",
    "unmute",
    "redact",
    "decide_join_request",
    "invite",
    "grant_reward",
    "person_task",
    "set_power_level",
];

fn blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ActionFilterForm {
    pub fn view(&self, default_class: Option<ActionClass>) -> Result<ActionFilterView, ApiError> {
        let group_id = blank(&self.group)
            .map(|g| {
                g.parse::<GroupId>()
                    .map_err(|_| ApiError::invalid("group", format!("`{g}` is not a group id")))
            })
            .transpose()?;
        let class = match blank(&self.class) {
            Some("all") => None,
            Some(c) => Some(
                ActionClass::parse(c)
                    .ok_or_else(|| ApiError::invalid("class", format!("unknown class `{c}`")))?,
            ),
            None => default_class,
        };
        let kind = blank(&self.kind)
            .map(|k| {
                if KINDS.contains(&k) {
                    Ok(k.to_string())
                } else {
                    Err(ApiError::invalid(
                        "kind",
                        format!("unknown action kind `{k}`"),
                    ))
                }
            })
            .transpose()?;
        let day = |field: &'static str, value: &Option<String>| {
            blank(value)
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                        ApiError::invalid(field, format!("`{d}` is not a date (YYYY-MM-DD)"))
                    })
                })
                .transpose()
        };
        Ok(ActionFilterView {
            group_id,
            class,
            kind,
            from: day("from", &self.from)?,
            to: day("to", &self.to)?,
        })
    }
}

impl ActionFilterView {
    /// The store query for this view, in the workspace's zone.
    pub async fn load(
        &self,
        ctx: &Ctx,
        shell: &Shell,
        limit: usize,
    ) -> Result<Vec<ActionRecord>, ApiError> {
        let ws = shell.principal.workspace;
        let chat = match self.group_id {
            Some(id) => Some(ctx.app.store.group(ws, id).await?.chat),
            None => None,
        };
        let since: Option<DateTime<Utc>> = self.from.map(|d| day_span(d, shell.zone).start);
        let until: Option<DateTime<Utc>> = self.to.map(|d| day_span(d, shell.zone).end);
        let query = ActionQuery {
            chat,
            kinds: self.kind.iter().cloned().collect(),
            origins: self
                .class
                .map(|c| c.origins().iter().map(|o| o.to_string()).collect())
                .unwrap_or_default(),
            since,
            until,
            // Read more than shown: the class is decided here, after the store narrowed.
            limit: limit * 4,
            ..ActionQuery::default()
        };
        let mut actions = ctx.app.store.query_actions(ws, &query).await?;
        if let Some(class) = self.class {
            actions.retain(|a| classify(&a.origin, &a.kind) == class);
        }
        actions.truncate(limit);
        Ok(actions)
    }

    /// The filter form; `action` is the page it submits to.
    pub fn form(&self, shell: &Shell, names_groups: &[(String, String)], action: &str) -> Markup {
        let all = shell.t("common.all");
        let classes: Vec<(String, String)> = std::iter::once(("all".to_string(), all.to_string()))
            .chain(ActionClass::ALL.iter().map(|c| {
                (
                    c.as_str().to_string(),
                    shell.t(&format!("class.{}", c.as_str())).to_string(),
                )
            }))
            .collect();
        let kinds: Vec<(String, String)> = KINDS
            .iter()
            .map(|k| (k.to_string(), shell.t(&format!("act.{k}")).to_string()))
            .collect();
        let day = |d: Option<NaiveDate>| {
            d.map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
        };
        html! {
            form.filters method="get" action=(action) role="search" {
                div.field { label for="f-group" { (shell.t("common.group")) } (select_box("group", "f-group", names_groups, &self.group_id.map(|g| g.to_string()).unwrap_or_default(), Some(all))) }
                div.field { label for="f-class" { (shell.t("moderation.class")) } (select_box("class", "f-class", &classes, self.class.map_or("all", ActionClass::as_str), None)) }
                div.field { label for="f-kind" { (shell.t("common.action")) } (select_box("kind", "f-kind", &kinds, self.kind.as_deref().unwrap_or(""), Some(all))) }
                div.field { label for="f-from" { (shell.t("common.from")) } input #f-from name="from" type="date" value=(day(self.from)); }
                div.field { label for="f-to" { (shell.t("common.to")) } input #f-to name="to" type="date" value=(day(self.to)); }
                div.field { button.btn.primary type="submit" { (shell.t("common.filter")) } }
            }
        }
    }
}

/// Groups as `(id, name)` options.
pub async fn group_options(ctx: &Ctx, shell: &Shell) -> Result<Vec<(String, String)>, ApiError> {
    Ok(ctx
        .app
        .store
        .groups(shell.principal.workspace)
        .await?
        .into_iter()
        .map(|g| (g.group.id.to_string(), g.group.name))
        .collect())
}

/// The join-request queue with approve and deny buttons (also on the 今日 page).
pub async fn join_requests(
    ctx: &Ctx,
    shell: &Shell,
    names: &mut Names,
    back: &str,
) -> Result<Markup, ApiError> {
    let mut requests = ctx
        .app
        .store
        .pending_join_requests(shell.principal.workspace)
        .await?;
    // Those waiting longest first; past a page, the rest are counted, not each looked up.
    let waiting = requests.len();
    requests.truncate(JOIN_REQUESTS_SHOWN);
    names.add_from(ctx, shell, &requests, &[]).await?;
    // A request already decided waits for the bot to carry the decision out: show the decision.
    let mut decided = std::collections::HashMap::new();
    for stored in &requests {
        let key = qunzhu_domain::keys::join_decision(&stored.event.key);
        match ctx
            .app
            .store
            .action_by_key(shell.principal.workspace, &key)
            .await
        {
            Ok(action) => {
                decided.insert(stored.event.key.clone(), action);
            }
            Err(qunzhu_storage::StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let rows: Vec<(&StoredEvent, GroupId, &str, String, String)> = requests
        .iter()
        .filter_map(|stored| {
            let id = names.group_id(stored.event.platform, &stored.event.chat)?;
            match &stored.event.kind {
                EventKind::JoinRequested {
                    member,
                    display_name,
                    reason,
                } => Some((
                    stored,
                    id,
                    member.as_str(),
                    display_name.clone().unwrap_or_else(|| {
                        names
                            .member_name(stored.event.platform, member.as_str())
                            .to_string()
                    }),
                    reason.clone().unwrap_or_default(),
                )),
                _ => None,
            }
        })
        .collect();
    Ok(html! {
        div.table-wrap { table #join-requests {
            thead { tr { th { (shell.t("common.time")) } th { (shell.t("common.member")) } th { (shell.t("common.group")) } th { (shell.t("common.reason")) } th {} } }
            tbody {
                @for (stored, group_id, member, name, reason) in &rows {
                    tr data-member=(member) {
                        td { (shell.time(stored.event.at)) }
                        td { strong { (name) } div.small.muted { (member) } }
                        td { (names.group(stored.event.platform, &stored.event.chat)) }
                        td { (reason) }
                        td {
                            @if let Some(action) = decided.get(&stored.event.key) {
                                @let approved = matches!(action.kind, ActionKind::DecideJoinRequest { approve: true, .. });
                                (tag(if approved { "done" } else { "dead" }, shell.t(if approved { "moderation.approved" } else { "moderation.denied" })))
                                " " (tag(action.status.as_str(), shell.t(&format!("st.{}", action.status.as_str()))))
                            } @else if shell.principal.can_edit() {
                                form.inline-actions method="post" action="/moderation/join-requests" {
                                    (shell.csrf())
                                    input type="hidden" name="group_id" value=(group_id);
                                    input type="hidden" name="member" value=(member);
                                    input type="hidden" name="back" value=(back);
                                    button.btn.small.primary name="decision" value="approve" { (shell.t("moderation.approve")) }
                                    button.btn.small.danger name="decision" value="deny" { (shell.t("moderation.deny")) }
                                }
                            }
                        }
                    }
                }
                @if rows.is_empty() { (none_row(shell.lang, 5)) }
            }
        } }
        @if waiting > requests.len() {
            p.muted data-more-requests=(waiting - requests.len()) {
                (shell.t("moderation.more_waiting").replace("{n}", &(waiting - requests.len()).to_string()))
            }
        }
    })
}

/// Join requests shown at once; the rest wait their turn (oldest first).
const JOIN_REQUESTS_SHOWN: usize = 100;

/// Days of silence the per-group lurker totals count.
const LURKER_DAYS: i64 = 28;

/// Silent members per group with totals, and the dry-run lurker removals per group with the
/// confirm button.
async fn lurker_reports(ctx: &Ctx, shell: &Shell, names: &mut Names) -> Result<Markup, ApiError> {
    let report = ctx
        .ops()
        .lurker_report(&shell.principal.actor(), None)
        .await?;
    names.add_from(ctx, shell, &[], &report).await?;
    let mut per_group: BTreeMap<(String, qunzhu_domain::Platform), Vec<&ActionRecord>> =
        BTreeMap::new();
    for action in &report {
        let entry = per_group
            .entry((action.chat.clone(), action.platform))
            .or_default();
        let member = action_member(&action.kind);
        if !entry.iter().any(|a| action_member(&a.kind) == member) {
            entry.push(action);
        }
    }
    let total: usize = per_group.values().map(Vec::len).sum();
    // Silent members per group now, whatever the policy: one query for every group.
    let silent_since = ctx.app.clock.now() - chrono::Duration::days(LURKER_DAYS);
    let counts = ctx
        .app
        .store
        .silent_per_group(shell.principal.workspace, silent_since)
        .await?;
    let mut silent: Vec<(GroupId, String, u64)> = ctx
        .app
        .store
        .groups(shell.principal.workspace)
        .await?
        .into_iter()
        .map(|summary| {
            let n = counts.get(&summary.group.id).copied().unwrap_or(0);
            (summary.group.id, summary.group.name, n)
        })
        .collect();
    silent.sort_by_key(|(_, _, n)| std::cmp::Reverse(*n));
    let silent_total: u64 = silent.iter().map(|(_, _, n)| n).sum();
    Ok(html! {
        h3 { (shell.t("moderation.silent_now")) " · " (silent_total) }
        div.table-wrap { table #silent-per-group {
            thead { tr { th { (shell.t("common.group")) } th.num { (shell.t("moderation.silent_count")) } } }
            tbody {
                @for (id, name, n) in &silent {
                    tr {
                        td { a href={ "/groups/" (id) } { (name) } }
                        td.num { a href={ "/members?group_id=" (id) "&silent_days=" (LURKER_DAYS) } { (n) } }
                    }
                }
                @if silent.is_empty() { (none_row(shell.lang, 2)) }
            }
        } }
        p.lead { (shell.t("moderation.lurkers_total")) " " strong { (total) } }
        @if per_group.is_empty() { p.muted { (shell.t("moderation.no_lurker_report")) } }
        @for ((chat, platform), kicks) in &per_group {
            div.lurker-group data-chat=(chat) {
                h3 { (names.group(*platform, chat)) " · " (kicks.len()) }
                ul.plain.columns {
                    @for a in kicks {
                        li { (names.member(a.platform, action_member(&a.kind).unwrap_or(""))) " " span.small.muted { (action_reason(&a.kind)) } }
                    }
                }
                @if let (true, Some(id)) = (shell.principal.can_edit(), names.group_id(*platform, chat)) {
                    form method="post" action={ "/moderation/lurkers/" (id) "/confirm" } data-confirm=(shell.t("moderation.confirm_prompt")) {
                        (shell.csrf())
                        button.btn.danger type="submit" { (shell.t("moderation.confirm_removal")) " (" (kicks.len()) ")" }
                    }
                }
            }
        }
    })
}

async fn page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    Params(form): Params<ActionFilterForm>,
) -> PageResult {
    let view = form.view(Some(ActionClass::Moderation))?;
    let mut names = Names::load(&ctx, &shell).await?;
    let queue = join_requests(&ctx, &shell, &mut names, "/moderation").await?;
    let actions = view.load(&ctx, &shell, 100).await?;
    names.add_from(&ctx, &shell, &[], &actions).await?;
    let lurkers = lurker_reports(&ctx, &shell, &mut names).await?;
    let groups = group_options(&ctx, &shell).await?;
    let body = html! {
        (flash_markup(&shell))
        (section(shell.t("moderation.requests"), queue))
        section.card #bot-actions {
            h2 { (shell.t("moderation.bot_actions")) }
            (view.form(&shell, &groups, "/moderation"))
            (action_table(&shell, &names, &actions, true))
        }
        (section(shell.t("moderation.lurkers"), lurkers))
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("moderation", shell.t("moderation.title"), body),
    ))
}

async fn decide(State(ctx): State<Ctx>, Posted(shell, form): Posted) -> PageResult {
    shell.principal.require(UserRole::Operator)?;
    let group_id: GroupId = form
        .get("group_id")
        .parse()
        .map_err(|_| ApiError::invalid("group_id", "not a group"))?;
    let approve = match form.get("decision") {
        "approve" => true,
        "deny" => false,
        _ => return Err(ApiError::invalid("decision", "approve or deny").into()),
    };
    ctx.ops()
        .decide_join_request(
            &shell.principal.actor(),
            group_id,
            form.get("member"),
            approve,
            form.get("reason"),
        )
        .await?;
    let back = if form.get("back") == "/today" {
        "/today"
    } else {
        "/moderation"
    };
    Ok(see_other(&format!("{back}?ok=decided")))
}

async fn undo(
    State(ctx): State<Ctx>,
    Path(id): Path<ActionId>,
    Posted(shell, _form): Posted,
) -> PageResult {
    ctx.ops().undo_action(&shell.principal.actor(), id).await?;
    Ok(see_other("/moderation?ok=undone"))
}

async fn confirm_lurkers(
    State(ctx): State<Ctx>,
    Path(group_id): Path<GroupId>,
    Posted(shell, _form): Posted,
) -> PageResult {
    ctx.ops()
        .confirm_lurker_removals(&shell.principal.actor(), group_id)
        .await?;
    Ok(see_other("/moderation?ok=removed"))
}
