//! A poster template as an operator writes it: a TOML document with the canvas, the six elements
//! of a fission poster (member info, title, subtitle, brand or teacher intro, what you get, how to
//! join) and the box of the inviter's QR code, checked with `line:col` diagnostics.
//!
//! Geometry is checked here; whether each text fits its box needs the font and is checked by
//! [`crate::Poster::new`], which reports in the same located form.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The largest canvas side: a 4K poster is plenty, and it bounds the memory one render takes.
pub const MAX_SIDE: u32 = 4096;

/// The placeholder for the member's display name, allowed in `[member] text` only.
pub const NAME: &str = "{name}";

/// An sRGB colour with alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    /// Reads `#rrggbb` or `#rrggbbaa`.
    pub fn parse(text: &str) -> Option<Rgba> {
        let hex = text.strip_prefix('#')?;
        if !(hex.len() == 6 || hex.len() == 8) || !hex.is_ascii() {
            return None;
        }
        let byte = |at: usize| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok();
        let alpha = if hex.len() == 8 { byte(6)? } else { 255 };
        Some(Rgba([byte(0)?, byte(2)?, byte(4)?, alpha]))
    }
}

/// The six elements, in the order a reader's eye takes them (article 000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Element {
    Member,
    Title,
    Subtitle,
    Intro,
    Benefits,
    Join,
}

impl Element {
    /// The template's table name for this element.
    pub fn key(self) -> &'static str {
        match self {
            Element::Member => "member",
            Element::Title => "title",
            Element::Subtitle => "subtitle",
            Element::Intro => "intro",
            Element::Benefits => "benefits",
            Element::Join => "join",
        }
    }
}

/// How a text's lines sit in their box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Align {
    Left,
    Center,
}

/// Where a diagnostic points: 1-based line and character column in the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub col: usize,
}

/// A checked text box.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextBox {
    pub element: Element,
    pub text: String,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    /// Font size in pixels.
    pub size: u32,
    pub color: Rgba,
    pub max_lines: u32,
    /// Distance between baselines in pixels.
    pub line_height: u32,
    pub align: Align,
    /// Where `text` is written, for fit errors.
    pub at: Location,
}

/// The member's avatar placeholder: a disc with the first character of their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Avatar {
    pub x: u32,
    pub y: u32,
    pub size: u32,
    pub color: Rgba,
}

/// Where the inviter's QR code goes (a square, quiet zone included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QrBox {
    pub x: u32,
    pub y: u32,
    pub size: u32,
    pub dark: Rgba,
    pub light: Rgba,
}

/// A checked template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    pub width: u32,
    pub height: u32,
    /// Under the background image, or the whole background without one.
    pub color: Rgba,
    pub avatar: Option<Avatar>,
    /// The six text boxes, member info first.
    pub texts: Vec<TextBox>,
    pub qr: QrBox,
}

impl Template {
    /// The member box (its text holds `{name}`).
    pub fn member(&self) -> Option<&TextBox> {
        self.texts
            .iter()
            .find(|text| text.element == Element::Member)
    }
}

/// One problem in a template: `line:col: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateError {
    pub line: usize,
    pub col: usize,
    /// The field path (`title.text`).
    pub field: String,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.col, self.field, self.message
        )
    }
}

impl std::error::Error for TemplateError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    canvas: RawCanvas,
    member: RawText,
    title: RawText,
    subtitle: RawText,
    intro: RawText,
    benefits: RawText,
    join: RawText,
    qr: RawQr,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCanvas {
    width: Spanned<i64>,
    height: Spanned<i64>,
    color: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    text: Spanned<String>,
    x: Spanned<i64>,
    y: Spanned<i64>,
    width: Spanned<i64>,
    size: Spanned<i64>,
    color: Option<Spanned<String>>,
    max_lines: Option<Spanned<i64>>,
    line_height: Option<Spanned<i64>>,
    align: Option<Spanned<String>>,
    /// Only in `[member]`.
    avatar: Option<Spanned<RawAvatar>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAvatar {
    x: Spanned<i64>,
    y: Spanned<i64>,
    size: Spanned<i64>,
    color: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQr {
    x: Spanned<i64>,
    y: Spanned<i64>,
    size: Spanned<i64>,
    dark: Option<Spanned<String>>,
    light: Option<Spanned<String>>,
}

/// The smallest QR box: an invite link's code is about 33 modules with its quiet zone, and a
/// phone needs at least three pixels per module to read a poster on a screen.
pub const MIN_QR: u32 = 100;

pub(crate) struct Problems<'a> {
    source: &'a str,
    pub(crate) found: Vec<TemplateError>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Problems {
            source,
            found: Vec::new(),
        }
    }

    pub(crate) fn at(
        &mut self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let (line, col) = line_col(self.source, span.start);
        self.found.push(TemplateError {
            line,
            col,
            field: field.into(),
            message: message.into(),
        });
    }

    fn number(&mut self, value: &Spanned<i64>, field: &str, min: i64, max: i64) -> u32 {
        let number = *value.get_ref();
        if !(min..=max).contains(&number) {
            self.at(
                value.span(),
                field,
                format!("{number} is not between {min} and {max}"),
            );
            return min.max(0) as u32;
        }
        number as u32
    }

    fn color(&mut self, value: &Option<Spanned<String>>, field: &str, default: Rgba) -> Rgba {
        let Some(value) = value else { return default };
        Rgba::parse(value.get_ref()).unwrap_or_else(|| {
            self.at(
                value.span(),
                field,
                format!(
                    "`{}` is not a colour like #1a2b3c or #1a2b3c80",
                    value.get_ref()
                ),
            );
            default
        })
    }
}

/// 1-based line and character column of a byte offset.
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[start..].chars().count() + 1)
}

const BLACK: Rgba = Rgba([0, 0, 0, 255]);
const WHITE: Rgba = Rgba([255, 255, 255, 255]);
const SIDE: i64 = MAX_SIDE as i64;

fn text_box(
    element: Element,
    raw: &RawText,
    canvas: (u32, u32),
    problems: &mut Problems<'_>,
) -> TextBox {
    let key = element.key();
    let field = |name: &str| format!("{key}.{name}");
    let size = problems.number(&raw.size, &field("size"), 8, 512);
    let max_lines = match &raw.max_lines {
        Some(value) => problems.number(value, &field("max_lines"), 1, 50),
        None => 1,
    };
    let line_height = match &raw.line_height {
        Some(value) => problems.number(value, &field("line_height"), 8, 1024),
        None => (size * 13).div_ceil(10),
    };
    let x = problems.number(&raw.x, &field("x"), 0, SIDE);
    let y = problems.number(&raw.y, &field("y"), 0, SIDE);
    let width = problems.number(&raw.width, &field("width"), 1, SIDE);
    if x + width > canvas.0 {
        problems.at(
            raw.width.span(),
            field("width"),
            format!(
                "the box ends at x = {}, past the canvas's width {}",
                x + width,
                canvas.0
            ),
        );
    }
    let bottom = y + max_lines * line_height;
    if bottom > canvas.1 {
        problems.at(
            raw.y.span(),
            field("y"),
            format!(
                "{max_lines} line(s) of {line_height} px end at y = {bottom}, past the canvas's height {}",
                canvas.1
            ),
        );
    }
    let align = match raw.align.as_ref().map(|value| value.get_ref().as_str()) {
        None | Some("left") => Align::Left,
        Some("center") => Align::Center,
        Some(other) => {
            if let Some(value) = &raw.align {
                problems.at(
                    value.span(),
                    field("align"),
                    format!("`{other}` is not one of left, center"),
                );
            }
            Align::Left
        }
    };
    let text = raw.text.get_ref().trim().to_string();
    if text.is_empty() {
        problems.at(raw.text.span(), field("text"), "the text is empty");
    }
    if element != Element::Member && text.contains(NAME) {
        problems.at(
            raw.text.span(),
            field("text"),
            format!("{NAME} is only filled in [member] text"),
        );
    }
    if element != Element::Member {
        if let Some(avatar) = &raw.avatar {
            problems.at(
                avatar.span(),
                field("avatar"),
                "only [member] has an avatar",
            );
        }
    }
    let (line, col) = line_col(problems.source, raw.text.span().start);
    TextBox {
        element,
        text,
        x,
        y,
        width,
        size,
        color: problems.color(&raw.color, &field("color"), BLACK),
        max_lines,
        line_height,
        align,
        at: Location { line, col },
    }
}

fn square(
    (x, y, size): (&Spanned<i64>, &Spanned<i64>, &Spanned<i64>),
    prefix: &str,
    min: i64,
    canvas: (u32, u32),
    problems: &mut Problems<'_>,
) -> (u32, u32, u32) {
    let field = |name: &str| format!("{prefix}.{name}");
    let left = problems.number(x, &field("x"), 0, SIDE);
    let top = problems.number(y, &field("y"), 0, SIDE);
    let side = problems.number(size, &field("size"), min, SIDE);
    if left + side > canvas.0 || top + side > canvas.1 {
        problems.at(
            size.span(),
            field("size"),
            format!(
                "the square ends at ({}, {}), outside the {}×{} canvas",
                left + side,
                top + side,
                canvas.0,
                canvas.1
            ),
        );
    }
    (left, top, side)
}

/// Checks a template's source; every problem found is returned, each located.
pub fn parse_template(source: &str) -> Result<Template, Vec<TemplateError>> {
    let mut problems = Problems::new(source);
    let raw: RawTemplate = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(error) => {
            problems.at(
                error.span().unwrap_or(0..0),
                "template",
                error.message().to_string(),
            );
            return Err(problems.found);
        }
    };
    let width = problems.number(&raw.canvas.width, "canvas.width", 64, SIDE);
    let height = problems.number(&raw.canvas.height, "canvas.height", 64, SIDE);
    let canvas = (width, height);
    let color = problems.color(&raw.canvas.color, "canvas.color", WHITE);
    let elements = [
        (Element::Member, &raw.member),
        (Element::Title, &raw.title),
        (Element::Subtitle, &raw.subtitle),
        (Element::Intro, &raw.intro),
        (Element::Benefits, &raw.benefits),
        (Element::Join, &raw.join),
    ];
    let texts = elements
        .iter()
        .map(|(element, raw)| text_box(*element, raw, canvas, &mut problems))
        .collect();
    let avatar = raw.member.avatar.as_ref().map(|avatar| {
        let avatar = avatar.get_ref();
        let (x, y, size) = square(
            (&avatar.x, &avatar.y, &avatar.size),
            "member.avatar",
            16,
            canvas,
            &mut problems,
        );
        Avatar {
            x,
            y,
            size,
            color: problems.color(
                &avatar.color,
                "member.avatar.color",
                Rgba([0xe8, 0x55, 0x3d, 255]),
            ),
        }
    });
    let (x, y, size) = square(
        (&raw.qr.x, &raw.qr.y, &raw.qr.size),
        "qr",
        i64::from(MIN_QR),
        canvas,
        &mut problems,
    );
    let qr = QrBox {
        x,
        y,
        size,
        dark: problems.color(&raw.qr.dark, "qr.dark", BLACK),
        light: problems.color(&raw.qr.light, "qr.light", WHITE),
    };
    if problems.found.is_empty() {
        Ok(Template {
            width,
            height,
            color,
            avatar,
            texts,
            qr,
        })
    } else {
        Err(problems.found)
    }
}

/// The template a new workspace starts from: a 750×1334 poster (a phone screen's shape) for a
/// reading club, every element filled so the operator edits rather than starts blank.
pub const DEFAULT_TEMPLATE: &str = r##"# 海报模板 · poster template (750×1334, pixels from the top-left corner)
[canvas]
width = 750
height = 1334
color = "#fff7ec"

# 用户信息 · member info: {name} is the inviter's display name
[member]
text = "{name} 邀请你一起读书"
x = 152
y = 64
width = 550
size = 30
color = "#5a4632"
avatar = { x = 48, y = 48, size = 88, color = "#e8553d" }

# 主标题 · title
[title]
text = "21 天读完 10 本好书"
x = 48
y = 200
width = 654
size = 64
max_lines = 2
color = "#2b1d0e"

# 副标题 · subtitle
[subtitle]
text = "每天 15 分钟，听书 + 打卡 + 共读群陪伴"
x = 48
y = 380
width = 654
size = 32
max_lines = 2
color = "#7a5c3e"

# 品牌/老师介绍 · brand or teacher intro
[intro]
text = "领读人 林老师：十年出版编辑，带领 3 万书友完成共读。"
x = 48
y = 520
width = 654
size = 28
max_lines = 3
color = "#5a4632"

# 你将获得 · what you get
[benefits]
text = "你将获得：\n· 10 本精选书的精读音频\n· 每日打卡积分，兑换实体书\n· 书友交流群与每周直播答疑"
x = 48
y = 680
width = 654
size = 30
max_lines = 5
line_height = 46
color = "#2b1d0e"

# 参与方式 · how to join
[join]
text = "长按识别二维码，加入共读群"
x = 48
y = 1130
width = 400
size = 30
max_lines = 3
color = "#e8553d"

# 邀请人的专属二维码 · the inviter's own QR code
[qr]
x = 480
y = 1064
size = 222
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_template_is_valid() {
        let template = parse_template(DEFAULT_TEMPLATE).unwrap();
        assert_eq!((template.width, template.height), (750, 1334));
        assert_eq!(template.texts.len(), 6);
        assert_eq!(template.member().unwrap().text, "{name} 邀请你一起读书");
        assert!(template.avatar.is_some());
    }

    /// Replaces the first `from` in the default template with `to`.
    fn edit(from: &str, to: &str) -> String {
        assert!(DEFAULT_TEMPLATE.contains(from), "{from:?}");
        DEFAULT_TEMPLATE.replacen(from, to, 1)
    }

    #[test]
    fn bad_templates_are_located() {
        // (source, expected first diagnostic `line:col: field: message` prefix)
        let cases = [
            (
                edit("width = 750", "width = 10"),
                "3:9: canvas.width: 10 is not between 64 and 4096",
            ),
            (
                edit("color = \"#fff7ec\"", "color = \"beige\""),
                "5:9: canvas.color: `beige` is not a colour",
            ),
            (
                edit("x = 152", "x = 300"),
                "12:9: member.width: the box ends at x = 850, past the canvas's width 750",
            ),
            (
                edit("y = 1130", "y = 1300"),
                "62:5: join.y: 3 line(s) of 39 px end at y = 1417, past the canvas's height 1334",
            ),
            (
                edit("size = 222", "size = 50"),
                "72:8: qr.size: 50 is not between 100 and 4096",
            ),
            (
                edit("x = 480", "x = 600"),
                "72:8: qr.size: the square ends at (822, 1286), outside the 750×1334 canvas",
            ),
            (
                edit("text = \"21 天", "text = \"{name} 21 天"),
                "19:8: title.text: {name} is only filled in [member] text",
            ),
            (
                edit(
                    "max_lines = 2\ncolor = \"#2b1d0e\"",
                    "max_lines = 0\ncolor = \"#2b1d0e\"",
                ),
                "24:13: title.max_lines: 0 is not between 1 and 50",
            ),
            (
                edit("size = 32", "size = 32\nalign = \"right\""),
                "34:9: subtitle.align: `right` is not one of left, center",
            ),
            (
                edit("[subtitle]", "[subtitle]\nfont = \"big\""),
                "29:1: template: unknown field `font`",
            ),
            (
                DEFAULT_TEMPLATE.replace("[intro]", "[intro_]"),
                "38:2: template: unknown field `intro_`",
            ),
            (
                "[canvas]\nwidth = 1\n".to_string(),
                "1:1: template: missing field `height`",
            ),
        ];
        let mut wrong = Vec::new();
        for (source, expected) in cases {
            let errors = parse_template(&source).unwrap_err();
            let first = errors[0].to_string();
            if !first.starts_with(expected) {
                wrong.push(format!("got {first:?}\nwant {expected:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn colours_parse() {
        assert_eq!(Rgba::parse("#ff0080"), Some(Rgba([255, 0, 128, 255])));
        assert_eq!(Rgba::parse("#ff008040"), Some(Rgba([255, 0, 128, 64])));
        for bad in ["ff0080", "#ff00", "#gg0000", "#ff00800", "#红红红"] {
            assert_eq!(Rgba::parse(bad), None, "{bad}");
        }
    }
}
