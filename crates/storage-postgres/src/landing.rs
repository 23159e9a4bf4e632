//! Landing pages on PostgreSQL: counters bumped by upsert (concurrent visits add up, no lost
//! update), leads kept once per page and phone hash with their channel's `phones` counter in the
//! same transaction.

use async_trait::async_trait;
use qunzhu_domain::WorkspaceId;
use qunzhu_storage::{ChannelCounts, LandingHit, LandingStore, Lead, NewLead, Result, StoreError};
use tokio_postgres::{GenericClient, Row};

use crate::codec::{micros, time};
use crate::{backend, get, PostgresStore};

const LEAD_COLUMNS: &str = "id, page, channel, cipher, at";

fn lead(row: &Row) -> Result<Lead> {
    Ok(Lead {
        id: get(row, 0)?,
        page: get(row, 1)?,
        channel: get(row, 2)?,
        cipher: get(row, 3)?,
        at: time(get(row, 4)?),
    })
}

async fn bump<C: GenericClient>(
    client: &C,
    workspace: WorkspaceId,
    page: &str,
    channel: &str,
    column: &str,
) -> Result<()> {
    // `column` is one of three fixed names, never input.
    let sql = format!(
        "INSERT INTO landing_counters (workspace, page, channel, {column}) VALUES ($1, $2, $3, 1)
         ON CONFLICT (workspace, page, channel) DO UPDATE SET {column} = landing_counters.{column} + 1"
    );
    client
        .execute(&sql, &[&workspace.0, &page, &channel])
        .await
        .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl LandingStore for PostgresStore {
    async fn count_landing(
        &self,
        workspace: WorkspaceId,
        page: &str,
        channel: &str,
        hit: LandingHit,
    ) -> Result<()> {
        let column = match hit {
            LandingHit::View => "views",
            LandingHit::Join => "joins",
        };
        let client = self.client().await;
        bump(&*client, workspace, page, channel, column).await
    }

    async fn record_lead(&self, workspace: WorkspaceId, new: NewLead) -> Result<(i64, bool)> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let inserted = tx
            .query_opt(
                "INSERT INTO landing_leads (workspace, page, channel, phone_hash, cipher, at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (workspace, page, phone_hash) DO NOTHING RETURNING id",
                &[
                    &workspace.0,
                    &new.page,
                    &new.channel,
                    &new.phone_hash,
                    &new.cipher,
                    &micros(new.at),
                ],
            )
            .await
            .map_err(backend)?;
        let (id, new_lead) = match inserted {
            Some(row) => {
                bump(&tx, workspace, &new.page, &new.channel, "phones").await?;
                (get::<i64>(&row, 0)?, true)
            }
            None => {
                let row = tx
                    .query_one(
                        "SELECT id FROM landing_leads WHERE workspace = $1 AND page = $2 AND phone_hash = $3",
                        &[&workspace.0, &new.page, &new.phone_hash],
                    )
                    .await
                    .map_err(backend)?;
                (get::<i64>(&row, 0)?, false)
            }
        };
        tx.commit().await.map_err(backend)?;
        Ok((id, new_lead))
    }

    async fn landing_counts(
        &self,
        workspace: WorkspaceId,
        page: Option<&str>,
    ) -> Result<Vec<ChannelCounts>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT page, channel, views, phones, joins FROM landing_counters
                 WHERE workspace = $1 AND ($2::TEXT IS NULL OR page = $2) ORDER BY page, channel",
                &[&workspace.0, &page],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(ChannelCounts {
                    page: get(row, 0)?,
                    channel: get(row, 1)?,
                    views: get(row, 2)?,
                    phones: get(row, 3)?,
                    joins: get(row, 4)?,
                })
            })
            .collect()
    }

    async fn leads(&self, workspace: WorkspaceId, page: &str, limit: usize) -> Result<Vec<Lead>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT {LEAD_COLUMNS} FROM landing_leads WHERE workspace = $1 AND page = $2
                     ORDER BY at DESC, id DESC LIMIT $3"
                ),
                &[&workspace.0, &page, &limit],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(lead).collect()
    }

    async fn delete_lead(&self, workspace: WorkspaceId, id: i64) -> Result<Lead> {
        let client = self.client().await;
        let row = client
            .query_opt(
                &format!(
                    "DELETE FROM landing_leads WHERE workspace = $1 AND id = $2 RETURNING {LEAD_COLUMNS}"
                ),
                &[&workspace.0, &id],
            )
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                object: "lead",
                id: id.to_string(),
            })?;
        lead(&row)
    }

    async fn forget_phone(&self, workspace: WorkspaceId, phone_hash: &str) -> Result<Vec<Lead>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "DELETE FROM landing_leads WHERE workspace = $1 AND phone_hash = $2 RETURNING {LEAD_COLUMNS}"
                ),
                &[&workspace.0, &phone_hash],
            )
            .await
            .map_err(backend)?;
        let mut found = rows.iter().map(lead).collect::<Result<Vec<_>>>()?;
        found.sort_by_key(|lead| lead.id);
        Ok(found)
    }
}
