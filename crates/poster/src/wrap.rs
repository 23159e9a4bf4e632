//! Line breaking for mixed Chinese and Latin text: a line may break between any two CJK
//! characters and at spaces, never inside a Latin word, and never before a closing mark (，。」)
//! or after an opening one (「《) — the usual 禁则 (kinsoku) rules, so a comma never starts a line.
//!
//! Widths come from the caller's `measure`, so the rule is tested without a font.

/// A word wider than the whole box: it cannot be placed without cutting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooWide {
    pub word: String,
}

/// Whether `c` is a character after which (and before which) a line may break: Han, kana, Hangul,
/// CJK punctuation and fullwidth forms.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF      // Hangul Jamo
        | 0x2E80..=0x2FFF    // radicals
        | 0x3000..=0x303F    // CJK symbols and punctuation
        | 0x3040..=0x30FF    // kana
        | 0x3100..=0x31FF    // bopomofo, kana extensions
        | 0x3200..=0x4DBF    // enclosed, compatibility, extension A
        | 0x4E00..=0x9FFF    // unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0xFE30..=0xFE4F    // compatibility forms
        | 0xFF00..=0xFFEF    // fullwidth forms
        | 0x20000..=0x3FFFF) // extensions B and later
}

/// Marks that must not start a line: they stay with what precedes them.
fn is_closing(c: char) -> bool {
    "，。、！？；：）」』》】〉〕”’…—％·,.!?;:)]}%".contains(c)
}

/// Marks that must not end a line: they stay with what follows them.
fn is_opening(c: char) -> bool {
    "（「『《【〈〔“‘".contains(c)
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Space,
    Newline,
}

/// Cuts `text` into unbreakable pieces, spaces and explicit line breaks.
fn tokens(text: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    // The last token is an opening mark waiting for what follows it.
    let mut glue = false;
    // The last token is a Latin word still growing.
    let mut latin = false;
    for c in text.chars() {
        if c == '\n' {
            out.push(Token::Newline);
            (glue, latin) = (false, false);
            continue;
        }
        if c.is_whitespace() {
            if !matches!(out.last(), Some(Token::Space) | None) {
                out.push(Token::Space);
            }
            (glue, latin) = (false, false);
            continue;
        }
        let append = glue || latin && !is_cjk(c) || is_closing(c) && !is_opening(c);
        match out.last_mut() {
            Some(Token::Word(word)) if append => word.push(c),
            _ => out.push(Token::Word(c.to_string())),
        }
        glue = is_opening(c);
        latin = !(is_cjk(c) || glue || is_closing(c) && c as u32 > 0x7F);
    }
    out
}

/// Wraps `text` into lines no wider than `width`; a single piece wider than `width` is an error
/// (it would have to be cut). Spaces at a break are dropped; blank lines from `\n\n` are kept.
pub fn wrap(text: &str, width: f32, measure: impl Fn(&str) -> f32) -> Result<Vec<String>, TooWide> {
    let space = measure(" ");
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0.0;
    let mut pending_space = false;
    for token in tokens(text) {
        match token {
            Token::Newline => {
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
                pending_space = false;
            }
            Token::Space => pending_space = !line.is_empty(),
            Token::Word(word) => {
                let word_width = measure(&word);
                if word_width > width {
                    return Err(TooWide { word });
                }
                let gap = if pending_space { space } else { 0.0 };
                if line.is_empty() || line_width + gap + word_width <= width {
                    if pending_space && !line.is_empty() {
                        line.push(' ');
                    }
                    line.push_str(&word);
                    line_width += gap + word_width;
                } else {
                    lines.push(std::mem::replace(&mut line, word));
                    line_width = word_width;
                }
                pending_space = false;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// `text` on one line no wider than `width`: whole if it fits, otherwise cut with `…`. Only for
/// a member's own name, which the operator cannot shorten (template text is never cut).
pub fn ellipsize(text: &str, width: f32, measure: impl Fn(&str) -> f32) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if measure(&text) <= width {
        return text;
    }
    let mut kept: String = text.clone();
    while !kept.is_empty() {
        kept.pop();
        let candidate = format!("{}…", kept.trim_end());
        if measure(&candidate) <= width {
            return candidate;
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character is one unit wide, a CJK character two (as in a monospaced CJK font).
    fn units(text: &str) -> f32 {
        text.chars()
            .map(|c| if is_cjk(c) { 2.0 } else { 1.0 })
            .sum()
    }

    #[test]
    fn wraps_as_a_reader_expects() {
        // (text, width, expected lines joined by `|`)
        let cases = [
            ("扫码加入社群", 6.0, "扫码加|入社群"),
            ("扫码加入社群", 12.0, "扫码加入社群"),
            ("hello world again", 11.0, "hello world|again"),
            ("hello world again", 5.0, "hello|world|again"),
            ("加入Rust社群", 6.0, "加入|Rust社|群"),
            ("加入Rust社群", 8.0, "加入Rust|社群"),
            // A comma never starts a line, it goes with the character before it.
            ("好的，我们走", 4.0, "好|的，|我们|走"),
            // An opening bracket never ends a line.
            ("看「书」吧", 6.0, "看|「书」|吧"),
            ("第一行\n第二行", 20.0, "第一行|第二行"),
            ("a\n\nb", 20.0, "a||b"),
            ("  spaced   out  ", 20.0, "spaced out"),
            ("送你 3 节课", 8.0, "送你 3|节课"),
        ];
        for (text, width, expected) in cases {
            let lines = wrap(text, width, units).unwrap();
            assert_eq!(lines.join("|"), expected, "{text:?} at width {width}");
            for line in &lines {
                assert!(units(line) <= width, "{line:?} is wider than {width}");
            }
        }
    }

    #[test]
    fn a_word_wider_than_the_box_is_refused_not_cut() {
        let cases = [
            ("supercalifragilistic", 10.0, "supercalifragilistic"),
            ("看书", 1.0, "看"),
            ("ok 好，", 2.5, "好，"),
        ];
        for (text, width, word) in cases {
            assert_eq!(
                wrap(text, width, units),
                Err(TooWide { word: word.into() }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn names_are_cut_with_an_ellipsis() {
        let cases = [
            ("小明", 10.0, "小明"),
            ("张三丰大师傅", 7.0, "张三丰…"),
            ("Alexander", 5.0, "Alex…"),
            ("Al  ex", 10.0, "Al ex"),
            ("张", 0.5, ""),
        ];
        for (name, width, expected) in cases {
            assert_eq!(ellipsize(name, width, units), expected, "{name:?}");
        }
    }
}
