//! Who did something through the console, the API or the terminal: the name the audit log and
//! action origins record (`user:<login>`, `token:<name>`, `cli`, `<platform>:<member>`).

use std::fmt;

use crate::model::Platform;

/// The name of whoever acted: a console user, an API token, the terminal on the server, or a
/// staff member typing a command in the back room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActorName {
    /// A console user, by login: `user:<login>`.
    User(String),
    /// An API token, by its name: `token:<name>`.
    Token(String),
    /// The `qunzhu` command on the server: `cli`.
    Cli,
    /// A staff member's command in the back room (审核群): `<platform>:<member id>`.
    Staff { platform: Platform, member: String },
}

impl ActorName {
    /// Reads the text [`Display`](fmt::Display) writes; `None` for anything else.
    pub fn parse(text: &str) -> Option<ActorName> {
        if text == "cli" {
            Some(ActorName::Cli)
        } else if let Some(login) = text.strip_prefix("user:") {
            Some(ActorName::User(login.to_string()))
        } else if let Some(name) = text.strip_prefix("token:") {
            Some(ActorName::Token(name.to_string()))
        } else {
            let (platform, member) = text.split_once(':')?;
            Some(ActorName::Staff {
                platform: Platform::parse(platform).ok()?,
                member: member.to_string(),
            })
        }
    }
}

impl fmt::Display for ActorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActorName::User(login) => write!(f, "user:{login}"),
            ActorName::Token(name) => write!(f, "token:{name}"),
            ActorName::Cli => f.write_str("cli"),
            ActorName::Staff { platform, member } => write!(f, "{platform}:{member}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_text_round_trips() {
        for (text, name) in [
            ("user:ops", ActorName::User("ops".into())),
            ("token:ci", ActorName::Token("ci".into())),
            ("cli", ActorName::Cli),
            ("user:a:b", ActorName::User("a:b".into())),
            (
                "matrix:@mod:hs",
                ActorName::Staff {
                    platform: Platform::Matrix,
                    member: "@mod:hs".into(),
                },
            ),
        ] {
            assert_eq!(name.to_string(), text);
            assert_eq!(ActorName::parse(text), Some(name), "{text}");
        }
        for text in ["", "alice", "bot", "cli:review", "users:x", "irc:x"] {
            assert_eq!(ActorName::parse(text), None, "{text}");
        }
    }
}
