//! Shared pieces of the JSON API: the JSON body extractor with API.md's error statuses,
//! list pagination, and the list envelope.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::NaiveDateTime;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::AppError;
use crate::http_error::ApiError;
use crate::time::parse_rfc3339;

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = crate::limits::JSON_BYTES;

/// A JSON request body: 415 without `application/json`, 413 when too large, 400 when not
/// JSON, 422 when JSON of the wrong shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            crate::access::visible::settled(&req).await;
            let content_type = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !content_type.starts_with("application/json") {
                return Err(AppError::UnsupportedMediaType(
                    "Send the body as application/json.".into(),
                )
                .into());
            }
            let body = web::Bytes::from_request(&req, &mut payload)
                .await
                .map_err(|e| crate::extract::body_error(&e, JSON_LIMIT))?;
            if body.len() > JSON_LIMIT {
                return Err(AppError::PayloadTooLarge(format!(
                    "The body is larger than {JSON_LIMIT} bytes."
                ))
                .into());
            }
            // Refused control characters can only come as escapes (JSON forbids them raw in
            // strings); only a body with escapes pays for the second look.
            if body
                .windows(2)
                .any(|w| matches!(w, b"\\u" | b"\\b" | b"\\f"))
            {
                if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) {
                    crate::text::check_json(&value, "")?;
                }
            }
            serde_json::from_slice(&body).map(ApiJson).map_err(|e| {
                use serde_json::error::Category;
                match e.classify() {
                    Category::Data => {
                        AppError::invalid(&field_of(&e.to_string()), format!("Invalid body: {e}"))
                    }
                    _ => AppError::BadRequest(format!("Malformed JSON: {e}")),
                }
                .into()
            })
        })
    }
}

/// Best effort: the field named in a serde message (`unknown field `x``, `missing field `x``).
fn field_of(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .filter(|_| message.contains("field"))
        .unwrap_or("body")
        .to_string()
}

/// API.md's error body.
#[derive(utoipa::ToSchema)]
pub struct ErrorDoc {
    pub error: ErrorDetailDoc,
}

#[derive(utoipa::ToSchema)]
pub struct ErrorDetailDoc {
    /// `validation`, `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `rate_limited`, `timeout`, `too_large`, `unsupported_media_type`, `internal`
    pub code: String,
    pub message: String,
    /// The offending field, for `validation`.
    pub field: Option<String>,
}

/// `page` and `per_page` (at most 1000) of every list endpoint.
#[derive(Deserialize, Default)]
pub struct PageParams {
    pub page: Option<String>,
    pub per_page: Option<String>,
}

impl PageParams {
    pub fn resolve(&self) -> Result<(i64, i64), AppError> {
        let page = crate::web::page_number(self.page.as_deref())?;
        let per_page = match self
            .per_page
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => 50,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    AppError::invalid("per_page", "per_page must be between 1 and 1000")
                })?,
        };
        Ok((page, per_page))
    }
}

/// `{"items": [...], "page": 1, "per_page": 50, "total": N}`
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListEnvelope<T: Serialize> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// An RFC 3339 time from a JSON field, or a 422 naming it.
pub fn time_field(raw: &str, field: &str) -> Result<NaiveDateTime, AppError> {
    parse_rfc3339(raw).ok_or_else(|| {
        AppError::invalid(
            field,
            format!("{field} must be an RFC 3339 time such as 2023-06-07T10:00:00Z"),
        )
    })
}

pub fn optional_time(raw: Option<&str>, field: &str) -> Result<Option<NaiveDateTime>, AppError> {
    raw.map(|r| time_field(r, field)).transpose()
}

/// For PATCH bodies: distinguishes an absent field (`None`) from `null` (`Some(None)`).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A per-incident list endpoint: 404 for an unknown incident, then one page of what `load`
/// returns (per-incident lists are small enough to page in memory), mapped to JSON.
pub async fn incident_list<T, J, L, M>(
    state: &crate::state::AppState,
    incident: crate::access::visible::Visible,
    paging: &PageParams,
    load: L,
    map: M,
) -> Result<actix_web::HttpResponse, ApiError>
where
    T: Send + 'static,
    J: Serialize,
    L: FnOnce(&mut crate::db::DbConnection, crate::ids::IncidentId) -> Result<Vec<T>, AppError>
        + Send
        + 'static,
    M: Fn(T) -> J,
{
    let id = incident.id();
    let (page, per_page) = paging.resolve()?;
    let all = state.db.read(move |conn| load(conn, id)).await?;
    let total = all.len() as i64;
    let items = all
        .into_iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .map(map)
        .collect();
    Ok(actix_web::HttpResponse::Ok().json(ListEnvelope {
        items,
        page,
        per_page,
        total,
    }))
}
