//! A small document tree both TOML and JSON are read into, keeping TOML's byte spans.
//!
//! One tree means one decoder: the same checks and the same field paths for either format,
//! with line and column added when the source kept them.

use std::ops::Range;

/// A value with where it was written, if known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub span: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A TOML date, time or date-time, in its TOML spelling (`2026-03-01`, `07:30:00`).
    Datetime(String),
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

/// A key of a table, with its own span so an unknown key is pointed at precisely.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Option<Range<usize>>,
    pub node: Node,
}

impl Value {
    /// How a type mismatch names what was found.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

/// The root table of a parsed TOML document.
pub(crate) fn from_toml(document: &toml_edit::Document<&str>) -> Node {
    let table = document.as_table();
    Node {
        value: Value::Table(toml_table(table)),
        span: Some(0..0),
    }
}

fn toml_table(table: &toml_edit::Table) -> Vec<Entry> {
    table
        .iter()
        .filter_map(|(key, item)| {
            let node = toml_item(item)?;
            let key_span = table.key(key).and_then(toml_edit::Key::span);
            Some(Entry {
                key: key.to_string(),
                node: Node {
                    span: node.span.clone().or(key_span.clone()),
                    ..node
                },
                key_span,
            })
        })
        .collect()
}

fn toml_item(item: &toml_edit::Item) -> Option<Node> {
    match item {
        toml_edit::Item::None => None,
        toml_edit::Item::Value(value) => Some(toml_value(value)),
        toml_edit::Item::Table(table) => Some(Node {
            value: Value::Table(toml_table(table)),
            span: table.span(),
        }),
        toml_edit::Item::ArrayOfTables(tables) => Some(Node {
            value: Value::Array(
                tables
                    .iter()
                    .map(|table| Node {
                        value: Value::Table(toml_table(table)),
                        span: table.span(),
                    })
                    .collect(),
            ),
            span: tables.span(),
        }),
    }
}

fn toml_value(value: &toml_edit::Value) -> Node {
    use toml_edit::Value as V;
    let converted = match value {
        V::String(text) => Value::Str(text.value().clone()),
        V::Integer(number) => Value::Int(*number.value()),
        V::Float(number) => Value::Float(*number.value()),
        V::Boolean(flag) => Value::Bool(*flag.value()),
        V::Datetime(datetime) => Value::Datetime(datetime.value().to_string()),
        V::Array(array) => Value::Array(array.iter().map(toml_value).collect()),
        V::InlineTable(table) => Value::Table(
            table
                .iter()
                .map(|(key, item)| Entry {
                    key: key.to_string(),
                    key_span: table.key(key).and_then(toml_edit::Key::span),
                    node: toml_value(item),
                })
                .collect(),
        ),
    };
    Node {
        value: converted,
        span: value.span(),
    }
}

/// A JSON value; JSON keeps no spans, so diagnostics carry the field path alone.
pub(crate) fn from_json(value: &serde_json::Value) -> Node {
    use serde_json::Value as J;
    let converted = match value {
        // A null is an absent key (filtered below); alone it reads as an empty table.
        J::Null => Value::Table(Vec::new()),
        J::Bool(flag) => Value::Bool(*flag),
        J::Number(number) => match number.as_i64() {
            Some(integer) => Value::Int(integer),
            None => Value::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(text) => Value::Str(text.clone()),
        J::Array(items) => Value::Array(
            items
                .iter()
                .filter(|item| !item.is_null())
                .map(from_json)
                .collect(),
        ),
        J::Object(map) => Value::Table(
            map.iter()
                .filter(|(_, item)| !item.is_null())
                .map(|(key, item)| Entry {
                    key: key.clone(),
                    key_span: None,
                    node: from_json(item),
                })
                .collect(),
        ),
    };
    Node {
        value: converted,
        span: None,
    }
}
