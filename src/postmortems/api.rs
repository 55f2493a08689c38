//! `/api/v1/incidents/{key}/postmortem` (fields and review), `…/postmortem.md` (export)
//! and `/api/v1/import`.

use crate::access::visible::Visible;
use crate::ids::IncidentId;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::export::{self, Template};
use super::review::{self, ReviewAction, ReviewView};
use super::{ReviewState, Sections};
use crate::api::ApiJson;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::state::AppState;
use crate::time::rfc3339;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PostmortemJson {
    #[serde(flatten)]
    pub sections: Sections,
    pub review_state: ReviewState,
    pub published_at: Option<String>,
    pub version: i32,
    /// The summary shows on the public status page.
    pub public: bool,
    pub reviews: Vec<ReviewView>,
}

async fn postmortem_json(state: &AppState, id: IncidentId) -> Result<PostmortemJson, AppError> {
    state
        .db
        .read(move |conn| {
            crate::incidents::service::get(conn, id)?;
            let pm = super::get(conn, id)?;
            Ok(PostmortemJson {
                sections: Sections::of(&pm),
                review_state: pm.review_state,
                published_at: pm.published_at.map(rfc3339),
                version: pm.version,
                public: pm.public,
                reviews: review::list(conn, id)?,
            })
        })
        .await
}

/// `GET /api/v1/incidents/{key}/postmortem`
#[utoipa::path(get, path = "/api/v1/incidents/{key}/postmortem", tag = "postmortems", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), responses((status = 200, body = PostmortemJson), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn get_postmortem(
    state: web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    Ok(HttpResponse::Ok().json(postmortem_json(&state, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPostmortem {
    #[serde(flatten)]
    sections: Sections,
    version: Option<i32>,
    review_state: Option<String>,
    /// Admins: show the summary on the public status page (published postmortems only).
    public: Option<bool>,
}

/// `PUT /api/v1/incidents/{key}/postmortem`: the sections at `version` (0 before the first
/// save). `review_state` may accompany it: `published` needs an approval, `draft` reopens.
#[utoipa::path(put, path = "/api/v1/incidents/{key}/postmortem", tag = "postmortems", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body = PutPostmortem, responses((status = 200, body = PostmortemJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn put_postmortem(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<PutPostmortem>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let b = body.0;
    let version = b.version.ok_or_else(|| {
        AppError::invalid("version", "version is required (0 before the first save)")
    })?;
    let target: Option<ReviewState> = b
        .review_state
        .as_deref()
        .map(|s| {
            s.parse()
                .map_err(|e| AppError::invalid("review_state", format!("review_state {e}")))
        })
        .transpose()?;
    let actor = user.actor();
    let u = user.user.clone();
    state
        .db
        .write(move |conn| {
            let current = super::get(conn, id)?;
            let unchanged = Sections::of(&current) == b.sections.clone().validate()?;
            if !(unchanged && current.version == version) || current.version == 0 {
                super::save(conn, id, b.sections, version, &actor)?;
            }
            match (target, super::get(conn, id)?.review_state) {
                (Some(ReviewState::Published), ReviewState::InReview) => {
                    review::apply(conn, id, ReviewAction::Publish, &u, &actor).map(|_| ())
                }
                (Some(ReviewState::Draft), ReviewState::Published | ReviewState::InReview) => {
                    review::apply(conn, id, ReviewAction::Reopen, &u, &actor).map(|_| ())
                }
                (Some(wanted), now) if wanted != now => Err(AppError::Conflict(format!(
                "Cannot move from {} to {} here: request a review with POST …/postmortem/review.",
                now.as_str(),
                wanted.as_str()
            ))),
                _ => Ok(()),
            }?;
            match b.public {
                Some(public) => super::set_public(conn, id, public, &actor),
                None => Ok(()),
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(postmortem_json(&state, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    action: String,
    #[serde(default)]
    reviewers: Vec<String>,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/incidents/{key}/postmortem/review`: `{"action": "request", "reviewers":
/// [...]}`, `approve`, `request_changes` (with `comment`), `publish`, `reopen`.
#[utoipa::path(post, path = "/api/v1/incidents/{key}/postmortem/review", tag = "postmortems", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body = ReviewBody, responses((status = 200, body = PostmortemJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn review_postmortem(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<ReviewBody>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let action = ReviewAction::parse(&body.0.action, &body.0.reviewers, &body.0.comment)?;
    let actor = user.actor();
    let u = user.user.clone();
    state
        .db
        .write(move |conn| review::apply(conn, id, action, &u, &actor))
        .await?;
    Ok(HttpResponse::Ok().json(postmortem_json(&state, id).await?))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    template: Option<String>,
    zone: Option<String>,
}

/// `GET /api/v1/incidents/{key}/postmortem.md?template=default|sre`
#[utoipa::path(get, path = "/api/v1/incidents/{key}/postmortem.md", tag = "postmortems", params(("key" = String, Path, description = "Incident key: INC-7 or 7"), ("template" = Option<String>, Query, description = "default or sre"), ("zone" = Option<String>, Query, description = "IANA zone for the visible times (default UTC)")), responses((status = 200, body = String, content_type = "text/markdown"), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn export_postmortem(
    state: web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let template = Template::parse(query.template.as_deref())?;
    let zone = export::parse_zone(query.zone.as_deref())?;
    let (_, doc) = state
        .db
        .read(move |conn| export::document(conn, id, template, zone))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/markdown; charset=utf-8")
        .body(crate::attachments::absolute_links(
            &doc,
            &state.config.base_url,
        )))
}

/// `GET /api/v1/incidents/{key}/postmortem.tar.gz?template=&zone=`: the Markdown with its
/// attachments as files beside it (`attachments/…`, linked relatively).
#[utoipa::path(get, path = "/api/v1/incidents/{key}/postmortem.tar.gz", tag = "postmortems", params(("key" = String, Path, description = "Incident key: INC-7 or 7"), ("template" = Option<String>, Query, description = "default or sre"), ("zone" = Option<String>, Query, description = "IANA zone for the visible times (default UTC)")), responses((status = 200, description = "a gzipped tar: postmortem.md and attachments/", content_type = "application/gzip"), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn export_bundle(
    state: web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let template = Template::parse(query.template.as_deref())?;
    let zone = export::parse_zone(query.zone.as_deref())?;
    let bytes = state
        .db
        .read(move |conn| {
            let (_, doc) = export::document(conn, id, template, zone)?;
            crate::attachments::bundle::pack(conn, id, &doc)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-postmortem.tar.gz\"", key.key()),
        ))
        .body(bytes))
}

#[derive(Deserialize)]
pub struct ImportQuery {
    /// Import a document that was imported before anyway.
    #[serde(default)]
    duplicate: bool,
    /// Read it and answer with what it would create; store nothing.
    #[serde(default)]
    dry_run: bool,
    /// Over the document's title and severity (a plain document rarely states one).
    title: Option<String>,
    severity: Option<String>,
}

/// An imported document's bytes; a body over the import limit is a 413 in the API's error
/// format (actix's own answer would be plain text).
pub struct ImportBody(web::Bytes);

impl actix_web::FromRequest for ImportBody {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = crate::limits::IMPORT_BODY_BYTES;
            web::Bytes::from_request(&req, &mut payload)
                .await
                .map(ImportBody)
                .map_err(|e| crate::extract::body_error(&e, limit).into())
        })
    }
}

/// `POST /api/v1/import`: the body is the document (any text content type) → 201 + incident.
#[utoipa::path(post, path = "/api/v1/import", tag = "postmortems", request_body(content = String, content_type = "text/markdown", description = "a hindsight export or a plain postmortem, at most 8 MiB"), params(("dry_run" = Option<bool>, Query, description = "answer 200 with what it would create, storing nothing"), ("duplicate" = Option<bool>, Query), ("title" = Option<String>, Query), ("severity" = Option<String>, Query)), responses((status = 201, body = crate::incidents::api::IncidentJson), (status = 200, description = "dry run", body = crate::postmortems::import::dry_run::DryRun), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn import_postmortem(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<ImportQuery>,
    body: ImportBody,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(content_type.is_empty()
        || content_type.starts_with("text/")
        || content_type.starts_with("application/octet-stream"))
    {
        return Err(AppError::UnsupportedMediaType(
            "Send the postmortem as text/markdown or text/plain.".into(),
        )
        .into());
    }
    super::import::check_size(body.len())?;
    let text = String::from_utf8(body.to_vec()).map_err(|e| {
        AppError::BadRequest(format!(
            "The document is not UTF-8 (byte {}).",
            e.utf8_error().valid_up_to()
        ))
    })?;
    // Parsing and rendering are the slow part: on the blocking pool, before the write.
    let severity = query
        .severity
        .as_deref()
        .map(crate::incidents::Severity::parse_field)
        .transpose()?;
    let title = query.title.clone();
    let prepared = web::block(move || super::import::prepare(&text))
        .await??
        .with_overrides(title, severity);
    let actor = user.actor();
    if query.dry_run {
        let run = state
            .db
            .read(move |conn| {
                let before = super::import::imported_before(conn, prepared.hash(), &actor)?;
                let before = before.map(|id| crate::incidents::IncidentKey(id).to_string());
                super::import::dry_run::of(conn, prepared.imported(), before)
            })
            .await?;
        return Ok(HttpResponse::Ok().json(run));
    }
    let again = if query.duplicate {
        super::import::Again::Allow
    } else {
        super::import::Again::Refuse
    };
    let detail = state
        .db
        .write(move |conn| {
            let incident = super::import::store(conn, prepared, again, &actor)?;
            crate::incidents::service::get(conn, incident.id)
        })
        .await?;
    let key = detail.incident.key();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/incidents/{key}")))
        .json(crate::incidents::api::IncidentJson::from(detail)))
}
