//! The poster as pixels: a fixed template with a fixed font (Debian's Noto Sans CJK SC) renders
//! to within a tolerance of the committed golden PNG; texts that do not fit are refused with their
//! location; the QR code painted in the poster scans back to the member's link.
//!
//! Needs a font from `DEFAULT_FONT_PATHS` (`apt-get install fonts-noto-cjk`); without it the test
//! says so and passes, except under `CI=true`, where it fails.
//! `QUNZHU_UPDATE_GOLDEN=1` rewrites the golden file after an intended change.

use std::path::PathBuf;
use std::sync::Arc;

use qunzhu_poster::{
    decode, Card, Font, Poster, PosterError, DEFAULT_FONT_PATHS, DEFAULT_TEMPLATE,
};

fn font() -> Option<Arc<Font>> {
    // Only the Noto face: the golden image is drawn with it, another font draws other pixels.
    let (path, index) = DEFAULT_FONT_PATHS[0];
    match std::fs::read(path) {
        Ok(bytes) => Some(Arc::new(Font::from_bytes(bytes, index).unwrap())),
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{path}: {error}; install fonts-noto-cjk")
        }
        Err(error) => {
            eprintln!("skipped: {path}: {error}; install fonts-noto-cjk to run this test");
            None
        }
    }
}

/// A vertical gradient as a PNG file, so the background goes through the decoder and scaler.
fn background() -> Vec<u8> {
    let (width, height) = (150u32, 267u32);
    let mut pixels = Vec::new();
    for y in 0..height {
        for x in 0..width {
            let t = y as f32 / height as f32;
            pixels.extend([
                (255.0 - 20.0 * t) as u8,
                (247.0 - 40.0 * t) as u8,
                (236.0 - 60.0 * t) as u8 ^ (((x / 30 + y / 30) % 2) as u8 * 6),
            ]);
        }
    }
    qunzhu_poster::Canvas {
        width,
        height,
        pixels,
    }
    .png()
    .unwrap()
}

const LINK: &str = "https://qunzhu.example/i/AB12CD";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("poster-golden")
}

/// How far two images of the same size are apart: the mean absolute difference of all channels
/// (0..=1) and the share of pixels with some channel more than a quarter off.
fn distance(a: &qunzhu_poster::Decoded, b: &qunzhu_poster::Decoded) -> (f64, f64, Vec<u8>) {
    assert_eq!((a.width, a.height), (b.width, b.height), "sizes differ");
    let mut sum = 0u64;
    let mut far = 0usize;
    let mut diff = Vec::with_capacity(a.rgba.len() / 4 * 3);
    for (pa, pb) in a.rgba.chunks_exact(4).zip(b.rgba.chunks_exact(4)) {
        let d: Vec<u8> = (0..3).map(|i| pa[i].abs_diff(pb[i])).collect();
        sum += d.iter().map(|&v| u64::from(v)).sum::<u64>();
        if d.iter().any(|&v| v > 64) {
            far += 1;
        }
        let strongest = *d.iter().max().unwrap();
        diff.extend([255, 255 - strongest, 255 - strongest]);
    }
    let pixels = (a.width * a.height) as f64;
    (
        sum as f64 / (pixels * 3.0 * 255.0),
        far as f64 / pixels,
        diff,
    )
}

fn close_enough(mean: f64, far: f64) -> bool {
    mean < 0.02 && far < 0.005
}

#[test]
fn the_poster_matches_the_golden_image() {
    let Some(font) = font() else { return };
    let poster = Poster::new(DEFAULT_TEMPLATE, Some(&background()), font).unwrap();
    let png = poster
        .render(Card {
            name: "林小满",
            link: LINK,
        })
        .unwrap();
    let golden_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/poster.png");
    if std::env::var("QUNZHU_UPDATE_GOLDEN").is_ok() {
        std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
        std::fs::write(&golden_path, &png).unwrap();
    }
    let actual = decode(&png).unwrap();
    assert_eq!((actual.width, actual.height), (750, 1334));
    let golden = decode(&std::fs::read(&golden_path).unwrap()).unwrap();
    let (mean, far, diff) = distance(&actual, &golden);
    if !close_enough(mean, far) {
        let dir = target_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("actual.png"), &png).unwrap();
        let diff = qunzhu_poster::Canvas {
            width: actual.width,
            height: actual.height,
            pixels: diff,
        };
        std::fs::write(dir.join("diff.png"), diff.png().unwrap()).unwrap();
        panic!(
            "the poster is {:.2} % off the golden image with {:.2} % of pixels far off; see {}",
            mean * 100.0,
            far * 100.0,
            dir.display()
        );
    }

    // The comparison can fail: another member's code is far enough off to be caught.
    let other = poster
        .render(Card {
            name: "林小满",
            link: "https://qunzhu.example/i/ZZ99YY",
        })
        .unwrap();
    let (mean, far, _) = distance(&decode(&other).unwrap(), &golden);
    assert!(!close_enough(mean, far), "{mean} {far}");
}

/// Reads the QR code in the poster's QR box back, as a phone would.
#[test]
fn the_painted_code_scans_to_the_members_link() {
    let Some(font) = font() else { return };
    let poster = Poster::new(DEFAULT_TEMPLATE, None, font).unwrap();
    let canvas = poster
        .canvas(Card {
            name: "😀 Alexander the Great of Macedon, King of Kings",
            link: LINK,
        })
        .unwrap();
    let width = canvas.width as usize;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(
        canvas.width as usize,
        canvas.height as usize,
        |x, y| canvas.pixels[(y * width + x) * 3],
    );
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, LINK);
}

/// Replaces the first `from` in the default template with `to`.
fn edit(from: &str, to: &str) -> String {
    assert!(DEFAULT_TEMPLATE.contains(from), "{from:?}");
    DEFAULT_TEMPLATE.replacen(from, to, 1)
}

#[test]
fn texts_that_do_not_fit_are_refused_with_their_place() {
    let Some(font) = font() else { return };
    // (template, every expected diagnostic)
    let cases = [
        (
            edit("21 天读完 10 本好书", "21 天读完 10 本好书，再送你一整年的共读陪伴与答疑，还有每周一次的作者直播"),
            vec!["19:8: title.text: the text needs 3 lines at size 64 in a 654 px wide box, but max_lines is 2"],
        ),
        (
            edit("长按识别二维码，加入共读群", "Long-press the code: Internationalization-ready-supercalifragilistic"),
            vec!["60:8: join.text: `Internationalization-ready-supercalifragilistic` is"],
        ),
        (
            edit("领读人", "领读人 🙂"),
            vec!["39:8: intro.text: the font has no glyph for `🙂` (U+1F642)"],
        ),
        (
            edit("{name} 邀请你一起读书", "{name} 邀请你一起读书，每天十五分钟，我们在群里等你来一起读完这十本书")
                .replacen("21 天读完 10 本好书", "21 天读完 10 本好书，再送你一整年的共读陪伴与答疑，还有每周一次的作者直播", 1),
            vec![
                "9:8: member.text: the text needs 2 lines at size 30 in a 550 px wide box, but max_lines is 1",
                "19:8: title.text: the text needs 3 lines",
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (source, expected) in cases {
        match Poster::new(&source, None, font.clone()) {
            Err(PosterError::Template(errors)) => {
                let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
                let matches = got.len() == expected.len()
                    && got.iter().zip(&expected).all(|(g, e)| g.starts_with(e));
                if !matches {
                    wrong.push(format!("got {got:#?}\nwant {expected:#?}"));
                }
            }
            other => wrong.push(format!("got {other:?}, want {expected:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_bad_background_is_refused() {
    let Some(font) = font() else { return };
    let error = Poster::new(DEFAULT_TEMPLATE, Some(b"not an image"), font).unwrap_err();
    assert_eq!(
        error.to_string(),
        "background image: the file is neither a PNG nor a JPEG image"
    );
}
