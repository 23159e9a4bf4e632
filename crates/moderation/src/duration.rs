//! Durations as operators write them in rule files: `90s`, `10m`, `1h30m`, `28d`.

use chrono::Duration;

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
        let amount: i64 = digits.parse().map_err(|_| {
            format!("bad duration `{text}`, expected e.g. `60s`, `10m`, `1h`, `28d`")
        })?;
        digits.clear();
        total_seconds = amount
            .checked_mul(unit_seconds)
            .and_then(|seconds| total_seconds.checked_add(seconds))
            .ok_or_else(|| format!("duration `{text}` is too long"))?;
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
