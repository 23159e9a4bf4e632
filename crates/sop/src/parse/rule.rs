//! Decoding a step's time rule and text: the part where impossible times and days are caught.

use std::collections::BTreeMap;

use super::node::{Node, Value};
use super::reader::{Decoder, Table};
use super::{fields, span_within};
use crate::plan::{Anchor, MonthDay, TimeRule};
use crate::render::CompiledText;

const REPEATS: &[&str] = &["daily", "weekly", "monthly", "once", "relative"];
/// Keys that belong to one kind of rule only, with the kinds they apply to.
const RULE_KEYS: &[(&str, &[&str])] = &[
    ("weekdays", &["weekly"]),
    ("day", &["monthly"]),
    ("months", &["monthly"]),
    ("date", &["once"]),
    ("anchor", &["relative"]),
    ("offset_days", &["relative"]),
];

impl Decoder<'_> {
    pub(super) fn rule(&mut self, table: &Table<'_>) -> Option<TimeRule> {
        let repeat_node = self.required(table, "repeat");
        let repeat = repeat_node.and_then(|node| {
            self.parsed(node, &table.path("repeat"), |text| {
                REPEATS
                    .iter()
                    .find(|known| **known == text)
                    .copied()
                    .ok_or_else(|| {
                        format!(
                            "unknown repeat `{text}`; expected one of: {}",
                            REPEATS.join(", ")
                        )
                    })
            })
        });
        let at = self
            .required(table, "at")
            .and_then(|node| self.parsed(node, &table.path("at"), fields::time));
        let repeat = repeat?;
        for (key, applies_to) in RULE_KEYS {
            if table.get(key).is_some() && !applies_to.contains(&repeat) {
                let span = table
                    .key_span(key)
                    .or(table.get(key).and_then(|node| node.span.as_ref()));
                self.report(
                    &table.path(key),
                    span,
                    format!("`{key}` does not apply to repeat = \"{repeat}\""),
                );
            }
        }
        match repeat {
            "daily" => Some(TimeRule::Daily { at: at? }),
            "weekly" => {
                let node = self.required(table, "weekdays")?;
                let path = table.path("weekdays");
                let mut weekdays = self.each(node, &path, |decoder, item, path| {
                    decoder.parsed(item, path, fields::weekday)
                });
                if weekdays.is_empty()
                    && self
                        .array(node, &path)
                        .is_some_and(|items| items.is_empty())
                {
                    self.report(
                        &path,
                        node.span.as_ref(),
                        "a weekly step needs at least one weekday",
                    );
                    return None;
                }
                weekdays.sort_by_key(|weekday| weekday.num_days_from_monday());
                weekdays.dedup();
                Some(TimeRule::Weekly { weekdays, at: at? })
            }
            "monthly" => self.monthly(table, at),
            "once" => {
                let date = self
                    .required(table, "date")
                    .and_then(|node| self.parsed(node, &table.path("date"), fields::date));
                Some(TimeRule::Once {
                    at: date?.and_time(at?),
                })
            }
            _ => {
                let anchor = self
                    .required(table, "anchor")
                    .and_then(|node| self.string(node, &table.path("anchor")));
                let offset_days = table.get("offset_days").map_or(Some(0), |node| {
                    self.integer(node, &table.path("offset_days"), -366..=366)
                });
                let anchor = match anchor?.as_str() {
                    "group_created" => Anchor::GroupCreated,
                    name => Anchor::Named(name.to_string()),
                };
                Some(TimeRule::Relative {
                    anchor,
                    offset_days: i32::try_from(offset_days?).ok()?,
                    at: at?,
                })
            }
        }
    }

    pub(super) fn monthly(
        &mut self,
        table: &Table<'_>,
        at: Option<chrono::NaiveTime>,
    ) -> Option<TimeRule> {
        let months = match table.get("months") {
            Some(node) => self.each(node, &table.path("months"), |decoder, item, path| {
                decoder
                    .integer(item, path, 1..=12)
                    .and_then(|month| u32::try_from(month).ok())
            }),
            None => Vec::new(),
        };
        let node = self.required(table, "day")?;
        let path = table.path("day");
        let day = match &node.value {
            Value::Str(text) if text == "last" => MonthDay::Last,
            Value::Int(number) => {
                let checked = match u32::try_from(*number) {
                    Ok(day) => fields::month_day_fits(day, &months).map(|()| day),
                    Err(_) => Err(format!("impossible monthly day {number}: days run 1–31 (use \"last\" for a month's last day)")),
                };
                match checked {
                    Ok(day) => MonthDay::Day(day),
                    Err(message) => {
                        self.report(&path, node.span.as_ref(), message);
                        return None;
                    }
                }
            }
            other => {
                self.report(
                    &path,
                    node.span.as_ref(),
                    format!("expected a day 1–31 or \"last\", found {}", describe(other)),
                );
                return None;
            }
        };
        Some(TimeRule::Monthly {
            day,
            months,
            at: at?,
        })
    }

    pub(super) fn text(
        &mut self,
        node: &Node,
        path: &str,
        links: &BTreeMap<String, String>,
    ) -> Option<String> {
        let text = self.string(node, path)?;
        if text.trim().is_empty() {
            self.report(
                path,
                node.span.as_ref(),
                "empty text: a step must post something",
            );
            return None;
        }
        if let Err(errors) = CompiledText::compile(&text, links) {
            for error in errors {
                let piece_len = text[error.offset..].find('}').map_or(1, |close| close + 1);
                let offset = match (self.source, node.span.as_ref()) {
                    (Some(source), Some(span)) => {
                        Some(span_within(source, span, &text, error.offset, piece_len))
                    }
                    _ => None,
                };
                self.report_at(path, offset, error.message);
            }
            return None;
        }
        Some(text)
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Str(text) => format!("\"{text}\""),
        other => other.kind().to_string(),
    }
}
