//! `/status`, `/status.json`, `/status/feed.atom`: no sign-in, no cookies needed, 404 until
//! an admin turns the page on (an admin may preview it first: `/status?preview`). Each
//! answer carries an `ETag` of its body and may be cached publicly for a few seconds; a
//! matching `If-None-Match` gets a 304.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use std::sync::Arc;

use super::cache::{revision, Body, Rendered};
use super::{snapshot, Snapshot};
use crate::auth::{CurrentUser, Permission};
use crate::error::AppError;
use crate::state::AppState;
use crate::time::{now, Zone};

/// How long a client or proxy may reuse an answer.
pub const MAX_AGE_SECS: u32 = 15;

#[derive(Template)]
#[template(path = "status/page.html")]
struct Page<'a> {
    s: &'a Snapshot,
    preview: bool,
    zone: Zone,
}

fn cached(req: &HttpRequest, content_type: &str, body: &Body) -> HttpResponse {
    let tag = body.etag.clone();
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut res = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, tag))
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={MAX_AGE_SECS}"),
        ))
        .insert_header((header::VARY, "Accept-Encoding"));
    if matches {
        res.finish()
    } else {
        res.content_type(content_type).body(body.bytes.clone())
    }
}

/// The three answers of the current revision, made once and kept (see `cache`).
async fn current(state: &AppState) -> Result<Arc<Rendered>, AppError> {
    if let Some(page) = state.status_cache.recent(state.config.status_recheck) {
        return Ok(page);
    }
    let at = now();
    let revision = state.db.read(move |conn| revision(conn, at)).await?;
    if let Some(page) = state.status_cache.get(&revision) {
        state.status_cache.confirmed();
        return Ok(page);
    }
    let s = state.db.read(move |conn| snapshot(conn, at)).await?;
    let page = Arc::new(render_all(&s, &state.config.base_url)?);
    state.status_cache.put(revision, Arc::clone(&page));
    state.status_cache.confirmed();
    Ok(page)
}

fn render_all(s: &Snapshot, base_url: &str) -> Result<Rendered, AppError> {
    Ok(Rendered {
        enabled: s.settings.enabled,
        html: Body::new(
            Page {
                s,
                preview: !s.settings.enabled,
                zone: Zone::UTC,
            }
            .render()
            .map_err(AppError::unexpected)?
            .into_bytes(),
        ),
        json: Body::new(
            serde_json::to_vec(&super::feed::json(s, base_url)).map_err(AppError::unexpected)?,
        ),
        atom: Body::new(super::feed::atom(s, base_url).into_bytes()),
    })
}

/// The current revision, or 404 while the page is off (unless an admin previews it).
async fn load(
    state: &AppState,
    preview_by: Option<&CurrentUser>,
) -> Result<Arc<Rendered>, AppError> {
    let page = current(state).await?;
    let admin = preview_by.is_some_and(|u| u.user.role.allows(Permission::Administer));
    if !page.enabled && !admin {
        return Err(AppError::NotFound("status page".into()));
    }
    Ok(page)
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    preview: Option<String>,
}

/// `GET /status`. The session is only looked up for `?preview`: signed-in visitors reload
/// the public page at the public page's cost.
pub async fn status_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let user = match query.preview {
        Some(_) => CurrentUser::load(&req).await?,
        None => None,
    };
    let page = load(&state, user.as_ref()).await?;
    Ok(cached(&req, "text/html; charset=utf-8", &page.html))
}

/// `GET /status.json`
pub async fn status_json(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page = load(&state, None).await?;
    Ok(cached(&req, "application/json", &page.json))
}

/// `GET /status/feed.atom`
pub async fn status_feed(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page = load(&state, None).await?;
    Ok(cached(
        &req,
        "application/atom+xml; charset=utf-8",
        &page.atom,
    ))
}
