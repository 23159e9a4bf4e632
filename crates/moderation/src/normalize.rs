//! Text normalization shared by keyword lists, repeat detection, commands and FAQ matching.
//!
//! Spammers dodge word lists with full-width letters (ＡＡＡ), spaces (A A A), case (aaa) and
//! invisible characters; folding all of them the same way on both sides (the list and the
//! message) makes one Aho-Corasick pass enough. Chinese characters pass through unchanged.

/// Appends the normalized form of `text` to `out` (which the caller clears and reuses, so the
/// hot path allocates nothing once the buffer has grown).
///
/// Folding: full-width ASCII (U+FF01–U+FF5E) to half-width, ideographic and other whitespace
/// removed, zero-width characters removed, letters lower-cased.
pub fn normalize_into(text: &str, out: &mut String) {
    for character in text.chars() {
        if character.is_ascii() {
            if !character.is_ascii_whitespace() && !character.is_ascii_control() {
                out.push(character.to_ascii_lowercase());
            }
            continue;
        }
        let code = character as u32;
        if (0xFF01..=0xFF5E).contains(&code) {
            // Full-width forms sit at a fixed offset from their ASCII twins.
            if let Some(half) = char::from_u32(code - 0xFEE0) {
                out.push(half.to_ascii_lowercase());
            }
            continue;
        }
        if character.is_whitespace() || is_invisible(character) {
            continue;
        }
        if character.is_alphabetic() && !character.is_lowercase() {
            out.extend(character.to_lowercase());
        } else {
            out.push(character);
        }
    }
}

/// The normalized form of `text`, allocated (for building lists, not for the hot path).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, &mut out);
    out
}

/// Zero-width and formatting characters that render as nothing but split a keyword.
fn is_invisible(character: char) -> bool {
    matches!(
        character,
        '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn folds_width_case_space_and_invisibles() {
        let cases = [
            ("ＡＡＡ", "aaa"),
            ("A A A", "aaa"),
            ("aaa", "aaa"),
            ("AAA", "aaa"),
            ("Ａ　Ａ\tＡ", "aaa"),
            ("加 微 信", "加微信"),
            ("加\u{200B}微信", "加微信"),
            ("ＶＸ：ａｂｃ１２３", "vx:abc123"),
            ("上海-小王", "上海-小王"),
            ("Ünïcode ÉTÉ", "ünïcodeété"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), expected, "input {input:?}");
        }
    }
}
