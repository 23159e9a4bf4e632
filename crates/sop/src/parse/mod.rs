//! Reading operators' plans: TOML (or JSON from the API) into a checked [`Plan`], or diagnostics.
//!
//! Every problem is reported, not just the first, each with the field path (`steps[2].at`) and,
//! for TOML, the line and column, so the console and the CLI can point at it.

mod activity;
mod decode;
pub(crate) mod fields;

mod node;
mod reader;
mod rule;
#[cfg(test)]
mod tests;

use std::ops::Range;

use crate::plan::Plan;

/// One problem in a plan's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; absent for JSON, whose parser keeps no positions past syntax errors.
    pub line: Option<usize>,
    /// 1-based, in characters (not bytes: Chinese text is common).
    pub column: Option<usize>,
    /// `steps[2].at`; empty for syntax errors.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    /// `file:line:col: path: message`, leaving out what is unknown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Checks a plan on its own, outside any workspace: a plan that names no `timezone` is read in
/// [`DEFAULT_TIMEZONE`](crate::plan::DEFAULT_TIMEZONE). What runs or previews a plan for a
/// workspace uses [`parse_plan_in`] with the workspace's zone.
pub fn parse_plan(source: &str, file_name: &str) -> Result<Plan, Vec<Diagnostic>> {
    parse_plan_in(source, file_name, crate::plan::DEFAULT_TIMEZONE)
}

/// Parses a plan; JSON when the file name ends in `.json` or the source starts with `{`. A plan
/// that names no `timezone` runs in `zone`.
///
/// The plan id defaults to the file name without its extension.
pub fn parse_plan_in(
    source: &str,
    file_name: &str,
    zone: chrono_tz::Tz,
) -> Result<Plan, Vec<Diagnostic>> {
    let is_json =
        file_name.to_ascii_lowercase().ends_with(".json") || source.trim_start().starts_with('{');
    let default_id = std::path::Path::new(file_name)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("plan")
        .to_string();
    if is_json {
        let value: serde_json::Value = serde_json::from_str(source).map_err(|error| {
            vec![Diagnostic {
                file: file_name.to_string(),
                line: Some(error.line()),
                column: Some(error.column()),
                path: String::new(),
                message: format!("invalid JSON: {error}"),
            }]
        })?;
        decode::decode(&node::from_json(&value), None, file_name, &default_id, zone)
    } else {
        let document = toml_edit::Document::parse(source).map_err(|error| {
            let (line, column) = error.span().map_or((None, None), |span| {
                let (line, column) = line_column(source, span.start);
                (Some(line), Some(column))
            });
            vec![Diagnostic {
                file: file_name.to_string(),
                line,
                column,
                path: String::new(),
                message: format!("invalid TOML: {}", error.message()),
            }]
        })?;
        decode::decode(
            &node::from_toml(&document),
            Some(source),
            file_name,
            &default_id,
            zone,
        )
    }
}

/// 1-based line and character column of a byte offset.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

fn floor_char_boundary(source: &str, mut offset: usize) -> usize {
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Where inside a string literal's source a piece of its decoded text was written.
///
/// Escapes make decoded and raw offsets differ, so the piece is looked up in the raw literal by
/// how many times it occurred before; falls back to the literal's start.
pub(crate) fn span_within(
    source: &str,
    literal: &Range<usize>,
    decoded: &str,
    decoded_offset: usize,
    piece_len: usize,
) -> usize {
    let end = (decoded_offset + piece_len).min(decoded.len());
    let Some(piece) = decoded.get(decoded_offset..end) else {
        return literal.start;
    };
    let earlier = decoded
        .get(..decoded_offset)
        .map_or(0, |before| before.matches(piece).count());
    let Some(raw) = source.get(literal.clone()) else {
        return literal.start;
    };
    raw.match_indices(piece)
        .nth(earlier)
        .map_or(literal.start, |(index, _)| literal.start + index)
}
