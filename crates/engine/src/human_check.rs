//! The dispatcher's side of the human check at join: the removal written at join time, due at
//! the deadline, is skipped when the same join was already decided (passed, or removed for a
//! wrong answer). The outbox is the memory, so a restart between join and deadline changes
//! nothing.

use qunzhu_domain::{ActionRecord, ActionStatus};
use qunzhu_storage::{Store, StoreError};

/// Why a check's scheduled removal must not run, if it must not.
pub(crate) async fn expiry_moot(store: &dyn Store, action: &ActionRecord) -> Option<String> {
    let cancelled_by = qunzhu_moderation::human_check::expiry_cancelled_by(&action.key)?;
    for key in cancelled_by {
        match store.action_by_key(action.workspace, &key).await {
            Ok(decided) if decided.status != ActionStatus::Dead => {
                return Some(format!("the human check was decided ({key})"));
            }
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(error) => {
                // Unsure: removing on time is what the check promised; a passed member can
                // rejoin, a bot let in cannot be taken back.
                tracing::warn!(%error, action = action.id.0, "cannot read the human check's outcome");
            }
        }
    }
    None
}
