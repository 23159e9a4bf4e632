//! Preview: what a plan will post, to which groups, at what local time, before it runs.
//!
//! The console shows the rows; the CLI (`qunzhu sop preview --plan … --days 7`) prints
//! [`render_calendar_text`]. Both come from `materialize`, so the preview is what will happen.

use qunzhu_domain::Instant;
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::materialize::{materialize, Delivery, GroupFacts};
use crate::plan::{weekday_zh, Plan};

/// One step firing at one instant, across every group it reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    pub scheduled: DateTime<Utc>,
    /// Wall-clock time in `timezone`.
    pub local: NaiveDateTime,
    pub timezone: Tz,
    pub step: String,
    pub title: String,
    /// Group names, in the order of `groups`.
    pub groups: Vec<String>,
    /// How many of them need a person to send it (the platform cannot post by itself).
    pub human_tasks: usize,
    /// The text as the first group will read it.
    pub sample_text: String,
}

type RowBuilder = (PreviewRow, Vec<(usize, String)>);

/// Rows for `days` days from `from`, ordered by time, then by the step's place in the plan.
pub fn preview(
    plan: &Plan,
    groups: &[GroupFacts],
    from: DateTime<Utc>,
    days: u32,
) -> Vec<PreviewRow> {
    let until = from.plus(Duration::days(i64::from(days)));
    let names: BTreeMap<&str, &str> = groups
        .iter()
        .map(|group| (group.chat.as_str(), group.name.as_str()))
        .collect();
    let order: BTreeMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(index, group)| (group.chat.as_str(), index))
        .collect();
    let step_index: BTreeMap<&str, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| (step.id.as_str(), index))
        .collect();
    // Keyed by instant and step order; each row collects (position in `groups`, name).
    let mut rows: BTreeMap<(DateTime<Utc>, usize), RowBuilder> = BTreeMap::new();
    for occurrence in materialize(plan, groups, from, until) {
        let index = step_index
            .get(occurrence.step.as_str())
            .copied()
            .unwrap_or(usize::MAX);
        let position = order
            .get(occurrence.chat.as_str())
            .copied()
            .unwrap_or(usize::MAX);
        let name = names
            .get(occurrence.chat.as_str())
            .copied()
            .unwrap_or(occurrence.chat.as_str())
            .to_string();
        let (row, members) = rows
            .entry((occurrence.scheduled, index))
            .or_insert_with(|| {
                let title = plan
                    .steps
                    .get(index)
                    .map_or_else(|| occurrence.step.clone(), |step| step.title.clone());
                let row = PreviewRow {
                    scheduled: occurrence.scheduled,
                    local: occurrence.local,
                    timezone: occurrence.timezone,
                    step: occurrence.step.clone(),
                    title,
                    groups: Vec::new(),
                    human_tasks: 0,
                    sample_text: String::new(),
                };
                (row, Vec::new())
            });
        if members.iter().all(|(earlier, _)| position < *earlier) {
            row.sample_text = occurrence.text.clone();
        }
        if occurrence.delivery == Delivery::HumanTask {
            row.human_tasks += 1;
        }
        members.push((position, name));
    }
    rows.into_values()
        .map(|(mut row, mut members)| {
            members.sort();
            row.groups = members.into_iter().map(|(_, name)| name).collect();
            row
        })
        .collect()
}

/// How many group names a calendar line shows before summarising the rest.
const NAMES_SHOWN: usize = 3;
/// How many characters of the sample text a calendar line shows.
const SAMPLE_CHARS: usize = 40;

/// A plain-text calendar: a heading per local day, a line per firing with its groups and text.
pub fn render_calendar_text(rows: &[PreviewRow]) -> String {
    if rows.is_empty() {
        return "nothing scheduled in this period\n".to_string();
    }
    let mut out = String::new();
    let mut current_day: Option<NaiveDate> = None;
    for row in rows {
        let day = row.local.date();
        if current_day != Some(day) {
            if current_day.is_some() {
                out.push('\n');
            }
            out.push_str(&format!(
                "{day} {} ({})\n",
                weekday_zh(day.weekday()),
                row.timezone.name()
            ));
            current_day = Some(day);
        }
        let mut names = row
            .groups
            .iter()
            .take(NAMES_SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join("、");
        if row.groups.len() > NAMES_SHOWN {
            names.push_str(&format!(" +{} more", row.groups.len() - NAMES_SHOWN));
        }
        let count = row.groups.len();
        let plural = if count == 1 { "group" } else { "groups" };
        out.push_str(&format!(
            "  {}  {} [{}] → {count} {plural}: {names}",
            row.local.format("%H:%M"),
            row.title,
            row.step
        ));
        if row.human_tasks > 0 {
            out.push_str(&format!(" ({} by hand)", row.human_tasks));
        }
        out.push('\n');
        let first_line = row.sample_text.lines().next().unwrap_or_default();
        let mut sample: String = first_line.chars().take(SAMPLE_CHARS).collect();
        if first_line.chars().count() > SAMPLE_CHARS || row.sample_text.lines().nth(1).is_some() {
            sample.push('…');
        }
        out.push_str(&format!("         「{sample}」\n"));
    }
    out
}
