//! `/leaderboards` 排行榜: a group's or a campaign's live board (invites, check-ins, points),
//! ranked by `qunzhu_growth::leaderboard` and shown in the very lines the SOP posts'
//! `{invite_leaders}` / `{points_leaders}` print, so the console and the group never disagree.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use qunzhu_domain::GroupId;
use qunzhu_growth::leaderboard::{lines, Board, Ranked};
use serde::Deserialize;

use super::growth_forms::groups;
use super::{html as respond, Page, PageResult};
use crate::html::{none_row, section, url_part, Shell};
use crate::{ApiError, Ctx};

pub fn routes() -> Router<Ctx> {
    Router::new().route("/leaderboards", get(page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Query {
    board: String,
    group: Option<GroupId>,
    campaign: Option<String>,
}

fn board_key(board: Board) -> &'static str {
    match board {
        Board::Invites => "board.invites",
        Board::CheckIns => "board.check_ins",
        Board::Points => "board.points",
    }
}

fn table(shell: &Shell, board: Board, ranked: &[Ranked]) -> Markup {
    let posted = lines(board, ranked);
    html! {
        div.table-wrap { table #board data-board=(board.as_str()) {
            thead { tr { th { "#" } th { (shell.t("common.member")) } th.num { (shell.t(board_key(board))) } th { (shell.t("board.as_posted")) } } }
            tbody {
                @for (row, line) in ranked.iter().zip(&posted) {
                    tr data-member=(row.row.member) {
                        td { (row.rank) }
                        td { (row.row.display_name) br; small.muted { code { (row.row.member) } } }
                        td.num { (row.row.score) }
                        td.small { (line) }
                    }
                }
                @if ranked.is_empty() { (none_row(shell.lang, 4)) }
            }
        } }
    }
}

async fn page(
    State(ctx): State<Ctx>,
    Page(shell): Page,
    axum::extract::Query(q): axum::extract::Query<Query>,
) -> PageResult {
    let who = shell.principal.actor();
    let board = if q.board.is_empty() {
        Board::Invites
    } else {
        Board::parse(&q.board)
            .ok_or_else(|| ApiError::invalid("board", "one of invites, check_ins, points"))?
    };
    let groups = groups(&ctx, &shell).await?;
    let campaigns = ctx.ops().campaigns(&who).await?;
    let campaign = q.campaign.filter(|name| !name.is_empty());
    // A campaign named wins; else the group asked for, else the first group.
    let (title, ranked) = match (&campaign, q.group.or(groups.first().map(|g| g.id))) {
        (Some(name), _) => (
            name.clone(),
            Some(
                ctx.ops()
                    .campaign_leaderboard(&who, board, name, 20)
                    .await?,
            ),
        ),
        (None, Some(id)) => {
            let name = groups
                .iter()
                .find(|group| group.id == id)
                .map_or_else(|| id.to_string(), |group| group.name.clone());
            (
                name,
                Some(ctx.ops().group_leaderboard(&who, board, id, 20).await?),
            )
        }
        (None, None) => (String::new(), None),
    };
    let chosen_group = if campaign.is_none() { q.group } else { None };
    let link = |target: Board| match (&campaign, chosen_group) {
        (Some(name), _) => format!(
            "/leaderboards?board={}&campaign={}",
            target.as_str(),
            url_part(name)
        ),
        (None, Some(id)) => format!("/leaderboards?board={}&group={id}", target.as_str()),
        (None, None) => format!("/leaderboards?board={}", target.as_str()),
    };
    let body = html! {
        p.muted { (shell.t("board.help")) }
        form.filters method="get" action="/leaderboards" {
            input type="hidden" name="board" value=(board.as_str());
            label { (shell.t("common.group"))
                select name="group" {
                    @for group in &groups { option value=(group.id) selected[chosen_group == Some(group.id)] { (group.name) } }
                }
            }
            label { (shell.t("board.campaign"))
                select name="campaign" {
                    option value="" { (shell.t("board.no_campaign")) }
                    @for view in &campaigns {
                        option value=(view.document.name) selected[campaign.as_deref() == Some(view.document.name.as_str())] { (view.document.name) }
                    }
                }
            }
            button.btn type="submit" { (shell.t("board.show")) }
        }
        nav.tabs aria-label=(shell.t("board.title")) {
            @for target in Board::ALL {
                a href=(link(*target)) aria-current=[(*target == board).then_some("page")] { (shell.t(board_key(*target))) }
            }
        }
        @match &ranked {
            Some(ranked) => { (section(&format!("{} · {}", title, shell.t(board_key(board))), table(&shell, board, ranked))) }
            None => { section.card { p { (shell.t("board.no_groups")) } } }
        }
    };
    Ok(respond(
        StatusCode::OK,
        shell.render("leaderboards", shell.t("board.title"), body),
    ))
}
