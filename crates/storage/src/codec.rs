//! Column encodings both backends share: times as microseconds, days as text, JSON as text.

use crate::{Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};

pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

pub fn opt_time(micros: Option<i64>) -> Option<DateTime<Utc>> {
    micros.map(time)
}

pub fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub fn day(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|error| StoreError::Backend(format!("bad day `{text}` in the database: {error}")))
}

pub fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| StoreError::Backend(error.to_string()))
}

pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|error| StoreError::Backend(format!("bad JSON in the database: {error}")))
}

pub fn parsed<T, E: std::fmt::Display>(result: std::result::Result<T, E>) -> Result<T> {
    result.map_err(|error| StoreError::Backend(error.to_string()))
}

/// A `documents.kind` column read back; a text no `DocumentKind` writes is a backend error that
/// names it, not a panic (the row was written by something newer or edited by hand).
pub fn document_kind(text: &str) -> Result<qunzhu_domain::DocumentKind> {
    text.parse().map_err(|error| {
        StoreError::Backend(format!(
            "bad documents.kind `{text}` in the database: {error}"
        ))
    })
}

/// The counter row that counts a connector's appended events (`events:-` for batches without
/// one): one row per connector, so concurrent ingests never contend on a single row.
pub fn event_counter(connector: Option<&str>) -> String {
    format!("events:{}", connector.unwrap_or("-"))
}
