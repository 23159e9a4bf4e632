//! Diagnostics for rule files: a message pinned to `file:line:col`, like a compiler's.

use std::fmt;
use std::ops::Range;

/// One problem found in a rule file; `Display` prints `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters (so a Chinese character is one column).
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

/// Collects diagnostics against one source text, turning byte offsets into line:col.
pub(crate) struct Reporter<'a> {
    source: &'a str,
    file: &'a str,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    pub(crate) fn new(source: &'a str, file: &'a str) -> Self {
        Reporter {
            source,
            file,
            diagnostics: Vec::new(),
        }
    }

    /// Records `message` at the start of `span` (a byte range into the source).
    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.error_at(span.start, message);
    }

    /// Records `message` at byte `offset`.
    pub(crate) fn error_at(&mut self, offset: usize, message: impl Into<String>) {
        let (line, col) = line_col(self.source, offset);
        self.diagnostics.push(Diagnostic {
            file: self.file.to_string(),
            line,
            col,
            message: message.into(),
        });
    }

    /// Where the text `needle` sits inside `span` of the source, if it is written there
    /// literally (used to point at a `{variable}` inside a template string).
    pub(crate) fn find_in_span(&self, span: &Range<usize>, needle: &str) -> Option<usize> {
        let slice = self.source.get(span.clone())?;
        slice.find(needle).map(|index| span.start + index)
    }
}

/// 1-based line and character column of a byte offset (clamped to the text).
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::line_col;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let source = "a = 1\n名字 = \"x\"\n";
        assert_eq!(line_col(source, 0), (1, 1));
        assert_eq!(line_col(source, 4), (1, 5));
        assert_eq!(line_col(source, 6), (2, 1));
        // "名字 " is 7 bytes but 3 characters.
        assert_eq!(line_col(source, 6 + 7), (2, 4));
        assert_eq!(line_col(source, 10_000), (3, 1));
    }
}
