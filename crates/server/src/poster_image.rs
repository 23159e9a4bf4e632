//! The member's poster `GET /p/{code}.png`: rendered on demand from the workspace's template
//! (over its background image, if one was uploaded) with the member's name and their invite
//! page's QR code (`/i/{code}`), and cached by the
//! hash of what it is drawn from, so a repeated request (a bot re-sending it, a phone reloading)
//! costs a lookup. Without a CJK font the route answers 503 saying which package to install.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use qunzhu_ops::OpsError;
use qunzhu_poster::{Card, Font, Poster, FONT_HINT};
use sha2::{Digest, Sha256};

use crate::Ctx;

/// Posters kept in memory (about 100 kB each); past this the cache starts again.
const CACHED: usize = 512;

/// The font, the prepared templates and the rendered posters of this process.
#[derive(Default)]
pub struct Posters {
    font: Option<Arc<Font>>,
    prepared: Mutex<HashMap<[u8; 32], Arc<Poster>>>,
    images: Mutex<HashMap<[u8; 32], Arc<Vec<u8>>>>,
}

impl std::fmt::Debug for Posters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Posters")
            .field("font", &self.font.is_some())
            .finish_non_exhaustive()
    }
}

fn hash(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

impl Posters {
    pub fn new(font: Option<Arc<Font>>) -> Posters {
        Posters {
            font,
            ..Posters::default()
        }
    }

    pub fn font(&self) -> Option<Arc<Font>> {
        self.font.clone()
    }

    /// The PNG of `card` drawn from `source`, from the cache when it was drawn before.
    pub async fn render(
        self: &Arc<Self>,
        source: &str,
        background: Option<(String, Vec<u8>)>,
        card: (&str, &str),
    ) -> Result<Arc<Vec<u8>>, PosterFailure> {
        let font = self.font.clone().ok_or(PosterFailure::NoFont)?;
        // The background is named by its workspace and document version (hashing a megabyte per
        // request would cost more than the lookup saves).
        let (background_id, background) = match background {
            Some((id, bytes)) => (id, Some(bytes)),
            None => (String::new(), None),
        };
        let template_key = hash(&[source, &background_id]);
        let image_key = hash(&[source, &background_id, card.0, card.1]);
        if let Some(png) = lock(&self.images).get(&image_key) {
            return Ok(png.clone());
        }
        let prepared = lock(&self.prepared).get(&template_key).cloned();
        let this = self.clone();
        let (source, name, link) = (source.to_string(), card.0.to_string(), card.1.to_string());
        let png = tokio::task::spawn_blocking(move || {
            let poster = match prepared {
                Some(poster) => poster,
                None => {
                    let poster = Arc::new(Poster::new(&source, background.as_deref(), font)?);
                    let mut prepared = lock(&this.prepared);
                    if prepared.len() >= 16 {
                        prepared.clear();
                    }
                    prepared.insert(template_key, poster.clone());
                    poster
                }
            };
            poster.render(Card {
                name: &name,
                link: &link,
            })
        })
        .await
        .map_err(|error| PosterFailure::Broken(error.to_string()))?
        .map_err(|error| PosterFailure::Broken(error.to_string()))?;
        let png = Arc::new(png);
        let mut images = lock(&self.images);
        if images.len() >= CACHED {
            images.clear();
        }
        images.insert(image_key, png.clone());
        Ok(png)
    }
}

/// Why no poster could be drawn.
#[derive(Debug)]
pub enum PosterFailure {
    NoFont,
    Broken(String),
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn routes() -> Router<Ctx> {
    Router::new().route("/p/{file}", get(poster_png))
}

/// The link a member's poster code opens: their invite page.
pub fn invite_link(base_url: &str, code: &str) -> String {
    format!("{}/i/{code}", base_url.trim_end_matches('/'))
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `?m=matrix:@alice:hs`: the member a bot-derived poster code claims to be for.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Claimed {
    m: Option<String>,
}

async fn poster_png(
    State(ctx): State<Ctx>,
    Path(file): Path<String>,
    Query(query): Query<Claimed>,
) -> Response {
    let Some(code) = file.strip_suffix(".png") else {
        return text(StatusCode::NOT_FOUND, "no such poster".into());
    };
    let claimed = query.m.as_deref().and_then(|claimed| {
        let (platform, member) = claimed.split_once(':')?;
        Some((qunzhu_domain::Platform::parse(platform).ok()?, member))
    });
    let ops = ctx.ops();
    let card = match ops.poster_card(code, claimed).await {
        Ok(card) => card,
        Err(OpsError::NotFound(_)) => return text(StatusCode::NOT_FOUND, "no such poster".into()),
        Err(error) => {
            tracing::error!(%error, "poster lookup failed");
            return text(StatusCode::SERVICE_UNAVAILABLE, "try again later".into());
        }
    };
    let source = match ops.poster_template(card.workspace).await {
        Ok(source) => source,
        Err(error) => {
            tracing::error!(%error, "poster template failed");
            return text(StatusCode::SERVICE_UNAVAILABLE, "try again later".into());
        }
    };
    let background = match ops.poster_background(card.workspace).await {
        Ok(kept) => kept.map(|kept| (format!("{}:{}", card.workspace.0, kept.version), kept.bytes)),
        Err(error) => {
            tracing::error!(%error, "poster background failed");
            return text(StatusCode::SERVICE_UNAVAILABLE, "try again later".into());
        }
    };
    let link = invite_link(&ctx.app.base_url, &card.code);
    match ctx
        .posters
        .render(&source, background, (&card.name, &link))
        .await
    {
        Ok(png) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            png.as_ref().clone(),
        )
            .into_response(),
        Err(PosterFailure::NoFont) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("posters are unavailable: {FONT_HINT}"),
        ),
        Err(PosterFailure::Broken(message)) => {
            tracing::error!(%message, "poster rendering failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the poster template is broken: {message}"),
            )
        }
    }
}
