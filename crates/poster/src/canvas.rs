//! The pixels a poster is painted on: an opaque RGB buffer, the background image decoded into it
//! (PNG or JPEG, scaled to cover the canvas), alpha blending, and the PNG encoding of the result.
//!
//! Written against the `png` and `jpeg-decoder` crates directly rather than `image`: a poster
//! needs two decoders, one encoder and a scaler, and the general crate would bring a dozen codecs
//! into the build for nothing.

use crate::template::Rgba;
use crate::PosterError;

/// The largest background image accepted, per side; bigger is refused before decoding.
pub const MAX_IMAGE_SIDE: u32 = 8192;

/// An opaque RGB image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `color` (its alpha ignored).
    pub fn filled(width: u32, height: u32, color: Rgba) -> Canvas {
        let [r, g, b, _] = color.0;
        let pixels = [r, g, b].repeat(width as usize * height as usize);
        Canvas {
            width,
            height,
            pixels,
        }
    }

    /// Blends `color` over the pixel at (`x`, `y`) with `coverage` (0..=1) times its alpha.
    pub fn blend(&mut self, x: i64, y: i64, color: Rgba, coverage: f32) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let alpha = coverage.clamp(0.0, 1.0) * f32::from(color.0[3]) / 255.0;
        if alpha <= 0.0 {
            return;
        }
        let at = (y as usize * self.width as usize + x as usize) * 3;
        for (channel, source) in self.pixels[at..at + 3].iter_mut().zip(color.0) {
            let blended = f32::from(*channel) + (f32::from(source) - f32::from(*channel)) * alpha;
            *channel = blended.round() as u8;
        }
    }

    /// Fills the rectangle with `color` (alpha blended).
    pub fn fill_rect(&mut self, x: u32, y: u32, width: u32, height: u32, color: Rgba) {
        for row in y..(y + height).min(self.height) {
            for column in x..(x + width).min(self.width) {
                self.blend(i64::from(column), i64::from(row), color, 1.0);
            }
        }
    }

    /// Fills the disc inscribed in the square, with an anti-aliased edge.
    pub fn fill_disc(&mut self, x: u32, y: u32, size: u32, color: Rgba) {
        let radius = size as f32 / 2.0;
        let (cx, cy) = (x as f32 + radius, y as f32 + radius);
        for row in y..y + size {
            for column in x..x + size {
                let dx = column as f32 + 0.5 - cx;
                let dy = row as f32 + 0.5 - cy;
                let coverage = radius - (dx * dx + dy * dy).sqrt() + 0.5;
                self.blend(i64::from(column), i64::from(row), color, coverage);
            }
        }
    }

    /// Paints `image` scaled to cover the whole canvas (cropped at the long side, centred),
    /// sampled bilinearly; its transparent parts show the canvas colour already there.
    pub fn cover_with(&mut self, image: &Decoded) {
        let scale = f32::max(
            self.width as f32 / image.width as f32,
            self.height as f32 / image.height as f32,
        );
        let offset_x = (image.width as f32 * scale - self.width as f32) / 2.0;
        let offset_y = (image.height as f32 * scale - self.height as f32) / 2.0;
        let (max_x, max_y) = (image.width - 1, image.height - 1);
        for row in 0..self.height {
            let source_y = ((row as f32 + 0.5 + offset_y) / scale - 0.5).clamp(0.0, max_y as f32);
            let (y0, fy) = (source_y.floor() as u32, source_y.fract());
            let y1 = (y0 + 1).min(max_y);
            for column in 0..self.width {
                let source_x =
                    ((column as f32 + 0.5 + offset_x) / scale - 0.5).clamp(0.0, max_x as f32);
                let (x0, fx) = (source_x.floor() as u32, source_x.fract());
                let x1 = (x0 + 1).min(max_x);
                let mut mixed = [0.0f32; 4];
                for (px, py, weight) in [
                    (x0, y0, (1.0 - fx) * (1.0 - fy)),
                    (x1, y0, fx * (1.0 - fy)),
                    (x0, y1, (1.0 - fx) * fy),
                    (x1, y1, fx * fy),
                ] {
                    let at = (py as usize * image.width as usize + px as usize) * 4;
                    for (sum, value) in mixed.iter_mut().zip(&image.rgba[at..at + 4]) {
                        *sum += f32::from(*value) * weight;
                    }
                }
                let color = Rgba(mixed.map(|value| value.round() as u8));
                self.blend(i64::from(column), i64::from(row), color, 1.0);
            }
        }
    }

    /// The canvas as a PNG file. Fast compression: a poster is made on demand and cached, and
    /// the default level costs several times the render for a file a quarter smaller.
    pub fn png(&self) -> Result<Vec<u8>, PosterError> {
        let mut out = Vec::new();
        let png_error = |error: png::EncodingError| PosterError::Png(error.to_string());
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(&self.pixels).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
        Ok(out)
    }
}

/// A decoded image, RGBA with straight alpha.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

fn bad(message: impl Into<String>) -> PosterError {
    PosterError::Background(message.into())
}

fn check_size(width: u32, height: u32) -> Result<(), PosterError> {
    if width == 0 || height == 0 {
        return Err(bad("the image is empty (0 pixels wide or high)"));
    }
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(bad(format!(
            "the image is {width}×{height}; at most {MAX_IMAGE_SIDE} pixels per side"
        )));
    }
    Ok(())
}

/// Decodes a PNG or JPEG file (told apart by their signatures).
pub fn decode(bytes: &[u8]) -> Result<Decoded, PosterError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes)
    } else {
        Err(bad("the file is neither a PNG nor a JPEG image"))
    }
}

fn decode_png(bytes: &[u8]) -> Result<Decoded, PosterError> {
    let broken = |error: png::DecodingError| bad(format!("the PNG image is broken: {error}"));
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(broken)?;
    let (width, height) = (reader.info().width, reader.info().height);
    check_size(width, height)?;
    let mut buffer = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buffer).map_err(broken)?;
    let data = &buffer[..frame.buffer_size()];
    let rgba = match frame.color_type {
        png::ColorType::Rgba => data.to_vec(),
        png::ColorType::Rgb => data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => data
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => data.iter().flat_map(|&v| [v, v, v, 255]).collect(),
        png::ColorType::Indexed => {
            return Err(bad("the PNG image's palette could not be expanded"));
        }
    };
    Ok(Decoded {
        width,
        height,
        rgba,
    })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Decoded, PosterError> {
    let broken = |error: jpeg_decoder::Error| bad(format!("the JPEG image is broken: {error}"));
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(broken)?;
    let info = decoder
        .info()
        .ok_or_else(|| bad("the JPEG image has no header"))?;
    check_size(u32::from(info.width), u32::from(info.height))?;
    let data = decoder.decode().map_err(broken)?;
    let rgba = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        jpeg_decoder::PixelFormat::L8 => data.iter().flat_map(|&v| [v, v, v, 255]).collect(),
        jpeg_decoder::PixelFormat::L16 => data
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], 255])
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => data
            .chunks_exact(4)
            .flat_map(|p| {
                // Adobe's CMYK JPEGs store the inks inverted; this is the common conversion.
                let k = u16::from(p[3]);
                let channel = |v: u8| (u16::from(v) * k / 255) as u8;
                [channel(p[0]), channel(p[1]), channel(p[2]), 255]
            })
            .collect(),
    };
    Ok(Decoded {
        width: u32::from(info.width),
        height: u32::from(info.height),
        rgba,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn png_of(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
        let canvas = Canvas {
            width,
            height,
            pixels: rgb.to_vec(),
        };
        canvas.png().unwrap()
    }

    #[test]
    fn a_png_round_trips_and_covers_the_canvas() {
        // A 2×1 image, red then blue, covering a 4×2 canvas: left half red, right half blue.
        let bytes = png_of(2, 1, &[255, 0, 0, 0, 0, 255]);
        let image = decode(&bytes).unwrap();
        assert_eq!((image.width, image.height), (2, 1));
        let mut canvas = Canvas::filled(4, 2, Rgba([0, 0, 0, 255]));
        canvas.cover_with(&image);
        assert_eq!(&canvas.pixels[0..3], &[255, 0, 0]);
        assert_eq!(&canvas.pixels[9..12], &[0, 0, 255]);
    }

    #[test]
    fn bad_images_say_why() {
        let png = png_of(2, 1, &[255, 0, 0, 0, 0, 255]);
        let cases: [(&[u8], &str); 4] = [
            (b"GIF89a....", "neither a PNG nor a JPEG"),
            (&png[..png.len() / 2], "the PNG image is broken"),
            (
                &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J'],
                "the JPEG image is broken",
            ),
            (b"", "neither a PNG nor a JPEG"),
        ];
        for (bytes, expected) in cases {
            let error = decode(bytes).unwrap_err().to_string();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }

    #[test]
    fn blending_respects_alpha_and_bounds() {
        let mut canvas = Canvas::filled(2, 1, Rgba([0, 0, 0, 255]));
        canvas.blend(0, 0, Rgba([200, 100, 50, 128]), 1.0);
        canvas.blend(5, 5, Rgba([255, 255, 255, 255]), 1.0);
        canvas.blend(-1, 0, Rgba([255, 255, 255, 255]), 1.0);
        assert_eq!(canvas.pixels, vec![100, 50, 25, 0, 0, 0]);
    }
}
