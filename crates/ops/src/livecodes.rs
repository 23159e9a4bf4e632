//! Live codes 活码 as operators keep them and visitors use them: a code is saved checked (a
//! located error otherwise), listed with its groups' fill, its channels and its alerts; a scan
//! is counted per channel, and a Matrix visitor who gives their id gets a seat in the first group
//! with room and one `Invite` through the outbox (`keys::livecode_invite`), whose join is then
//! attributed to the code and channel.

use chrono::Duration;
use qunzhu_domain::{keys, ActionKind, ActionStatus, Instant, NewAction, Platform};
use qunzhu_engine::livecodes::set_of;
use qunzhu_growth::livecode::{channel, parse_livecode, valid_code, LiveCode, LiveCodeError};
use qunzhu_storage::{
    Candidate, ChannelFigures, LiveCodeAlert, LiveCodeLink, LiveCodeRecord, Seat, SeatRequest,
    SpareGroup, StoreError, UserRole,
};
use serde::Serialize;
use serde_json::json;

use crate::{parse_matrix_id, Actor, Ops, OpsError, Problem, Result};

/// One group of a code's set with its seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupFill {
    pub chat: String,
    /// The directory's name, when the group is known.
    pub name: Option<String>,
    pub used: u32,
    pub cap: u32,
    /// Made by qunzhu as a spare.
    pub spare: bool,
}

/// A live code as the console and API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCodeView {
    pub code: String,
    pub title: String,
    pub platform: Platform,
    /// The public link (absolute when the server's base URL is set).
    pub link: String,
    pub source: String,
    pub groups: Vec<GroupFill>,
    pub channels: Vec<ChannelFigures>,
    /// Spares planned and not made yet.
    pub pending_spares: Vec<SpareGroup>,
    /// The join links made for visitors (Telegram), per group and channel.
    pub links: Vec<LiveCodeLink>,
    pub updated_by: String,
}

/// An alert and where it went beyond the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutedAlert {
    #[serde(flatten)]
    pub alert: LiveCodeAlert,
    /// The back-room post, when a back-room is configured and the alert was raised while it ran.
    pub backroom: Option<AlertPost>,
}

/// The back-room post of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertPost {
    pub platform: Platform,
    pub chat: String,
    pub status: ActionStatus,
}

/// What a visitor's page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTarget {
    pub record: LiveCodeRecord,
    pub code: LiveCode,
}

/// The outcome of a visitor asking to join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveJoin {
    /// Invited into `chat` (`new: false` when they had been already).
    Invited { chat: String, new: bool },
    /// Every group is full; the operator has been alerted.
    Full,
}

fn problems(errors: Vec<LiveCodeError>) -> OpsError {
    OpsError::Problems(
        errors
            .into_iter()
            .map(|error| Problem {
                line: Some(error.line),
                column: Some(error.col),
                path: Some(error.field.clone()),
                message: format!("{}: {}", error.field, error.message),
            })
            .collect(),
    )
}

/// The public link of a code under `base_url` (`https://ops.example.com`).
pub fn livecode_link(base_url: &str, code: &str) -> String {
    format!("{}/j/{code}", base_url.trim_end_matches('/'))
}

impl Ops {
    /// Checks and saves a live code; the engine's keeper and the public page use it at once.
    pub async fn save_livecode(
        &self,
        who: &Actor,
        code: &str,
        source: &str,
    ) -> Result<LiveCodeRecord> {
        who.require(UserRole::Operator)?;
        crate::limits::bounded("source", source, 100_000)?;
        if !valid_code(code) {
            return Err(OpsError::invalid(
                "code",
                "a live code is 1 to 32 characters of a-z, 0-9, `-` and `_`",
            ));
        }
        let checked = parse_livecode(code, source).map_err(problems)?;
        let record = LiveCodeRecord {
            workspace: who.workspace,
            code: code.to_string(),
            platform: checked.platform,
            source: source.to_string(),
            updated_by: who.name.to_string(),
            updated_at: self.clock.now(),
        };
        let saved = match self.store.put_livecode(record).await {
            Ok(saved) => saved,
            Err(StoreError::Conflict { .. }) => {
                return Err(OpsError::invalid(
                    "code",
                    "this code is taken; choose another",
                ))
            }
            Err(error) => return Err(error.into()),
        };
        self.audit(
            who,
            "livecode.save",
            code,
            json!({ "groups": checked.groups, "cap": checked.cap }),
        )
        .await?;
        Ok(saved)
    }

    /// The workspace's live codes with their fill and channels.
    pub async fn livecodes(&self, who: &Actor, base_url: &str) -> Result<Vec<LiveCodeView>> {
        who.require(UserRole::Viewer)?;
        let mut views = Vec::new();
        for record in self.store.livecodes(who.workspace).await? {
            views.push(self.livecode_view(who, record, base_url).await?);
        }
        Ok(views)
    }

    /// One live code of the workspace.
    pub async fn livecode_in(
        &self,
        who: &Actor,
        code: &str,
        base_url: &str,
    ) -> Result<LiveCodeView> {
        who.require(UserRole::Viewer)?;
        let record = match self.store.livecode(code).await {
            Ok(record) if record.workspace == who.workspace => record,
            Ok(_) | Err(StoreError::NotFound { .. }) => {
                return Err(OpsError::NotFound("live code"))
            }
            Err(error) => return Err(error.into()),
        };
        self.livecode_view(who, record, base_url).await
    }

    async fn livecode_view(
        &self,
        who: &Actor,
        record: LiveCodeRecord,
        base_url: &str,
    ) -> Result<LiveCodeView> {
        let code = parse_livecode(&record.code, &record.source).map_err(problems)?;
        let spares = self.store.spares(who.workspace, &record.code).await?;
        let set = set_of(&code, &spares);
        let used = self
            .store
            .seats_used(who.workspace, code.platform, &set, self.clock.now())
            .await?;
        let names: std::collections::HashMap<String, String> = self
            .store
            .groups(who.workspace)
            .await?
            .into_iter()
            .filter(|group| group.group.platform == code.platform)
            .map(|group| (group.group.chat, group.group.name))
            .collect();
        let groups = set
            .iter()
            .zip(used)
            .map(|(chat, used)| GroupFill {
                chat: chat.clone(),
                name: names.get(chat).cloned(),
                used,
                cap: code.cap,
                spare: !code.groups.contains(chat),
            })
            .collect();
        let mut channels = self
            .store
            .channel_figures(who.workspace, &record.code)
            .await?;
        // Where visitors join by a link, their seat names no member: joins are counted from
        // the invites read model by the links' names instead.
        for through_links in self
            .store
            .livecode_link_joins(who.workspace, &record.code)
            .await?
        {
            if let Some(row) = channels
                .iter_mut()
                .find(|row| row.channel == through_links.channel)
            {
                row.joins += through_links.joins;
            }
        }
        Ok(LiveCodeView {
            link: livecode_link(base_url, &record.code),
            channels,
            links: self
                .store
                .livecode_links(who.workspace, &record.code)
                .await?,
            pending_spares: spares
                .into_iter()
                .filter(|spare| spare.chat.is_none())
                .collect(),
            code: record.code.clone(),
            title: code.title,
            platform: code.platform,
            source: record.source,
            groups,
            updated_by: record.updated_by,
        })
    }

    /// The workspace's alerts, newest first, each with the back-room post that carried it to
    /// the admins (read from the outbox by its key), if one did.
    pub async fn livecode_alerts(&self, who: &Actor) -> Result<Vec<RoutedAlert>> {
        who.require(UserRole::Viewer)?;
        let mut routed = Vec::new();
        for alert in self.store.livecode_alerts(who.workspace).await? {
            let key = keys::backroom_livecode_alert(&alert.code, &alert.kind, alert.sequence);
            let backroom = match self.store.action_by_key(who.workspace, &key).await {
                Ok(post) => Some(AlertPost {
                    platform: post.platform,
                    chat: post.chat,
                    status: post.status,
                }),
                Err(StoreError::NotFound { .. }) => None,
                Err(error) => return Err(error.into()),
            };
            routed.push(RoutedAlert { alert, backroom });
        }
        Ok(routed)
    }

    /// The code behind a public link (any workspace: the link names none).
    pub async fn livecode_target(&self, code: &str) -> Result<LiveTarget> {
        let record = match self.store.livecode(code).await {
            Ok(record) => record,
            Err(StoreError::NotFound { .. }) => return Err(OpsError::NotFound("live code")),
            Err(error) => return Err(error.into()),
        };
        let checked = parse_livecode(&record.code, &record.source)
            .map_err(|_| OpsError::invalid("code", "this code is being fixed; try again later"))?;
        Ok(LiveTarget {
            record,
            code: checked,
        })
    }

    /// A visitor opened the link through `ch` (unknown or missing: `direct`).
    pub async fn scan_livecode(
        &self,
        code: &str,
        given_channel: Option<&str>,
    ) -> Result<LiveTarget> {
        let target = self.livecode_target(code).await?;
        self.store
            .count_scan(
                target.record.workspace,
                &target.record.code,
                &channel(given_channel),
            )
            .await?;
        Ok(target)
    }

    /// Counts a scan of a code already read (the Telegram page counts a visitor once).
    pub async fn count_scan_of(
        &self,
        target: &LiveTarget,
        given_channel: Option<&str>,
    ) -> Result<()> {
        Ok(self
            .store
            .count_scan(
                target.record.workspace,
                &target.record.code,
                &channel(given_channel),
            )
            .await?)
    }

    /// A Matrix visitor asks to join through a code: a seat in the first group with room (held
    /// for the code's `hold_minutes`) and the bot's invitation; when every group is full the
    /// operator is alerted and the visitor told.
    pub async fn join_from_livecode(
        &self,
        code: &str,
        visitor: &str,
        given_channel: Option<&str>,
    ) -> Result<LiveJoin> {
        let target = self.livecode_target(code).await?;
        if target.code.platform != Platform::Matrix {
            return Err(OpsError::invalid(
                "code",
                "this page invites into Matrix groups; scan the group's own code in its app",
            ));
        }
        let visitor = parse_matrix_id(visitor)?;
        let workspace = target.record.workspace;
        let now = self.clock.now();
        let Some(seat) = self.seat_for(&target, &visitor, given_channel).await? else {
            return Ok(LiveJoin::Full);
        };
        let action = NewAction {
            workspace,
            platform: target.code.platform,
            chat: seat.chat.clone(),
            key: keys::livecode_invite(&target.record.code, &seat.chat, &visitor),
            kind: ActionKind::Invite { member: visitor },
            created_at: now,
            not_before: now,
            expires_at: None,
            dry_run: false,
            origin: qunzhu_domain::ActionOrigin::LiveCode(target.record.code.clone()),
            cause: None,
        };
        self.store.enqueue(vec![action]).await?;
        Ok(LiveJoin::Invited {
            chat: seat.chat,
            new: seat.new,
        })
    }

    /// The visitor's seat in the first group of the code's set with room (held for the code's
    /// `hold_minutes`; the same seat again for a visitor who holds one). `None` when every
    /// group is full, and then the operator has been alerted (`full`, once per set size).
    pub(crate) async fn seat_for(
        &self,
        target: &LiveTarget,
        visitor: &str,
        given_channel: Option<&str>,
    ) -> Result<Option<Seat>> {
        let workspace = target.record.workspace;
        let now = self.clock.now();
        let spares = self.store.spares(workspace, &target.record.code).await?;
        let set = set_of(&target.code, &spares);
        let request = SeatRequest {
            code: target.record.code.clone(),
            platform: target.code.platform,
            visitor: visitor.to_string(),
            channel: channel(given_channel),
            candidates: set
                .iter()
                .map(|chat| Candidate {
                    chat: chat.clone(),
                    cap: target.code.cap,
                })
                .collect(),
            at: now,
            hold_until: now.plus(Duration::minutes(i64::from(target.code.hold_minutes))),
        };
        let seat = self.store.take_seat(workspace, request).await?;
        if seat.is_none() {
            let alert = LiveCodeAlert {
                code: target.record.code.clone(),
                kind: "full".into(),
                sequence: set.len() as u32,
                message: format!(
                    "live code `{}`: all {} groups are full and a visitor was turned away; add a group to the code",
                    target.record.code,
                    set.len()
                ),
                at: now,
            };
            self.store.raise_livecode_alert(workspace, alert).await?;
        }
        Ok(seat)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use qunzhu_domain::{Clock, FakeClock};
    use qunzhu_storage::{NewWorkspace, Store};

    use super::*;

    const SOURCE: &str = "title = \"春季\"\nplatform = \"matrix\"\ngroups = [\"!a:hs\"]\ncap = 1\n";

    async fn setup() -> (Ops, Actor) {
        let store: Arc<dyn Store> = Arc::new(
            qunzhu_storage_sqlite::SqliteStore::open_in_memory().expect("in-memory SQLite"),
        );
        let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(
            chrono::Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap(),
        ));
        let workspace = store
            .ensure_workspace(NewWorkspace {
                slug: "w".into(),
                name: "w".into(),
                time_zone: chrono_tz::Asia::Shanghai,
            })
            .await
            .unwrap()
            .id;
        (Ops::new(store, clock), Actor::cli(workspace))
    }

    #[tokio::test]
    async fn a_code_is_saved_checked_and_routes_one_visitor_per_seat() {
        let (ops, who) = setup().await;
        let bad = ops
            .save_livecode(
                &who,
                "spring",
                "title = \"x\"\nplatform = \"matrix\"\ngroups = []\n",
            )
            .await
            .unwrap_err();
        assert!(bad.to_string().contains("line 3: groups"), "{bad}");
        ops.save_livecode(&who, "spring", SOURCE).await.unwrap();
        assert!(matches!(
            ops.livecode_target("nope").await,
            Err(OpsError::NotFound(_))
        ));
        ops.scan_livecode("spring", Some("store")).await.unwrap();
        ops.scan_livecode("spring", Some("!!")).await.unwrap();
        let first = ops
            .join_from_livecode("spring", "@v1:hs", Some("store"))
            .await
            .unwrap();
        assert_eq!(
            first,
            LiveJoin::Invited {
                chat: "!a:hs".into(),
                new: true
            }
        );
        let again = ops
            .join_from_livecode("spring", "@v1:hs", Some("xhs"))
            .await
            .unwrap();
        assert_eq!(
            again,
            LiveJoin::Invited {
                chat: "!a:hs".into(),
                new: false
            }
        );
        assert!(matches!(
            ops.join_from_livecode("spring", "not an id", None).await,
            Err(OpsError::Invalid { field, .. }) if field == "matrix_id"
        ));
        assert_eq!(
            ops.join_from_livecode("spring", "@v2:hs", None)
                .await
                .unwrap(),
            LiveJoin::Full
        );
        let alerts = ops.livecode_alerts(&who).await.unwrap();
        assert_eq!(alerts[0].alert.kind, "full");
        assert_eq!(alerts[0].backroom, None, "no back-room ran");
        let invite = ops
            .store
            .action_by_key(who.workspace, "livecode:spring:!a:hs:@v1:hs")
            .await
            .unwrap();
        assert_eq!(
            invite.kind,
            ActionKind::Invite {
                member: "@v1:hs".into()
            }
        );
        let views = ops
            .livecodes(&who, "https://ops.example.com/")
            .await
            .unwrap();
        assert_eq!(views[0].link, "https://ops.example.com/j/spring");
        assert_eq!(views[0].groups[0].used, 1);
        let channels: Vec<_> = views[0]
            .channels
            .iter()
            .map(|row| (row.channel.as_str(), row.scans, row.seats))
            .collect();
        assert_eq!(channels, [("direct", 1, 0), ("store", 1, 1)]);
    }
}
