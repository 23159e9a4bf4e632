//! `qunzhu bench poster`: members' posters per second from the default template on one core
//! (the fixed layer painted once, as the server does, then name, avatar, QR code and PNG
//! encoding per member), with the p99 of one poster.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use qunzhu_poster::{Card, Font, Poster, DEFAULT_TEMPLATE};

use crate::bench::{peak_rss_bytes, print_figures};

/// Reads the first CJK font of `DEFAULT_FONT_PATHS` there is (or `configured`).
pub(crate) fn load_font(configured: Option<(&std::path::Path, u32)>) -> anyhow::Result<Arc<Font>> {
    let candidates: Vec<(std::path::PathBuf, u32)> = match configured {
        Some((path, index)) => vec![(path.to_path_buf(), index)],
        None => qunzhu_poster::DEFAULT_FONT_PATHS
            .iter()
            .map(|(path, index)| (path.into(), *index))
            .collect(),
    };
    for (path, index) in candidates {
        if let Ok(bytes) = std::fs::read(&path) {
            let font = Font::from_bytes(bytes, index)
                .with_context(|| format!("failed to read the font {}", path.display()))?;
            return Ok(Arc::new(font));
        }
    }
    anyhow::bail!(qunzhu_poster::FONT_HINT)
}

fn p99(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let index = ((samples.len() as f64 * 0.99).ceil() as usize).saturating_sub(1);
    let value = samples.get(index).copied().unwrap_or(0.0);
    (value * 100.0).round() / 100.0
}

pub fn run(posters: usize, font: Option<std::path::PathBuf>, json: bool) -> anyhow::Result<()> {
    let font = load_font(font.as_deref().map(|path| (path, 0)))?;
    let prepared = Instant::now();
    let poster = Poster::new(DEFAULT_TEMPLATE, None, font)?;
    let prepare_ms = prepared.elapsed().as_secs_f64() * 1000.0;
    let names = ["林小满", "Alexander", "张三丰大师傅", "小雨🌧", "Mia Wong"];
    let mut samples = Vec::with_capacity(posters);
    let mut bytes = 0usize;
    let started = Instant::now();
    for index in 0..posters {
        let link = format!("https://qunzhu.example/i/M{index:07}");
        let one = Instant::now();
        let png = poster.render(Card {
            name: names[index % names.len()],
            link: &link,
        })?;
        samples.push(one.elapsed().as_secs_f64() * 1000.0);
        bytes += png.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    let figures = serde_json::json!({
        "posters": posters,
        "width": poster.template().width,
        "height": poster.template().height,
        "posters_per_sec": (posters as f64 / seconds).round(),
        "p99_ms": p99(samples),
        "prepare_ms": (prepare_ms * 100.0).round() / 100.0,
        "mean_png_bytes": bytes / posters.max(1),
        "peak_rss_bytes": peak_rss_bytes(),
    });
    print_figures("poster bench (one core)", &figures, json);
    Ok(())
}
