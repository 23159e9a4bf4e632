//! Durations as operators write them in rule files: `90s`, `10m`, `1h30m`, `28d`.

use chrono::Duration;

/// The longest duration a rule file may name: a year. Longer windows, mutes or decays mean
/// nothing to a chat group, and bounding them here keeps every instant the engine computes
/// from them (now + mute, now − window) far inside chrono's range.
pub const MAX_DURATION_DAYS: i64 = 365;
const MAX_SECONDS: i64 = MAX_DURATION_DAYS * 86_400;

/// Parses `<number><unit>` pieces (units `s`, `m`, `h`, `d`, `w`) and adds them up.
///
/// Returns a message fit for a diagnostic on failure; a leading `-` is reported as negative so
/// the operator sees why `-5m` is refused rather than "bad syntax".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!("duration must be positive, got `{text}`"));
    }
    if trimmed.is_empty() {
        return Err("empty duration, expected e.g. `60s`, `10m`, `1h`, `28d`".to_string());
    }
    let mut total_seconds: i64 = 0;
    let mut digits = String::new();
    for character in trimmed.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
            continue;
        }
        let unit_seconds = match character {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "bad duration `{text}`, expected e.g. `60s`, `10m`, `1h`, `28d`"
                ))
            }
        };
        if digits.is_empty() {
            return Err(format!(
                "bad duration `{text}`, expected e.g. `60s`, `10m`, `1h`, `28d`"
            ));
        }
        // Only digits are collected, so a parse failure means the number overflowed.
        let amount: i64 = digits
            .parse()
            .map_err(|_| format!("duration `{text}` is too long: at most {MAX_DURATION_DAYS} d"))?;
        digits.clear();
        // Checked, and bounded at every step, so no digit string can overflow or reach
        // chrono's panicking constructors.
        total_seconds = amount
            .checked_mul(unit_seconds)
            .and_then(|seconds| total_seconds.checked_add(seconds))
            .filter(|seconds| *seconds <= MAX_SECONDS)
            .ok_or_else(|| {
                format!("duration `{text}` is too long: at most {MAX_DURATION_DAYS} d")
            })?;
    }
    if !digits.is_empty() {
        return Err(format!("duration `{text}` needs a unit (s, m, h, d, w)"));
    }
    if total_seconds == 0 {
        return Err(format!("duration must be positive, got `{text}`"));
    }
    Ok(Duration::seconds(total_seconds))
}

/// A duration in the operators' own words, for messages: `1小时`, `30分钟`, `2天`.
pub fn describe_zh(duration: Duration) -> String {
    let seconds = duration.num_seconds();
    if seconds % 86_400 == 0 {
        format!("{}天", seconds / 86_400)
    } else if seconds % 3_600 == 0 {
        format!("{}小时", seconds / 3_600)
    } else if seconds % 60 == 0 {
        format!("{}分钟", seconds / 60)
    } else {
        format!("{seconds}秒")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let good = [
            ("60s", 60),
            ("10m", 600),
            ("1h30m", 5_400),
            ("28d", 2_419_200),
            ("1w", 604_800),
            ("365d", 31_536_000),
            ("52w1d", 31_536_000),
        ];
        for (text, seconds) in good {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::seconds(seconds)),
                "{text}"
            );
        }
        let bad = [
            ("-5m", "duration must be positive, got `-5m`"),
            ("0s", "duration must be positive, got `0s`"),
            ("10", "duration `10` needs a unit (s, m, h, d, w)"),
            ("366d", "duration `366d` is too long: at most 365 d"),
            (
                "100000000w",
                "duration `100000000w` is too long: at most 365 d",
            ),
            (
                "9300000000000000s",
                "duration `9300000000000000s` is too long: at most 365 d",
            ),
            (
                "99999999999999999999999s",
                "duration `99999999999999999999999s` is too long: at most 365 d",
            ),
            (
                "364d23h60m1s",
                "duration `364d23h60m1s` is too long: at most 365 d",
            ),
            (
                "5y",
                "bad duration `5y`, expected e.g. `60s`, `10m`, `1h`, `28d`",
            ),
        ];
        for (text, message) in bad {
            assert_eq!(parse_duration(text), Err(message.to_string()), "{text}");
        }
        assert_eq!(describe_zh(Duration::hours(1)), "1小时");
        assert_eq!(describe_zh(Duration::days(2)), "2天");
        assert_eq!(describe_zh(Duration::minutes(90)), "90分钟");
    }
}
