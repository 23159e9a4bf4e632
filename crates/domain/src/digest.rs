//! The daily digest: yesterday's short report for one group, as text, and its send time.
//!
//! Pure: the engine hands in the day's rollup and leaders read from the read models and writes
//! the text to the outbox under [`crate::keys::digest`], so a digest is sent once per group,
//! day and destination however often it is decided.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::rollup::DayRollup;

/// When and where the digest goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DigestConfig {
    pub enabled: bool,
    /// Local time of day (workspace zone) after which yesterday's digest is sent.
    pub at: NaiveTime,
    /// The admin back-room (or the owner's chat) every group's digest goes to, on the group's
    /// platform; absent sends none there.
    pub back_room: Option<String>,
    /// Also post each group's digest into the group itself.
    pub to_group: bool,
    /// How many top speakers and check-in leaders to name.
    pub leaders: usize,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            enabled: false,
            at: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            back_room: None,
            to_group: false,
            leaders: 3,
        }
    }
}

impl DigestConfig {
    /// The local day whose digest is due at `now`, if the send time has passed today.
    pub fn due_day(&self, now: DateTime<Utc>, zone: Tz) -> Option<NaiveDate> {
        let local = now.with_timezone(&zone);
        (local.time() >= self.at).then(|| local.date_naive().pred_opt())?
    }
}

/// What one group's digest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestFacts<'a> {
    pub group_name: &'a str,
    pub day: NaiveDate,
    pub rollup: DayRollup,
    pub top_speakers: &'a [(String, i64)],
    pub checkin_leaders: &'a [(String, i64)],
}

/// The digest text (Chinese, the console's default language for members).
pub fn digest_text(facts: &DigestFacts<'_>) -> String {
    let r = &facts.rollup;
    let mut lines = vec![
        format!(
            "【{}】{} 日报",
            facts.group_name,
            facts.day.format("%Y-%m-%d")
        ),
        format!(
            "新成员 {} 人，退群 {} 人，移出 {} 人，现有 {} 人",
            r.joins(),
            r.left,
            r.removed,
            r.members_end
        ),
        format!("发言 {} 人，消息 {} 条", r.speakers, r.messages),
    ];
    if let Some(hour) = r.busiest_hour() {
        lines.push(format!("最活跃时段 {hour:02}:00–{:02}:00", (hour + 1) % 24));
    }
    let named = |people: &[(String, i64)]| {
        people
            .iter()
            .map(|(who, count)| format!("{who}（{count}）"))
            .collect::<Vec<_>>()
            .join("、")
    };
    if !facts.top_speakers.is_empty() {
        lines.push(format!("话痨榜：{}", named(facts.top_speakers)));
    }
    if !facts.checkin_leaders.is_empty() {
        lines.push(format!(
            "打卡 {} 人：{}",
            r.checkins,
            named(facts.checkin_leaders)
        ));
    }
    if r.orders > 0 || r.revenue_cents != 0 {
        lines.push(format!(
            "订单 {} 笔，收入 {}.{:02} 元",
            r.orders,
            r.revenue_cents / 100,
            (r.revenue_cents % 100).abs()
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_names_the_day_hour_and_leaders() {
        let mut rollup = DayRollup {
            members_end: 120,
            joins_direct: 3,
            joins_invited: 2,
            left: 1,
            speakers: 14,
            messages: 230,
            checkins: 9,
            ..DayRollup::default()
        };
        rollup.hours[21] = 80;
        rollup.hours[9] = 80;
        let speakers = [("小王".to_string(), 40), ("阿梅".to_string(), 31)];
        let leaders = [("小王".to_string(), 1)];
        let text = digest_text(&DigestFacts {
            group_name: "上海宝妈群",
            day: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
            rollup,
            top_speakers: &speakers,
            checkin_leaders: &leaders,
        });
        assert_eq!(
            text,
            "【上海宝妈群】2026-03-02 日报\n新成员 5 人，退群 1 人，移出 0 人，现有 120 人\n发言 14 人，消息 230 条\n最活跃时段 09:00–10:00\n话痨榜：小王（40）、阿梅（31）\n打卡 9 人：小王（1）"
        );
    }

    #[test]
    fn the_digest_is_due_after_its_local_time_for_yesterday() {
        let zone = chrono_tz::Asia::Shanghai;
        let config = DigestConfig::default();
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let cases = [
            ("2026-03-02T08:59:00+08:00", None),
            ("2026-03-02T09:00:00+08:00", Some("2026-03-01")),
            // 01:30 UTC is 09:30 in Shanghai: the zone decides, not UTC.
            ("2026-03-02T01:30:00Z", Some("2026-03-01")),
        ];
        for (now, due) in cases {
            assert_eq!(
                config.due_day(at(now), zone).map(|d| d.to_string()),
                due.map(String::from),
                "{now}"
            );
        }
    }
}
