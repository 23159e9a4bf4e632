//! A landing page (H5 落地页, PLAYBOOKS §2) as an operator writes it: a TOML document of blocks in
//! three parts — `[top]` (theme, bait, an early call to action), `[[middle]]` (proof: credentials,
//! reviews, facts) and `[bottom]` (the second call to action: a phone form or a join button) —
//! checked into a [`LandingPage`] with `line:col` and field-path diagnostics.
//!
//! Pure: the console's preview and the public page render the same checked value.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::located::{self, Located};

/// Colour themes the renderer knows; a page names one.
pub const THEMES: &[&str] = &["red", "orange", "green", "blue", "dark"];

/// The channel counted when a visitor comes without `?ch=`.
pub const DIRECT_CHANNEL: &str = "direct";
/// The channel counted for a `?ch=` the page does not declare (so counters stay bounded).
pub const OTHER_CHANNEL: &str = "other";
/// At most this many declared channels per page.
pub const MAX_CHANNELS: usize = 32;

/// The first screen: what the page is about and why to stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Top {
    pub headline: String,
    /// The bait (诱饵): what the visitor gets for acting now.
    pub bait: String,
    pub subtitle: Option<String>,
    /// The early call to action: a button that scrolls to the bottom part.
    pub cta: String,
}

/// One block of proof in the middle part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Proof {
    /// A credential (资质): a teacher's title, an award, a certificate.
    Credential { title: String, text: String },
    /// A review (好评) with who said it.
    Review { author: String, text: String },
    /// A number that speaks for itself (`10,000+` `学员`).
    Fact { value: String, label: String },
}

/// The second call to action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Bottom {
    /// A phone number form (留资).
    Phone {
        cta: String,
        /// Shown after a number was taken.
        thanks: String,
        /// Shown under the field: what the number is used for.
        consent: Option<String>,
    },
    /// A button to a group, an invite page or a live code (`https://…` or a local `/…` path).
    Join { cta: String, url: String },
}

/// A checked page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LandingPage {
    /// The document's name: the page's public slug (`/h5/{slug}`).
    pub slug: String,
    /// The browser tab's title.
    pub title: String,
    /// One of [`THEMES`].
    pub theme: String,
    /// `zh` or `en`: the page's own words (the form's labels and errors).
    pub english: bool,
    /// Channels counted by name (`?ch=store`); any other `?ch=` counts as [`OTHER_CHANNEL`].
    pub channels: Vec<String>,
    pub top: Top,
    pub middle: Vec<Proof>,
    pub bottom: Bottom,
}

impl LandingPage {
    /// The channel a visit with `?ch=given` is counted under.
    pub fn channel(&self, given: Option<&str>) -> String {
        match given.map(str::trim).filter(|text| !text.is_empty()) {
            None => DIRECT_CHANNEL.to_string(),
            Some(name) if self.channels.iter().any(|known| known == name) => name.to_string(),
            Some(_) => OTHER_CHANNEL.to_string(),
        }
    }
}

/// One problem in a page document: `line:col: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LandingError {
    pub line: usize,
    pub col: usize,
    /// The field path (`middle[1].text`).
    pub field: String,
    pub message: String,
}

impl fmt::Display for LandingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.col, self.field, self.message
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    title: Spanned<String>,
    #[serde(default)]
    theme: Option<Spanned<String>>,
    #[serde(default)]
    language: Option<Spanned<String>>,
    #[serde(default)]
    channels: Option<Spanned<Vec<Spanned<String>>>>,
    top: Spanned<RawTop>,
    #[serde(default)]
    middle: Vec<Spanned<RawProof>>,
    bottom: Spanned<RawBottom>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTop {
    headline: Spanned<String>,
    bait: Spanned<String>,
    #[serde(default)]
    subtitle: Option<Spanned<String>>,
    cta: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProof {
    kind: Spanned<String>,
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    text: Option<Spanned<String>>,
    #[serde(default)]
    author: Option<Spanned<String>>,
    #[serde(default)]
    value: Option<Spanned<String>>,
    #[serde(default)]
    label: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBottom {
    action: Spanned<String>,
    cta: Spanned<String>,
    #[serde(default)]
    thanks: Option<Spanned<String>>,
    #[serde(default)]
    consent: Option<Spanned<String>>,
    #[serde(default)]
    url: Option<Spanned<String>>,
}

/// The longest text one field may hold (a review is a paragraph, not an article).
const MAX_TEXT: usize = 500;
/// At most this many proof blocks: a phone screen, not a catalogue.
const MAX_BLOCKS: usize = 30;

type Problems<'a> = located::Problems<'a, LandingError>;

impl Located for LandingError {
    fn located(line: usize, col: usize, field: String, message: String) -> Self {
        LandingError {
            line,
            col,
            field,
            message,
        }
    }
}

/// The checks only landing pages make.
impl Problems<'_> {
    /// A required text: present, not blank, not too long.
    fn text(&mut self, value: &Spanned<String>, field: &str) -> String {
        let text = value.get_ref().trim();
        if text.is_empty() {
            self.at(value.span(), field, "must not be empty");
        } else if text.chars().count() > MAX_TEXT {
            self.at(
                value.span(),
                field,
                format!("is longer than {MAX_TEXT} characters"),
            );
        }
        text.to_string()
    }

    /// A text a block of this kind needs; `anchor` locates the block when the key is missing.
    fn needed(
        &mut self,
        value: &Option<Spanned<String>>,
        anchor: Range<usize>,
        field: &str,
        kind: &str,
    ) -> String {
        match value {
            Some(value) => self.text(value, field),
            None => {
                self.at(anchor, field, format!("a `{kind}` block needs this key"));
                String::new()
            }
        }
    }

    /// A key this kind of block does not read.
    fn unused(&mut self, value: &Option<Spanned<String>>, field: &str, kind: &str) {
        if let Some(value) = value {
            self.at(
                value.span(),
                field,
                format!("a `{kind}` block has no such key"),
            );
        }
    }
}

/// A join button's target: an absolute http(s) address or a path on this site.
fn join_url_ok(url: &str) -> bool {
    let no_space = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    let local = url.starts_with('/') && !url.starts_with("//") && !url.contains('\\');
    let remote = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    no_space && (local || remote)
}

/// A page's slug and channel names: 1–64 of `a-z 0-9 - _`.
pub fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Checks the page document named `slug`; every problem found is returned, each located.
pub fn parse_landing(slug: &str, source: &str) -> Result<LandingPage, Vec<LandingError>> {
    let mut problems = Problems::new(source);
    let Some(raw) = problems.toml::<RawPage>() else {
        return Err(problems.found);
    };
    if !name_ok(slug) {
        problems.at(
            0..0,
            "name",
            "a page name is 1 to 64 characters: lowercase letters, digits, - and _",
        );
    }
    let title = problems.text(&raw.title, "title");
    let theme = match &raw.theme {
        None => THEMES[0].to_string(),
        Some(theme) if THEMES.contains(&theme.get_ref().as_str()) => theme.get_ref().clone(),
        Some(theme) => {
            problems.at(
                theme.span(),
                "theme",
                format!("`{}` is not one of {}", theme.get_ref(), THEMES.join(", ")),
            );
            THEMES[0].to_string()
        }
    };
    let english = match &raw.language {
        None => false,
        Some(language) => match language.get_ref().as_str() {
            "zh" => false,
            "en" => true,
            other => {
                problems.at(
                    language.span(),
                    "language",
                    format!("`{other}` is not one of zh, en"),
                );
                false
            }
        },
    };
    let mut channels: Vec<String> = Vec::new();
    if let Some(listed) = &raw.channels {
        if listed.get_ref().len() > MAX_CHANNELS {
            problems.at(
                listed.span(),
                "channels",
                format!("at most {MAX_CHANNELS} channels"),
            );
        }
        for (index, channel) in listed.get_ref().iter().enumerate() {
            let name = channel.get_ref();
            let field = format!("channels[{index}]");
            if !name_ok(name) {
                problems.at(
                    channel.span(),
                    field,
                    format!("`{name}` is not a channel name (1–64 of a-z, 0-9, - and _)"),
                );
            } else if name == DIRECT_CHANNEL || name == OTHER_CHANNEL {
                problems.at(
                    channel.span(),
                    field,
                    format!("`{name}` is counted without being declared"),
                );
            } else if channels.contains(name) {
                problems.at(channel.span(), field, format!("`{name}` is listed twice"));
            } else {
                channels.push(name.clone());
            }
        }
    }
    let raw_top = raw.top.get_ref();
    let top = Top {
        headline: problems.text(&raw_top.headline, "top.headline"),
        bait: problems.text(&raw_top.bait, "top.bait"),
        subtitle: raw_top
            .subtitle
            .as_ref()
            .map(|subtitle| problems.text(subtitle, "top.subtitle")),
        cta: problems.text(&raw_top.cta, "top.cta"),
    };
    if raw.middle.len() > MAX_BLOCKS {
        problems.at(
            raw.middle[MAX_BLOCKS].span(),
            "middle",
            format!("at most {MAX_BLOCKS} blocks"),
        );
    }
    let mut middle = Vec::new();
    for (index, block) in raw.middle.iter().enumerate() {
        let anchor = block.span();
        let block = block.get_ref();
        let field = |key: &str| format!("middle[{index}].{key}");
        let kind = block.kind.get_ref().as_str();
        let proof = match kind {
            "credential" => {
                problems.unused(&block.author, &field("author"), kind);
                problems.unused(&block.value, &field("value"), kind);
                problems.unused(&block.label, &field("label"), kind);
                Proof::Credential {
                    title: problems.needed(&block.title, anchor.clone(), &field("title"), kind),
                    text: problems.needed(&block.text, anchor, &field("text"), kind),
                }
            }
            "review" => {
                problems.unused(&block.title, &field("title"), kind);
                problems.unused(&block.value, &field("value"), kind);
                problems.unused(&block.label, &field("label"), kind);
                Proof::Review {
                    author: problems.needed(&block.author, anchor.clone(), &field("author"), kind),
                    text: problems.needed(&block.text, anchor, &field("text"), kind),
                }
            }
            "fact" => {
                problems.unused(&block.title, &field("title"), kind);
                problems.unused(&block.text, &field("text"), kind);
                problems.unused(&block.author, &field("author"), kind);
                Proof::Fact {
                    value: problems.needed(&block.value, anchor.clone(), &field("value"), kind),
                    label: problems.needed(&block.label, anchor, &field("label"), kind),
                }
            }
            other => {
                problems.at(
                    block.kind.span(),
                    field("kind"),
                    format!("`{other}` is not one of credential, review, fact"),
                );
                continue;
            }
        };
        middle.push(proof);
    }
    let raw_bottom = raw.bottom.get_ref();
    let anchor = raw.bottom.span();
    let cta = problems.text(&raw_bottom.cta, "bottom.cta");
    let bottom = match raw_bottom.action.get_ref().as_str() {
        "phone" => {
            problems.unused(&raw_bottom.url, "bottom.url", "phone");
            Bottom::Phone {
                cta,
                thanks: match &raw_bottom.thanks {
                    Some(thanks) => problems.text(thanks, "bottom.thanks"),
                    None if english => "Thank you, we will be in touch soon.".to_string(),
                    None => "提交成功，我们会尽快联系您。".to_string(),
                },
                consent: raw_bottom
                    .consent
                    .as_ref()
                    .map(|consent| problems.text(consent, "bottom.consent")),
            }
        }
        "join" => {
            problems.unused(&raw_bottom.thanks, "bottom.thanks", "join");
            problems.unused(&raw_bottom.consent, "bottom.consent", "join");
            let url = problems.needed(&raw_bottom.url, anchor, "bottom.url", "join");
            if !url.is_empty() && !join_url_ok(&url) {
                if let Some(given) = &raw_bottom.url {
                    problems.at(
                        given.span(),
                        "bottom.url",
                        format!("`{url}` is not an https:// address or a path like /j/spring"),
                    );
                }
            }
            Bottom::Join { cta, url }
        }
        other => {
            problems.at(
                raw_bottom.action.span(),
                "bottom.action",
                format!("`{other}` is not one of phone, join"),
            );
            Bottom::Join {
                cta,
                url: String::new(),
            }
        }
    };
    if !problems.found.is_empty() {
        return Err(problems.found);
    }
    Ok(LandingPage {
        slug: slug.to_string(),
        title,
        theme,
        english,
        channels,
        top,
        middle,
        bottom,
    })
}

/// A page to start from, as the console offers it: every part filled, the phone form at the end.
pub const EXAMPLE: &str = r#"title = "21 天英语打卡营"
theme = "red"
language = "zh"
# ?ch=store and ?ch=xhs are counted by name; any other ?ch= counts as "other".
channels = ["store", "xhs"]

[top]
headline = "21 天英语打卡营"
bait = "免费领取 30 节外教课"
subtitle = "每天 15 分钟，班主任全程陪伴"
cta = "立即领取"

[[middle]]
kind = "credential"
title = "李老师 · 剑桥 CELTA 认证"
text = "12 年少儿英语教学经验"

[[middle]]
kind = "fact"
value = "10,000+"
label = "位家长已报名"

[[middle]]
kind = "review"
author = "王妈妈"
text = "孩子每天主动打卡，三周后敢开口了。"

[bottom]
action = "phone"
cta = "提交手机号，免费领取"
thanks = "提交成功！班主任会在 24 小时内联系您。"
consent = "仅用于课程顾问联系您，不会用于其他用途。"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(source: &str) -> Vec<String> {
        match parse_landing("spring", source) {
            Ok(_) => Vec::new(),
            Err(found) => found.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_example_is_a_page_in_three_parts() {
        let page = parse_landing("spring", EXAMPLE).expect("the example checks");
        assert_eq!(page.top.cta, "立即领取");
        assert_eq!(page.middle.len(), 3);
        assert!(matches!(page.bottom, Bottom::Phone { .. }));
        assert_eq!(page.channel(Some("xhs")), "xhs");
        assert_eq!(page.channel(Some("made-up")), OTHER_CHANNEL);
        assert_eq!(page.channel(None), DIRECT_CHANNEL);
        assert_eq!(page.channel(Some(" ")), DIRECT_CHANNEL);
    }

    #[test]
    fn problems_are_located_with_their_field_path() {
        let base = "title = \"t\"\n[top]\nheadline = \"h\"\nbait = \"b\"\ncta = \"c\"\n";
        let cases: &[(&str, &[&str])] = &[
            (
                "title = \"t\"\ntheme = \"pink\"\n[top]\nheadline = \"h\"\nbait = \"b\"\ncta = \"c\"\n[bottom]\naction = \"phone\"\ncta = \"go\"\n",
                &["2:9: theme: `pink` is not one of red, orange, green, blue, dark"],
            ),
            (
                &format!("{base}[[middle]]\nkind = \"review\"\ntext = \"great\"\n[bottom]\naction = \"phone\"\ncta = \"go\"\n"),
                &["6:1: middle[0].author: a `review` block needs this key"],
            ),
            (
                &format!("{base}[[middle]]\nkind = \"video\"\n[bottom]\naction = \"phone\"\ncta = \"go\"\n"),
                &["7:8: middle[0].kind: `video` is not one of credential, review, fact"],
            ),
            (
                &format!("{base}[bottom]\naction = \"join\"\ncta = \"go\"\nurl = \"javascript:alert(1)\"\n"),
                &["9:7: bottom.url: `javascript:alert(1)` is not an https:// address or a path like /j/spring"],
            ),
            (
                &format!("{base}[bottom]\naction = \"call\"\ncta = \" \"\n"),
                &["8:7: bottom.cta: must not be empty", "7:10: bottom.action: `call` is not one of phone, join"],
            ),
            (
                &format!("channels = [\"xhs\", \"direct\", \"xhs\", \"Bad Name\"]\n{base}[bottom]\naction = \"phone\"\ncta = \"go\"\n"),
                &[
                    "1:20: channels[1]: `direct` is counted without being declared",
                    "1:30: channels[2]: `xhs` is listed twice",
                    "1:37: channels[3]: `Bad Name` is not a channel name (1–64 of a-z, 0-9, - and _)",
                ],
            ),
            (
                &format!("{base}colour = 1\n"),
                &["6:1: document: unknown field `colour`, expected one of `headline`, `bait`, `subtitle`, `cta`"],
            ),
            (
                "title = \"t\"\n[bottom]\naction = \"phone\"\ncta = \"go\"\n",
                &["1:1: document: missing field `top`"],
            ),
            ("title = \n", &["1:9: document: invalid string\nexpected `\"`, `'`"]),
        ];
        for (source, expected) in cases {
            let found = errors(source);
            assert_eq!(&found, expected, "{source}");
        }
    }

    #[test]
    fn join_buttons_go_to_web_addresses_or_local_paths() {
        for (url, ok) in [
            ("https://matrix.to/#/#spring:example.org", true),
            ("/j/spring?ch=xhs", true),
            ("http://example.org/x", true),
            ("//evil.example", false),
            ("https:///x", false),
            ("javascript:alert(1)", false),
            ("/a b", false),
            ("", false),
        ] {
            assert_eq!(join_url_ok(url), ok, "{url}");
        }
    }

    #[test]
    fn a_bad_slug_is_named() {
        let Err(found) = parse_landing("Spring Page", EXAMPLE) else {
            panic!("accepted a bad slug");
        };
        assert_eq!(found[0].field, "name");
    }
}
