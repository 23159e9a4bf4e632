//! The Bot API's wire types, hand-written with serde: only the fields qunzhu reads, every one
//! optional where the documents say so, unknown fields ignored (new Bot API versions add them).

use serde::Deserialize;

/// The envelope of every Bot API answer.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiResponse {
    pub ok: bool,
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    #[serde(default)]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<ResponseParameters>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResponseParameters {
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub migrate_to_chat_id: Option<i64>,
}

/// One incoming update; at most one of the optional parts is set.
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub edited_message: Option<Message>,
    #[serde(default)]
    pub chat_member: Option<ChatMemberUpdated>,
    #[serde(default)]
    pub my_chat_member: Option<ChatMemberUpdated>,
    #[serde(default)]
    pub chat_join_request: Option<ChatJoinRequest>,
    #[serde(default)]
    pub message_reaction: Option<MessageReactionUpdated>,
    #[serde(default)]
    pub poll_answer: Option<PollAnswer>,
    #[serde(default)]
    pub callback_query: Option<CallbackQuery>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

impl User {
    /// "First Last", as Telegram shows it.
    pub fn full_name(&self) -> String {
        match &self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MessageEntity {
    #[serde(rename = "type")]
    pub kind: String,
    /// In UTF-16 code units, as the Bot API counts.
    pub offset: i64,
    pub length: i64,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dice {
    pub emoji: String,
    pub value: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Poll {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReplyTo {
    pub message_id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub message_id: i64,
    #[serde(default)]
    pub from: Option<User>,
    pub chat: Chat,
    pub date: i64,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub entities: Vec<MessageEntity>,
    #[serde(default)]
    pub caption_entities: Vec<MessageEntity>,
    #[serde(default)]
    pub reply_to_message: Option<ReplyTo>,
    #[serde(default)]
    pub photo: Option<serde_json::Value>,
    #[serde(default)]
    pub document: Option<serde_json::Value>,
    #[serde(default)]
    pub video: Option<serde_json::Value>,
    #[serde(default)]
    pub animation: Option<serde_json::Value>,
    #[serde(default)]
    pub audio: Option<serde_json::Value>,
    #[serde(default)]
    pub voice: Option<serde_json::Value>,
    #[serde(default)]
    pub video_note: Option<serde_json::Value>,
    #[serde(default)]
    pub sticker: Option<serde_json::Value>,
    #[serde(default)]
    pub location: Option<serde_json::Value>,
    #[serde(default)]
    pub contact: Option<serde_json::Value>,
    #[serde(default)]
    pub poll: Option<Poll>,
    #[serde(default)]
    pub dice: Option<Dice>,
    #[serde(default)]
    pub new_chat_title: Option<String>,
}

/// A member's standing, flattened over the six `ChatMember` kinds (told apart by `status`).
#[derive(Debug, Clone, Deserialize)]
pub struct ChatMember {
    pub status: String,
    pub user: User,
    /// `restricted` only: whether they are still in the chat.
    #[serde(default)]
    pub is_member: Option<bool>,
    #[serde(default)]
    pub until_date: Option<i64>,
    #[serde(default)]
    pub can_restrict_members: Option<bool>,
    #[serde(default)]
    pub can_delete_messages: Option<bool>,
    #[serde(default)]
    pub can_invite_users: Option<bool>,
    #[serde(default)]
    pub can_change_info: Option<bool>,
    #[serde(default)]
    pub can_pin_messages: Option<bool>,
    #[serde(default)]
    pub can_send_messages: Option<bool>,
}

impl ChatMember {
    /// In the chat now (owners, admins, members and restricted members still inside).
    pub fn present(&self) -> bool {
        match self.status.as_str() {
            "creator" | "administrator" | "member" => true,
            "restricted" => self.is_member.unwrap_or(true),
            _ => false,
        }
    }

    /// Whether an administrator right holds; owners hold them all.
    pub fn has_right(&self, right: &str) -> bool {
        if self.status == "creator" {
            return true;
        }
        if self.status != "administrator" {
            return false;
        }
        let value = match right {
            "can_restrict_members" => self.can_restrict_members,
            "can_delete_messages" => self.can_delete_messages,
            "can_invite_users" => self.can_invite_users,
            "can_change_info" => self.can_change_info,
            "can_pin_messages" => self.can_pin_messages,
            _ => Some(true),
        };
        value.unwrap_or(false)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChatInviteLink {
    pub invite_link: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub creates_join_request: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChatMemberUpdated {
    pub chat: Chat,
    pub from: User,
    pub date: i64,
    pub old_chat_member: ChatMember,
    pub new_chat_member: ChatMember,
    #[serde(default)]
    pub invite_link: Option<ChatInviteLink>,
    #[serde(default)]
    pub via_join_request: bool,
    #[serde(default)]
    pub via_chat_folder_invite_link: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChatJoinRequest {
    pub chat: Chat,
    pub from: User,
    /// The private chat with the requester the bot may write to for five minutes, until the
    /// request is decided.
    #[serde(default)]
    pub user_chat_id: Option<i64>,
    pub date: i64,
    #[serde(default)]
    pub bio: Option<String>,
    #[serde(default)]
    pub invite_link: Option<ChatInviteLink>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReactionType {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub emoji: Option<String>,
    #[serde(default)]
    pub custom_emoji_id: Option<String>,
}

impl ReactionType {
    pub fn label(&self) -> String {
        self.emoji
            .clone()
            .or_else(|| self.custom_emoji_id.clone())
            .unwrap_or_else(|| self.kind.clone())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct MessageReactionUpdated {
    pub chat: Chat,
    pub message_id: i64,
    #[serde(default)]
    pub user: Option<User>,
    pub date: i64,
    #[serde(default)]
    pub old_reaction: Vec<ReactionType>,
    #[serde(default)]
    pub new_reaction: Vec<ReactionType>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PollAnswer {
    pub poll_id: String,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub option_ids: Vec<i64>,
}

/// A callback query's message may be "inaccessible" (date 0) but still names its chat.
#[derive(Debug, Clone, Deserialize)]
pub struct CallbackMessage {
    pub message_id: i64,
    pub chat: Chat,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    #[serde(default)]
    pub message: Option<CallbackMessage>,
    #[serde(default)]
    pub data: Option<String>,
}
