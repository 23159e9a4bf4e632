//! WXBizMsgCrypt, the callback encryption of WeCom: a SHA1 signature over the sorted token,
//! timestamp, nonce and ciphertext, and AES-256-CBC with the key from the EncodingAESKey.
//!
//! The plaintext is `random(16) ‖ msg_len (u32, network order) ‖ msg ‖ receive_id`, padded with
//! PKCS#7 to a 32-byte block (not AES's 16: the official libraries pad to 32, and a 16-byte
//! padder produces ciphertexts WeCom refuses). Every check fails with a [`CryptoError`] saying
//! which one, never a panic: a callback body is untrusted input.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use sha1::{Digest, Sha1};

type Decryptor = cbc::Decryptor<aes::Aes256>;
type Encryptor = cbc::Encryptor<aes::Aes256>;

/// The padding block of WXBizMsgCrypt.
const BLOCK: usize = 32;

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("EncodingAESKey must be 43 base64 characters decoding to 32 bytes")]
    BadKey,
    #[error("msg_signature does not match the token, timestamp, nonce and ciphertext")]
    BadSignature,
    #[error("ciphertext is not valid base64")]
    BadBase64,
    #[error("ciphertext length {0} is not a positive multiple of the AES block")]
    BadLength(usize),
    #[error("PKCS#7 padding is invalid")]
    BadPadding,
    #[error("message length field {declared} exceeds the {available} bytes decrypted")]
    BadMessageLength { declared: usize, available: usize },
    #[error("receive id `{found}` is not this corp's")]
    WrongReceiveId { found: String },
    #[error("decrypted message is not UTF-8")]
    NotUtf8,
    #[error("callback body is not XML: {0}")]
    BadXml(String),
    #[error("callback body has no <{0}> element")]
    MissingField(&'static str),
}

/// One callback configuration: the Token, the AES key and the receive id (the CorpID).
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl std::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("receive_id", &self.receive_id)
            .finish_non_exhaustive()
    }
}

/// A decrypted message with the parts the checks looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plain {
    pub message: String,
    pub receive_id: String,
}

impl MsgCrypt {
    /// `encoding_aes_key` is the 43-character key of the app's callback settings.
    pub fn new(
        token: impl Into<String>,
        encoding_aes_key: &str,
        receive_id: impl Into<String>,
    ) -> Result<MsgCrypt, CryptoError> {
        if encoding_aes_key.len() != 43 {
            return Err(CryptoError::BadKey);
        }
        // The 43rd character carries 2 bits the key does not use; WeCom does not zero them.
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let bytes = lenient
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(MsgCrypt {
            token: token.into(),
            key,
            receive_id: receive_id.into(),
        })
    }

    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// hex(SHA1(concat(sorted([token, timestamp, nonce, encrypted])))).
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypted: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypted];
        parts.sort_unstable();
        let mut hasher = Sha1::new();
        for part in parts {
            hasher.update(part.as_bytes());
        }
        hex::encode(hasher.finalize())
    }

    /// Checks the signature in constant time over its hex text.
    pub fn check_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypted: &str,
    ) -> Result<(), CryptoError> {
        let expected = self.signature(timestamp, nonce, encrypted);
        let given = msg_signature.to_ascii_lowercase();
        let same = expected.len() == given.len()
            && expected
                .bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    /// URL verification (GET): the plaintext of `echostr` to answer with, as is.
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, CryptoError> {
        self.check_signature(msg_signature, timestamp, nonce, echostr)?;
        Ok(self.decrypt(echostr)?.message)
    }

    /// An event callback (POST): the inner XML of the `<Encrypt>` element of `body`.
    pub fn decrypt_msg(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<String, CryptoError> {
        let encrypted = encrypt_field(body)?;
        self.check_signature(msg_signature, timestamp, nonce, &encrypted)?;
        Ok(self.decrypt(&encrypted)?.message)
    }

    /// Decrypts a base64 ciphertext and checks padding, length and receive id.
    pub fn decrypt(&self, encrypted: &str) -> Result<Plain, CryptoError> {
        let mut data = base64::engine::general_purpose::STANDARD
            .decode(encrypted.trim())
            .map_err(|_| CryptoError::BadBase64)?;
        if data.is_empty() || data.len() % 16 != 0 {
            return Err(CryptoError::BadLength(data.len()));
        }
        let iv: [u8; 16] = self.iv();
        let plain = Decryptor::new(&self.key.into(), &iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut data)
            .map_err(|_| CryptoError::BadPadding)?;
        let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
        if pad == 0 || pad > BLOCK || pad > plain.len() {
            return Err(CryptoError::BadPadding);
        }
        let (content, padding) = plain.split_at(plain.len() - pad);
        if padding.iter().any(|byte| usize::from(*byte) != pad) {
            return Err(CryptoError::BadPadding);
        }
        if content.len() < 20 {
            return Err(CryptoError::BadMessageLength {
                declared: 0,
                available: content.len().saturating_sub(20),
            });
        }
        let body = &content[16..];
        let declared = u32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize;
        let rest = &body[4..];
        if declared > rest.len() {
            return Err(CryptoError::BadMessageLength {
                declared,
                available: rest.len(),
            });
        }
        let (message, receive_id) = rest.split_at(declared);
        let receive_id = String::from_utf8_lossy(receive_id).into_owned();
        if receive_id != self.receive_id {
            return Err(CryptoError::WrongReceiveId { found: receive_id });
        }
        let message = String::from_utf8(message.to_vec()).map_err(|_| CryptoError::NotUtf8)?;
        Ok(Plain {
            message,
            receive_id,
        })
    }

    /// Encrypts `message` with the given 16 random bytes (what WeCom does when it calls back,
    /// and what a passive reply does).
    pub fn encrypt(&self, message: &str, random: [u8; 16]) -> String {
        self.encrypt_for(message, random, &self.receive_id)
    }

    /// Like [`MsgCrypt::encrypt`] with another receive id (tests of the receive-id check).
    pub fn encrypt_for(&self, message: &str, random: [u8; 16], receive_id: &str) -> String {
        let mut plain = Vec::with_capacity(message.len() + receive_id.len() + 20 + BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&(message.len() as u32).to_be_bytes());
        plain.extend_from_slice(message.as_bytes());
        plain.extend_from_slice(receive_id.as_bytes());
        let pad = BLOCK - plain.len() % BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let length = plain.len();
        let iv = self.iv();
        let cipher = Encryptor::new(&self.key.into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut plain, length)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(cipher)
    }

    /// A full callback body as WeCom posts it, and the signature that goes in the query.
    pub fn encrypt_msg(&self, message: &str, timestamp: &str, nonce: &str) -> (String, String) {
        let encrypted = self.encrypt(message, rand::random());
        let signature = self.signature(timestamp, nonce, &encrypted);
        let body = format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>",
            self.receive_id
        );
        (body, signature)
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }
}

/// The `<Encrypt>` text of a callback body.
pub fn encrypt_field(body: &str) -> Result<String, CryptoError> {
    let document =
        roxmltree::Document::parse(body).map_err(|error| CryptoError::BadXml(error.to_string()))?;
    document
        .root_element()
        .children()
        .find(|node| node.has_tag_name("Encrypt"))
        .and_then(|node| node.text())
        .map(str::to_string)
        .ok_or(CryptoError::MissingField("Encrypt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "QDG6eK";
    const RECEIVE_ID: &str = "wx5823bf96d3bd56c7";
    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    const ENCRYPTED_MSG: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

    fn crypt() -> MsgCrypt {
        MsgCrypt::new(TOKEN, KEY, RECEIVE_ID).unwrap()
    }

    #[test]
    fn official_verify_url_vector() {
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        let plain = crypt()
            .verify_url(
                "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
                "1409659589",
                "263014780",
                echostr,
            )
            .unwrap();
        assert_eq!(plain, "1616140317555161061");
    }

    #[test]
    fn official_decrypt_msg_vector() {
        let body = format!(
            "<xml><ToUserName><![CDATA[{RECEIVE_ID}]]></ToUserName><Encrypt><![CDATA[{ENCRYPTED_MSG}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
        );
        let message = crypt()
            .decrypt_msg(
                "477715d11cdb4164915debcba66cb864d751f3e6",
                "1409659813",
                "1372623149",
                &body,
            )
            .unwrap();
        assert!(
            message.contains("<Content><![CDATA[hello]]></Content>"),
            "{message}"
        );
        assert!(
            message.contains("<MsgId>4561255354251345929</MsgId>"),
            "{message}"
        );
        assert!(message.contains("<AgentID>218</AgentID>"), "{message}");
    }

    #[test]
    fn encryption_round_trips_and_pads_to_32_bytes() {
        let crypt = crypt();
        for length in [0, 1, 11, 12, 13, 43, 44, 45, 300] {
            let message = "群".repeat(length / 3) + &"x".repeat(length % 3);
            let encrypted = crypt.encrypt(&message, [7; 16]);
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&encrypted)
                .unwrap();
            assert_eq!(raw.len() % 32, 0, "length {length}");
            assert_eq!(crypt.decrypt(&encrypted).unwrap().message, message);
        }
    }

    #[test]
    fn each_broken_part_is_refused_with_its_reason() {
        let crypt = crypt();
        let good = crypt.encrypt("<xml/>", [1; 16]);
        let signature = crypt.signature("1", "2", &good);
        let mut flipped = signature.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            crypt.check_signature(&flipped, "1", "2", &good),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(crypt.check_signature(&signature, "1", "2", &good), Ok(()));
        assert_eq!(
            crypt.check_signature(&signature, "1", "3", &good),
            Err(CryptoError::BadSignature)
        );
        let other = crypt.encrypt_for("<xml/>", [1; 16], "wwOTHERCORP");
        assert_eq!(
            crypt.decrypt(&other),
            Err(CryptoError::WrongReceiveId {
                found: "wwOTHERCORP".into()
            })
        );
        assert_eq!(crypt.decrypt("!!!"), Err(CryptoError::BadBase64));
        assert_eq!(crypt.decrypt("AAAA"), Err(CryptoError::BadLength(3)));
        // 32 bytes of ciphertext that decrypt to garbage: the padding check catches it (or, for
        // the rare block whose last byte happens to look like padding, the length check).
        let garbage = base64::engine::general_purpose::STANDARD.encode([0x5a; 32]);
        assert!(crypt.decrypt(&garbage).is_err());
        assert_eq!(
            MsgCrypt::new(TOKEN, "short", RECEIVE_ID).unwrap_err(),
            CryptoError::BadKey
        );
        assert_eq!(
            encrypt_field("<xml><Nope/></xml>"),
            Err(CryptoError::MissingField("Encrypt"))
        );
        assert!(matches!(encrypt_field("<xml"), Err(CryptoError::BadXml(_))));
    }
}
