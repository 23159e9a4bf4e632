//! The points ledger on SQLite: a batch is decided by the domain ledger over the rows it touches
//! and written back (entries and balances) in the same transaction.

use qunzhu_domain::{Account, AccountKind, Entry, NewEntry, Reason, WorkspaceId};
use qunzhu_storage::ledger::{settle, spend_entry, touched, unavailable};
use qunzhu_storage::{Posting, Redeem, Redemption, Result, Reward, StoreError};
use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::codec::{micros, parsed, time};
use crate::{backend, SqliteStore};

const ENTRY_COLUMNS: &str =
    "id, key, reason, cause, from_account, to_account, amount, at, memo, reverses";

fn entry_from_row(row: &Row<'_>) -> Result<Entry> {
    let text = |index: usize| -> Result<String> { row.get(index).map_err(backend) };
    Ok(Entry {
        id: row.get(0).map_err(backend)?,
        body: NewEntry {
            key: text(1)?,
            reason: parsed(Reason::parse(&text(2)?))?,
            cause: row.get(3).map_err(backend)?,
            from: parsed(Account::parse(&text(4)?))?,
            to: parsed(Account::parse(&text(5)?))?,
            amount: row.get(6).map_err(backend)?,
            at: time(row.get(7).map_err(backend)?),
            memo: text(8)?,
            reverses: row.get(9).map_err(backend)?,
        },
    })
}

fn reward_from_row(row: &Row<'_>) -> rusqlite::Result<Reward> {
    Ok(Reward {
        code: row.get(0)?,
        name: row.get(1)?,
        cost: row.get(2)?,
        stock: row.get(3)?,
        active: row.get(4)?,
    })
}

fn entry_by_key(tx: &Transaction<'_>, workspace: WorkspaceId, key: &str) -> Result<Option<Entry>> {
    let mut statement = tx
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE workspace = ?1 AND key = ?2"
        ))
        .map_err(backend)?;
    let mut rows = statement
        .query(params![workspace.0, key])
        .map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => Ok(Some(entry_from_row(row)?)),
        None => Ok(None),
    }
}

/// Rows looked up per statement: one `IN (…)` list instead of a statement per key keeps a
/// batch's reads a handful of statements.
const CHUNK: usize = 400;

fn placeholders(count: usize) -> String {
    vec!["?"; count].join(", ")
}

/// Runs `sql` (whose last clause is `IN ({list})`) for each chunk of `values`, with the
/// workspace as the first parameter, handing every row to `each`.
fn for_each_in(
    tx: &Transaction<'_>,
    sql: &str,
    workspace: WorkspaceId,
    values: &[String],
    mut each: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<()> {
    for chunk in values.chunks(CHUNK) {
        let mut statement = tx
            .prepare_cached(&sql.replace("{list}", &placeholders(chunk.len())))
            .map_err(backend)?;
        let parameters = std::iter::once(Value::Integer(workspace.0))
            .chain(chunk.iter().map(|value| Value::Text(value.clone())));
        let mut rows = statement
            .query(rusqlite::params_from_iter(parameters))
            .map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            each(row)?;
        }
    }
    Ok(())
}

/// Posts a batch inside an open transaction.
fn post(
    tx: &Transaction<'_>,
    workspace: WorkspaceId,
    entries: Vec<NewEntry>,
) -> Result<Vec<Posting>> {
    let touched = touched(&entries);
    let accounts: Vec<String> = touched.accounts.iter().map(Account::encode).collect();
    let mut balances = Vec::with_capacity(accounts.len());
    for_each_in(
        tx,
        "SELECT account, balance FROM ledger_balances WHERE workspace = ? AND account IN ({list})",
        workspace,
        &accounts,
        |row| {
            let account: String = row.get(0).map_err(backend)?;
            balances.push((
                parsed(Account::parse(&account))?,
                row.get(1).map_err(backend)?,
            ));
            Ok(())
        },
    )?;
    let keys: Vec<String> = touched.keys.iter().cloned().collect();
    let mut stored = Vec::new();
    for_each_in(
        tx,
        &format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE workspace = ? AND key IN ({{list}})"
        ),
        workspace,
        &keys,
        |row| {
            stored.push(entry_from_row(row)?);
            Ok(())
        },
    )?;
    let originals: Vec<String> = touched.originals.iter().cloned().collect();
    let mut reversed = Vec::new();
    for_each_in(
        tx,
        "SELECT reverses FROM ledger_entries WHERE workspace = ? AND reverses IN ({list})",
        workspace,
        &originals,
        |row| {
            reversed.push(row.get(0).map_err(backend)?);
            Ok(())
        },
    )?;
    let mut settled = settle(&touched, balances, stored, reversed, entries);
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO ledger_entries (workspace, key, reason, cause, from_account, to_account, amount, at, memo, reverses)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(backend)?;
        for index in &settled.applied {
            if let Posting::Applied { entry } = &mut settled.postings[*index] {
                let body = &entry.body;
                insert
                    .execute(params![
                        workspace.0,
                        body.key,
                        body.reason.as_str(),
                        body.cause,
                        body.from.encode(),
                        body.to.encode(),
                        body.amount,
                        micros(body.at),
                        body.memo,
                        body.reverses
                    ])
                    .map_err(backend)?;
                entry.id = tx.last_insert_rowid();
            }
        }
    }
    if !settled.applied.is_empty() {
        for chunk in settled.balances.chunks(CHUNK / 4) {
            let rows = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
            let mut upsert = tx
                .prepare_cached(&format!(
                    "INSERT INTO ledger_balances (workspace, account, kind, balance) VALUES {rows}
                     ON CONFLICT (workspace, account) DO UPDATE SET balance = excluded.balance"
                ))
                .map_err(backend)?;
            let parameters = chunk.iter().flat_map(|(account, balance)| {
                [
                    Value::Integer(workspace.0),
                    Value::Text(account.encode()),
                    Value::Text(account.kind().as_str().to_string()),
                    Value::Integer(*balance),
                ]
            });
            upsert
                .execute(rusqlite::params_from_iter(parameters))
                .map_err(backend)?;
        }
    }
    Ok(settled.postings)
}

impl SqliteStore {
    pub(crate) fn write_entries(
        &self,
        workspace: WorkspaceId,
        entries: Vec<NewEntry>,
    ) -> Result<Vec<Posting>> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let postings = post(&tx, workspace, entries)?;
            tx.commit().map_err(backend)?;
            Ok(postings)
        })
    }

    pub(crate) fn read_balance(&self, workspace: WorkspaceId, account: &Account) -> Result<i64> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT balance FROM ledger_balances WHERE workspace = ?1 AND account = ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![workspace.0, account.encode()], |row| row.get(0))
                    .optional()
            })
            .map(|balance| balance.unwrap_or(0))
            .map_err(backend)
        })
    }

    pub(crate) fn read_balances(
        &self,
        workspace: WorkspaceId,
        kind: Option<AccountKind>,
        limit: usize,
    ) -> Result<Vec<(Account, i64)>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT account, balance FROM ledger_balances WHERE workspace = ?1 AND (?2 IS NULL OR kind = ?2)
                     ORDER BY balance DESC, account LIMIT ?3",
                )
                .map_err(backend)?;
            let mut rows = statement
                .query(params![workspace.0, kind.map(AccountKind::as_str), limit as i64])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let account: String = row.get(0).map_err(backend)?;
                out.push((parsed(Account::parse(&account))?, row.get(1).map_err(backend)?));
            }
            Ok(out)
        })
    }

    pub(crate) fn read_entries(
        &self,
        workspace: WorkspaceId,
        account: Option<&Account>,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let account = account.map(Account::encode);
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE workspace = ?1 AND (?2 IS NULL OR from_account = ?2 OR to_account = ?2)
                     ORDER BY id DESC LIMIT ?3"
                ))
                .map_err(backend)?;
            let mut rows = statement.query(params![workspace.0, account, limit as i64]).map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                out.push(entry_from_row(row)?);
            }
            Ok(out)
        })
    }

    pub(crate) fn read_entry(&self, workspace: WorkspaceId, key: &str) -> Result<Entry> {
        self.read(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            entry_by_key(&tx, workspace, key)?.ok_or_else(|| StoreError::NotFound {
                object: "ledger entry",
                id: key.to_string(),
            })
        })
    }

    pub(crate) fn write_reward(&self, workspace: WorkspaceId, reward: Reward) -> Result<Reward> {
        reward.validate()?;
        self.run(|conn| {
            conn.execute(
                "INSERT INTO ledger_rewards (workspace, code, name, cost, stock, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (workspace, code) DO UPDATE SET name = ?3, cost = ?4, stock = ?5, active = ?6",
                params![workspace.0, reward.code, reward.name, reward.cost, reward.stock, reward.active],
            )
            .map_err(backend)?;
            Ok(reward)
        })
    }

    pub(crate) fn read_rewards(&self, workspace: WorkspaceId) -> Result<Vec<Reward>> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT code, name, cost, stock, active FROM ledger_rewards WHERE workspace = ?1 ORDER BY code")
                .map_err(backend)?;
            let rows = statement.query_map([workspace.0], reward_from_row).map_err(backend)?;
            rows.collect::<rusqlite::Result<_>>().map_err(backend)
        })
    }

    pub(crate) fn write_redeem(
        &self,
        workspace: WorkspaceId,
        redeem: Redeem,
    ) -> Result<Redemption> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let mut reward = tx
                .query_row(
                    "SELECT code, name, cost, stock, active FROM ledger_rewards WHERE workspace = ?1 AND code = ?2",
                    params![workspace.0, redeem.reward],
                    reward_from_row,
                )
                .optional()
                .map_err(backend)?
                .ok_or_else(|| StoreError::NotFound { object: "reward", id: redeem.reward.clone() })?;
            // A retried request is answered with its earlier spend, even if the reward sold out since.
            if let Some(entry) = entry_by_key(&tx, workspace, &redeem.entry_key())? {
                return Ok(Redemption { posting: Posting::Duplicate { entry }, reward });
            }
            if let Some(error) = unavailable(&reward) {
                return Err(error);
            }
            let posting = post(&tx, workspace, vec![spend_entry(&redeem, &reward)])?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::Backend("a posted batch of one gave no outcome".into()))?;
            if matches!(posting, Posting::Applied { .. }) {
                if let Some(stock) = reward.stock.as_mut() {
                    *stock -= 1;
                    tx.execute(
                        "UPDATE ledger_rewards SET stock = ?3 WHERE workspace = ?1 AND code = ?2",
                        params![workspace.0, reward.code, *stock],
                    )
                    .map_err(backend)?;
                }
            }
            tx.commit().map_err(backend)?;
            Ok(Redemption { posting, reward })
        })
    }

    pub(crate) fn write_ledger_baseline(
        &self,
        workspace: WorkspaceId,
        entries: &[NewEntry],
        fresh: bool,
    ) -> Result<()> {
        self.run(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            if fresh {
                tx.execute("DELETE FROM ledger_baseline", [])
                    .map_err(backend)?;
            }
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO ledger_baseline (workspace, key, reason, cause, from_account, to_account, amount, at, memo, reverses)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )
                    .map_err(backend)?;
                for body in entries {
                    insert
                        .execute(params![
                            workspace.0,
                            body.key,
                            body.reason.as_str(),
                            body.cause,
                            body.from.encode(),
                            body.to.encode(),
                            body.amount,
                            micros(body.at),
                            body.memo,
                            body.reverses
                        ])
                        .map_err(backend)?;
                }
            }
            tx.commit().map_err(backend)
        })
    }
}
