//! 送 gift a friend (article 003): a member gives points of their own to a friend they mention.
//! This judges the request; the ledger moves the points member to member, so a balance that
//! cannot cover the gift is refused there and never goes below zero.

use crate::play::GiftRules;

/// A gift the ledger should try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gift {
    pub to: String,
    pub points: i64,
}

/// Why a gift request was refused before the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No friend was mentioned.
    NoFriend,
    ToSelf,
    /// No whole number of points in the message.
    NoAmount,
    TooMuch {
        max: i64,
    },
}

/// Judges `送积分 20 @friend`: `rest` is the text after the command word, `mentions` the
/// friends the platform says were mentioned.
pub fn judge(
    rules: &GiftRules,
    giver: &str,
    rest: &str,
    mentions: &[String],
) -> Result<Gift, Refused> {
    let to = mentions.first().ok_or(Refused::NoFriend)?;
    if to == giver {
        return Err(Refused::ToSelf);
    }
    // A token that is a whole number (`20` or `20分`); digits inside a mention do not count.
    let points = rest
        .split_whitespace()
        .filter_map(|token| token.trim_end_matches(['分', '点']).parse::<i64>().ok())
        .find(|points| *points > 0)
        .ok_or(Refused::NoAmount)?;
    if points > rules.max_points {
        return Err(Refused::TooMuch {
            max: rules.max_points,
        });
    }
    Ok(Gift {
        to: to.clone(),
        points,
    })
}
