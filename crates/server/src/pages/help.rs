//! Help a fresh install needs inside the console: the README's "Connecting to Matrix" section,
//! compiled in, so the empty overview can link to it with no network and no stale copy.

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use super::{html, Page, PageResult};
use crate::html::esc;
use crate::Ctx;

const README: &str = include_str!("../../../../README.md");

pub fn routes() -> Router<Ctx> {
    Router::new().route("/help/matrix", get(matrix))
}

/// The text of one `## ` section of the README, heading excluded; empty if it is missing.
pub fn section(readme: &str, heading: &str) -> String {
    let start = format!("## {heading}\n");
    let Some(at) = readme.find(&start) else {
        return String::new();
    };
    let rest = &readme[at + start.len()..];
    let end = rest.find("\n## ").map_or(rest.len(), |end| end + 1);
    rest[..end].trim().to_string()
}

async fn matrix(Page(shell): Page) -> PageResult {
    let body = format!(
        r#"<p class="lead">{lead}</p><section class="card"><pre class="source">{text}</pre></section>"#,
        lead = shell.t("help.matrix_lead"),
        text = esc(&section(README, "Connecting to Matrix")),
    );
    Ok(html(
        StatusCode::OK,
        shell.page("overview", shell.t("help.matrix_title"), &body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_section_is_found_and_ends_at_the_next_heading() {
        let text = section(README, "Connecting to Matrix");
        assert!(text.contains("[matrix]"), "{text}");
        assert!(!text.contains("## "), "{text}");
        assert_eq!(section("## A\none\n## B\ntwo\n", "A"), "one");
        assert_eq!(section("## A\none\n", "Z"), "");
    }
}
