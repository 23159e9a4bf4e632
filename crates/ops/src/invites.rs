//! Invite attribution as operators see it: who a member brought, counts per inviter (per group
//! or campaign), and a member's personal invite code.

use qunzhu_domain::MemberId;
use qunzhu_domain::{InviteCode, Platform};
use qunzhu_storage::{Invite, InviteCount, InviteFilter, StoreError, UserRole};
use rand::RngCore;
use serde_json::json;

use crate::{Actor, Ops, OpsError, Result};

impl Ops {
    pub async fn member_invites(
        &self,
        who: &Actor,
        platform: Platform,
        user: &str,
    ) -> Result<Vec<Invite>> {
        who.require(UserRole::Viewer)?;
        self.known_member_of(who, platform, user).await?;
        Ok(self.store.invites_by(who.workspace, platform, user).await?)
    }

    pub async fn invite_counts(
        &self,
        who: &Actor,
        filter: &InviteFilter,
        limit: usize,
    ) -> Result<Vec<InviteCount>> {
        who.require(UserRole::Viewer)?;
        Ok(self
            .store
            .invite_counts(who.workspace, filter, limit.clamp(1, 1000))
            .await?)
    }

    /// A new personal invite code for a member (optionally for a campaign): whoever joins
    /// through it counts for them.
    pub async fn create_invite_code(
        &self,
        who: &Actor,
        platform: Platform,
        user: &str,
        campaign: Option<String>,
    ) -> Result<InviteCode> {
        who.require(UserRole::Operator)?;
        if campaign
            .as_deref()
            .is_some_and(|name| name.trim().is_empty())
        {
            return Err(OpsError::invalid("campaign", "a campaign needs a name"));
        }
        self.known_member_of(who, platform, user).await?;
        let mut random = [0u8; 6];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let code = InviteCode {
            code: random.iter().map(|byte| format!("{byte:02x}")).collect(),
            platform,
            member: user.to_string(),
            campaign,
        };
        let code = self.store.put_invite_code(who.workspace, code).await?;
        let detail = json!({ "member": format!("{platform}:{user}"), "campaign": code.campaign });
        self.audit(who, "invite.code", &code.code, detail).await?;
        Ok(code)
    }

    async fn known_member_of(&self, who: &Actor, platform: Platform, user: &str) -> Result<()> {
        match self
            .store
            .member(who.workspace, platform, &MemberId::from(user))
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound { .. }) => Err(OpsError::NotFound("member")),
            Err(other) => Err(other.into()),
        }
    }
}
