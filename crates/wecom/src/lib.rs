//! The WeCom (企业微信) connector: customer groups heard through encrypted callbacks and the
//! `externalcontact/groupchat` API, live codes as join ways, and sends as tasks a person confirms.

pub mod crypto;

pub use crypto::{CryptoError, MsgCrypt};
