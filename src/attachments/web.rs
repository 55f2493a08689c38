//! Uploading and serving attachments. Every route reaches the attachment through the
//! access check (`Visible` for the incident, `Record<Attachment>` for a file), so a
//! restricted incident's files answer 404 to whoever may not see it, as everything else.
//!
//! Serving is built for hostile files: `X-Content-Type-Options: nosniff`,
//! `Content-Security-Policy: sandbox`, and `Content-Disposition: attachment` for all but
//! the images verified and re-encoded on upload. The ETag is the content's hash.

use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;

use super::{prepare, Attachment, Pieces, Upload};
use crate::access::visible::{self, Record, Visible};
use crate::auth::{secrets_match, ApiUser, CurrentUser};
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttachmentJson {
    id: i32,
    name: String,
    content_type: String,
    size: i64,
    sha256: String,
    /// Where it is served (with a session; the API serves it at `/api/v1/attachments/{id}`).
    url: String,
    /// How Markdown refers to it: `attachment:{id}`.
    markdown: String,
    created_at: String,
    /// When an admin purged the file (the record stays; the bytes answer 410).
    purged_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttachmentList {
    items: Vec<AttachmentJson>,
}

impl From<Attachment> for AttachmentJson {
    fn from(a: Attachment) -> Self {
        let markdown = if a.inline_image {
            format!(
                "![{}](attachment:{})",
                crate::markdown::escape(&a.name),
                a.id
            )
        } else {
            format!(
                "[{} ({})](attachment:{})",
                crate::markdown::escape(&a.name),
                crate::limits::describe_size(a.size),
                a.id
            )
        };
        AttachmentJson {
            id: a.id.0,
            url: format!("/attachments/{}", a.id),
            name: a.name,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            markdown,
            created_at: crate::time::rfc3339(a.created_at),
            purged_at: a.purged_at.map(crate::time::rfc3339),
        }
    }
}

/// The `file` part (read up to `limit` bytes, then 413) and the `csrf_token` part. The
/// file is kept in pieces as it arrives ([`Pieces`]): never one buffer regrown and copied.
async fn read_upload(mut payload: Multipart, limit: usize) -> Result<(Upload, String), AppError> {
    let mut file = None;
    let mut csrf = String::new();
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(crate::ops::multipart_error)?;
        let name = field.name().unwrap_or("").to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or("file")
            .to_string();
        let declared = field
            .content_type()
            .map(|m| m.to_string())
            .unwrap_or_default();
        let mut bytes = Pieces::default();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(crate::ops::multipart_error)?;
            if bytes.len() + chunk.len() > limit && name == "file" {
                return Err(AppError::PayloadTooLarge(format!(
                    "The file is larger than {} (HINDSIGHT_MAX_ATTACHMENT).",
                    crate::limits::describe(limit)
                )));
            }
            if name != "file" && bytes.len() + chunk.len() > 4096 {
                return Err(AppError::BadRequest(format!(
                    "The `{name}` part is too long."
                )));
            }
            bytes.push(&chunk);
        }
        match name.as_str() {
            "file" if file.is_none() => {
                file = Some(Upload {
                    name: filename,
                    declared_type: declared,
                    body: bytes,
                    named_by_hash: None,
                })
            }
            "csrf_token" => csrf = String::from_utf8_lossy(bytes.head()).into_owned(),
            _ => {}
        }
    }
    let file =
        file.ok_or_else(|| AppError::invalid("file", "Attach a file in the `file` part."))?;
    Ok((file, csrf))
}

async fn attach(
    state: &AppState,
    incident: Visible,
    upload: Upload,
    actor: crate::audit::Actor,
) -> Result<Attachment, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    // Decoding and re-encoding an image is CPU work: off the async workers, before any
    // transaction.
    let prepared = tokio::task::spawn_blocking(move || prepare(upload))
        .await
        .map_err(AppError::unexpected)??;
    state
        .db
        .write(move |conn| super::store(conn, incident.id(), prepared, &actor))
        .await
}

/// `POST /api/v1/incidents/{key}/attachments` (multipart, part `file`) → 201
#[utoipa::path(post, path = "/api/v1/incidents/{key}/attachments", tag = "attachments", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body(content_type = "multipart/form-data", description = "the file in the part `file`"), responses((status = 201, body = AttachmentJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn upload_api(
    state: actix_web::web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (upload, _) = read_upload(payload, state.config.max_attachment).await?;
    let a = attach(&state, key, upload, user.actor()).await?;
    Ok(HttpResponse::Created().json(AttachmentJson::from(a)))
}

/// `GET /api/v1/incidents/{key}/attachments`: newest first, purged ones included.
#[utoipa::path(get, path = "/api/v1/incidents/{key}/attachments", tag = "attachments", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), responses((status = 200, body = AttachmentList), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc)))]
pub async fn list_api(
    state: actix_web::web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let all = state
        .db
        .read(move |conn| super::of_incident(conn, id))
        .await?;
    Ok(HttpResponse::Ok().json(AttachmentList {
        items: all.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /incidents/{key}/attachments`: the page's paste, drop and picker (multipart with
/// `csrf_token`); answers the same JSON for the page script to insert the reference.
pub async fn upload_page(
    req: HttpRequest,
    state: actix_web::web::Data<AppState>,
    user: CurrentUser,
    key: Visible,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (upload, csrf) = read_upload(payload, state.config.max_attachment).await?;
    if !secrets_match(&csrf, &user.csrf_token) {
        return Err(AppError::Forbidden(
            "The form's security token is missing or out of date. Reload the page and try again."
                .into(),
        )
        .into());
    }
    let actor = crate::audit::Actor::user(&user.user, &crate::auth::extract::client_ip(&req));
    let a = attach(&state, key, upload, actor).await?;
    Ok(HttpResponse::Created().json(AttachmentJson::from(a)))
}

/// An attachment's ETag: its content hash.
fn etag_of(a: &Attachment) -> String {
    format!("\"{}\"", a.sha256)
}

/// The file, with the headers that keep a hostile one harmless.
async fn serve(
    req: &HttpRequest,
    state: &AppState,
    record: Record<visible::Attachment>,
) -> Result<HttpResponse, AppError> {
    let id = record.id();
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // One read: the row, and its bytes unless it is purged or the cache already has them.
    let (a, cached, body) = state
        .db
        .read(move |conn| {
            let a = super::get(conn, id)?;
            let cached = if_none_match
                .as_deref()
                .is_some_and(|v| v.split(',').any(|t| t.trim() == etag_of(&a)));
            let body = if cached {
                None
            } else {
                super::bytes_of(conn, &a)?
            };
            Ok((a, cached, body))
        })
        .await?;
    if a.purged_at.is_some() || (!cached && body.is_none()) {
        return Err(AppError::Gone(format!(
            "attachment {id} (removed by an admin; the record of it stays)"
        )));
    }
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if a.inline_image {
            "inline"
        } else {
            "attachment"
        },
        percent_encoding::utf8_percent_encode(&a.name, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut res = HttpResponse::build(if cached {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    });
    res.insert_header((header::ETAG, etag_of(&a)))
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .insert_header((header::CONTENT_DISPOSITION, disposition));
    // The bytes are not read for a cache that already has them.
    let Some(body) = body else {
        return Ok(res.finish());
    };
    // Sent piece by piece, each buffer handed over as it is.
    let size = body.len() as u64;
    let stream = futures_util::stream::iter(
        body.into_parts()
            .into_iter()
            .map(|p| Ok::<_, std::convert::Infallible>(actix_web::web::Bytes::from(p))),
    );
    Ok(res
        .content_type(a.content_type.as_str())
        .body(actix_web::body::SizedStream::new(size, stream)))
}

/// `GET /attachments/{id}` (a session)
pub async fn serve_page(
    req: HttpRequest,
    state: actix_web::web::Data<AppState>,
    record: Record<visible::Attachment>,
) -> Result<HttpResponse, AppError> {
    serve(&req, &state, record).await
}

/// `GET /api/v1/attachments/{id}` (a token)
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "attachments", params(("id" = i32, Path, description = "Attachment id")), responses((status = 200, description = "the file"), (status = 304, description = "not modified"), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 410, body = crate::api::ErrorDoc)))]
pub async fn serve_api(
    req: HttpRequest,
    state: actix_web::web::Data<AppState>,
    _user: ApiUser,
    record: Record<visible::Attachment>,
) -> Result<HttpResponse, ApiError> {
    Ok(serve(&req, &state, record).await?)
}

/// `POST /attachments/{id}/purge` (admins): the file goes for good, the record of it stays.
pub async fn purge_page(
    state: actix_web::web::Data<AppState>,
    record: Record<visible::Attachment>,
    form: crate::auth::csrf::SessionForm<crate::auth::csrf::NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = record.id();
    let key = record.incident().key();
    let actor = form.actor;
    state
        .db
        .write(move |conn| super::purge(conn, id, &actor))
        .await?;
    Ok(crate::web::see_other(&format!(
        "/incidents/{key}#attachments"
    )))
}
