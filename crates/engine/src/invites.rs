//! The invite tracker: an incremental consumer of the log that keeps the invites read model
//! (who brought whom, who is still here), storing its watermark with each batch of changes so a
//! restart resumes exactly where it stopped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use qunzhu_domain::invite::{invite_change, named_code};
use qunzhu_domain::{Event, EventKind, InviteCode, JoinVia, WorkspaceId};
use qunzhu_storage::{Store, StoreError};
use tokio::sync::watch;

#[derive(Clone)]
pub struct InviteTracker {
    pub store: Arc<dyn Store>,
    pub workspace: WorkspaceId,
    /// Events read per batch.
    pub batch: usize,
    pub every: StdDuration,
}

impl InviteTracker {
    /// Applies every logged event after the watermark; returns how many events it read.
    pub async fn run_once(&self) -> qunzhu_storage::Result<usize> {
        let mut read = 0;
        let mut codes: HashMap<String, InviteCode> = HashMap::new();
        loop {
            let after = self.store.invite_watermark(self.workspace).await?;
            let events = self
                .store
                .events(self.workspace, after, self.batch.max(1))
                .await?;
            let Some(last) = events.last().map(|stored| stored.seq) else {
                return Ok(read);
            };
            for code in events.iter().filter_map(|stored| named_code(&stored.event)) {
                if codes.contains_key(code) {
                    continue;
                }
                match self.store.invite_code(self.workspace, code).await {
                    Ok(known) => {
                        codes.insert(code.to_string(), known);
                    }
                    // A platform's own link code qunzhu never issued: the join is still recorded.
                    Err(StoreError::NotFound { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            let mut changes = Vec::with_capacity(events.len());
            for stored in &events {
                let event = self.through_page(&stored.event, &mut codes).await?;
                changes.extend(invite_change(
                    event.as_ref().unwrap_or(&stored.event),
                    &codes,
                ));
            }
            self.store
                .apply_invite_changes(self.workspace, changes, last)
                .await?;
            read += events.len();
            if events.len() < self.batch.max(1) {
                return Ok(read);
            }
        }
    }

    /// A join the bot invited for a member's invite page (`/i/{code}`) is read as a join
    /// through that member's code, so it is attributed to them and not to the bot; one it
    /// invited for a live code (`/j/{code}`) as a join through the live code.
    async fn through_page(
        &self,
        event: &Event,
        codes: &mut HashMap<String, InviteCode>,
    ) -> qunzhu_storage::Result<Option<Event>> {
        let EventKind::MemberJoined {
            member,
            display_name,
            via: JoinVia::Invited { .. },
        } = &event.kind
        else {
            return Ok(None);
        };
        let Some(referral) = self
            .store
            .page_referral(self.workspace, event.platform, &event.chat, member.as_str())
            .await?
        else {
            // A live code's visitor the bot invited joins through that live code (no member
            // brought them, so the code names nobody; its channel is on the seat).
            let seat = self
                .store
                .seat_in(self.workspace, event.platform, &event.chat, member.as_str())
                .await?;
            return Ok(seat.map(|seat| {
                let mut through = event.clone();
                through.kind = EventKind::MemberJoined {
                    member: member.clone(),
                    display_name: display_name.clone(),
                    via: JoinVia::Link { code: seat.code },
                };
                through
            }));
        };
        if !codes.contains_key(&referral.code) {
            match self.store.invite_code(self.workspace, &referral.code).await {
                Ok(known) => {
                    codes.insert(referral.code.clone(), known);
                }
                Err(StoreError::NotFound { .. }) => return Ok(None),
                Err(error) => return Err(error),
            }
        }
        let mut through = event.clone();
        through.kind = EventKind::MemberJoined {
            member: member.clone(),
            display_name: display_name.clone(),
            via: JoinVia::Link {
                code: referral.code,
            },
        };
        Ok(Some(through))
    }

    /// Runs until `stop` turns true; a failing round is logged and retried.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            // Tells the supervisor this loop is alive (a no-op outside one).
            crate::health::beat();
            if *stop.borrow() {
                return;
            }
            if let Err(error) = self.run_once().await {
                tracing::error!(%error, "invite tracking round failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
