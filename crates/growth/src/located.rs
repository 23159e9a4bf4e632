//! Locating problems in an operator's growth documents: a byte span becomes the `line:col` a
//! diagnostic reports, and the checks several documents make alike (the TOML itself, the
//! document's name, platform, time window and language) are written once here.
//!
//! Each document keeps its own error type (`CampaignError`, `PlayError`, …); implementing
//! [`Located`] lets [`Problems`] collect it.

use std::ops::Range;

use chrono::{DateTime, Utc};
use qunzhu_domain::Platform;
use serde::de::DeserializeOwned;
use toml::Spanned;

/// 1-based line and character column of a byte offset (an offset past the end is the end).
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[start..].chars().count() + 1)
}

/// A document's error type, made from where a problem is and what it says.
pub(crate) trait Located {
    fn located(line: usize, col: usize, field: String, message: String) -> Self;
}

/// The problems found in one document so far, each located in its `source`.
pub(crate) struct Problems<'a, E> {
    pub(crate) source: &'a str,
    pub(crate) found: Vec<E>,
}

impl<'a, E: Located> Problems<'a, E> {
    pub(crate) fn new(source: &'a str) -> Self {
        Problems {
            source,
            found: Vec::new(),
        }
    }

    pub(crate) fn at(
        &mut self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let (line, col) = line_col(self.source, span.start);
        self.found
            .push(E::located(line, col, field.into(), message.into()));
    }

    /// The document read as TOML into `T`, or `None` with the reader's error at `document`.
    pub(crate) fn toml<T: DeserializeOwned>(&mut self) -> Option<T> {
        match toml::from_str(self.source) {
            Ok(raw) => Some(raw),
            Err(error) => {
                self.at(
                    error.span().unwrap_or(0..0),
                    "document",
                    error.message().to_string(),
                );
                None
            }
        }
    }

    /// A document name is a storage key and part of action keys: 1 to 64 characters without
    /// `:`, `/` or spaces. `what` names the document (`campaign`, `play`).
    pub(crate) fn name(&mut self, name: &str, what: &str) {
        if name.trim().is_empty() || name.len() > 64 || name.contains([':', '/', ' ']) {
            self.at(
                0..0,
                "name",
                format!("a {what} name is 1 to 64 characters without `:`, `/` or spaces"),
            );
        }
    }

    /// The `platform` field; an unknown one is a problem (and the sandbox, so checking goes on).
    pub(crate) fn platform(&mut self, platform: &Spanned<String>) -> Platform {
        match Platform::parse(platform.get_ref()) {
            Ok(platform) => platform,
            Err(error) => {
                self.at(platform.span(), "platform", error.to_string());
                Platform::Sandbox
            }
        }
    }

    /// An RFC 3339 time, or a problem at `field` (and the earliest time).
    pub(crate) fn instant(&mut self, text: &Spanned<String>, field: &str) -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339(text.get_ref()) {
            Ok(at) => at.with_timezone(&Utc),
            Err(_) => {
                self.at(
                    text.span(),
                    field,
                    format!(
                        "`{}` is not a time like 2026-12-01T00:00:00+08:00",
                        text.get_ref()
                    ),
                );
                DateTime::<Utc>::MIN_UTC
            }
        }
    }

    /// The `starts` and `ends` times; ending first is a problem, reported only when nothing
    /// else was wrong so far (a bad time would make it a second, misleading one).
    pub(crate) fn window(
        &mut self,
        starts: &Spanned<String>,
        ends: &Spanned<String>,
        what: &str,
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        let (start, end) = (self.instant(starts, "starts"), self.instant(ends, "ends"));
        if end <= start && self.found.is_empty() {
            self.at(
                ends.span(),
                "ends",
                format!("the {what} ends before it starts"),
            );
        }
        (start, end)
    }

    /// Whether the optional `language` (`zh`, the default, or `en`) is English.
    pub(crate) fn english(&mut self, language: &Option<Spanned<String>>) -> bool {
        let Some(language) = language else {
            return false;
        };
        match language.get_ref().as_str() {
            "zh" => false,
            "en" => true,
            other => {
                self.at(
                    language.span(),
                    "language",
                    format!("`{other}` is not one of zh, en"),
                );
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let source = "a = 1\n标题 = \"x\"\n";
        let cases = [
            (0, (1, 1)),
            (4, (1, 5)),
            (6, (2, 1)),
            // After the two three-byte characters: column 3, counted in characters.
            (12, (2, 3)),
            (999, (3, 1)),
        ];
        for (offset, expected) in cases {
            assert_eq!(line_col(source, offset), expected, "offset {offset}");
        }
    }
}
