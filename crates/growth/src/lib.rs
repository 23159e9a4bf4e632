//! The growth engine's decisions (PLAYBOOKS §3, §6): campaigns that turn members into
//! recruiters, and the rules that keep them honest. Pure: every function takes the facts it needs
//! and returns what should happen, so the engine can decide in memory and tests need no server.

// Library code reports errors; a panic here could stop the engine (tests may unwrap).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod attribution;
pub mod campaign;
pub mod commission;
pub mod fraud;
pub mod invite_task;
mod located;
pub mod roi;
pub mod swap;
pub mod templates;

pub use campaign::{parse_campaign, Campaign, CampaignError, TaskPrize, Threshold};
pub use fraud::Flag;
pub use invite_task::{Book, Effect, InviteState, Join, PrizeState, TaskInvite, TaskPrizeRow};
pub use livecode::{parse_livecode, LiveCode, LiveCodeError};
pub mod drop;
pub mod flash;
pub mod flash_end;
pub mod flash_sale;
pub mod landing;
pub mod leaderboard;
pub mod livecode;
pub mod lottery;
pub mod phone;
pub use landing::{parse_landing, Bottom, LandingError, LandingPage, Proof, Top};
pub use phone::{Phone, PhoneError};
// The growth plays 拼 砍 帮 送 (issue #14).
pub mod assist;
pub mod bargain;
pub mod board;
pub mod gift;
pub mod group_buy;
pub mod play;
pub mod race;
pub mod race_doc;
pub mod run;
