//! Person tasks: posts a person must make where the platform cannot send by itself.

use qunzhu_domain::{ActionId, ActionKind, ActionRecord, ActionStatus};
use qunzhu_storage::{ActionOutcome, UserRole};
use serde_json::json;

use crate::{Actor, Ops, OpsError, Result};

impl Ops {
    /// Records that a person sent a waiting post; the task is done, with who confirmed it.
    pub async fn confirm_task(&self, who: &Actor, action_id: ActionId) -> Result<ActionRecord> {
        who.require(UserRole::Operator)?;
        let task = self.store.action(action_id).await?;
        if task.workspace != who.workspace {
            return Err(OpsError::NotFound("task"));
        }
        if !matches!(
            task.kind,
            ActionKind::PersonTask { .. } | ActionKind::MomentTask { .. }
        ) {
            return Err(OpsError::invalid(
                "action",
                format!("action {action_id} is not a task for a person"),
            ));
        }
        if task.status != ActionStatus::Pending {
            return Err(OpsError::invalid(
                "action",
                format!("task {action_id} is already {}", task.status.as_str()),
            ));
        }
        let now = self.clock.now();
        let outcome = ActionOutcome::Done {
            receipt: Some(format!("confirmed:{}", who.name)),
        };
        self.store.finish_action(action_id, outcome, now).await?;
        self.audit(
            who,
            "sop.task_confirm",
            &task.chat,
            json!({ "action": action_id, "key": task.key }),
        )
        .await?;
        Ok(self.store.action(action_id).await?)
    }
}
