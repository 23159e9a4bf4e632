//! The poster's background image (海报背景): uploaded from the console as PNG or JPEG, checked
//! (size, signature, then fully decoded and measured) before it is kept, and kept in the
//! documents store as base64 under kind `poster_background` — not in the data directory, because
//! several instances sharing one PostgreSQL must all draw the same poster, and a document
//! carries its version (the renderer's cache key) and who saved it.

use base64::Engine as _;
use qunzhu_domain::{DocumentKind, WorkspaceId};
use qunzhu_storage::{StoreError, UserRole};
use serde_json::json;

use crate::posters::POSTER_NAME;
use crate::{Actor, Ops, OpsError, Result};

/// The largest background file accepted: 1 MiB (as base64 it stays under the server's 2 MB
/// form limit). A 1080×1920 JPEG poster is typically 200–600 kB.
pub const MAX_BACKGROUND_BYTES: usize = 1024 * 1024;

/// A kept background: its document version and pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Background {
    pub version: i64,
    pub bytes: Vec<u8>,
}

/// The file's bytes from what the console sent: base64, optionally as a `data:` address.
fn file_bytes(given: &str) -> Result<Vec<u8>> {
    let given = given.trim();
    if given.is_empty() {
        return Err(OpsError::invalid(
            "image",
            "choose a PNG or JPEG file first",
        ));
    }
    let encoded = match given.split_once(";base64,") {
        Some((head, data)) if head.starts_with("data:") => data,
        _ => given,
    };
    // The console's budget first, by the encoded length, before decoding anything.
    if encoded.len() / 4 * 3 > MAX_BACKGROUND_BYTES + 3 {
        return Err(too_big(encoded.len() / 4 * 3));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_bytes())
        .map_err(|error| {
            OpsError::invalid("image", format!("the upload is not base64: {error}"))
        })?;
    if bytes.len() > MAX_BACKGROUND_BYTES {
        return Err(too_big(bytes.len()));
    }
    Ok(bytes)
}

fn too_big(bytes: usize) -> OpsError {
    OpsError::invalid(
        "image",
        format!(
            "the image is {} KB; at most {} KB (save it smaller, e.g. as JPEG)",
            bytes.div_ceil(1024),
            MAX_BACKGROUND_BYTES / 1024
        ),
    )
}

impl Ops {
    /// Checks an uploaded background (PNG or JPEG, at most [`MAX_BACKGROUND_BYTES`], decodable,
    /// at most 8192 px a side) and keeps it; answers its size in pixels. Nothing is kept when
    /// any check fails, and the error says which.
    pub async fn save_poster_background(&self, who: &Actor, given: &str) -> Result<(u32, u32)> {
        who.require(UserRole::Operator)?;
        let bytes = file_bytes(given)?;
        let checked = bytes.clone();
        let decoded = tokio::task::spawn_blocking(move || qunzhu_poster::decode(&checked))
            .await
            .map_err(|error| OpsError::Internal(error.to_string()))?
            .map_err(|error| OpsError::invalid("image", error.to_string()))?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let saved = self
            .store
            .put_document(
                who.workspace,
                DocumentKind::PosterBackground,
                POSTER_NAME,
                &encoded,
                &who.name.to_string(),
                self.clock.now(),
            )
            .await?;
        self.audit(
            who,
            "poster.background",
            POSTER_NAME,
            json!({ "version": saved.version, "bytes": bytes.len(), "width": decoded.width, "height": decoded.height }),
        )
        .await?;
        Ok((decoded.width, decoded.height))
    }

    /// Drops the background: the template's colour shows again.
    pub async fn remove_poster_background(&self, who: &Actor) -> Result<()> {
        who.require(UserRole::Operator)?;
        match self
            .store
            .delete_document(who.workspace, DocumentKind::PosterBackground, POSTER_NAME)
            .await
        {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        self.audit(who, "poster.background_removed", POSTER_NAME, json!({}))
            .await
    }

    /// The workspace's background, if one is kept.
    pub async fn poster_background(&self, workspace: WorkspaceId) -> Result<Option<Background>> {
        let document = match self
            .store
            .document(workspace, DocumentKind::PosterBackground, POSTER_NAME)
            .await
        {
            Ok(document) => document,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(document.source.as_bytes())
            .map_err(|error| OpsError::Internal(format!("stored poster background: {error}")))?;
        Ok(Some(Background {
            version: document.version,
            bytes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_read_as_base64_or_data_addresses_within_the_budget() {
        let png = b"\x89PNG\r\n\x1a\nrest";
        let plain = base64::engine::general_purpose::STANDARD.encode(png);
        assert_eq!(file_bytes(&plain).unwrap(), png);
        assert_eq!(
            file_bytes(&format!("data:image/png;base64,{plain}")).unwrap(),
            png
        );
        for (given, says) in [("", "choose a PNG or JPEG"), ("not base64!", "not base64")] {
            let error = file_bytes(given).unwrap_err().to_string();
            assert!(error.contains(says), "{given}: {error}");
        }
        let big =
            base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_BACKGROUND_BYTES + 10]);
        let error = file_bytes(&big).unwrap_err().to_string();
        assert!(error.contains("at most 1024 KB"), "{error}");
    }
}
