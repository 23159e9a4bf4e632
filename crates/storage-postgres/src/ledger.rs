//! The points ledger on PostgreSQL: a batch locks the balance rows it touches (in account order,
//! so concurrent batches cannot deadlock), is decided by the domain ledger, and is written back
//! with set-based statements in the same transaction.

use qunzhu_domain::{Account, AccountKind, Entry, NewEntry, Reason, WorkspaceId};
use qunzhu_storage::ledger::{settle, spend_entry, touched, unavailable};
use qunzhu_storage::{Posting, Redeem, Redemption, Result, Reward, StoreError};
use tokio_postgres::{Row, Transaction};

use crate::codec::{micros, parsed, time};
use crate::{backend, get, PostgresStore};

const ENTRY_COLUMNS: &str =
    "id, key, reason, cause, from_account, to_account, amount, at, memo, reverses";

fn entry_from_row(row: &Row) -> Result<Entry> {
    Ok(Entry {
        id: get(row, 0)?,
        body: NewEntry {
            key: get(row, 1)?,
            reason: parsed(Reason::parse(&get::<String>(row, 2)?))?,
            cause: get(row, 3)?,
            from: parsed(Account::parse(&get::<String>(row, 4)?))?,
            to: parsed(Account::parse(&get::<String>(row, 5)?))?,
            amount: get(row, 6)?,
            at: time(get(row, 7)?),
            memo: get(row, 8)?,
            reverses: get(row, 9)?,
        },
    })
}

fn reward_from_row(row: &Row) -> Result<Reward> {
    Ok(Reward {
        code: get(row, 0)?,
        name: get(row, 1)?,
        cost: get(row, 2)?,
        stock: get(row, 3)?,
        active: get(row, 4)?,
    })
}

/// Column arrays of entries, for UNNEST.
struct Columns {
    keys: Vec<String>,
    reasons: Vec<String>,
    causes: Vec<Option<String>>,
    from: Vec<String>,
    to: Vec<String>,
    amounts: Vec<i64>,
    at: Vec<i64>,
    memos: Vec<String>,
    reverses: Vec<Option<String>>,
}

impl Columns {
    fn of<'a>(entries: impl Iterator<Item = &'a NewEntry>) -> Columns {
        let mut columns = Columns {
            keys: Vec::new(),
            reasons: Vec::new(),
            causes: Vec::new(),
            from: Vec::new(),
            to: Vec::new(),
            amounts: Vec::new(),
            at: Vec::new(),
            memos: Vec::new(),
            reverses: Vec::new(),
        };
        for body in entries {
            columns.keys.push(body.key.clone());
            columns.reasons.push(body.reason.as_str().to_string());
            columns.causes.push(body.cause.clone());
            columns.from.push(body.from.encode());
            columns.to.push(body.to.encode());
            columns.amounts.push(body.amount);
            columns.at.push(micros(body.at));
            columns.memos.push(body.memo.clone());
            columns.reverses.push(body.reverses.clone());
        }
        columns
    }

    /// Inserts them into `table`, returning `(id, key)` per row.
    async fn insert(
        &self,
        tx: &Transaction<'_>,
        table: &str,
        workspace: WorkspaceId,
    ) -> Result<Vec<Row>> {
        tx.query(
            &format!(
                "INSERT INTO {table} (workspace, key, reason, cause, from_account, to_account, amount, at, memo, reverses)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::text[])
                 RETURNING id, key"
            ),
            &[
                &workspace.0,
                &self.keys,
                &self.reasons,
                &self.causes,
                &self.from,
                &self.to,
                &self.amounts,
                &self.at,
                &self.memos,
                &self.reverses,
            ],
        )
        .await
        .map_err(backend)
    }
}

/// Posts a batch inside an open transaction.
async fn post(
    tx: &Transaction<'_>,
    workspace: WorkspaceId,
    entries: Vec<NewEntry>,
) -> Result<Vec<Posting>> {
    let touched = touched(&entries);
    let accounts: Vec<String> = touched.accounts.iter().map(Account::encode).collect();
    let kinds: Vec<String> = touched
        .accounts
        .iter()
        .map(|account| account.kind().as_str().to_string())
        .collect();
    // Make every touched balance row exist, then lock them all before reading anything else, so
    // a concurrent batch on the same accounts waits here and then sees what this one wrote.
    tx.execute(
        "INSERT INTO ledger_balances (workspace, account, kind, balance)
         SELECT $1, account, kind, 0 FROM UNNEST($2::text[], $3::text[]) AS t(account, kind)
         ON CONFLICT (workspace, account) DO NOTHING",
        &[&workspace.0, &accounts, &kinds],
    )
    .await
    .map_err(backend)?;
    let rows = tx
        .query(
            "SELECT account, balance FROM ledger_balances WHERE workspace = $1 AND account = ANY($2)
             ORDER BY account FOR UPDATE",
            &[&workspace.0, &accounts],
        )
        .await
        .map_err(backend)?;
    let mut balances = Vec::with_capacity(rows.len());
    for row in &rows {
        balances.push((
            parsed(Account::parse(&get::<String>(row, 0)?))?,
            get(row, 1)?,
        ));
    }
    let keys: Vec<&String> = touched.keys.iter().collect();
    let mut stored = Vec::new();
    for row in tx
        .query(
            &format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE workspace = $1 AND key = ANY($2)"
            ),
            &[&workspace.0, &keys],
        )
        .await
        .map_err(backend)?
    {
        stored.push(entry_from_row(&row)?);
    }
    let originals: Vec<&String> = touched.originals.iter().collect();
    let mut reversed = Vec::new();
    if !originals.is_empty() {
        for row in tx
            .query(
                "SELECT reverses FROM ledger_entries WHERE workspace = $1 AND reverses = ANY($2)",
                &[&workspace.0, &originals],
            )
            .await
            .map_err(backend)?
        {
            reversed.push(get(&row, 0)?);
        }
    }
    let mut settled = settle(&touched, balances, stored, reversed, entries);
    if settled.applied.is_empty() {
        return Ok(settled.postings);
    }
    let columns = Columns::of(
        settled
            .applied
            .iter()
            .filter_map(|index| settled.postings[*index].entry().map(|entry| &entry.body)),
    );
    let ids: std::collections::HashMap<String, i64> = columns
        .insert(tx, "ledger_entries", workspace)
        .await?
        .iter()
        .map(|row| Ok((get(row, 1)?, get(row, 0)?)))
        .collect::<Result<_>>()?;
    for index in &settled.applied {
        if let Posting::Applied { entry } = &mut settled.postings[*index] {
            entry.id = ids.get(&entry.body.key).copied().ok_or_else(|| {
                StoreError::Backend(format!(
                    "entry `{}` was not returned by its insert",
                    entry.body.key
                ))
            })?;
        }
    }
    let (accounts, values): (Vec<String>, Vec<i64>) = settled
        .balances
        .iter()
        .map(|(account, balance)| (account.encode(), *balance))
        .unzip();
    tx.execute(
        "UPDATE ledger_balances AS b SET balance = t.balance
         FROM UNNEST($2::text[], $3::bigint[]) AS t(account, balance)
         WHERE b.workspace = $1 AND b.account = t.account",
        &[&workspace.0, &accounts, &values],
    )
    .await
    .map_err(backend)?;
    Ok(settled.postings)
}

async fn entry_by_key(
    client: &impl tokio_postgres::GenericClient,
    workspace: WorkspaceId,
    key: &str,
) -> Result<Option<Entry>> {
    client
        .query_opt(
            &format!(
                "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE workspace = $1 AND key = $2"
            ),
            &[&workspace.0, &key],
        )
        .await
        .map_err(backend)?
        .map(|row| entry_from_row(&row))
        .transpose()
}

impl PostgresStore {
    pub(crate) async fn write_entries(
        &self,
        workspace: WorkspaceId,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<Posting>> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        let postings = post(&tx, workspace, entries).await?;
        tx.commit().await.map_err(backend)?;
        Ok(postings)
    }

    pub(crate) async fn read_balance(
        &self,
        workspace: WorkspaceId,
        account: &Account,
    ) -> Result<i64> {
        let client = self.client().await;
        let row = client
            .query_opt(
                "SELECT balance FROM ledger_balances WHERE workspace = $1 AND account = $2",
                &[&workspace.0, &account.encode()],
            )
            .await
            .map_err(backend)?;
        row.map(|row| get(&row, 0))
            .transpose()
            .map(|balance| balance.unwrap_or(0))
    }

    pub(crate) async fn read_balances(
        &self,
        workspace: WorkspaceId,
        kind: Option<AccountKind>,
        limit: usize,
    ) -> Result<Vec<(Account, i64)>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT account, balance FROM ledger_balances WHERE workspace = $1 AND ($2::text IS NULL OR kind = $2)
                 ORDER BY balance DESC, account LIMIT $3",
                &[&workspace.0, &kind.map(AccountKind::as_str), &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok((
                    parsed(Account::parse(&get::<String>(row, 0)?))?,
                    get(row, 1)?,
                ))
            })
            .collect()
    }

    pub(crate) async fn read_entries(
        &self,
        workspace: WorkspaceId,
        account: Option<&Account>,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let client = self.client().await;
        let rows = client
            .query(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE workspace = $1 AND ($2::text IS NULL OR from_account = $2 OR to_account = $2)
                     ORDER BY id DESC LIMIT $3"
                ),
                &[&workspace.0, &account.map(Account::encode), &(limit as i64)],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(entry_from_row).collect()
    }

    pub(crate) async fn read_entry(&self, workspace: WorkspaceId, key: &str) -> Result<Entry> {
        let client = self.client().await;
        entry_by_key(&*client, workspace, key)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                object: "ledger entry",
                id: key.to_string(),
            })
    }

    pub(crate) async fn write_reward(
        &self,
        workspace: WorkspaceId,
        reward: Reward,
    ) -> Result<Reward> {
        reward.validate()?;
        let client = self.client().await;
        client
            .execute(
                "INSERT INTO ledger_rewards (workspace, code, name, cost, stock, active) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (workspace, code) DO UPDATE SET name = $3, cost = $4, stock = $5, active = $6",
                &[&workspace.0, &reward.code, &reward.name, &reward.cost, &reward.stock, &reward.active],
            )
            .await
            .map_err(backend)?;
        Ok(reward)
    }

    pub(crate) async fn read_rewards(&self, workspace: WorkspaceId) -> Result<Vec<Reward>> {
        let client = self.client().await;
        let rows = client
            .query(
                "SELECT code, name, cost, stock, active FROM ledger_rewards WHERE workspace = $1 ORDER BY code",
                &[&workspace.0],
            )
            .await
            .map_err(backend)?;
        rows.iter().map(reward_from_row).collect()
    }

    pub(crate) async fn write_redeem(
        &self,
        workspace: WorkspaceId,
        redeem: Redeem,
    ) -> Result<Redemption> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        // The reward row is locked so two redemptions of the last one cannot both take it.
        let mut reward = tx
            .query_opt(
                "SELECT code, name, cost, stock, active FROM ledger_rewards WHERE workspace = $1 AND code = $2 FOR UPDATE",
                &[&workspace.0, &redeem.reward],
            )
            .await
            .map_err(backend)?
            .map(|row| reward_from_row(&row))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound { object: "reward", id: redeem.reward.clone() })?;
        // A retried request is answered with its earlier spend, even if the reward sold out since.
        if let Some(entry) = entry_by_key(&tx, workspace, &redeem.entry_key()).await? {
            return Ok(Redemption {
                posting: Posting::Duplicate { entry },
                reward,
            });
        }
        if let Some(error) = unavailable(&reward) {
            return Err(error);
        }
        let posting = post(&tx, workspace, vec![spend_entry(&redeem, &reward)])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Backend("a posted batch of one gave no outcome".into()))?;
        if matches!(posting, Posting::Applied { .. }) {
            if let Some(stock) = reward.stock.as_mut() {
                *stock -= 1;
                tx.execute(
                    "UPDATE ledger_rewards SET stock = $3 WHERE workspace = $1 AND code = $2",
                    &[&workspace.0, &reward.code, &*stock],
                )
                .await
                .map_err(backend)?;
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok(Redemption { posting, reward })
    }

    pub(crate) async fn write_ledger_baseline(
        &self,
        workspace: WorkspaceId,
        entries: &[NewEntry],
        fresh: bool,
    ) -> Result<()> {
        let mut client = self.client().await;
        let tx = client.transaction().await.map_err(backend)?;
        if fresh {
            tx.execute("TRUNCATE ledger_baseline", &[])
                .await
                .map_err(backend)?;
        }
        Columns::of(entries.iter())
            .insert(&tx, "ledger_baseline", workspace)
            .await?;
        tx.commit().await.map_err(backend)
    }
}
