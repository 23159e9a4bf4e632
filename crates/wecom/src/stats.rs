//! Statistics reconciliation: WeCom's `groupchat/statistic_group_by_day` figures beside
//! qunzhu's own daily counts, and the days where they disagree.
//!
//! WeCom only reports per owner and per day (≤ 30 days a query, kept 180 days), so the
//! comparison is of totals over the owner's groups that qunzhu operates.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone};
use qunzhu_connector::{ConnectorError, Result};
use serde::Serialize;
use serde_json::{json, Value};

use crate::WecomConnector;

/// One day of WeCom's figures for an owner's groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WecomDay {
    pub new_member_cnt: i64,
    pub member_total: i64,
    pub msg_total: i64,
}

/// qunzhu's own count for the same day (joins from its daily rollups).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OwnDay {
    pub joins: i64,
}

/// A day where the figures differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub day: NaiveDate,
    pub wecom_new_members: i64,
    pub qunzhu_joins: i64,
}

/// The queryable report: every day compared and those that differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsReport {
    pub days: usize,
    pub differences: Vec<Difference>,
}

/// Compares day by day; a day missing on one side counts as zero there.
pub fn compare(
    wecom: &BTreeMap<NaiveDate, WecomDay>,
    own: &BTreeMap<NaiveDate, OwnDay>,
) -> StatsReport {
    let mut days: Vec<NaiveDate> = wecom.keys().chain(own.keys()).copied().collect();
    days.sort();
    days.dedup();
    let differences = days
        .iter()
        .filter_map(|day| {
            let theirs = wecom.get(day).copied().unwrap_or_default().new_member_cnt;
            let ours = own.get(day).copied().unwrap_or_default().joins;
            (theirs != ours).then_some(Difference {
                day: *day,
                wecom_new_members: theirs,
                qunzhu_joins: ours,
            })
        })
        .collect();
    StatsReport {
        days: days.len(),
        differences,
    }
}

impl WecomConnector {
    /// WeCom's daily figures for `owners`' groups from `from` to `to` (at most 30 days), days
    /// counted in `zone`.
    pub async fn daily_statistics<Z: TimeZone>(
        &self,
        owners: &[String],
        from: NaiveDate,
        to: NaiveDate,
        zone: &Z,
    ) -> Result<BTreeMap<NaiveDate, WecomDay>> {
        if (to - from).num_days() > 29 || to < from {
            return Err(ConnectorError::Permanent(format!(
                "groupchat/statistic_group_by_day covers 1 to 30 days, not {from}..{to}"
            )));
        }
        let start = |day: NaiveDate| {
            day.and_hms_opt(0, 0, 0)
                .and_then(|midnight| zone.from_local_datetime(&midnight).earliest())
                .map(|at| at.timestamp())
                .unwrap_or(0)
        };
        let answer = self
            .api()
            .post(
                "externalcontact/groupchat/statistic_group_by_day",
                json!({
                    "day_begin_time": start(from),
                    "day_end_time": start(to),
                    "owner_filter": {"userid_list": owners},
                }),
            )
            .await?;
        let mut days = BTreeMap::new();
        for item in answer
            .get("items")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let Some(stat_time) = item.get("stat_time").and_then(Value::as_i64) else {
                continue;
            };
            let Some(day) = chrono::DateTime::from_timestamp(stat_time, 0)
                .map(|at| at.with_timezone(zone).date_naive())
            else {
                continue;
            };
            let data = item.get("data").cloned().unwrap_or(Value::Null);
            let figure = |key: &str| data.get(key).and_then(Value::as_i64).unwrap_or(0);
            days.insert(
                day,
                WecomDay {
                    new_member_cnt: figure("new_member_cnt"),
                    member_total: figure("member_total"),
                    msg_total: figure("msg_total"),
                },
            );
        }
        Ok(days)
    }
}

/// Compares WeCom's daily new members with qunzhu's own joins (the daily rollups) over
/// the WeCom groups qunzhu knows, from `from` to `to`; each difference is logged, every day
/// compared is kept in the store (the console's and the API's reconciliation, checked at
/// `checked_at`), and the report is kept in the connector's directory (`{account}-stats.json`).
pub async fn reconcile_statistics(
    store: &dyn qunzhu_storage::Store,
    connector: &WecomConnector,
    workspace: qunzhu_domain::WorkspaceId,
    zone: &chrono_tz::Tz,
    from: NaiveDate,
    to: NaiveDate,
    checked_at: chrono::DateTime<chrono::Utc>,
) -> Result<StatsReport> {
    let unavailable =
        |error: qunzhu_storage::StoreError| ConnectorError::Transient(error.to_string());
    let groups = store.groups(workspace).await.map_err(unavailable)?;
    let mut ids = std::collections::HashSet::new();
    let mut owners = std::collections::BTreeSet::new();
    for summary in groups
        .iter()
        .filter(|summary| summary.group.platform == qunzhu_domain::Platform::WeCom)
    {
        ids.insert(summary.group.id);
        if let Some(roster) = connector.roster(&summary.group.chat).await {
            owners.insert(roster.owner);
        }
    }
    let owners: Vec<String> = owners
        .into_iter()
        .filter(|owner| !owner.is_empty())
        .collect();
    let wecom = if owners.is_empty() {
        BTreeMap::new()
    } else {
        connector.daily_statistics(&owners, from, to, zone).await?
    };
    // qunzhu's side is the analytics rollups (kept from the log by their consumer), so the
    // console's numbers are the ones checked against WeCom's.
    let chats: std::collections::HashSet<&str> = groups
        .iter()
        .filter(|summary| ids.contains(&summary.group.id))
        .map(|summary| summary.group.chat.as_str())
        .collect();
    let mut own: BTreeMap<NaiveDate, OwnDay> = BTreeMap::new();
    for row in store
        .rollup_days(
            workspace,
            &qunzhu_storage::RollupDayQuery {
                group: None,
                from,
                to,
            },
        )
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter(|row| {
            row.platform == qunzhu_domain::Platform::WeCom && chats.contains(row.chat.as_str())
        })
    {
        own.entry(row.day).or_default().joins += row.counts.joins();
    }
    let report = compare(&wecom, &own);
    // Without an owner there are no WeCom figures, and zeros would read as differences.
    if !owners.is_empty() {
        let mut days: Vec<NaiveDate> = wecom.keys().chain(own.keys()).copied().collect();
        days.sort();
        days.dedup();
        let checked: Vec<qunzhu_storage::PlatformCountDay> = days
            .into_iter()
            .map(|day| qunzhu_storage::PlatformCountDay {
                platform: qunzhu_domain::Platform::WeCom,
                day,
                platform_joins: wecom.get(&day).map_or(0, |figures| figures.new_member_cnt),
                qunzhu_joins: own.get(&day).map_or(0, |figures| figures.joins),
                checked_at,
            })
            .collect();
        store
            .record_platform_counts(workspace, &checked)
            .await
            .map_err(unavailable)?;
    }
    for difference in &report.differences {
        tracing::warn!(day = %difference.day, wecom = difference.wecom_new_members, qunzhu = difference.qunzhu_joins,
            "WeCom's statistics and qunzhu's count of joins differ (a callback lost before the gap check, or joins outside qunzhu's groups)");
    }
    let path = std::path::PathBuf::from(&connector.config().state_dir)
        .join(format!("{}-stats.json", connector.config().account));
    let text = serde_json::to_string_pretty(&report)
        .map_err(|error| ConnectorError::Transient(error.to_string()))?;
    std::fs::write(&path, text)
        .map_err(|error| ConnectorError::Transient(format!("{}: {error}", path.display())))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_that_disagree_are_reported() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let wecom = BTreeMap::from([
            (
                day(1),
                WecomDay {
                    new_member_cnt: 5,
                    ..WecomDay::default()
                },
            ),
            (
                day(2),
                WecomDay {
                    new_member_cnt: 3,
                    ..WecomDay::default()
                },
            ),
        ]);
        let own = BTreeMap::from([(day(1), OwnDay { joins: 5 }), (day(3), OwnDay { joins: 1 })]);
        let report = compare(&wecom, &own);
        assert_eq!(report.days, 3);
        assert_eq!(
            report.differences,
            vec![
                Difference {
                    day: day(2),
                    wecom_new_members: 3,
                    qunzhu_joins: 0
                },
                Difference {
                    day: day(3),
                    wecom_new_members: 0,
                    qunzhu_joins: 1
                },
            ]
        );
    }
}
