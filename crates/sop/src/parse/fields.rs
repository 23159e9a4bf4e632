//! Scalar fields of a plan read from text: times, dates, weekdays, month days, zones, ids.
//!
//! Each returns the operator-facing message on error; the decoder adds where it was written.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;

use crate::plan::{max_days_in_month, month_name_en};

/// `HH:MM` or `HH:MM:SS`, with impossible hours and minutes named as such.
pub(crate) fn time(text: &str) -> Result<NaiveTime, String> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let numbers: Option<Vec<u32>> = parts
        .iter()
        .map(|part| {
            (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        })
        .collect();
    let (hour, minute, second) = match numbers.as_deref() {
        Some([hour, minute]) => (*hour, *minute, 0),
        Some([hour, minute, second]) => (*hour, *minute, *second),
        _ => return Err(format!("expected a time like \"07:30\", found \"{text}\"")),
    };
    if hour > 23 {
        return Err(format!("impossible time {text}: hours run 00–23"));
    }
    if minute > 59 {
        return Err(format!("impossible time {text}: minutes run 00–59"));
    }
    if second > 59 {
        return Err(format!("impossible time {text}: seconds run 00–59"));
    }
    NaiveTime::from_hms_opt(hour, minute, second).ok_or_else(|| format!("impossible time {text}"))
}

/// `YYYY-MM-DD`; a date that does not exist says why.
pub(crate) fn date(text: &str) -> Result<NaiveDate, String> {
    let parts: Vec<&str> = text.trim().split('-').collect();
    let shape_ok = parts.len() == 3
        && [4, 2, 2]
            .iter()
            .zip(&parts)
            .all(|(len, part)| part.len() == *len && part.bytes().all(|b| b.is_ascii_digit()));
    if !shape_ok {
        return Err(format!(
            "expected a date like \"2026-03-01\", found \"{text}\""
        ));
    }
    let [year, month, day] =
        [parts[0], parts[1], parts[2]].map(|part| part.parse::<u32>().unwrap_or(0));
    let year = i32::try_from(year).unwrap_or(0);
    if !(1..=12).contains(&month) {
        return Err(format!("impossible date {text}: months run 01–12"));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        let days = days_in_month(year, month);
        format!(
            "impossible date {text}: {} {year} has {days} days",
            month_name_en(month)
        )
    })
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|first| first.pred_opt())
        .map_or(max_days_in_month(month), |last| last.day())
}

/// `mon`…`sun`, full English names, or 周一…周日 / 星期一…星期日 (周天 and 星期天 too).
pub(crate) fn weekday(text: &str) -> Result<Weekday, String> {
    let lower = text.trim().to_lowercase();
    let chinese = lower
        .strip_prefix('周')
        .or_else(|| lower.strip_prefix("星期"));
    let found = match chinese {
        Some(day) => match day {
            "一" => Some(Weekday::Mon),
            "二" => Some(Weekday::Tue),
            "三" => Some(Weekday::Wed),
            "四" => Some(Weekday::Thu),
            "五" => Some(Weekday::Fri),
            "六" => Some(Weekday::Sat),
            "日" | "天" => Some(Weekday::Sun),
            _ => None,
        },
        None => lower.parse::<Weekday>().ok(),
    };
    found.ok_or_else(|| format!("unknown weekday `{text}`; use mon…sun or 周一…周日"))
}

/// A monthly day 1–31 given the months it must occur in (empty: any month, skipped when short).
pub(crate) fn month_day_fits(day: u32, months: &[u32]) -> Result<(), String> {
    if !(1..=31).contains(&day) {
        return Err(format!(
            "impossible monthly day {day}: days run 1–31 (use \"last\" for a month's last day)"
        ));
    }
    match months.iter().find(|month| day > max_days_in_month(**month)) {
        Some(month) => Err(format!(
            "day {day} never occurs in {}",
            month_name_en(*month)
        )),
        None => Ok(()),
    }
}

pub(crate) fn timezone(text: &str) -> Result<Tz, String> {
    text.parse::<Tz>()
        .map_err(|_| format!("unknown time zone `{text}`; use an IANA name like Asia/Shanghai"))
}

/// Ids go into occurrence keys separated by `:`, so they are kept to a plain alphabet.
pub(crate) fn id(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "invalid id `{text}`: use 1–64 letters, digits, `-` or `_`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            time("07:30"),
            Ok(NaiveTime::from_hms_opt(7, 30, 0).unwrap())
        );
        assert_eq!(
            time("23:59:59"),
            Ok(NaiveTime::from_hms_opt(23, 59, 59).unwrap())
        );
        assert_eq!(
            time("25:00"),
            Err("impossible time 25:00: hours run 00–23".into())
        );
        assert_eq!(
            time("12:60"),
            Err("impossible time 12:60: minutes run 00–59".into())
        );
        assert_eq!(
            time("7:30"),
            Err("expected a time like \"07:30\", found \"7:30\"".into())
        );
        assert_eq!(
            time("早上"),
            Err("expected a time like \"07:30\", found \"早上\"".into())
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            date("2028-02-29"),
            Ok(NaiveDate::from_ymd_opt(2028, 2, 29).unwrap())
        );
        assert_eq!(
            date("2026-02-29"),
            Err("impossible date 2026-02-29: February 2026 has 28 days".into())
        );
        assert_eq!(
            date("2026-13-01"),
            Err("impossible date 2026-13-01: months run 01–12".into())
        );
        assert_eq!(
            date("2026/03/01"),
            Err("expected a date like \"2026-03-01\", found \"2026/03/01\"".into())
        );
    }

    #[test]
    fn weekdays_month_days_zones_ids() {
        for (text, expected) in [
            ("mon", Weekday::Mon),
            ("Sunday", Weekday::Sun),
            ("周三", Weekday::Wed),
            ("星期天", Weekday::Sun),
        ] {
            assert_eq!(weekday(text), Ok(expected), "{text}");
        }
        assert_eq!(
            weekday("周八"),
            Err("unknown weekday `周八`; use mon…sun or 周一…周日".into())
        );
        assert_eq!(month_day_fits(31, &[]), Ok(()));
        assert_eq!(month_day_fits(29, &[2]), Ok(()));
        assert_eq!(
            month_day_fits(30, &[1, 2]),
            Err("day 30 never occurs in February".into())
        );
        assert_eq!(
            month_day_fits(31, &[4]),
            Err("day 31 never occurs in April".into())
        );
        assert!(month_day_fits(32, &[])
            .unwrap_err()
            .starts_with("impossible monthly day 32"));
        assert_eq!(timezone("Europe/Berlin"), Ok(chrono_tz::Europe::Berlin));
        assert!(timezone("Asia/Shangai").is_err());
        assert!(id("morning-post_1").is_ok());
        assert_eq!(
            id("a:b"),
            Err("invalid id `a:b`: use 1–64 letters, digits, `-` or `_`".into())
        );
    }
}
