//! Point drops (红包雨) SOP steps start: a due `StartDrop` action becomes a drop in the store,
//! keyed by the occurrence (`keys::planned_drop`), plus the step's own text as a message keyed
//! the same way. A claim redone after a crash, or by another instance after the lease, finds the
//! drop already stored under its key and writes nothing new; the drop watcher then opens it.

use chrono::{DateTime, Utc};
use qunzhu_domain::ActionOrigin;
use qunzhu_domain::{keys, ActionKind, ActionRecord, NewAction};
use qunzhu_growth::drop::DropSpec;
use qunzhu_growth::lottery::Prize;
use qunzhu_storage::{NewDrop, Store, StoredDrop};

/// Why a planned drop did not start.
#[derive(Debug)]
pub enum PlannedDropError {
    /// The action's drop is not one the engine runs (the step was written around the checks);
    /// the action is dead with this reason.
    Invalid(String),
    /// The store failed: the claim is left to run out and the action is started again.
    Store(qunzhu_storage::StoreError),
}

/// The drop a step's plan describes, checked as an operator's drop is.
pub fn spec_of(action: &ActionRecord) -> Result<(DropSpec, String), PlannedDropError> {
    let ActionKind::StartDrop { drop, intro } = &action.kind else {
        return Err(PlannedDropError::Invalid(format!(
            "{} is not a drop",
            action.kind.name()
        )));
    };
    let spec = DropSpec {
        keyword: drop.keyword.clone(),
        shares: drop.shares,
        prize: Prize::Points {
            points: drop.points,
        },
        minutes: drop.minutes,
    };
    spec.validate()
        .map_err(|error| PlannedDropError::Invalid(error.to_string()))?;
    Ok((spec, intro.clone()))
}

/// Schedules the occurrence's drop (starting now, the moment its step came due) and answers it
/// with the intro message to enqueue (none for an empty text).
pub async fn schedule_planned(
    store: &dyn Store,
    action: &ActionRecord,
    now: DateTime<Utc>,
) -> Result<(StoredDrop, Vec<NewAction>), PlannedDropError> {
    let (spec, intro) = spec_of(action)?;
    let stored = store
        .schedule_drop(
            action.workspace,
            NewDrop {
                key: keys::planned_drop(&action.key),
                platform: action.platform,
                chat: action.chat.clone(),
                spec,
                starts_at: now,
                origin: action.origin.clone(),
            },
        )
        .await
        .map_err(PlannedDropError::Store)?;
    let mut actions = Vec::new();
    if !intro.trim().is_empty() {
        actions.push(NewAction {
            workspace: action.workspace,
            platform: action.platform,
            chat: action.chat.clone(),
            key: keys::planned_drop_intro(&action.key),
            kind: ActionKind::SendMessage {
                text: intro,
                html: None,
                mentions: Vec::new(),
                reply_to: None,
            },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: ActionOrigin::Drop(stored.id),
            cause: None,
        });
    }
    Ok((stored, actions))
}
