//! Orders, their attribution, showcases, campaign costs and commissions on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{
    CampaignCost, CampaignTotals, CommissionRow, Invite, Order, OrderRecorded, OrderStore, Result,
    Revenue, ShowcasePost, StatementLine, StoreError,
};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use crate::codec::{from_json, json, micros, opt_time, parsed, time};
use crate::invites::invite_from_row;
use crate::{backend, SqliteStore};

const ORDER_COLUMNS: &str = "order_id, platform, member, amount_cents, currency, items, coupon, link_token, refund_of, at, chat, push, campaign, live_code, inviter, showcase_until, showcase_message, showcase_at";

fn order_from_row(row: &Row<'_>) -> Result<Order> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    let maybe = |index: usize| -> Result<Option<String>> { row.get(index).map_err(backend) };
    Ok(Order {
        order_id: text(0)?,
        platform: parsed(Platform::parse(&text(1)?))?,
        member: text(2)?,
        amount_cents: row.get(3).map_err(backend)?,
        currency: text(4)?,
        items: from_json(&text(5)?)?,
        coupon: maybe(6)?,
        link_token: maybe(7)?,
        refund_of: maybe(8)?,
        at: time(row.get(9).map_err(backend)?),
        chat: maybe(10)?,
        push: maybe(11)?,
        campaign: maybe(12)?,
        live_code: maybe(13)?,
        inviter: maybe(14)?,
        showcase_until: opt_time(row.get(15).map_err(backend)?),
        showcase_message: maybe(16)?,
        showcase_at: opt_time(row.get(17).map_err(backend)?),
    })
}

fn select_orders(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Order>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE {filter}"
        ))
        .map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        out.push(order_from_row(row)?);
    }
    Ok(out)
}

fn find_order(conn: &Connection, workspace: WorkspaceId, order_id: &str) -> Result<Option<Order>> {
    Ok(select_orders(
        conn,
        "workspace = ?1 AND order_id = ?2",
        params![workspace.0, order_id],
    )?
    .into_iter()
    .next())
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[async_trait]
impl OrderStore for SqliteStore {
    async fn remember_nonce(
        &self,
        workspace: WorkspaceId,
        nonce: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            tx.execute(
                "DELETE FROM order_nonces WHERE expires_at < ?1",
                params![micros(at)],
            )
            .map_err(backend)?;
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO order_nonces (workspace, nonce, expires_at) VALUES (?1, ?2, ?3)",
                    params![workspace.0, nonce, micros(expires_at)],
                )
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(inserted == 1)
        })
    }

    async fn record_order(&self, workspace: WorkspaceId, order: Order) -> Result<OrderRecorded> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            if let Some(stored) = find_order(&tx, workspace, &order.order_id)? {
                return Ok(OrderRecorded::Duplicate { order: stored });
            }
            tx.execute(
                &format!("INSERT INTO orders (workspace, {ORDER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"),
                params![
                    workspace.0,
                    order.order_id,
                    order.platform.as_str(),
                    order.member,
                    order.amount_cents,
                    order.currency,
                    json(&order.items)?,
                    order.coupon,
                    order.link_token,
                    order.refund_of,
                    micros(order.at),
                    order.chat,
                    order.push,
                    order.campaign,
                    order.live_code,
                    order.inviter,
                    order.showcase_until.map(micros),
                    order.showcase_message,
                    order.showcase_at.map(micros),
                ],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(OrderRecorded::New { order })
        })
    }

    async fn order(&self, workspace: WorkspaceId, order_id: &str) -> Result<Order> {
        self.read(|conn| find_order(conn, workspace, order_id))?
            .ok_or_else(|| StoreError::NotFound {
                object: "order",
                id: order_id.to_string(),
            })
    }

    async fn orders(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|conn| {
            select_orders(
                conn,
                "workspace = ?1 AND at >= ?2 AND at < ?3 ORDER BY at DESC, order_id LIMIT ?4",
                params![workspace.0, micros(from), micros(until), limit],
            )
        })
    }

    async fn member_arrivals(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: &str,
    ) -> Result<Vec<Invite>> {
        self.read(|conn| {
            // The primary key (workspace, platform, chat, invitee) does not lead with the
            // invitee, but a member is in few groups and the scan stays inside the workspace's
            // platform prefix; memberships_by_member narrows the chats first.
            let mut statement = conn
                .prepare_cached(
                    "SELECT i.platform, i.chat, i.invitee, i.inviter, i.channel, i.code, i.campaign, i.joined_at, i.left_at, i.present
                     FROM memberships m JOIN invites i
                       ON i.workspace = m.workspace AND i.platform = m.platform AND i.chat = m.chat AND i.invitee = m.member
                     WHERE m.workspace = ?1 AND m.platform = ?2 AND m.member = ?3
                     ORDER BY i.joined_at, i.chat",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, platform.as_str(), member])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(invite_from_row(row)?);
            }
            Ok(out)
        })
    }

    async fn push_revenue(
        &self,
        workspace: WorkspaceId,
        pushes: &[String],
    ) -> Result<Vec<Revenue>> {
        if pushes.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| {
            let mut out = Vec::new();
            // Bounded statements: SQLite caps the number of parameters.
            for chunk in pushes.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let sql = format!(
                    "SELECT push, sum(CASE WHEN amount_cents > 0 THEN 1 ELSE 0 END),
                            count(DISTINCT CASE WHEN amount_cents > 0 THEN member END), sum(amount_cents)
                     FROM orders WHERE workspace = {} AND push IN ({marks}) GROUP BY push ORDER BY push",
                    workspace.0
                );
                let mut statement = conn.prepare(&sql).map_err(backend)?;
                let mut rows = statement.query(params_from_iter(chunk.iter())).map_err(backend)?;
                while let Some(row) = rows.next().map_err(backend)? {
                    out.push(Revenue {
                        key: row.get(0).map_err(backend)?,
                        orders: count(row.get(1).map_err(backend)?),
                        buyers: count(row.get(2).map_err(backend)?),
                        revenue_cents: row.get(3).map_err(backend)?,
                    });
                }
            }
            Ok(out)
        })
    }

    async fn showcase_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT seq FROM showcase_watermarks WHERE workspace = ?1",
                    [workspace.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or(0))
        })
    }

    async fn open_showcases(
        &self,
        workspace: WorkspaceId,
        at: DateTime<Utc>,
    ) -> Result<Vec<Order>> {
        self.read(|conn| {
            select_orders(
                conn,
                "workspace = ?1 AND showcase_message IS NULL AND showcase_until IS NOT NULL AND showcase_until >= ?2 ORDER BY at",
                params![workspace.0, micros(at)],
            )
        })
    }

    async fn apply_showcases(
        &self,
        workspace: WorkspaceId,
        posts: Vec<ShowcasePost>,
        from_seq: i64,
        to_seq: i64,
    ) -> Result<bool> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let stored: i64 = tx
                .query_row(
                    "SELECT seq FROM showcase_watermarks WHERE workspace = ?1",
                    [workspace.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)?
                .unwrap_or(0);
            if stored != from_seq {
                return Ok(false);
            }
            for post in &posts {
                tx.execute(
                    "UPDATE orders SET showcase_message = ?3, showcase_at = ?4
                     WHERE workspace = ?1 AND order_id = ?2 AND showcase_message IS NULL",
                    params![workspace.0, post.order_id, post.message_id, micros(post.at)],
                )
                .map_err(backend)?;
            }
            tx.execute(
                "INSERT INTO showcase_watermarks (workspace, seq) VALUES (?1, ?2)
                 ON CONFLICT (workspace) DO UPDATE SET seq = excluded.seq",
                params![workspace.0, to_seq],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(true)
        })
    }

    async fn add_campaign_cost(
        &self,
        workspace: WorkspaceId,
        cost: CampaignCost,
    ) -> Result<(CampaignCost, bool)> {
        self.run(|conn| {
            let new = conn.execute(
                "INSERT OR IGNORE INTO campaign_costs (workspace, key, campaign, amount_cents, memo, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![workspace.0, cost.key, cost.campaign, cost.amount_cents, cost.memo, micros(cost.at)],
            )
            .map_err(backend)?;
            conn.query_row(
                "SELECT key, campaign, amount_cents, memo, at FROM campaign_costs WHERE workspace = ?1 AND key = ?2",
                params![workspace.0, cost.key],
                |row| {
                    Ok(CampaignCost {
                        key: row.get(0)?,
                        campaign: row.get(1)?,
                        amount_cents: row.get(2)?,
                        memo: row.get(3)?,
                        at: time(row.get(4)?),
                    })
                },
            )
            .map_err(backend)
            .map(|stored| (stored, new == 1))
        })
    }

    async fn campaign_totals(&self, workspace: WorkspaceId) -> Result<Vec<CampaignTotals>> {
        self.read(|conn| {
            let mut totals: std::collections::BTreeMap<String, CampaignTotals> = Default::default();
            let mut collect = |sql: &str, apply: &mut dyn FnMut(&mut CampaignTotals, &Row<'_>) -> Result<()>| -> Result<()> {
                let mut statement = conn.prepare_cached(sql).map_err(backend)?;
                let mut rows = statement.query([workspace.0]).map_err(backend)?;
                while let Some(row) = rows.next().map_err(backend)? {
                    let name: String = row.get(0).map_err(backend)?;
                    let line = totals.entry(name.clone()).or_insert_with(|| CampaignTotals {
                        campaign: name.clone(),
                        revenue: Revenue { key: name, ..Revenue::default() },
                        ..CampaignTotals::default()
                    });
                    apply(line, row)?;
                }
                Ok(())
            };
            collect(
                "SELECT campaign, sum(amount_cents) FROM campaign_costs WHERE workspace = ?1 GROUP BY campaign",
                &mut |line, row| { line.entered_cents = row.get(1).map_err(backend)?; Ok(()) },
            )?;
            collect(
                "SELECT campaign, count(*) FROM invites WHERE workspace = ?1 AND campaign IS NOT NULL GROUP BY campaign",
                &mut |line, row| { line.acquired = count(row.get(1).map_err(backend)?); Ok(()) },
            )?;
            // Paid out: what left the campaign's account, less reversals that brought it back.
            collect(
                "SELECT substr(from_account, 10), sum(amount) FROM ledger_entries
                 WHERE workspace = ?1 AND from_account >= 'campaign:' AND from_account < 'campaign;' GROUP BY from_account",
                &mut |line, row| { line.reward_points += row.get::<_, i64>(1).map_err(backend)?; Ok(()) },
            )?;
            collect(
                "SELECT substr(to_account, 10), sum(amount) FROM ledger_entries
                 WHERE workspace = ?1 AND to_account >= 'campaign:' AND to_account < 'campaign;' AND reverses IS NOT NULL GROUP BY to_account",
                &mut |line, row| { line.reward_points -= row.get::<_, i64>(1).map_err(backend)?; Ok(()) },
            )?;
            collect(
                "SELECT campaign, sum(CASE WHEN amount_cents > 0 THEN 1 ELSE 0 END),
                        count(DISTINCT CASE WHEN amount_cents > 0 THEN member END), sum(amount_cents)
                 FROM orders WHERE workspace = ?1 AND campaign IS NOT NULL GROUP BY campaign",
                &mut |line, row| {
                    line.revenue.orders = count(row.get(1).map_err(backend)?);
                    line.revenue.buyers = count(row.get(2).map_err(backend)?);
                    line.revenue.revenue_cents = row.get(3).map_err(backend)?;
                    Ok(())
                },
            )?;
            Ok(totals.into_values().collect())
        })
    }

    async fn record_commissions(
        &self,
        workspace: WorkspaceId,
        rows: Vec<CommissionRow>,
    ) -> Result<usize> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let mut new = 0;
            for row in &rows {
                new += tx
                    .execute(
                        "INSERT OR IGNORE INTO commissions (workspace, order_id, rule, platform, earner, amount_cents, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![workspace.0, row.order_id, row.rule, row.platform.as_str(), row.earner, row.amount_cents, micros(row.at)],
                    )
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(new)
        })
    }

    async fn commission_statement(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<StatementLine>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT platform, earner, count(DISTINCT order_id), sum(amount_cents) FROM commissions
                     WHERE workspace = ?1 AND at >= ?2 AND at < ?3
                     GROUP BY platform, earner ORDER BY sum(amount_cents) DESC, platform, earner",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, micros(from), micros(until)])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(StatementLine {
                    platform: parsed(Platform::parse(&row.get::<_, String>(0).map_err(backend)?))?,
                    earner: row.get(1).map_err(backend)?,
                    orders: count(row.get(2).map_err(backend)?),
                    amount_cents: row.get(3).map_err(backend)?,
                });
            }
            Ok(out)
        })
    }

    async fn earner_facts(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: &str,
    ) -> Result<(u64, u64)> {
        self.read(|conn| {
            let largest: i64 = conn
                .query_row(
                    "SELECT coalesce(max(size), 0) FROM (
                        SELECT (SELECT count(*) FROM memberships m
                                WHERE m.workspace = o.workspace AND m.platform = o.platform AND m.chat = o.chat AND m.present = 1) AS size
                        FROM group_owners o WHERE o.workspace = ?1 AND o.platform = ?2 AND o.owner = ?3)",
                    params![workspace.0, platform.as_str(), member],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            let referrals: i64 = conn
                .query_row(
                    "SELECT count(*) FROM invites WHERE workspace = ?1 AND platform = ?2 AND inviter = ?3 AND present = 1",
                    params![workspace.0, platform.as_str(), member],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            Ok((count(largest), count(referrals)))
        })
    }

    async fn set_group_owner(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        owner: &str,
    ) -> Result<()> {
        self.run(|conn| {
            conn.execute(
                "INSERT INTO group_owners (workspace, platform, chat, owner) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (workspace, platform, chat) DO UPDATE SET owner = excluded.owner",
                params![workspace.0, platform.as_str(), chat, owner],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    async fn group_owner(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Option<String>> {
        self.read(|conn| {
            conn.query_row(
                "SELECT owner FROM group_owners WHERE workspace = ?1 AND platform = ?2 AND chat = ?3",
                params![workspace.0, platform.as_str(), chat],
                |row| row.get(0),
            )
            .optional()
            .map_err(backend)
        })
    }
}
