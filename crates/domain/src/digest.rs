//! The daily digest: yesterday's short report for one group, as text, and its send time.
//!
//! The text is in the recipient's language: Chinese by default, English where the operator
//! set `language = "en"` (for the group) or `back_room_language` (for the back-room); the
//! same figures either way, only the words differ.
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
    /// The language of the digest posted into the group (`zh` or `en`).
    pub language: DigestLanguage,
    /// The back-room's language when it differs from the group's; absent: `language`.
    pub back_room_language: Option<DigestLanguage>,
}

/// The languages a digest is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestLanguage {
    #[default]
    Zh,
    En,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            enabled: false,
            at: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            back_room: None,
            to_group: false,
            leaders: 3,
            language: DigestLanguage::Zh,
            back_room_language: None,
        }
    }
}

impl DigestConfig {
    /// The local day whose digest is due at `now`, if the send time has passed today.
    pub fn due_day(&self, now: DateTime<Utc>, zone: Tz) -> Option<NaiveDate> {
        let local = now.with_timezone(&zone);
        (local.time() >= self.at).then(|| local.date_naive().pred_opt())?
    }

    /// The language of the copy sent to the back-room.
    pub fn back_room_language(&self) -> DigestLanguage {
        self.back_room_language.unwrap_or(self.language)
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

/// The digest text in Chinese (the default for members).
pub fn digest_text(facts: &DigestFacts<'_>) -> String {
    digest_text_in(facts, DigestLanguage::Zh)
}

/// The words of one language; the figures around them are the same in every language.
struct Words {
    title: fn(&str, &str) -> String,
    flow: fn(i64, i64, i64, i64) -> String,
    talk: fn(i64, i64) -> String,
    hour: fn(u32, u32) -> String,
    speakers: &'static str,
    checkins: fn(i64) -> String,
    /// Orders and revenue in yuan, already written (`12.50`, `-0.50`).
    orders: fn(i64, &str) -> String,
    /// How a person and their count are written, and what separates two of them.
    person: fn(&str, i64) -> String,
    between: &'static str,
}

const ZH: Words = Words {
    title: |group, day| format!("【{group}】{day} 日报"),
    flow: |joins, left, removed, end| {
        format!("新成员 {joins} 人，退群 {left} 人，移出 {removed} 人，现有 {end} 人")
    },
    talk: |speakers, messages| format!("发言 {speakers} 人，消息 {messages} 条"),
    hour: |from, to| format!("最活跃时段 {from:02}:00–{to:02}:00"),
    speakers: "话痨榜：",
    checkins: |count| format!("打卡 {count} 人："),
    orders: |orders, yuan| format!("订单 {orders} 笔，收入 {yuan} 元"),
    person: |who, count| format!("{who}（{count}）"),
    between: "、",
};

const EN: Words = Words {
    title: |group, day| format!("[{group}] daily report, {day}"),
    flow: |joins, left, removed, end| {
        format!("New members {joins}, left {left}, removed {removed}, now {end}")
    },
    talk: |speakers, messages| format!("Speakers {speakers}, messages {messages}"),
    hour: |from, to| format!("Most active hour {from:02}:00–{to:02}:00"),
    speakers: "Top speakers: ",
    checkins: |count| format!("Check-ins {count}: "),
    orders: |orders, yuan| format!("Orders {orders}, revenue ¥{yuan}"),
    person: |who, count| format!("{who} ({count})"),
    between: ", ",
};

/// The digest text in `language`.
pub fn digest_text_in(facts: &DigestFacts<'_>, language: DigestLanguage) -> String {
    let words = match language {
        DigestLanguage::Zh => &ZH,
        DigestLanguage::En => &EN,
    };
    let r = &facts.rollup;
    let day = facts.day.format("%Y-%m-%d").to_string();
    let mut lines = vec![
        (words.title)(facts.group_name, &day),
        (words.flow)(r.joins(), r.left, r.removed, r.members_end),
        (words.talk)(r.speakers, r.messages),
    ];
    if let Some(hour) = r.busiest_hour() {
        lines.push((words.hour)(hour, (hour + 1) % 24));
    }
    let named = |people: &[(String, i64)]| {
        people
            .iter()
            .map(|(who, count)| (words.person)(who, *count))
            .collect::<Vec<_>>()
            .join(words.between)
    };
    if !facts.top_speakers.is_empty() {
        lines.push(format!("{}{}", words.speakers, named(facts.top_speakers)));
    }
    if !facts.checkin_leaders.is_empty() {
        lines.push(format!(
            "{}{}",
            (words.checkins)(r.checkins),
            named(facts.checkin_leaders)
        ));
    }
    if r.orders > 0 || r.revenue_cents != 0 {
        // A day of refunds is negative: the sign goes before the whole amount (-0.50, not 0.50).
        let sign = if r.revenue_cents < 0 { "-" } else { "" };
        let cents = r.revenue_cents.abs();
        let yuan = format!("{sign}{}.{:02}", cents / 100, cents % 100);
        lines.push((words.orders)(r.orders, &yuan));
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
    fn the_digest_reads_the_same_figures_in_each_language() {
        let mut rollup = DayRollup {
            members_end: 40,
            joins_link: 2,
            removed: 1,
            speakers: 5,
            messages: 12,
            checkins: 2,
            orders: 1,
            revenue_cents: -50,
            ..DayRollup::default()
        };
        rollup.hours[20] = 7;
        let speakers = [("Amy".to_string(), 6), ("Bo".to_string(), 4)];
        let leaders = [("Amy".to_string(), 1), ("Bo".to_string(), 1)];
        let facts = DigestFacts {
            group_name: "Runners",
            day: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default(),
            rollup,
            top_speakers: &speakers,
            checkin_leaders: &leaders,
        };
        let cases = [
            (
                DigestLanguage::En,
                "[Runners] daily report, 2026-03-02\nNew members 2, left 0, removed 1, now 40\nSpeakers 5, messages 12\nMost active hour 20:00–21:00\nTop speakers: Amy (6), Bo (4)\nCheck-ins 2: Amy (1), Bo (1)\nOrders 1, revenue ¥-0.50",
            ),
            (
                DigestLanguage::Zh,
                "【Runners】2026-03-02 日报\n新成员 2 人，退群 0 人，移出 1 人，现有 40 人\n发言 5 人，消息 12 条\n最活跃时段 20:00–21:00\n话痨榜：Amy（6）、Bo（4）\n打卡 2 人：Amy（1）、Bo（1）\n订单 1 笔，收入 -0.50 元",
            ),
        ];
        for (language, expected) in cases {
            assert_eq!(digest_text_in(&facts, language), expected, "{language:?}");
        }
    }

    #[test]
    fn the_language_settings_are_read_with_the_back_room_defaulting_to_the_group() {
        let config: DigestConfig =
            serde_json::from_str(r#"{"language": "en"}"#).unwrap_or_default();
        assert_eq!(
            (config.language, config.back_room_language()),
            (DigestLanguage::En, DigestLanguage::En)
        );
        let config: DigestConfig =
            serde_json::from_str(r#"{"back_room_language": "en"}"#).unwrap_or_default();
        assert_eq!(
            (config.language, config.back_room_language()),
            (DigestLanguage::Zh, DigestLanguage::En)
        );
        assert!(serde_json::from_str::<DigestConfig>(r#"{"language": "fr"}"#).is_err());
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
