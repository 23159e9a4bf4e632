//! Customer-group rosters from `groupchat/get`, and the difference between two of them as
//! normalized events: who joined (attributed to the live code's `state`), who left (and
//! whether they were removed), renames, notices, owner changes.
//!
//! Keys are derived from what the snapshots say (a member's `join_time`, the group's revision),
//! so diffing the same pair twice gives the same events and the log keeps them once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use qunzhu_domain::{Event, EventKind, JoinVia, LeaveHow, Platform, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha1::{Digest, Sha1};

/// One member as `groupchat/get` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterMember {
    /// 1 staff (企业成员), 2 external contact (customer).
    pub kind: u32,
    pub join_time: i64,
    /// 1 invited directly, 2 through the group link, 3 scanned the group QR code.
    pub join_scene: u32,
    pub invitor: Option<String>,
    /// The join way's channel (`state`), when they came through a live code.
    pub state: Option<String>,
    pub name: Option<String>,
}

/// A customer group as qunzhu last saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSnapshot {
    pub name: String,
    pub owner: String,
    pub notice: String,
    pub admins: Vec<String>,
    pub members: BTreeMap<String, RosterMember>,
    /// `member_version`, compared with a callback's `LastMemVer` to find lost callbacks.
    pub version: Option<String>,
    /// Grows with every change that is not a membership (rename, notice, owner), for keys.
    pub revision: u64,
    pub dismissed: bool,
}

/// A field of a `groupchat/get` answer that is missing or of the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("groupchat/get: {path}: {message}")]
pub struct SnapshotError {
    pub path: String,
    pub message: &'static str,
}

fn string(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Reads the `group_chat` object of a `groupchat/get` answer.
pub fn snapshot_from(answer: &Value) -> Result<(String, GroupSnapshot), SnapshotError> {
    let chat = answer.get("group_chat").ok_or(SnapshotError {
        path: "group_chat".into(),
        message: "missing",
    })?;
    let chat_id = string(chat, "chat_id");
    if chat_id.is_empty() {
        return Err(SnapshotError {
            path: "group_chat.chat_id".into(),
            message: "missing",
        });
    }
    let mut members = BTreeMap::new();
    let list = chat
        .get("member_list")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for (index, member) in list.iter().enumerate() {
        let userid = string(member, "userid");
        if userid.is_empty() {
            return Err(SnapshotError {
                path: format!("group_chat.member_list[{index}].userid"),
                message: "missing",
            });
        }
        let nickname = string(member, "group_nickname");
        let name = if nickname.is_empty() {
            string(member, "name")
        } else {
            nickname
        };
        let invitor = member
            .get("invitor")
            .map(|invitor| string(invitor, "userid"))
            .filter(|id| !id.is_empty());
        let state = Some(string(member, "state")).filter(|state| !state.is_empty());
        members.insert(
            userid,
            RosterMember {
                kind: member.get("type").and_then(Value::as_u64).unwrap_or(2) as u32,
                join_time: member.get("join_time").and_then(Value::as_i64).unwrap_or(0),
                join_scene: member
                    .get("join_scene")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as u32,
                invitor,
                state,
                name: Some(name).filter(|name| !name.is_empty()),
            },
        );
    }
    let admins = chat
        .get("admin_list")
        .and_then(Value::as_array)
        .map(|admins| {
            admins
                .iter()
                .map(|admin| string(admin, "userid"))
                .filter(|id| !id.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok((
        chat_id,
        GroupSnapshot {
            name: string(chat, "name"),
            owner: string(chat, "owner"),
            notice: string(chat, "notice"),
            admins,
            members,
            version: Some(string(chat, "member_version")).filter(|version| !version.is_empty()),
            revision: 0,
            dismissed: false,
        },
    ))
}

/// How a member came in, from what the roster says about them.
pub fn join_via(member: &RosterMember, owner: &str) -> JoinVia {
    if let Some(state) = &member.state {
        return JoinVia::Link {
            code: state.clone(),
        };
    }
    match member.join_scene {
        1 => JoinVia::Invited {
            by: member.invitor.clone().unwrap_or_else(|| owner.to_string()),
        },
        2 => JoinVia::Link {
            code: "group_link".into(),
        },
        3 => JoinVia::Link {
            code: "group_qr".into(),
        },
        _ => JoinVia::Direct,
    }
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha1::digest(text.as_bytes())[..6])
}

/// The events between `old` (none: first sight) and `new`. `removed` lists members a callback
/// said were removed by the owner or an admin (QuitScene 1); the others left by themselves.
/// `at` dates what the snapshots cannot date (leaves, renames). Returns the events and the new
/// snapshot with its revision carried on.
pub fn diff(
    workspace: WorkspaceId,
    chat: &str,
    old: Option<&GroupSnapshot>,
    mut new: GroupSnapshot,
    removed: &[String],
    at: DateTime<Utc>,
) -> (Vec<Event>, GroupSnapshot) {
    let event = |key: String, at: DateTime<Utc>, kind: EventKind| Event {
        workspace,
        platform: Platform::WeCom,
        key,
        chat: chat.to_string(),
        at,
        kind,
    };
    let joined_at =
        |member: &RosterMember| DateTime::<Utc>::from_timestamp(member.join_time, 0).unwrap_or(at);
    let mut events = Vec::new();
    let Some(old) = old else {
        for (userid, member) in &new.members {
            events.push(event(
                format!("wecom:{chat}:present:{userid}:{}", member.join_time),
                joined_at(member),
                EventKind::MemberPresent {
                    member: userid.clone().into(),
                    display_name: member.name.clone(),
                },
            ));
        }
        return (events, new);
    };
    for (userid, member) in &new.members {
        let rejoined = old
            .members
            .get(userid)
            .is_some_and(|before| before.join_time != member.join_time);
        if rejoined {
            // Left and came back between two looks: the leave was never seen.
            if let Some(before) = old.members.get(userid) {
                events.push(event(
                    format!("wecom:{chat}:leave:{userid}:{}", before.join_time),
                    joined_at(member),
                    EventKind::MemberLeft {
                        member: userid.clone().into(),
                        how: LeaveHow::Left,
                        by: None,
                    },
                ));
            }
        }
        if rejoined || !old.members.contains_key(userid) {
            events.push(event(
                format!("wecom:{chat}:join:{userid}:{}", member.join_time),
                joined_at(member),
                EventKind::MemberJoined {
                    member: userid.clone().into(),
                    display_name: member.name.clone(),
                    via: join_via(member, &new.owner),
                },
            ));
        }
    }
    for (userid, member) in &old.members {
        if new.members.contains_key(userid) {
            continue;
        }
        let kicked = removed.contains(userid);
        events.push(event(
            format!("wecom:{chat}:leave:{userid}:{}", member.join_time),
            at,
            EventKind::MemberLeft {
                member: userid.clone().into(),
                how: if kicked {
                    LeaveHow::Kicked
                } else {
                    LeaveHow::Left
                },
                by: kicked.then(|| new.owner.clone()),
            },
        ));
    }
    new.revision = old.revision;
    let mut revise = |what: &str, text: &str, kind: EventKind, events: &mut Vec<Event>| {
        new.revision += 1;
        events.push(event(
            format!("wecom:{chat}:{what}:{}:{}", new.revision, short_hash(text)),
            at,
            kind,
        ));
    };
    if old.name != new.name {
        let name = new.name.clone();
        revise(
            "name",
            &name,
            EventKind::GroupRenamed {
                name: name.clone(),
                by: None,
            },
            &mut events,
        );
    }
    if old.notice != new.notice {
        let notice = new.notice.clone();
        revise(
            "notice",
            &notice,
            EventKind::GroupTopicChanged {
                topic: notice.clone(),
            },
            &mut events,
        );
    }
    if old.owner != new.owner {
        let owner = new.owner.clone();
        revise(
            "owner",
            &owner,
            EventKind::GroupOwnerChanged {
                owner: owner.clone(),
            },
            &mut events,
        );
    }
    (events, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(members: Value, name: &str) -> Value {
        json!({"errcode":0,"group_chat":{"chat_id":"wrA","name":name,"owner":"zhangsan","notice":"","create_time":1700000000,
            "member_list":members,"admin_list":[{"userid":"lisi"}],"member_version":"v9"}})
    }

    fn at() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_700_001_000, 0).unwrap()
    }

    #[test]
    fn joins_are_attributed_and_leaves_say_whether_removed() {
        let (_, before) = snapshot_from(&answer(
            json!([{"userid":"zhangsan","type":1,"join_time":1,"join_scene":1},
                   {"userid":"wmGone","type":2,"join_time":5,"join_scene":1,"invitor":{"userid":"zhangsan"}},
                   {"userid":"wmKicked","type":2,"join_time":6,"join_scene":3}]),
            "春季群",
        ))
        .unwrap();
        let (_, after) = snapshot_from(&answer(
            json!([{"userid":"zhangsan","type":1,"join_time":1,"join_scene":1},
                   {"userid":"wmNew","type":2,"join_time":700,"join_scene":3,"state":"poster_spring","group_nickname":"小王"},
                   {"userid":"wmInv","type":2,"join_time":701,"join_scene":1,"invitor":{"userid":"zhangsan"}}]),
            "春季群2",
        ))
        .unwrap();
        let (events, next) = diff(
            WorkspaceId(1),
            "wrA",
            Some(&before),
            after.clone(),
            &["wmKicked".to_string()],
            at(),
        );
        let kinds: Vec<(String, EventKind)> = events
            .iter()
            .map(|event| (event.key.clone(), event.kind.clone()))
            .collect();
        assert_eq!(
            kinds[0],
            (
                "wecom:wrA:join:wmInv:701".into(),
                EventKind::MemberJoined {
                    member: "wmInv".into(),
                    display_name: None,
                    via: JoinVia::Invited {
                        by: "zhangsan".into()
                    }
                }
            )
        );
        assert_eq!(
            kinds[1].1,
            EventKind::MemberJoined {
                member: "wmNew".into(),
                display_name: Some("小王".into()),
                via: JoinVia::Link {
                    code: "poster_spring".into()
                }
            }
        );
        assert_eq!(
            kinds[2].1,
            EventKind::MemberLeft {
                member: "wmGone".into(),
                how: LeaveHow::Left,
                by: None
            }
        );
        assert_eq!(
            kinds[3].1,
            EventKind::MemberLeft {
                member: "wmKicked".into(),
                how: LeaveHow::Kicked,
                by: Some("zhangsan".into())
            }
        );
        assert!(matches!(&kinds[4].1, EventKind::GroupRenamed { name, .. } if name == "春季群2"));
        assert_eq!(next.revision, 1);
        // The same pair diffed again gives the same keys (a re-emission after a crash).
        let (again, _) = diff(
            WorkspaceId(1),
            "wrA",
            Some(&before),
            after,
            &["wmKicked".to_string()],
            at(),
        );
        assert_eq!(again, events);
    }

    #[test]
    fn first_sight_is_presence_and_bad_answers_name_the_field() {
        let (chat, snapshot) = snapshot_from(&answer(
            json!([{"userid":"a","type":2,"join_time":3,"join_scene":2}]),
            "x",
        ))
        .unwrap();
        assert_eq!(chat, "wrA");
        assert_eq!(snapshot.version.as_deref(), Some("v9"));
        assert_eq!(snapshot.admins, vec!["lisi"]);
        let (events, _) = diff(WorkspaceId(1), "wrA", None, snapshot, &[], at());
        assert!(
            matches!(&events[0].kind, EventKind::MemberPresent { member, .. } if member == "a")
        );
        let error = snapshot_from(&answer(json!([{"type":2}]), "x")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "groupchat/get: group_chat.member_list[0].userid: missing"
        );
    }
}
