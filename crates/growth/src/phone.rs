//! Phone numbers a visitor leaves on a landing page: checked, written one canonical way (so the
//! same phone typed two ways is one lead), and masked for the console (`138****5678`).
//!
//! Accepted: a mainland China mobile number (`1[3-9]` and nine more digits), with or without
//! `+86`/`86`/`0086`; and any other E.164 number written with its `+` and country code (8 to 15
//! digits), for visitors abroad. Spaces, dashes, dots and brackets between digits are ignored.

use std::fmt;

use serde::Serialize;

/// A checked phone number in E.164 form (`+8613812345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Phone(String);

/// Why a number was refused, in words the page shows next to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneError {
    Empty,
    /// Letters or other signs that are not part of a number.
    NotDigits,
    /// Looks like a mainland number but is not a mobile one (`1[3-9]` + 9 digits).
    NotMainlandMobile,
    /// A `+` number whose length is not E.164's.
    NotE164,
}

impl PhoneError {
    /// The sentence in the page's language.
    pub fn message(self, english: bool) -> &'static str {
        match (self, english) {
            (PhoneError::Empty, false) => "请填写手机号。",
            (PhoneError::Empty, true) => "Please enter your phone number.",
            (PhoneError::NotDigits, false) => "手机号只能包含数字（可带 +86）。",
            (PhoneError::NotDigits, true) => {
                "A phone number has digits only (and an optional +country code)."
            }
            (PhoneError::NotMainlandMobile, false) => {
                "请填写 11 位手机号，以 13–19 开头，例如 13812345678。"
            }
            (PhoneError::NotMainlandMobile, true) => {
                "A mainland mobile number has 11 digits starting 13–19, like 13812345678."
            }
            (PhoneError::NotE164, false) => "境外号码请以 + 和国家代码开头，共 8–15 位数字。",
            (PhoneError::NotE164, true) => {
                "An international number starts with + and its country code, 8–15 digits in all."
            }
        }
    }
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message(true))
    }
}

impl std::error::Error for PhoneError {}

fn mainland_mobile(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1])
}

impl Phone {
    /// Checks what a visitor typed.
    pub fn parse(text: &str) -> Result<Phone, PhoneError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PhoneError::Empty);
        }
        if text.chars().count() > 32 {
            return Err(PhoneError::NotDigits);
        }
        let (plus, rest) = match text.strip_prefix('+').or_else(|| text.strip_prefix('＋')) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut digits = String::new();
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '\u{3000}' => {}
                _ => return Err(PhoneError::NotDigits),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::NotDigits);
        }
        let international = plus || digits.starts_with("00");
        let digits = match digits.strip_prefix("00") {
            Some(rest) if !plus => rest.to_string(),
            _ => digits,
        };
        if !international {
            // Without a country code: a mainland number, possibly written with 86 in front.
            let national = match digits.strip_prefix("86") {
                Some(rest) if digits.len() == 13 => rest,
                _ => digits.as_str(),
            };
            return if mainland_mobile(national) {
                Ok(Phone(format!("+86{national}")))
            } else {
                Err(PhoneError::NotMainlandMobile)
            };
        }
        if let Some(national) = digits.strip_prefix("86") {
            return if mainland_mobile(national) {
                Ok(Phone(format!("+86{national}")))
            } else {
                Err(PhoneError::NotMainlandMobile)
            };
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(PhoneError::NotE164);
        }
        Ok(Phone(format!("+{digits}")))
    }

    /// The E.164 form, as stored (encrypted) and exported.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the console shows: a mainland number as `138****5678`, others as `+44******1234`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks an E.164 number (see [`Phone::masked`]); anything shorter is all stars.
pub fn mask(e164: &str) -> String {
    let mainland = e164
        .strip_prefix("+86")
        .filter(|n| n.len() == 11 && n.bytes().all(|b| b.is_ascii_digit()));
    if let Some(national) = mainland {
        return format!("{}****{}", &national[..3], &national[7..]);
    }
    let digits: Vec<char> = e164.trim_start_matches('+').chars().collect();
    if digits.len() < 8 {
        return "*".repeat(digits.len().max(4));
    }
    let head: String = digits[..2].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("+{head}{}{tail}", "*".repeat(digits.len() - 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_one_canonical_way_or_refused_with_a_reason() {
        let long = "1".repeat(40);
        let cases: &[(&str, Result<&str, PhoneError>)] = &[
            ("13812345678", Ok("+8613812345678")),
            (" 138 1234 5678 ", Ok("+8613812345678")),
            ("138-1234-5678", Ok("+8613812345678")),
            ("+86 138 1234 5678", Ok("+8613812345678")),
            ("＋8613812345678", Ok("+8613812345678")),
            ("8613812345678", Ok("+8613812345678")),
            ("008613812345678", Ok("+8613812345678")),
            ("19912345678", Ok("+8619912345678")),
            ("+44 20 7946 0958", Ok("+442079460958")),
            ("+1 (415) 555-2671", Ok("+14155552671")),
            ("", Err(PhoneError::Empty)),
            ("   ", Err(PhoneError::Empty)),
            ("12812345678", Err(PhoneError::NotMainlandMobile)),
            ("1381234567", Err(PhoneError::NotMainlandMobile)),
            ("138123456789", Err(PhoneError::NotMainlandMobile)),
            ("+8612812345678", Err(PhoneError::NotMainlandMobile)),
            ("02012345678", Err(PhoneError::NotMainlandMobile)),
            ("138abc45678", Err(PhoneError::NotDigits)),
            ("<script>", Err(PhoneError::NotDigits)),
            ("+", Err(PhoneError::NotDigits)),
            ("+1234567", Err(PhoneError::NotE164)),
            ("+1234567890123456", Err(PhoneError::NotE164)),
            ("+0123456789", Err(PhoneError::NotE164)),
            (long.as_str(), Err(PhoneError::NotDigits)),
        ];
        for (given, expected) in cases {
            let got = Phone::parse(given);
            assert_eq!(
                got.as_ref().map(Phone::as_str).map_err(|e| *e),
                *expected,
                "{given:?}"
            );
        }
    }

    #[test]
    fn masks_keep_only_the_ends() {
        for (e164, masked) in [
            ("+8613812345678", "138****5678"),
            ("+442079460958", "+44******0958"),
            ("+14155552671", "+14*****2671"),
            ("+123", "****"),
            // Not a stored number, but it must not panic: byte slicing stays on digits.
            ("+86一二三四", "******"),
        ] {
            assert_eq!(mask(e164), masked, "{e164}");
        }
    }

    #[test]
    fn every_refusal_has_words_in_both_languages() {
        for error in [
            PhoneError::Empty,
            PhoneError::NotDigits,
            PhoneError::NotMainlandMobile,
            PhoneError::NotE164,
        ] {
            assert!(!error.message(false).is_empty() && !error.message(true).is_empty());
            assert_ne!(error.message(false), error.message(true));
        }
    }
}
