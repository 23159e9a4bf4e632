//! QR codes for live codes (`/j/{code}`), invite pages and posters.
//!
//! A [`Qr`] is encoded once and drawn three ways: as an SVG document (crisp at any size, for the
//! console and print), as a PNG (what a phone camera or WeChat's scanner gets), and as a module
//! grid that the poster renderer paints into its own canvas. Everything here is pure computation.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use qrcode::{Color, EcLevel, QrCode};

/// Modules of light margin on each side; scanners need four (ISO/IEC 18004).
pub const QUIET_ZONE: usize = 4;

/// Why a QR code could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("the text is too long for a QR code ({len} bytes)")]
    TooLong { len: usize },
    #[error("a QR module must be 1 to 64 pixels, not {0}")]
    ModuleSize(u32),
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// An encoded QR code: a square grid of dark and light modules, without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qr {
    width: usize,
    dark: Vec<bool>,
}

impl Qr {
    /// Encodes `text` at error-correction level M (15 %), which survives a printed poster's wear
    /// while keeping a URL's code small enough to scan from a phone screen.
    pub fn encode(text: &str) -> Result<Qr, QrError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|_| QrError::TooLong { len: text.len() })?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Qr { width, dark })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Modules per side with the quiet zone on both sides.
    pub fn width_with_margin(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// Whether the module at column `x`, row `y` (quiet zone excluded) is dark; outside is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// Whether the module at (`x`, `y`) counted from the outer corner of the quiet zone is dark.
    pub fn is_dark_with_margin(&self, x: usize, y: usize) -> bool {
        match (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) {
            (Some(x), Some(y)) => self.is_dark(x, y),
            _ => false,
        }
    }

    /// An SVG document, one module per user unit, dark modules as one path (small and crisp).
    pub fn svg(&self) -> String {
        let side = self.width_with_margin();
        let mut path = String::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                // One horizontal run of dark modules becomes one rectangle in the path.
                let start = x;
                while x < self.width && self.is_dark(x, y) {
                    x += 1;
                }
                path.push_str(&format!(
                    "M{} {}h{}v1h-{}z",
                    start + QUIET_ZONE,
                    y + QUIET_ZONE,
                    x - start,
                    x - start
                ));
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
             shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
             <path fill=\"#000\" d=\"{path}\"/></svg>"
        )
    }

    /// A grayscale PNG with `module_px` pixels per module, quiet zone included.
    pub fn png(&self, module_px: u32) -> Result<Vec<u8>, QrError> {
        if !(1..=64).contains(&module_px) {
            return Err(QrError::ModuleSize(module_px));
        }
        let scale = module_px as usize;
        let side = self.width_with_margin() * scale;
        let mut pixels = Vec::with_capacity(side * side);
        for py in 0..side {
            for px in 0..side {
                let dark = self.is_dark_with_margin(px / scale, py / scale);
                pixels.push(if dark { 0u8 } else { 255u8 });
            }
        }
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder
                .write_header()
                .map_err(|e| QrError::Png(e.to_string()))?;
            writer
                .write_image_data(&pixels)
                .map_err(|e| QrError::Png(e.to_string()))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_encodes_with_finder_patterns_in_three_corners() {
        let qr = Qr::encode("https://example.com/j/store?ch=xhs").unwrap();
        assert!(
            qr.width() >= 21 && (qr.width() - 17).is_multiple_of(4),
            "{}",
            qr.width()
        );
        let w = qr.width();
        // Each finder pattern's outer ring is dark at its corner; the bottom right has none.
        assert!(qr.is_dark(0, 0) && qr.is_dark(w - 1, 0) && qr.is_dark(0, w - 1));
        assert!(qr.is_dark(6, 6) && !qr.is_dark(7, 7));
        assert!(!qr.is_dark_with_margin(0, 0) && qr.is_dark_with_margin(QUIET_ZONE, QUIET_ZONE));
    }

    #[test]
    fn svg_and_png_draw_the_same_grid() {
        let qr = Qr::encode("qunzhu").unwrap();
        let svg = qr.svg();
        assert!(
            svg.starts_with("<svg") && svg.contains("viewBox=\"0 0 29 29\""),
            "{svg}"
        );
        let png = qr.png(3).unwrap();
        let decoder = png::Decoder::new(png.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.width as usize, qr.width_with_margin() * 3);
        let at = |x: usize, y: usize| buf[(y * 3 + 1) * info.width as usize + x * 3 + 1] == 0;
        for y in 0..qr.width_with_margin() {
            for x in 0..qr.width_with_margin() {
                assert_eq!(at(x, y), qr.is_dark_with_margin(x, y), "module {x},{y}");
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(
            Qr::encode(&"x".repeat(5000)),
            Err(QrError::TooLong { len: 5000 })
        );
        let qr = Qr::encode("a").unwrap();
        assert_eq!(qr.png(0), Err(QrError::ModuleSize(0)));
        assert_eq!(qr.png(65), Err(QrError::ModuleSize(65)));
    }
}
