//! The decoder's reading primitives: checked tables, typed values, and located diagnostics.
//!
//! Every reader reports its own mistake with the field path and span and returns `None`, so the
//! callers can go on and collect every problem in one pass.

use std::ops::Range;

use super::node::{Entry, Node, Value};
use super::{line_column, Diagnostic};

pub(super) struct Decoder<'a> {
    pub source: Option<&'a str>,
    pub file: &'a str,
    /// The zone of a plan that names none: the workspace's.
    pub zone: chrono_tz::Tz,
    pub diagnostics: Vec<Diagnostic>,
}

/// A table node whose keys were checked, with its field path.
pub(super) struct Table<'n> {
    pub node: &'n Node,
    pub entries: &'n [Entry],
    pub path: String,
}

impl<'n> Table<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| &entry.node)
    }

    pub fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn key_span(&self, key: &str) -> Option<&'n Range<usize>> {
        self.entries
            .iter()
            .find(|entry| entry.key == key)
            .and_then(|entry| entry.key_span.as_ref())
    }
}

impl Decoder<'_> {
    pub fn report(&mut self, path: &str, span: Option<&Range<usize>>, message: impl Into<String>) {
        self.report_at(path, span.map(|span| span.start), message);
    }

    pub fn report_at(&mut self, path: &str, offset: Option<usize>, message: impl Into<String>) {
        let (line, column) = match (self.source, offset) {
            (Some(source), Some(offset)) => {
                let (line, column) = line_column(source, offset);
                (Some(line), Some(column))
            }
            _ => (None, None),
        };
        self.diagnostics.push(Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub fn table<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Table<'n>> {
        let Value::Table(entries) = &node.value else {
            self.report(
                path,
                node.span.as_ref(),
                format!("expected a table, found {}", node.value.kind()),
            );
            return None;
        };
        let table = Table {
            node,
            entries,
            path: path.to_string(),
        };
        for entry in entries {
            if !allowed.contains(&entry.key.as_str()) {
                self.report(
                    &table.path(&entry.key),
                    entry.key_span.as_ref().or(node.span.as_ref()),
                    format!(
                        "unknown key `{}`; expected one of: {}",
                        entry.key,
                        allowed.join(", ")
                    ),
                );
            }
        }
        Some(table)
    }

    pub fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(text) => Some(text.clone()),
            other => {
                self.report(
                    path,
                    node.span.as_ref(),
                    format!("expected a string, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// A string, or a TOML date/time literal in its own spelling.
    pub fn string_or_datetime(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Datetime(text) => Some(text.clone()),
            _ => self.string(node, path),
        }
    }

    pub fn integer(
        &mut self,
        node: &Node,
        path: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        match node.value {
            Value::Int(number) if range.contains(&number) => Some(number),
            Value::Int(number) => {
                self.report(
                    path,
                    node.span.as_ref(),
                    format!("{number} is out of range {}–{}", range.start(), range.end()),
                );
                None
            }
            ref other => {
                self.report(
                    path,
                    node.span.as_ref(),
                    format!("expected an integer, found {}", other.kind()),
                );
                None
            }
        }
    }

    pub fn array<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Array(items) => Some(items),
            other => {
                self.report(
                    path,
                    node.span.as_ref(),
                    format!("expected an array, found {}", other.kind()),
                );
                None
            }
        }
    }

    /// Each item of an array through `read`, with its own path; failures are reported and dropped.
    pub fn each<T>(
        &mut self,
        node: &Node,
        path: &str,
        mut read: impl FnMut(&mut Self, &Node, &str) -> Option<T>,
    ) -> Vec<T> {
        let Some(items) = self.array(node, path) else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| read(self, item, &format!("{path}[{index}]")))
            .collect()
    }

    /// A string or date literal checked by `parse`; the error is reported at the value.
    pub fn parsed<T>(
        &mut self,
        node: &Node,
        path: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.string_or_datetime(node, path)?;
        parse(&text)
            .map_err(|message| self.report(path, node.span.as_ref(), message))
            .ok()
    }

    pub fn required<'n>(&mut self, table: &Table<'n>, key: &str) -> Option<&'n Node> {
        let node = table.get(key);
        if node.is_none() {
            self.report(
                &table.path(key),
                table.node.span.as_ref(),
                format!("missing `{key}`"),
            );
        }
        node
    }
}
