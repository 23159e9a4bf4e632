//! The decrypted callback XML, read into a closed set of what qunzhu cares about:
//! `change_external_chat` (create, update with its detail, dismiss) and everything else ignored.

use sha1::{Digest, Sha1};

/// What a customer group went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Create,
    Update,
    Dismiss,
}

/// What an `update` changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateDetail {
    AddMember,
    DelMember,
    ChangeOwner,
    ChangeName,
    ChangeNotice,
}

/// One `change_external_chat` callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatChange {
    pub chat_id: String,
    /// `CreateTime`, Unix seconds.
    pub at: i64,
    pub change: ChangeType,
    pub detail: Option<UpdateDetail>,
    /// 0 invited (also by link), 3 scanned the group QR code.
    pub join_scene: Option<u32>,
    /// 0 left by themselves, 1 removed by the owner or an admin.
    pub quit_scene: Option<u32>,
    pub members: Vec<String>,
    pub last_mem_ver: Option<String>,
    pub cur_mem_ver: Option<String>,
}

/// A callback as qunzhu reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    ExternalChat(ChatChange),
    /// Anything else (messages to the app, contact events): recorded, not acted on.
    Other {
        msg_type: String,
        event: Option<String>,
    },
}

/// A callback that could not be read, with the element at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("callback <{field}>: {message}")]
pub struct CallbackError {
    pub field: &'static str,
    pub message: String,
}

fn fail(field: &'static str, message: impl Into<String>) -> CallbackError {
    CallbackError {
        field,
        message: message.into(),
    }
}

/// Reads a decrypted callback.
pub fn parse_callback(xml: &str) -> Result<Callback, CallbackError> {
    let document =
        roxmltree::Document::parse(xml).map_err(|error| fail("xml", error.to_string()))?;
    let root = document.root_element();
    let field = |name: &str| -> Option<String> {
        root.children()
            .find(|node| node.has_tag_name(name))
            .map(|node| node.text().unwrap_or("").trim().to_string())
    };
    let msg_type = field("MsgType").ok_or_else(|| fail("MsgType", "missing"))?;
    let event = field("Event");
    if msg_type != "event" || event.as_deref() != Some("change_external_chat") {
        return Ok(Callback::Other { msg_type, event });
    }
    let chat_id = field("ChatId")
        .filter(|chat| !chat.is_empty())
        .ok_or_else(|| fail("ChatId", "missing"))?;
    let at = field("CreateTime")
        .ok_or_else(|| fail("CreateTime", "missing"))?
        .parse::<i64>()
        .map_err(|error| fail("CreateTime", error.to_string()))?;
    let change = match field("ChangeType").as_deref() {
        Some("create") => ChangeType::Create,
        Some("update") => ChangeType::Update,
        Some("dismiss") => ChangeType::Dismiss,
        Some(other) => {
            return Err(fail(
                "ChangeType",
                format!("`{other}`, expected one of: create, update, dismiss"),
            ))
        }
        None => return Err(fail("ChangeType", "missing")),
    };
    let detail = match (change, field("UpdateDetail").as_deref()) {
        (ChangeType::Update, Some("add_member")) => Some(UpdateDetail::AddMember),
        (ChangeType::Update, Some("del_member")) => Some(UpdateDetail::DelMember),
        (ChangeType::Update, Some("change_owner")) => Some(UpdateDetail::ChangeOwner),
        (ChangeType::Update, Some("change_name")) => Some(UpdateDetail::ChangeName),
        (ChangeType::Update, Some("change_notice")) => Some(UpdateDetail::ChangeNotice),
        (ChangeType::Update, other) => {
            return Err(fail(
                "UpdateDetail",
                format!(
                    "`{}`, expected one of: add_member, del_member, change_owner, change_name, change_notice",
                    other.unwrap_or("")
                ),
            ))
        }
        _ => None,
    };
    let number = |name: &'static str| -> Result<Option<u32>, CallbackError> {
        match field(name).filter(|text| !text.is_empty()) {
            Some(text) => text
                .parse::<u32>()
                .map(Some)
                .map_err(|error| fail(name, error.to_string())),
            None => Ok(None),
        }
    };
    let members = root
        .children()
        .find(|node| node.has_tag_name("MemChangeList"))
        .map(|list| {
            list.children()
                .filter(|node| node.has_tag_name("Item"))
                .filter_map(|node| node.text())
                .map(|text| text.trim().to_string())
                .filter(|text| !text.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(Callback::ExternalChat(ChatChange {
        chat_id,
        at,
        change,
        detail,
        join_scene: number("JoinScene")?,
        quit_scene: number("QuitScene")?,
        members,
        last_mem_ver: field("LastMemVer").filter(|text| !text.is_empty()),
        cur_mem_ver: field("CurMemVer").filter(|text| !text.is_empty()),
    }))
}

/// The key a callback is deduplicated by: its `MsgId` when it has one, else a hash of the
/// decrypted XML (WeCom's retries carry the same plaintext, re-encrypted).
pub fn dedupe_key(xml: &str) -> String {
    if let Ok(document) = roxmltree::Document::parse(xml) {
        if let Some(id) = document
            .root_element()
            .children()
            .find(|node| node.has_tag_name("MsgId"))
            .and_then(|node| node.text())
            .filter(|id| !id.trim().is_empty())
        {
            return format!("msg:{}", id.trim());
        }
    }
    format!("xml:{}", hex::encode(Sha1::digest(xml.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(inner: &str) -> String {
        format!("<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA]]></ChatId>{inner}</xml>")
    }

    #[test]
    fn reads_member_changes_with_scenes_and_versions() {
        let body = xml("<ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>3</JoinScene><MemChangeCnt>2</MemChangeCnt><MemChangeList><Item><![CDATA[wmA]]></Item><Item><![CDATA[wmB]]></Item></MemChangeList><LastMemVer><![CDATA[v1]]></LastMemVer><CurMemVer><![CDATA[v2]]></CurMemVer>");
        let Callback::ExternalChat(change) = parse_callback(&body).unwrap() else {
            panic!("not a chat change")
        };
        assert_eq!(change.detail, Some(UpdateDetail::AddMember));
        assert_eq!(change.join_scene, Some(3));
        assert_eq!(change.members, vec!["wmA", "wmB"]);
        assert_eq!(change.last_mem_ver.as_deref(), Some("v1"));
        assert_eq!(change.cur_mem_ver.as_deref(), Some("v2"));
        assert_eq!(change.at, 1_700_000_000);
    }

    #[test]
    fn bad_fields_name_the_element() {
        let cases = [
            (
                xml("<ChangeType>melt</ChangeType>"),
                "callback <ChangeType>: `melt`, expected one of: create, update, dismiss",
            ),
            (
                xml("<ChangeType>update</ChangeType><UpdateDetail>x</UpdateDetail>"),
                "callback <UpdateDetail>: `x`, expected one of: add_member, del_member, change_owner, change_name, change_notice",
            ),
            (
                xml("<ChangeType>update</ChangeType><UpdateDetail>del_member</UpdateDetail><QuitScene>-1</QuitScene>"),
                "callback <QuitScene>: invalid digit found in string",
            ),
            ("<xml><Event>x</Event></xml>".to_string(), "callback <MsgType>: missing"),
        ];
        for (body, expected) in cases {
            assert_eq!(parse_callback(&body).unwrap_err().to_string(), expected);
        }
        assert_eq!(
            parse_callback("<xml><MsgType>text</MsgType></xml>").unwrap(),
            Callback::Other {
                msg_type: "text".into(),
                event: None
            }
        );
    }

    #[test]
    fn dedupe_keys_prefer_the_message_id() {
        assert_eq!(dedupe_key("<xml><MsgId>42</MsgId></xml>"), "msg:42");
        let event = xml("<ChangeType>dismiss</ChangeType>");
        assert_eq!(dedupe_key(&event), dedupe_key(&event.clone()));
        assert_ne!(
            dedupe_key(&event),
            dedupe_key(&xml("<ChangeType>create</ChangeType>"))
        );
    }
}
