//! Fission posters (裂变海报): a template with the six elements of article 000, the inviter's
//! name and avatar placeholder, and their personal QR code, rendered into a PNG.
//!
//! Pure: the caller hands in the template's source, the background image's bytes and the font's
//! bytes, and gets PNG bytes back. Everything that does not depend on the member (background,
//! title, subtitle, intro, benefits, how to join) is painted once by [`Poster::new`]; a member's
//! poster copies that layer and adds their name, avatar and code, which keeps one poster well
//! under the 50 ms the bench aims for.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod canvas;
mod font;
mod paint;
mod template;
mod wrap;

pub use canvas::{decode, Canvas, Decoded, MAX_IMAGE_SIDE};
pub use font::{Font, DEFAULT_FONT_PATHS, FONT_HINT};
pub use paint::{Card, Poster};
pub use template::{
    parse_template, Align, Avatar, Element, Location, QrBox, Rgba, Template, TemplateError,
    TextBox, DEFAULT_TEMPLATE, MAX_SIDE, MIN_QR, NAME,
};
pub use wrap::{ellipsize, is_cjk, wrap, TooWide};

/// Why a poster could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    /// The template is wrong; every problem is located (`line:col: field: message`).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Template(Vec<TemplateError>),
    #[error("background image: {0}")]
    Background(String),
    #[error("font: {0}")]
    Font(String),
    #[error("QR code: {0}")]
    Qr(#[from] qunzhu_qr::QrError),
    #[error(
        "the member's link makes a QR code of {modules} modules, too many for a {size} px box"
    )]
    QrTooDense { modules: usize, size: u32 },
    #[error("PNG encoding failed: {0}")]
    Png(String),
}
