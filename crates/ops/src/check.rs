//! Checks rule files and SOP plans before they are saved, with the pure crates that own them.
//!
//! Both crates report located diagnostics; this module gives them one shape for the API
//! (`field` = `source:LINE:COL`) and the console (a list beside the textarea, lines marked).

use qunzhu_domain::DocumentKind;
use serde::{Deserialize, Serialize};

/// The document kinds an operator edits as TOML in the rules/SOP editor and the API, each with
/// its checker; the other stored kinds have forms of their own. `kind` is what the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditableKind {
    /// A rule file (群规, 欢迎语, keyword lists, …), checked by `qunzhu-moderation`.
    Rules,
    /// An SOP plan, checked by `qunzhu-sop`.
    SopPlan,
}

impl EditableKind {
    /// The stored kind.
    pub fn kind(self) -> DocumentKind {
        match self {
            EditableKind::Rules => DocumentKind::Rules,
            EditableKind::SopPlan => DocumentKind::SopPlan,
        }
    }

    /// The audit log's noun: `rule.save`, `plan.delete`.
    pub fn audit_noun(self) -> &'static str {
        match self {
            EditableKind::Rules => "rule",
            EditableKind::SopPlan => "plan",
        }
    }
}

/// One problem in a source text, located where possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// A field path inside the document (`steps[2].at`), when the checker knows it.
    pub path: Option<String>,
    pub message: String,
}

impl Problem {
    /// `source:3:7` (or `source` when the line is unknown), for an API error's `field`.
    pub fn field(&self) -> String {
        match (self.line, self.column) {
            (Some(line), Some(column)) => format!("source:{line}:{column}"),
            (Some(line), None) => format!("source:{line}"),
            _ => "source".to_string(),
        }
    }
}

/// Document names: part of URLs and of the engine's origins (`rule:<name>`, `sop:<plan>/…`).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err("1–64 characters: lowercase letters, digits, - and _".to_string())
    }
}

/// Validates a rule file with `qunzhu-moderation`.
pub fn check_rules(name: &str, source: &str) -> Result<(), Vec<Problem>> {
    qunzhu_moderation::check(source, &format!("{name}.toml"))
        .map(|_| ())
        .map_err(|diagnostics| {
            diagnostics
                .into_iter()
                .map(|d| Problem {
                    line: Some(d.line),
                    column: Some(d.col),
                    path: None,
                    message: d.message,
                })
                .collect()
        })
}

/// Validates an SOP plan with `qunzhu-sop`.
pub fn check_plan(name: &str, source: &str) -> Result<qunzhu_sop::Plan, Vec<Problem>> {
    qunzhu_sop::parse_plan(source, &format!("{name}.toml")).map_err(|diagnostics| {
        diagnostics
            .into_iter()
            .map(|d| Problem {
                line: d.line,
                column: d.column,
                path: (!d.path.is_empty()).then_some(d.path),
                message: d.message,
            })
            .collect()
    })
}

/// Validates a document of either kind on the blocking pool: a huge rule file (tens of thousands
/// of keywords) takes a core for a while and must never hold an async worker, and with it
/// `/healthz` and every other request.
pub async fn check_off_thread(
    kind: EditableKind,
    name: &str,
    source: &str,
) -> crate::Result<Result<(), Vec<Problem>>> {
    let (name, source) = (name.to_string(), source.to_string());
    tokio::task::spawn_blocking(move || check(kind, &name, &source))
        .await
        .map_err(|error| crate::OpsError::Internal(format!("document check stopped: {error}")))
}

/// Validates a document of either kind.
pub fn check(kind: EditableKind, name: &str, source: &str) -> Result<(), Vec<Problem>> {
    match kind {
        EditableKind::SopPlan => check_plan(name, source).map(|_| ()),
        EditableKind::Rules => check_rules(name, source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_url_and_origin_safe() {
        for good in ["default", "vip-2", "a_b"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Default", "a b", "-x", "a/b", "规则", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shipped_templates_and_a_plain_rule_file_pass() {
        let rules = "[[rules]]\nname = \"ads\"\nkind = \"keywords\"\nwords = [\"加微信\"]\nladder = [\"redact+warn\", \"ban\"]\n";
        assert_eq!(check(EditableKind::Rules, "r", rules), Ok(()));
        for template in qunzhu_sop::templates() {
            let source = template.to_toml(
                qunzhu_sop::Target::chats(["!a:x"]),
                chrono_tz::Asia::Shanghai,
            );
            assert!(
                check_plan(template.id, &source).is_ok(),
                "{}: {:?}",
                template.id,
                check_plan(template.id, &source).err()
            );
        }
    }

    #[test]
    fn broken_sources_are_located_by_line() {
        let problems =
            check_rules("r", "[[rules]]\nname = \"x\"\nkind = \"keyword\"\n").unwrap_err();
        assert_eq!(problems[0].line, Some(3));
        assert_eq!(
            problems[0].field(),
            format!("source:3:{}", problems[0].column.unwrap_or(0))
        );
        let problems = check_plan("p", "name = \n").unwrap_err();
        assert_eq!(problems[0].line, Some(1));
    }
}
