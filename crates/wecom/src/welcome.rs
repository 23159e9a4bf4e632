//! Group welcome templates (`group_welcome_template`) kept in step with the rule file's 欢迎语.
//!
//! WeCom greets a customer joining a group with a template of the corp, `%NICKNAME%` standing
//! for the newcomer; the rule file's welcome uses `{name}`. The template id and the text last
//! synced are kept in the connector's own file, so an unchanged welcome costs no call.

use std::path::PathBuf;

use qunzhu_connector::{ConnectorError, Result};
use qunzhu_moderation::template::Var;
use qunzhu_moderation::Welcome;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::WecomConnector;

/// WeCom's placeholder for the member being greeted.
pub const NICKNAME: &str = "%NICKNAME%";

/// The rule file's welcome as WeCom's template text: `{name}` → `%NICKNAME%`, `{group}` →
/// 本群 (one template serves every group), `{intro_template}` filled, other holes dropped.
pub fn template_text(welcome: &Welcome) -> String {
    welcome.template.render(|var, out| match var {
        Var::Name => out.push_str(NICKNAME),
        Var::Group => out.push_str("本群"),
        Var::IntroTemplate => out.push_str(&welcome.intro_template),
        _ => {}
    })
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WelcomeSync {
    Added { template_id: String },
    Edited { template_id: String },
    Unchanged { template_id: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Synced {
    template_id: String,
    text: String,
}

impl WecomConnector {
    fn welcome_path(&self) -> PathBuf {
        PathBuf::from(&self.config().state_dir)
            .join(format!("{}-welcome.json", self.config().account))
    }

    /// Adds the template the first time, edits it when the text changed, else does nothing.
    pub async fn sync_welcome_template(&self, text: &str) -> Result<WelcomeSync> {
        let path = self.welcome_path();
        let synced: Option<Synced> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        let outcome = match synced {
            Some(synced) if synced.text == text => {
                return Ok(WelcomeSync::Unchanged {
                    template_id: synced.template_id,
                })
            }
            Some(synced) => {
                self.api()
                    .post(
                        "externalcontact/group_welcome_template/edit",
                        json!({"template_id": synced.template_id, "text": {"content": text}, "agentid": self.config().agent_id}),
                    )
                    .await?;
                WelcomeSync::Edited {
                    template_id: synced.template_id,
                }
            }
            None => {
                let answer = self
                    .api()
                    .post(
                        "externalcontact/group_welcome_template/add",
                        json!({"text": {"content": text}, "agentid": self.config().agent_id, "notify": 0}),
                    )
                    .await?;
                let template_id = answer
                    .get("template_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ConnectorError::Transient(
                            "group_welcome_template/add answered without template_id".into(),
                        )
                    })?
                    .to_string();
                WelcomeSync::Added { template_id }
            }
        };
        let template_id = match &outcome {
            WelcomeSync::Added { template_id }
            | WelcomeSync::Edited { template_id }
            | WelcomeSync::Unchanged { template_id } => template_id.clone(),
        };
        let record = serde_json::to_string(&Synced {
            template_id,
            text: text.to_string(),
        })
        .map_err(|error| ConnectorError::Transient(error.to_string()))?;
        std::fs::write(&path, record)
            .map_err(|error| ConnectorError::Transient(format!("{}: {error}", path.display())))?;
        tracing::info!(
            ?outcome,
            "WeCom group welcome template in sync with the rule file"
        );
        Ok(outcome)
    }
}
