//! Charts drawn on the server as inline SVG: no script and no outside library needed to see them.
//!
//! Colours come from CSS classes (`.s1`, `.s2`), so the stylesheet themes every chart.

use std::fmt::Write;

use crate::html::esc;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Bars,
    Line,
}

/// One named series of a chart; `class` picks its colour in the stylesheet.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    pub name: &'a str,
    pub values: Vec<u64>,
    pub mark: Mark,
    pub class: &'a str,
}

/// A round number at or above `max`, so grid lines fall on readable values.
pub fn nice_ceiling(max: u64) -> u64 {
    if max <= 4 {
        return 4;
    }
    let magnitude = 10u64.pow((max as f64).log10().floor() as u32);
    for step in [1, 2, 5, 10] {
        let candidate = step * magnitude;
        if candidate >= max {
            return candidate;
        }
    }
    10 * magnitude
}

/// A tiny line with a filled area, for tables and cards.
pub fn sparkline(values: &[u64], label: &str) -> String {
    let (width, height) = (120.0, 28.0);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = if values.len() > 1 {
        width / (values.len() - 1) as f64
    } else {
        width
    };
    let points: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            (
                index as f64 * step,
                height - 2.0 - (*value as f64 / max) * (height - 4.0),
            )
        })
        .collect();
    let mut line = String::new();
    for (x, y) in &points {
        let _ = write!(line, "{x:.1},{y:.1} ");
    }
    let area = format!("0,{height} {line}{width},{height}");
    format!(
        r#"<svg class="spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" aria-label="{}"><polygon class="area" points="{area}"/><polyline points="{}"/></svg>"#,
        esc(label),
        line.trim_end()
    )
}

/// A chart of daily series: bars and lines over shared x labels, with a grid and a legend.
pub fn chart(title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let (width, height) = (640.0_f64, 220.0_f64);
    let (left, right, top, bottom) = (40.0, 8.0, 10.0, 24.0);
    let plot_width = width - left - right;
    let plot_height = height - top - bottom;
    let count = labels.len().max(1);
    let max = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .max()
            .unwrap_or(0),
    );
    let y_of = |value: u64| top + plot_height - (value as f64 / max as f64) * plot_height;
    let slot = plot_width / count as f64;
    let mut out = format!(
        r#"<figure class="chart"><svg viewBox="0 0 {width} {height}" role="img" aria-label="{}">"#,
        esc(title)
    );
    for tick in 0..=4u64 {
        let value = max * tick / 4;
        let y = y_of(value);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="ax" x="{}" y="{:.1}" text-anchor="end">{value}</text>"#,
            width - right,
            left - 6.0,
            y + 4.0
        );
    }
    let bar_series: Vec<&Series<'_>> = series.iter().filter(|s| s.mark == Mark::Bars).collect();
    let bar_width = (slot * 0.72) / bar_series.len().max(1) as f64;
    for (position, bars) in bar_series.iter().enumerate() {
        for (index, value) in bars.values.iter().enumerate() {
            let x = left + index as f64 * slot + slot * 0.14 + position as f64 * bar_width;
            let y = y_of(*value);
            let _ = write!(
                out,
                r#"<rect class="{}" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" rx="1.5"><title>{}: {value}</title></rect>"#,
                esc(bars.class),
                bar_width.max(1.0),
                (top + plot_height - y).max(0.0),
                esc(labels.get(index).map_or("", String::as_str))
            );
        }
    }
    for line in series.iter().filter(|s| s.mark == Mark::Line) {
        let mut points = String::new();
        for (index, value) in line.values.iter().enumerate() {
            let _ = write!(
                points,
                "{:.1},{:.1} ",
                left + (index as f64 + 0.5) * slot,
                y_of(*value)
            );
        }
        let _ = write!(
            out,
            r#"<polyline class="line {}" points="{}"/>"#,
            esc(line.class),
            points.trim_end()
        );
    }
    // About six labels whatever the number of days, always including the last (today).
    let every = count.div_ceil(6).max(1);
    for (index, label) in labels.iter().enumerate() {
        if (count - 1 - index).is_multiple_of(every) {
            let x = left + (index as f64 + 0.5) * slot;
            let _ = write!(
                out,
                r#"<text class="ax" x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
                height - 6.0,
                esc(label)
            );
        }
    }
    out.push_str("</svg><figcaption class=\"legend\">");
    for s in series {
        let _ = write!(
            out,
            r#"<span><i class="{}"></i>{}</span>"#,
            esc(s.class),
            esc(s.name)
        );
    }
    out.push_str("</figcaption></figure>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_round_and_never_below_the_data() {
        for (max, expected) in [
            (0, 4),
            (3, 4),
            (7, 10),
            (13, 20),
            (48, 50),
            (51, 100),
            (100, 100),
            (1234, 2000),
        ] {
            assert_eq!(nice_ceiling(max), expected, "{max}");
        }
    }

    #[test]
    fn charts_escape_labels_and_draw_every_value() {
        let labels: Vec<String> = (1..=3).map(|d| format!("<{d}>")).collect();
        let svg = chart(
            "t<",
            &labels,
            &[
                Series {
                    name: "m",
                    values: vec![1, 2, 3],
                    mark: Mark::Bars,
                    class: "s1",
                },
                Series {
                    name: "s",
                    values: vec![0, 1, 0],
                    mark: Mark::Line,
                    class: "s2",
                },
            ],
        );
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("&lt;3&gt;") && !svg.contains("<3>"));
        assert!(svg.contains(r#"aria-label="t&lt;""#));
        assert_eq!(sparkline(&[0, 5, 2], "x").matches("polyline").count(), 1);
    }
}

/// A funnel: one horizontal bar per stage, its width relative to the first, with the count and
/// the share of the first stage written beside it.
pub fn funnel(title: &str, stages: &[(String, u64)]) -> String {
    let (width, row, label_width) = (640.0_f64, 34.0_f64, 130.0_f64);
    let height = row * stages.len().max(1) as f64 + 8.0;
    let first = stages.first().map_or(0, |(_, count)| *count).max(1);
    let bar_room = width - label_width - 150.0;
    let mut out = format!(
        r#"<figure class="chart funnel"><svg viewBox="0 0 {width} {height}" role="img" aria-label="{}">"#,
        esc(title)
    );
    for (index, (label, count)) in stages.iter().enumerate() {
        let y = 4.0 + index as f64 * row;
        let share = *count as f64 / first as f64;
        let bar = (bar_room * share).max(1.0);
        let _ = write!(
            out,
            r#"<text class="ax" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="bar s{}" x="{label_width}" y="{y:.1}" width="{bar:.1}" height="{:.1}" rx="2"><title>{}: {count}</title></rect><text class="ax" x="{:.1}" y="{:.1}">{count} · {:.1}%</text>"#,
            label_width - 8.0,
            y + row * 0.55,
            esc(label),
            index + 1,
            row - 10.0,
            esc(label),
            label_width + bar + 8.0,
            y + row * 0.55,
            share * 100.0
        );
    }
    out.push_str("</svg></figure>");
    out
}

#[cfg(test)]
mod funnel_tests {
    #[test]
    fn a_funnel_draws_each_stage_relative_to_the_first() {
        let svg = super::funnel(
            "AARRR",
            &[
                ("acquired".into(), 200),
                ("activated".into(), 50),
                ("<x>".into(), 0),
            ],
        );
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("50 · 25.0%"), "{svg}");
        assert!(svg.contains("&lt;x&gt;") && !svg.contains("<x>"));
    }
}
