//! Painting a poster: the template's fixed texts are checked against the font (every glyph
//! present, every text inside its box after wrapping — never cut) and painted once onto the
//! background; each member's card then adds their name, avatar and QR code to a copy.

use std::sync::Arc;

use ab_glyph::{point, Font as _, PxScale, ScaleFont};
use qunzhu_qr::Qr;

use crate::canvas::{decode, Canvas};
use crate::font::Font;
use crate::template::{
    line_col, parse_template, Align, Element, Problems, Rgba, Template, TextBox, NAME,
};
use crate::wrap::{ellipsize, wrap};
use crate::PosterError;

/// Who a poster is for: their display name and the link their QR code opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Card<'a> {
    pub name: &'a str,
    pub link: &'a str,
}

/// A checked template with its fixed layer painted, ready to make members' posters.
#[derive(Clone)]
pub struct Poster {
    template: Template,
    base: Canvas,
    font: Arc<Font>,
}

/// Why a text does not fit its box, in words an operator can act on.
fn misfit(text: &TextBox, font: &Font) -> Option<String> {
    let missing: Vec<String> = text
        .text
        .replace(NAME, "")
        .chars()
        .filter(|&c| !font.has(c))
        .map(|c| format!("`{c}` (U+{:04X})", c as u32))
        .collect();
    if !missing.is_empty() {
        return Some(format!("the font has no glyph for {}", missing.join(", ")));
    }
    let size = text.size as f32;
    let measure = |piece: &str| font.measure(piece, size);
    match wrap(&text.text.replace(NAME, ""), text.width as f32, measure) {
        Err(too_wide) => Some(format!(
            "`{}` is {:.0} px wide at size {}, wider than the {} px box, and a word is never cut",
            too_wide.word,
            measure(&too_wide.word),
            text.size,
            text.width
        )),
        Ok(lines) if lines.len() > text.max_lines as usize => Some(format!(
            "the text needs {} lines at size {} in a {} px wide box, but max_lines is {}: shorten it, widen the box, lower size or raise max_lines",
            lines.len(),
            text.size,
            text.width,
            text.max_lines
        )),
        Ok(_) => None,
    }
}

impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the pixels: a poster's layer is megabytes.
        f.debug_struct("Poster")
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

impl Poster {
    /// Checks `source` (with the font: does every text fit?), decodes the background image if
    /// any and paints the fixed layer. Template problems come back all at once, each located.
    pub fn new(
        source: &str,
        background: Option<&[u8]>,
        font: Arc<Font>,
    ) -> Result<Poster, PosterError> {
        let template = parse_template(source).map_err(PosterError::Template)?;
        let mut problems = Problems::new(source);
        for text in &template.texts {
            if let Some(message) = misfit(text, &font) {
                let offset = offset_of(source, text.at.line, text.at.col);
                problems.at(
                    offset..offset,
                    format!("{}.text", text.element.key()),
                    message,
                );
            }
        }
        if !problems.found.is_empty() {
            return Err(PosterError::Template(problems.found));
        }
        let mut base = Canvas::filled(template.width, template.height, template.color);
        if let Some(bytes) = background {
            base.cover_with(&decode(bytes)?);
        }
        for text in &template.texts {
            if text.element != Element::Member {
                let lines = wrap(&text.text, text.width as f32, |piece| {
                    font.measure(piece, text.size as f32)
                })
                .unwrap_or_default();
                paint_lines(&mut base, &font, text, &lines);
            }
        }
        Ok(Poster {
            template,
            base,
            font,
        })
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    /// The poster for `card` as pixels.
    pub fn canvas(&self, card: Card<'_>) -> Result<Canvas, PosterError> {
        let mut canvas = self.base.clone();
        let font = &self.font;
        // A member's name is theirs, not the operator's: characters the font lacks (emoji) are
        // left out, and a name too long for the box is shortened with `…` rather than refused.
        let name: String = card.name.chars().filter(|&c| font.has(c)).collect();
        if let Some(member) = self.template.member() {
            let lines = member_lines(member, font, name.trim());
            paint_lines(&mut canvas, font, member, &lines);
        }
        if let Some(avatar) = self.template.avatar {
            canvas.fill_disc(avatar.x, avatar.y, avatar.size, avatar.color);
            if let Some(initial) = name.trim().chars().next() {
                let size = avatar.size as f32 * 0.5;
                let initial = initial.to_string();
                let width = font.measure(&initial, size);
                let x = avatar.x as f32 + (avatar.size as f32 - width) / 2.0;
                let scaled = font.face().as_scaled(PxScale::from(size));
                let baseline = avatar.y as f32
                    + (avatar.size as f32 - (scaled.ascent() - scaled.descent())) / 2.0
                    + scaled.ascent();
                paint_run(
                    &mut canvas,
                    font,
                    &initial,
                    size,
                    (x, baseline),
                    Rgba([255, 255, 255, 255]),
                );
            }
        }
        self.paint_qr(&mut canvas, card.link)?;
        Ok(canvas)
    }

    /// The poster for `card` as a PNG file.
    pub fn render(&self, card: Card<'_>) -> Result<Vec<u8>, PosterError> {
        self.canvas(card)?.png()
    }

    fn paint_qr(&self, canvas: &mut Canvas, link: &str) -> Result<(), PosterError> {
        let qr = Qr::encode(link)?;
        let boxed = self.template.qr;
        let modules = qr.width_with_margin();
        // Whole pixels per module: a scanner reads uneven modules badly.
        let module = boxed.size / modules as u32;
        if module == 0 {
            return Err(PosterError::QrTooDense {
                modules,
                size: boxed.size,
            });
        }
        canvas.fill_rect(boxed.x, boxed.y, boxed.size, boxed.size, boxed.light);
        let inset = (boxed.size - module * modules as u32) / 2;
        for row in 0..modules {
            for column in 0..modules {
                if qr.is_dark_with_margin(column, row) {
                    canvas.fill_rect(
                        boxed.x + inset + column as u32 * module,
                        boxed.y + inset + row as u32 * module,
                        module,
                        module,
                        boxed.dark,
                    );
                }
            }
        }
        Ok(())
    }
}

/// The member box's lines with `name` filled in, the name shortened until the text fits (the
/// template was checked to fit with an empty name, so this always ends).
fn member_lines(member: &TextBox, font: &Font, name: &str) -> Vec<String> {
    let size = member.size as f32;
    let measure = |piece: &str| font.measure(piece, size);
    let fits = |text: &str| {
        wrap(text, member.width as f32, measure)
            .ok()
            .filter(|lines| lines.len() <= member.max_lines as usize)
    };
    let mut budget = member.width as f32 * member.max_lines as f32;
    loop {
        let shortened = ellipsize(name, budget, measure);
        if let Some(lines) = fits(&member.text.replace(NAME, &shortened)) {
            return lines;
        }
        if shortened.is_empty() {
            return fits(&member.text.replace(NAME, "")).unwrap_or_default();
        }
        budget = measure(&shortened) - 1.0;
    }
}

/// Paints wrapped lines into their box, each line centred vertically in its line height.
fn paint_lines(canvas: &mut Canvas, font: &Font, text: &TextBox, lines: &[String]) {
    let size = text.size as f32;
    let scaled = font.face().as_scaled(PxScale::from(size));
    let leading = (text.line_height as f32 - (scaled.ascent() - scaled.descent())) / 2.0;
    for (index, line) in lines.iter().enumerate() {
        let top = text.y as f32 + index as f32 * text.line_height as f32;
        let x = match text.align {
            Align::Left => text.x as f32,
            Align::Center => text.x as f32 + (text.width as f32 - font.measure(line, size)) / 2.0,
        };
        paint_run(
            canvas,
            font,
            line,
            size,
            (x, top + leading + scaled.ascent()),
            text.color,
        );
    }
}

/// Paints one line of glyphs from `origin` (x, baseline).
fn paint_run(
    canvas: &mut Canvas,
    font: &Font,
    line: &str,
    size: f32,
    origin: (f32, f32),
    color: Rgba,
) {
    let scale = PxScale::from(size);
    let scaled = font.face().as_scaled(scale);
    let mut x = origin.0;
    for c in line.chars() {
        let id = scaled.glyph_id(c);
        let glyph = id.with_scale_and_position(scale, point(x, origin.1));
        x += scaled.h_advance(id);
        if let Some(outline) = font.face().outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let (left, top) = (bounds.min.x as i64, bounds.min.y as i64);
            outline.draw(|gx, gy, coverage| {
                canvas.blend(left + i64::from(gx), top + i64::from(gy), color, coverage);
            });
        }
    }
}

/// The byte offset of a 1-based line and character column (the inverse of `line_col`).
fn offset_of(source: &str, line: usize, col: usize) -> usize {
    let start: usize = source
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let within = source
        .get(start..)
        .unwrap_or("")
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(0, |(at, _)| at);
    let offset = start + within;
    debug_assert_eq!(line_col(source, offset), (line, col));
    offset
}
