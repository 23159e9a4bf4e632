//! Orders, their attribution, showcases, campaign costs and commissions on PostgreSQL.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qunzhu_domain::{Platform, WorkspaceId};
use qunzhu_storage::{
    CampaignCost, CampaignTotals, CommissionRow, Invite, Order, OrderRecorded, OrderStore, Result,
    Revenue, ShowcasePost, StatementLine, StoreError,
};
use tokio_postgres::Row;

use crate::codec::{from_json, json, micros, opt_time, parsed, time};
use crate::invites::invite_from_row;
use crate::{backend, get, PostgresStore};

const ORDER_COLUMNS: &str = "order_id, platform, member, amount_cents, currency, items, coupon, link_token, refund_of, at, chat, push, campaign, live_code, inviter, showcase_until, showcase_message, showcase_at";

fn order_from_row(row: &Row) -> Result<Order> {
    Ok(Order {
        order_id: get(row, 0)?,
        platform: parsed(Platform::parse(&get::<String>(row, 1)?))?,
        member: get(row, 2)?,
        amount_cents: get(row, 3)?,
        currency: get(row, 4)?,
        items: from_json(&get::<String>(row, 5)?)?,
        coupon: get(row, 6)?,
        link_token: get(row, 7)?,
        refund_of: get(row, 8)?,
        at: time(get(row, 9)?),
        chat: get(row, 10)?,
        push: get(row, 11)?,
        campaign: get(row, 12)?,
        live_code: get(row, 13)?,
        inviter: get(row, 14)?,
        showcase_until: opt_time(get(row, 15)?),
        showcase_message: get(row, 16)?,
        showcase_at: opt_time(get(row, 17)?),
    })
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn totals_line(totals: &mut BTreeMap<String, CampaignTotals>, name: String) -> &mut CampaignTotals {
    totals
        .entry(name.clone())
        .or_insert_with(|| CampaignTotals {
            campaign: name.clone(),
            revenue: Revenue {
                key: name,
                ..Revenue::default()
            },
            ..CampaignTotals::default()
        })
}

#[async_trait]
impl OrderStore for PostgresStore {
    async fn remember_nonce(
        &self,
        workspace: WorkspaceId,
        nonce: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "DELETE FROM order_nonces WHERE expires_at < $1",
            &[&micros(at)],
        )
        .await
        .map_err(backend)?;
        let inserted = tx
            .execute(
                "INSERT INTO order_nonces (workspace, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&workspace.0, &nonce, &micros(expires_at)],
            )
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(inserted == 1)
    }

    async fn record_order(&self, workspace: WorkspaceId, order: Order) -> Result<OrderRecorded> {
        let client = self.client().await;
        let inserted = client
            .execute(
                &format!("INSERT INTO orders (workspace, {ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT DO NOTHING"),
                &[
                    &workspace.0,
                    &order.order_id,
                    &order.platform.as_str(),
                    &order.member,
                    &order.amount_cents,
                    &order.currency,
                    &json(&order.items)?,
                    &order.coupon,
                    &order.link_token,
                    &order.refund_of,
                    &micros(order.at),
                    &order.chat,
                    &order.push,
                    &order.campaign,
                    &order.live_code,
                    &order.inviter,
                    &order.showcase_until.map(micros),
                    &order.showcase_message,
                    &order.showcase_at.map(micros),
                ],
            )
            .await
            .map_err(backend)?;
        if inserted == 1 {
            return Ok(OrderRecorded::New { order });
        }
        let row = client
            .query_one(
                &format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE workspace = $1 AND order_id = $2"
                ),
                &[&workspace.0, &order.order_id],
            )
            .await
            .map_err(backend)?;
        Ok(OrderRecorded::Duplicate {
            order: order_from_row(&row)?,
        })
    }

    async fn order(&self, workspace: WorkspaceId, order_id: &str) -> Result<Order> {
        let client = self.client().await;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE workspace = $1 AND order_id = $2"
                ),
                &[&workspace.0, &order_id],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                object: "order",
                id: order_id.to_string(),
            })?;
        order_from_row(&row)
    }

    async fn orders(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Order>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await;
        client
            .query(
                &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE workspace = $1 AND at >= $2 AND at < $3 ORDER BY at DESC, order_id LIMIT $4"),
                &[&workspace.0, &micros(from), &micros(until), &limit],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(order_from_row)
            .collect()
    }

    async fn member_arrivals(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: &str,
    ) -> Result<Vec<Invite>> {
        let client = self.client().await;
        client
            .query(
                "SELECT i.platform, i.chat, i.invitee, i.inviter, i.channel, i.code, i.campaign, i.joined_at, i.left_at, i.present
                 FROM memberships m JOIN invites i
                   ON i.workspace = m.workspace AND i.platform = m.platform AND i.chat = m.chat AND i.invitee = m.member
                 WHERE m.workspace = $1 AND m.platform = $2 AND m.member = $3
                 ORDER BY i.joined_at, i.chat",
                &[&workspace.0, &platform.as_str(), &member],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(invite_from_row)
            .collect()
    }

    async fn push_revenue(
        &self,
        workspace: WorkspaceId,
        pushes: &[String],
    ) -> Result<Vec<Revenue>> {
        if pushes.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT push, sum(CASE WHEN amount_cents > 0 THEN 1 ELSE 0 END)::BIGINT,
                        count(DISTINCT CASE WHEN amount_cents > 0 THEN member END), sum(amount_cents)::BIGINT
                 FROM orders WHERE workspace = $1 AND push = ANY($2) GROUP BY push ORDER BY push",
                &[&workspace.0, &pushes],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(Revenue {
                    key: get(row, 0)?,
                    orders: count(get(row, 1)?),
                    buyers: count(get(row, 2)?),
                    revenue_cents: get(row, 3)?,
                })
            })
            .collect()
    }

    async fn showcase_watermark(&self, workspace: WorkspaceId) -> Result<i64> {
        let client = self.client().await;
        Ok(client
            .query_opt(
                "SELECT seq FROM showcase_watermarks WHERE workspace = $1",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?
            .map(|row| get(&row, 0))
            .transpose()?
            .unwrap_or(0))
    }

    async fn open_showcases(
        &self,
        workspace: WorkspaceId,
        at: DateTime<Utc>,
    ) -> Result<Vec<Order>> {
        let client = self.client().await;
        client
            .query(
                &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE workspace = $1 AND showcase_message IS NULL AND showcase_until IS NOT NULL AND showcase_until >= $2 ORDER BY at"),
                &[&workspace.0, &micros(at)],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(order_from_row)
            .collect()
    }

    async fn apply_showcases(
        &self,
        workspace: WorkspaceId,
        posts: Vec<ShowcasePost>,
        from_seq: i64,
        to_seq: i64,
    ) -> Result<bool> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "INSERT INTO showcase_watermarks (workspace, seq) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&workspace.0],
        )
        .await
        .map_err(backend)?;
        // The row lock makes a second instance wait, then see the moved watermark.
        let stored: i64 = get(
            &tx.query_one(
                "SELECT seq FROM showcase_watermarks WHERE workspace = $1 FOR UPDATE",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?,
            0,
        )?;
        if stored != from_seq {
            return Ok(false);
        }
        for post in &posts {
            tx.execute(
                "UPDATE orders SET showcase_message = $3, showcase_at = $4
                 WHERE workspace = $1 AND order_id = $2 AND showcase_message IS NULL",
                &[
                    &workspace.0,
                    &post.order_id,
                    &post.message_id,
                    &micros(post.at),
                ],
            )
            .await
            .map_err(backend)?;
        }
        tx.execute(
            "UPDATE showcase_watermarks SET seq = $2 WHERE workspace = $1",
            &[&workspace.0, &to_seq],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn add_campaign_cost(
        &self,
        workspace: WorkspaceId,
        cost: CampaignCost,
    ) -> Result<(CampaignCost, bool)> {
        let client = self.client().await;
        let new = client
            .execute(
                "INSERT INTO campaign_costs (workspace, key, campaign, amount_cents, memo, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[&workspace.0, &cost.key, &cost.campaign, &cost.amount_cents, &cost.memo, &micros(cost.at)],
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_one(
                "SELECT key, campaign, amount_cents, memo, at FROM campaign_costs WHERE workspace = $1 AND key = $2",
                &[&workspace.0, &cost.key],
            )
            .await
            .map_err(backend)?;
        let stored = CampaignCost {
            key: get(&row, 0)?,
            campaign: get(&row, 1)?,
            amount_cents: get(&row, 2)?,
            memo: get(&row, 3)?,
            at: time(get(&row, 4)?),
        };
        Ok((stored, new == 1))
    }

    async fn campaign_totals(&self, workspace: WorkspaceId) -> Result<Vec<CampaignTotals>> {
        let client = self.client().await;
        let mut totals = BTreeMap::new();
        for row in client
            .query("SELECT campaign, sum(amount_cents)::BIGINT FROM campaign_costs WHERE workspace = $1 GROUP BY campaign", &[&workspace.0])
            .await
            .map_err(backend)?
        {
            totals_line(&mut totals, get(&row, 0)?).entered_cents = get(&row, 1)?;
        }
        for row in client
            .query("SELECT campaign, count(*) FROM invites WHERE workspace = $1 AND campaign IS NOT NULL GROUP BY campaign", &[&workspace.0])
            .await
            .map_err(backend)?
        {
            totals_line(&mut totals, get(&row, 0)?).acquired = count(get(&row, 1)?);
        }
        // Paid out: what left the campaign's account, less reversals that brought it back.
        for row in client
            .query(
                "SELECT substr(from_account, 10), sum(amount)::BIGINT FROM ledger_entries
                 WHERE workspace = $1 AND from_account >= 'campaign:' AND from_account < 'campaign;' GROUP BY from_account",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?
        {
            totals_line(&mut totals, get(&row, 0)?).reward_points += get::<i64>(&row, 1)?;
        }
        for row in client
            .query(
                "SELECT substr(to_account, 10), sum(amount)::BIGINT FROM ledger_entries
                 WHERE workspace = $1 AND to_account >= 'campaign:' AND to_account < 'campaign;' AND reverses IS NOT NULL GROUP BY to_account",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?
        {
            totals_line(&mut totals, get(&row, 0)?).reward_points -= get::<i64>(&row, 1)?;
        }
        for row in client
            .query(
                "SELECT campaign, sum(CASE WHEN amount_cents > 0 THEN 1 ELSE 0 END)::BIGINT,
                        count(DISTINCT CASE WHEN amount_cents > 0 THEN member END), sum(amount_cents)::BIGINT
                 FROM orders WHERE workspace = $1 AND campaign IS NOT NULL GROUP BY campaign",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?
        {
            let line = totals_line(&mut totals, get(&row, 0)?);
            line.revenue.orders = count(get(&row, 1)?);
            line.revenue.buyers = count(get(&row, 2)?);
            line.revenue.revenue_cents = get(&row, 3)?;
        }
        Ok(totals.into_values().collect())
    }

    async fn record_commissions(
        &self,
        workspace: WorkspaceId,
        rows: Vec<CommissionRow>,
    ) -> Result<usize> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let mut new = 0;
        for row in &rows {
            new += tx
                .execute(
                    "INSERT INTO commissions (workspace, order_id, rule, platform, earner, amount_cents, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    &[&workspace.0, &row.order_id, &row.rule, &row.platform.as_str(), &row.earner, &row.amount_cents, &micros(row.at)],
                )
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(usize::try_from(new).unwrap_or(usize::MAX))
    }

    async fn commission_statement(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<StatementLine>> {
        let client = self.client().await;
        client
            .query(
                "SELECT platform, earner, count(DISTINCT order_id), sum(amount_cents)::BIGINT FROM commissions
                 WHERE workspace = $1 AND at >= $2 AND at < $3
                 GROUP BY platform, earner ORDER BY sum(amount_cents) DESC, platform, earner",
                &[&workspace.0, &micros(from), &micros(until)],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(|row| {
                Ok(StatementLine {
                    platform: parsed(Platform::parse(&get::<String>(row, 0)?))?,
                    earner: get(row, 1)?,
                    orders: count(get(row, 2)?),
                    amount_cents: get(row, 3)?,
                })
            })
            .collect()
    }

    async fn earner_facts(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        member: &str,
    ) -> Result<(u64, u64)> {
        let client = self.client().await;
        let largest: i64 = get(
            &client
                .query_one(
                    "SELECT coalesce(max(size), 0)::BIGINT FROM (
                        SELECT (SELECT count(*) FROM memberships m
                                WHERE m.workspace = o.workspace AND m.platform = o.platform AND m.chat = o.chat AND m.present = 1) AS size
                        FROM group_owners o WHERE o.workspace = $1 AND o.platform = $2 AND o.owner = $3) sizes",
                    &[&workspace.0, &platform.as_str(), &member],
                )
                .await
                .map_err(backend)?,
            0,
        )?;
        let referrals: i64 = get(
            &client
                .query_one(
                    "SELECT count(*) FROM invites WHERE workspace = $1 AND platform = $2 AND inviter = $3 AND present",
                    &[&workspace.0, &platform.as_str(), &member],
                )
                .await
                .map_err(backend)?,
            0,
        )?;
        Ok((count(largest), count(referrals)))
    }

    async fn set_group_owner(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
        owner: &str,
    ) -> Result<()> {
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO group_owners (workspace, platform, chat, owner) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (workspace, platform, chat) DO UPDATE SET owner = excluded.owner",
                &[&workspace.0, &platform.as_str(), &chat, &owner],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn group_owner(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        chat: &str,
    ) -> Result<Option<String>> {
        let client = self.client().await;
        client
            .query_opt(
                "SELECT owner FROM group_owners WHERE workspace = $1 AND platform = $2 AND chat = $3",
                &[&workspace.0, &platform.as_str(), &chat],
            )
            .await
            .map_err(backend)?
            .map(|row| get(&row, 0))
            .transpose()
    }
}
