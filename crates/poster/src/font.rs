//! The CJK font posters are drawn with: loaded from bytes the caller read (a Debian package's file
//! by default, see [`DEFAULT_FONT_PATHS`]), never downloaded, and measured for wrapping.

use ab_glyph::{Font as _, FontVec, PxScale, ScaleFont};

use crate::PosterError;

/// Where Debian's CJK font packages put their fonts, best first, with the face to use inside a
/// collection: `fonts-noto-cjk` (face 2 of the collection is Simplified Chinese) and
/// `fonts-wqy-microhei` / `fonts-wqy-zenhei`.
pub const DEFAULT_FONT_PATHS: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
        0,
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
];

/// What to tell an operator whose machine has none of them.
pub const FONT_HINT: &str =
    "no CJK font found: install Debian's fonts-noto-cjk (or fonts-wqy-microhei), or set [poster] font";

/// A parsed font face.
pub struct Font {
    face: FontVec,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("glyphs", &self.face.glyph_count())
            .finish()
    }
}

impl Font {
    /// Parses face `index` of a TrueType/OpenType file or collection.
    pub fn from_bytes(data: Vec<u8>, index: u32) -> Result<Font, PosterError> {
        let face = FontVec::try_from_vec_and_index(data, index).map_err(|_| {
            PosterError::Font(format!(
                "face {index} of the file is not a TrueType or OpenType font"
            ))
        })?;
        Ok(Font { face })
    }

    pub(crate) fn face(&self) -> &FontVec {
        &self.face
    }

    /// Whether the font draws `c` (whitespace always counts as drawn).
    pub fn has(&self, c: char) -> bool {
        c.is_whitespace() || self.face.glyph_id(c).0 != 0
    }

    /// The advance width of `text` at `size` pixels (no kerning: CJK faces barely kern, and
    /// the painter lays glyphs out the same way, so what is measured is what is drawn).
    pub fn measure(&self, text: &str, size: f32) -> f32 {
        let scaled = self.face.as_scaled(PxScale::from(size));
        text.chars()
            .map(|c| scaled.h_advance(scaled.glyph_id(c)))
            .sum()
    }
}
