//! Snapshots of the console's heavy workspace-wide reads (the overview, the group table).
//!
//! A read that answers quickly is always made afresh. One that took longer than [`SLOW`] is kept
//! and served to every request of the workspace for up to [`MAX_AGE`]; after that the next
//! request still gets the kept copy while one background task takes a new one. So at 10,000
//! groups a page costs a render, not a scan, and a busy console never queues several scans of
//! the same thing; a small workspace (and every test) sees each change at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qunzhu_domain::WorkspaceId;

/// A read slower than this is worth keeping.
pub const SLOW: Duration = Duration::from_millis(50);
/// How old a kept read may be before a new one is taken.
pub const MAX_AGE: Duration = Duration::from_secs(10);

struct Kept<T> {
    value: Arc<T>,
    taken: Instant,
    cost: Duration,
    refreshing: bool,
}

/// Kept reads of one kind, one per workspace.
pub struct Snapshots<T> {
    kept: Mutex<HashMap<WorkspaceId, Kept<T>>>,
    max_age: Duration,
}

impl<T> Default for Snapshots<T> {
    fn default() -> Self {
        Snapshots::aged(MAX_AGE)
    }
}

impl<T> Snapshots<T> {
    /// Kept reads renewed once older than `max_age`.
    pub fn aged(max_age: Duration) -> Self {
        Snapshots {
            kept: Mutex::new(HashMap::new()),
            max_age,
        }
    }
}

impl<T: Send + Sync + 'static> Snapshots<T> {
    /// The workspace's read: kept if it was slow (refreshed in the background once old),
    /// otherwise made now by `read`.
    pub async fn get<F, Fut, E>(
        self: &Arc<Self>,
        workspace: WorkspaceId,
        read: F,
    ) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        // Under the lock only decide; the read runs after it is released.
        let kept = {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            kept.get_mut(&workspace)
                .filter(|slot| slot.cost >= SLOW)
                .map(|slot| {
                    let renew = slot.taken.elapsed() >= self.max_age && !slot.refreshing;
                    slot.refreshing |= renew;
                    (slot.value.clone(), renew)
                })
        };
        let started = Instant::now();
        match kept {
            Some((value, renew)) => {
                if renew {
                    let this = self.clone();
                    tokio::spawn(async move {
                        match read().await {
                            Ok(value) => this.keep(workspace, Arc::new(value), started),
                            Err(error) => {
                                tracing::warn!(%error, "refreshing a console snapshot failed; the old one stays");
                                let mut kept = this.kept.lock().unwrap_or_else(|e| e.into_inner());
                                if let Some(slot) = kept.get_mut(&workspace) {
                                    slot.refreshing = false;
                                    slot.taken = Instant::now();
                                }
                            }
                        }
                    });
                }
                Ok(value)
            }
            None => {
                let value = Arc::new(read().await?);
                self.keep(workspace, value.clone(), started);
                Ok(value)
            }
        }
    }

    fn keep(&self, workspace: WorkspaceId, value: Arc<T>, started: Instant) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.insert(
            workspace,
            Kept {
                value,
                taken: started,
                cost: started.elapsed(),
                refreshing: false,
            },
        );
    }

    /// Drops the workspace's kept read (an operator changed what it shows).
    pub fn forget(&self, workspace: WorkspaceId) {
        self.kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&workspace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    async fn read(snapshots: &Arc<Snapshots<u32>>, calls: &Arc<AtomicU32>, cost: Duration) -> u32 {
        let calls = calls.clone();
        *snapshots
            .get(WorkspaceId(1), move || async move {
                tokio::time::sleep(cost).await;
                Ok::<_, String>(calls.fetch_add(1, Ordering::SeqCst) + 1)
            })
            .await
            .expect("read")
    }

    #[tokio::test]
    async fn quick_reads_are_always_fresh() {
        let (snapshots, calls) = (Arc::new(Snapshots::default()), Arc::new(AtomicU32::new(0)));
        for expected in 1..=3 {
            assert_eq!(read(&snapshots, &calls, Duration::ZERO).await, expected);
        }
    }

    #[tokio::test]
    async fn slow_reads_are_kept_and_forgotten_on_change() {
        let (snapshots, calls) = (Arc::new(Snapshots::default()), Arc::new(AtomicU32::new(0)));
        assert_eq!(read(&snapshots, &calls, SLOW).await, 1);
        assert_eq!(read(&snapshots, &calls, SLOW).await, 1, "kept");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "no second read while fresh"
        );
        snapshots.forget(WorkspaceId(1));
        assert_eq!(
            read(&snapshots, &calls, SLOW).await,
            2,
            "read again after a change"
        );
    }

    #[tokio::test]
    async fn an_old_read_is_served_while_one_task_renews_it() {
        let snapshots = Arc::new(Snapshots::aged(Duration::from_millis(1)));
        let calls = Arc::new(AtomicU32::new(0));
        assert_eq!(read(&snapshots, &calls, SLOW).await, 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Old: both requests get the kept copy (not the renewal's 2), and one renewal starts.
        assert_eq!(read(&snapshots, &calls, SLOW).await, 1);
        assert_eq!(read(&snapshots, &calls, SLOW).await, 1);
        for _ in 0..200 {
            if calls.load(Ordering::SeqCst) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one renewal");
        assert_eq!(read(&snapshots, &calls, SLOW).await, 2, "the renewed copy");
    }
}
