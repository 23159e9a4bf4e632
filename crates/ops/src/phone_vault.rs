//! The phone vault: how a landing page's phone numbers are kept at rest.
//!
//! One 32-byte master key (from `QUNZHU_PHONE_KEY`, or `phone.key` in the data directory, created
//! with mode 0600 on first use) gives two keys by HMAC-SHA256 with fixed labels: an AES-256-GCM key
//! that seals each number (a fresh 96-bit nonce per number, the workspace and page as associated
//! data, so a sealed number moved to another page or workspace does not open), and an HMAC key
//! whose hash of (workspace, number) finds the same phone again without decrypting anything.
//! The store only ever sees the sealed text and the hash.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use qunzhu_domain::WorkspaceId;
use rand::RngCore;
use sha2::Sha256;

/// The environment variable holding the master key (64 hex characters).
pub const KEY_VARIABLE: &str = "QUNZHU_PHONE_KEY";
/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "phone.key";
/// The first byte of every sealed number: the format, so a later one can be told apart.
const FORMAT: u8 = 1;

/// Why the vault could not be opened or a number could not be unsealed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "{KEY_VARIABLE} must be 64 hex characters (32 bytes), e.g. from `openssl rand -hex 32`"
    )]
    BadKey,
    #[error("{path}: {message}")]
    KeyFile { path: PathBuf, message: String },
    /// The sealed text was changed, or sealed with another key, page or workspace.
    #[error("a stored phone number does not open with this key")]
    Unseal,
}

/// Seals and hashes phone numbers; cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct PhoneVault {
    seal: Aes256Gcm,
    hash_key: [u8; 32],
}

impl fmt::Debug for PhoneVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneVault(<redacted>)")
    }
}

/// HMAC-SHA256 (which takes a key of any length, so building it cannot fail).
fn hmac(key: &[u8; 32]) -> Hmac<Sha256> {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes a key of any length"),
    }
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = hmac(master);
    mac.update(label);
    mac.finalize().into_bytes().into()
}

fn parse_key(text: &str) -> Result<[u8; 32], VaultError> {
    let bytes = hex::decode(text.trim()).map_err(|_| VaultError::BadKey)?;
    bytes.try_into().map_err(|_| VaultError::BadKey)
}

fn associated(workspace: WorkspaceId, page: &str) -> Vec<u8> {
    format!("qunzhu-phone:{}:{page}", workspace.0).into_bytes()
}

impl PhoneVault {
    /// A vault over this master key.
    pub fn new(master: [u8; 32]) -> PhoneVault {
        let seal_key = derive(&master, b"qunzhu phone seal v1");
        PhoneVault {
            seal: Aes256Gcm::new(&seal_key.into()),
            hash_key: derive(&master, b"qunzhu phone hash v1"),
        }
    }

    /// The master key from `variable`'s value when set (several instances on one database must
    /// share it), else from `data_dir/phone.key`, which is created (0600) with a random key if
    /// missing; a key file others may read is refused.
    pub fn open(variable: Option<&str>, data_dir: &Path) -> Result<PhoneVault, VaultError> {
        if let Some(text) = variable.filter(|text| !text.trim().is_empty()) {
            return Ok(PhoneVault::new(parse_key(text)?));
        }
        let path = data_dir.join(KEY_FILE);
        let fail = |message: String| VaultError::KeyFile {
            path: path.clone(),
            message,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                check_private(&path).map_err(fail)?;
                let key = parse_key(&text)
                    .map_err(|_| fail("must hold 64 hex characters (32 bytes)".into()))?;
                Ok(PhoneVault::new(key))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                std::fs::create_dir_all(data_dir).map_err(|e| fail(e.to_string()))?;
                let mut file = private_file(&path).map_err(|e| fail(e.to_string()))?;
                writeln!(file, "{}", hex::encode(key))
                    .and_then(|()| file.sync_all())
                    .map_err(|e| fail(e.to_string()))?;
                tracing::info!(path = %path.display(), "created the phone key; back it up with the database");
                Ok(PhoneVault::new(key))
            }
            Err(error) => Err(fail(error.to_string())),
        }
    }

    /// Seals an E.164 number for one page of one workspace: hex of format, nonce, ciphertext.
    pub fn seal(&self, workspace: WorkspaceId, page: &str, e164: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated(workspace, page);
        let payload = Payload {
            msg: e164.as_bytes(),
            aad: &aad,
        };
        // Encryption in memory fails only for messages of gigabytes; a number is 16 bytes.
        let sealed = self
            .seal
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + nonce.len() + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        hex::encode(out)
    }

    /// Opens what [`PhoneVault::seal`] made for the same workspace and page.
    pub fn unseal(
        &self,
        workspace: WorkspaceId,
        page: &str,
        sealed: &str,
    ) -> Result<String, VaultError> {
        let bytes = hex::decode(sealed).map_err(|_| VaultError::Unseal)?;
        if bytes.len() < 1 + 12 + 16 || bytes[0] != FORMAT {
            return Err(VaultError::Unseal);
        }
        let aad = associated(workspace, page);
        let payload = Payload {
            msg: &bytes[13..],
            aad: &aad,
        };
        let plain = self
            .seal
            .decrypt(Nonce::from_slice(&bytes[1..13]), payload)
            .map_err(|_| VaultError::Unseal)?;
        String::from_utf8(plain).map_err(|_| VaultError::Unseal)
    }

    /// The keyed hash that finds a number again within a workspace (hex).
    pub fn hash(&self, workspace: WorkspaceId, e164: &str) -> String {
        let mut mac = hmac(&self.hash_key);
        mac.update(&workspace.0.to_be_bytes());
        mac.update(e164.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "others may read the phone key (mode {:o}); run `chmod 600` on it",
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_number_opens_only_where_it_was_sealed() {
        let vault = PhoneVault::new([7; 32]);
        let ws = WorkspaceId(1);
        let sealed = vault.seal(ws, "spring", "+8613812345678");
        assert!(!sealed.contains("13812345678"));
        assert_ne!(
            sealed,
            vault.seal(ws, "spring", "+8613812345678"),
            "a fresh nonce each time"
        );
        assert_eq!(
            vault.unseal(ws, "spring", &sealed).unwrap(),
            "+8613812345678"
        );
        assert!(vault.unseal(ws, "autumn", &sealed).is_err());
        assert!(vault.unseal(WorkspaceId(2), "spring", &sealed).is_err());
        assert!(PhoneVault::new([8; 32])
            .unseal(ws, "spring", &sealed)
            .is_err());
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert!(vault
            .unseal(ws, "spring", std::str::from_utf8(&tampered).unwrap())
            .is_err());
        assert!(vault.unseal(ws, "spring", "zz").is_err());
    }

    #[test]
    fn hashes_find_the_same_phone_in_one_workspace_only() {
        let vault = PhoneVault::new([7; 32]);
        let one = vault.hash(WorkspaceId(1), "+8613812345678");
        assert_eq!(one, vault.hash(WorkspaceId(1), "+8613812345678"));
        assert_ne!(one, vault.hash(WorkspaceId(2), "+8613812345678"));
        assert_ne!(one, vault.hash(WorkspaceId(1), "+8613812345679"));
        assert_ne!(
            one,
            PhoneVault::new([8; 32]).hash(WorkspaceId(1), "+8613812345678")
        );
    }

    #[test]
    fn the_key_comes_from_the_variable_or_a_private_file_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let made = PhoneVault::open(None, dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = made.seal(WorkspaceId(1), "p", "+8613812345678");
        let again = PhoneVault::open(Some("  "), dir.path()).unwrap();
        assert_eq!(
            again.unseal(WorkspaceId(1), "p", &sealed).unwrap(),
            "+8613812345678"
        );
        let key = std::fs::read_to_string(&path).unwrap();
        let from_env = PhoneVault::open(Some(&key), Path::new("/nonexistent")).unwrap();
        assert_eq!(
            from_env.unseal(WorkspaceId(1), "p", &sealed).unwrap(),
            "+8613812345678"
        );
        assert!(matches!(
            PhoneVault::open(Some("abc"), dir.path()),
            Err(VaultError::BadKey)
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let refused = PhoneVault::open(None, dir.path()).unwrap_err().to_string();
            assert!(refused.contains("chmod 600"), "{refused}");
        }
        assert!(!format!("{made:?}").contains(&key.trim()[..8]));
    }
}
