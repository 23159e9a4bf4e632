//! The swap board (换, PLAYBOOKS §6; article 003): members post "有X换Y" in the group, others
//! accept by number, and an accepted swap closes both sides once — the offer, and the taker's own
//! mirror offer ("有Y换X") if they had one, paired with it.
//!
//! [`SwapBoard`] is the pure state machine the chat and the console drive: what a message means
//! ([`read_message`]), posting, accepting, withdrawing, and the open offers listed on request.
//! Offers expire after [`SwapBoard::ttl`], judged at the message's time.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How many open offers one member may have at a time.
pub const MAX_OPEN_PER_MEMBER: usize = 3;
/// The longest "X" or "Y".
pub const MAX_ITEM_CHARS: usize = 40;

/// What a group message asks of the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapMessage {
    /// `有X换Y`.
    Post { have: String, want: String },
    /// `换 #3`, `换3`.
    Accept { id: u32 },
    /// `撤回 #3`.
    Withdraw { id: u32 },
    /// `换物墙`, `交换列表`.
    List,
}

fn number(rest: &str) -> Option<u32> {
    rest.trim()
        .trim_start_matches(['#', '＃'])
        .trim()
        .parse()
        .ok()
}

/// Reads a message; anything else is `None` (most messages).
pub fn read_message(text: &str) -> Option<SwapMessage> {
    let text = text.trim();
    if text == "换物墙" || text == "交换列表" {
        return Some(SwapMessage::List);
    }
    if let Some(rest) = text.strip_prefix("撤回") {
        return number(rest).map(|id| SwapMessage::Withdraw { id });
    }
    if let Some(rest) = text.strip_prefix('换') {
        return number(rest).map(|id| SwapMessage::Accept { id });
    }
    let rest = text.strip_prefix('有')?;
    let (have, want) = rest.split_once('换')?;
    let (have, want) = (have.trim(), want.trim());
    (!have.is_empty() && !want.is_empty()).then(|| SwapMessage::Post {
        have: have.to_string(),
        want: want.to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SwapState {
    Open,
    /// Swapped with `with` (the other member); `pair` is the taker's mirror offer closed with it.
    Swapped {
        with: String,
        at: DateTime<Utc>,
        pair: Option<u32>,
    },
    Withdrawn {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapOffer {
    pub id: u32,
    pub member: String,
    pub have: String,
    pub want: String,
    pub posted_at: DateTime<Utc>,
    /// Flattened: `{"state": "open"}`, `{"state": "swapped", "with": …}` in the API.
    #[serde(flatten)]
    pub state: SwapState,
}

/// Why the board refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwapError {
    #[error("#{0} 不存在")]
    NotFound(u32),
    #[error("#{0} 已经换掉或撤回了")]
    NotOpen(u32),
    #[error("#{0} 已过期")]
    Expired(u32),
    #[error("不能换自己发布的 #{0}")]
    OwnOffer(u32),
    #[error("只有发布者可以撤回 #{0}")]
    NotYours(u32),
    #[error("每人最多同时挂 {MAX_OPEN_PER_MEMBER} 条交换")]
    TooMany,
    #[error("你已经挂了同样的交换 #{0}")]
    Duplicate(u32),
    #[error("物品名称请在 1 到 {MAX_ITEM_CHARS} 个字之间")]
    BadItem,
}

/// A finished swap: the offer taken and, if any, the taker's mirror offer closed with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swapped {
    pub offer: SwapOffer,
    pub pair: Option<SwapOffer>,
}

/// One group's board.
#[derive(Debug, Clone)]
pub struct SwapBoard {
    pub ttl: Duration,
    offers: BTreeMap<u32, SwapOffer>,
}

impl SwapBoard {
    pub fn new(ttl: Duration, offers: impl IntoIterator<Item = SwapOffer>) -> SwapBoard {
        SwapBoard {
            ttl,
            offers: offers.into_iter().map(|offer| (offer.id, offer)).collect(),
        }
    }

    fn is_live(&self, offer: &SwapOffer, at: DateTime<Utc>) -> bool {
        offer.state == SwapState::Open && at < offer.posted_at + self.ttl
    }

    /// Open, unexpired offers at `at`, oldest first.
    pub fn listing(&self, at: DateTime<Utc>) -> Vec<&SwapOffer> {
        self.offers
            .values()
            .filter(|offer| self.is_live(offer, at))
            .collect()
    }

    pub fn get(&self, id: u32) -> Option<&SwapOffer> {
        self.offers.get(&id)
    }

    /// Posts "有X换Y" for `member`; the new offer's number.
    pub fn post(
        &mut self,
        member: &str,
        have: &str,
        want: &str,
        at: DateTime<Utc>,
    ) -> Result<u32, SwapError> {
        let (have, want) = (have.trim(), want.trim());
        let fits = |item: &str| !item.is_empty() && item.chars().count() <= MAX_ITEM_CHARS;
        if !fits(have) || !fits(want) {
            return Err(SwapError::BadItem);
        }
        let mine: Vec<&SwapOffer> = self
            .offers
            .values()
            .filter(|offer| offer.member == member && self.is_live(offer, at))
            .collect();
        if let Some(same) = mine
            .iter()
            .find(|offer| offer.have == have && offer.want == want)
        {
            return Err(SwapError::Duplicate(same.id));
        }
        if mine.len() >= MAX_OPEN_PER_MEMBER {
            return Err(SwapError::TooMany);
        }
        let id = self.offers.keys().next_back().map_or(1, |last| last + 1);
        self.offers.insert(
            id,
            SwapOffer {
                id,
                member: member.to_string(),
                have: have.to_string(),
                want: want.to_string(),
                posted_at: at,
                state: SwapState::Open,
            },
        );
        Ok(id)
    }

    /// `taker` accepts offer `id`: it closes, and so does the taker's open mirror offer.
    pub fn accept(
        &mut self,
        id: u32,
        taker: &str,
        at: DateTime<Utc>,
    ) -> Result<Swapped, SwapError> {
        let offer = self.offers.get(&id).ok_or(SwapError::NotFound(id))?;
        if offer.state != SwapState::Open {
            return Err(SwapError::NotOpen(id));
        }
        if !self.is_live(offer, at) {
            return Err(SwapError::Expired(id));
        }
        if offer.member == taker {
            return Err(SwapError::OwnOffer(id));
        }
        let (have, want, owner) = (offer.have.clone(), offer.want.clone(), offer.member.clone());
        let pair = self
            .offers
            .values()
            .find(|mirror| {
                mirror.member == taker
                    && mirror.have == want
                    && mirror.want == have
                    && self.is_live(mirror, at)
            })
            .map(|mirror| mirror.id);
        let mut swapped = None;
        if let Some(offer) = self.offers.get_mut(&id) {
            offer.state = SwapState::Swapped {
                with: taker.to_string(),
                at,
                pair,
            };
            swapped = Some(offer.clone());
        }
        let pair = pair.and_then(|pair| {
            let mirror = self.offers.get_mut(&pair)?;
            mirror.state = SwapState::Swapped {
                with: owner.clone(),
                at,
                pair: Some(id),
            };
            Some(mirror.clone())
        });
        let offer = swapped.ok_or(SwapError::NotFound(id))?;
        Ok(Swapped { offer, pair })
    }

    /// The poster takes their offer down.
    pub fn withdraw(
        &mut self,
        id: u32,
        member: &str,
        at: DateTime<Utc>,
    ) -> Result<SwapOffer, SwapError> {
        let offer = self.offers.get_mut(&id).ok_or(SwapError::NotFound(id))?;
        if offer.member != member {
            return Err(SwapError::NotYours(id));
        }
        if offer.state != SwapState::Open {
            return Err(SwapError::NotOpen(id));
        }
        offer.state = SwapState::Withdrawn { at };
        Ok(offer.clone())
    }

    /// The board as the bot lists it in the group.
    pub fn listing_text(&self, at: DateTime<Utc>) -> String {
        let open = self.listing(at);
        if open.is_empty() {
            return "🔄 换物墙还空着。发「有X换Y」挂一条吧！".into();
        }
        let mut text = String::from("🔄 换物墙（回复「换 #编号」即可交换）：");
        for offer in open {
            text.push_str(&format!("\n#{} 有{}换{}", offer.id, offer.have, offer.want));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qunzhu_domain::{Clock, FakeClock};

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::hours(hours)
    }

    #[test]
    fn messages_are_read_as_posts_accepts_withdrawals_and_listings() {
        for (text, expected) in [
            (
                "有猫粮换狗粮",
                Some(SwapMessage::Post {
                    have: "猫粮".into(),
                    want: "狗粮".into(),
                }),
            ),
            (
                " 有 两张电影票 换 一本书 ",
                Some(SwapMessage::Post {
                    have: "两张电影票".into(),
                    want: "一本书".into(),
                }),
            ),
            ("换 #3", Some(SwapMessage::Accept { id: 3 })),
            ("换12", Some(SwapMessage::Accept { id: 12 })),
            ("撤回 ＃2", Some(SwapMessage::Withdraw { id: 2 })),
            ("换物墙", Some(SwapMessage::List)),
            ("有换", None),
            ("换个话题", None),
            ("我有猫粮换狗粮", None),
        ] {
            assert_eq!(read_message(text), expected, "{text}");
        }
    }

    /// Each step: hours on the fake clock, member, message, the outcome (new id, or the error).
    #[test]
    fn an_accepted_swap_closes_both_sides_once() {
        let clock = FakeClock::new(at(0));
        let mut board = SwapBoard::new(Duration::days(3), Vec::new());
        let steps: &[(i64, &str, &str, Result<u32, SwapError>)] = &[
            (0, "@a", "有猫粮换狗粮", Ok(1)),
            (1, "@a", "有猫粮换狗粮", Err(SwapError::Duplicate(1))),
            (1, "@b", "有狗粮换猫粮", Ok(2)),
            (2, "@a", "换 #1", Err(SwapError::OwnOffer(1))),
            (2, "@b", "换 #1", Ok(1)),
            (3, "@c", "换 #1", Err(SwapError::NotOpen(1))),
            (3, "@c", "换 #2", Err(SwapError::NotOpen(2))),
            (3, "@c", "换 #9", Err(SwapError::NotFound(9))),
            (4, "@c", "有书换笔", Ok(3)),
            (5, "@a", "撤回 #3", Err(SwapError::NotYours(3))),
            (80, "@a", "换 #3", Err(SwapError::Expired(3))),
        ];
        for (hours, member, text, expected) in steps {
            clock.set(at(*hours));
            let got = match read_message(text) {
                Some(SwapMessage::Post { have, want }) => {
                    board.post(member, &have, &want, clock.now())
                }
                Some(SwapMessage::Accept { id }) => {
                    board.accept(id, member, clock.now()).map(|s| s.offer.id)
                }
                Some(SwapMessage::Withdraw { id }) => {
                    board.withdraw(id, member, clock.now()).map(|o| o.id)
                }
                other => panic!("{text}: {other:?}"),
            };
            assert_eq!(&got, expected, "{member} {text} at +{hours}h");
        }
        assert_eq!(
            board.get(1).map(|o| o.state.clone()),
            Some(SwapState::Swapped {
                with: "@b".into(),
                at: at(2),
                pair: Some(2)
            })
        );
        assert_eq!(
            board.get(2).map(|o| o.state.clone()),
            Some(SwapState::Swapped {
                with: "@a".into(),
                at: at(2),
                pair: Some(1)
            }),
            "the taker's mirror offer closed with it"
        );
        assert_eq!(
            board.listing_text(at(80)),
            "🔄 换物墙还空着。发「有X换Y」挂一条吧！"
        );
        assert_eq!(
            board.listing_text(at(5)),
            "🔄 换物墙（回复「换 #编号」即可交换）：\n#3 有书换笔"
        );
    }

    #[test]
    fn a_member_has_at_most_three_open_offers() {
        let mut board = SwapBoard::new(Duration::days(3), Vec::new());
        for (index, expected) in [Ok(1), Ok(2), Ok(3), Err(SwapError::TooMany)]
            .into_iter()
            .enumerate()
        {
            assert_eq!(
                board.post("@a", &format!("物{index}"), "任何", at(0)),
                expected
            );
        }
        assert_eq!(board.withdraw(1, "@a", at(1)).map(|o| o.id), Ok(1));
        assert_eq!(
            board.post("@a", "新物", "任何", at(1)),
            Ok(4),
            "a withdrawn offer frees a place"
        );
        assert_eq!(board.post("@b", " ", "x", at(1)), Err(SwapError::BadItem));
    }
}
