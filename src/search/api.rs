//! `GET /api/v1/search`: the search box's answer as JSON, grouped by incident.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::query::{Kind, Query, QUERY_MAX};
use super::{jump, search, Found, Hit};
use crate::access::{Hidden, Reader};
use crate::api::PageParams;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    kind: Option<String>,
    #[serde(flatten)]
    paging: PageParams,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HitJson {
    /// `incident`, `entry`, `root_cause`, `task`, `escalation` or `postmortem`.
    kind: &'static str,
    /// The entry, cause, task or escalation; the incident for its own fields and its
    /// postmortem.
    id: i32,
    /// For a postmortem hit: the section (`summary`, `resolution`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    section: Option<&'static str>,
    /// The text around the words found: HTML-escaped, the words in `<mark>`.
    snippet: String,
    /// Where it is on the site, e.g. `/incidents/INC-2#e41`.
    url: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResultJson {
    key: String,
    title: String,
    severity: String,
    status: String,
    started_at: String,
    hits: Vec<HitJson>,
    /// How many hits in this incident in all (at most three are listed).
    matches: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchJson {
    items: Vec<ResultJson>,
    page: i64,
    per_page: i64,
    /// Incidents that match.
    total: i64,
    /// When the search is an incident key the reader may see: that key (the page
    /// redirects there).
    #[serde(skip_serializing_if = "Option::is_none")]
    jump: Option<String>,
}

impl From<Hit> for HitJson {
    fn from(h: Hit) -> Self {
        HitJson {
            kind: h.kind.as_str(),
            id: h.id,
            section: h.section,
            snippet: h.snippet_html,
            url: h.url,
        }
    }
}

/// `GET /api/v1/search?q=&kind=&page=&per_page=`
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(("q" = String, Query, description = "words, \"phrases\", -word, prefix*, and filters severity: service: status: after: before: kind:"), ("kind" = Option<String>, Query, description = "incident, entry, root_cause, task, escalation or postmortem"), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "at most 1000")), responses((status = 200, body = SearchJson), (status = 401, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn search_api(
    state: web::Data<AppState>,
    user: ApiUser,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let (page, per_page) = params.paging.resolve()?;
    if params.q.chars().count() > QUERY_MAX {
        return Err(
            AppError::invalid("q", format!("A search is at most {QUERY_MAX} characters.")).into(),
        );
    }
    let mut query = Query::parse(&params.q);
    if let Some(kind) = params
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        query.kind = Some(Kind::parse(kind).ok_or_else(|| {
            AppError::invalid(
                "kind",
                format!(
                    "kind must be one of {}.",
                    Kind::ALL.map(Kind::as_str).join(", ")
                ),
            )
        })?);
    }
    if !query.has_words() && query.key.is_none() {
        return Err(AppError::invalid(
            "q",
            "Give a word to search for (filters and -words only narrow a search).",
        )
        .into());
    }
    let reader = Reader::of(&user.user);
    let (jump, results) = state
        .db
        .read(move |conn| {
            let jump = jump(conn, reader, &query)?.map(|k| k.to_string());
            let hidden = Hidden::from_reader(conn, reader)?;
            Ok((jump, search(conn, &hidden, &query, page, per_page)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SearchJson {
        items: results
            .found
            .into_iter()
            .map(
                |Found {
                     incident,
                     hits,
                     more,
                 }| {
                    let i = incident.incident;
                    ResultJson {
                        key: i.key(),
                        title: i.title,
                        severity: i.severity.as_str().to_string(),
                        status: i.status.as_str().to_string(),
                        started_at: crate::time::rfc3339(i.started_at),
                        matches: hits.len() + more,
                        hits: hits.into_iter().map(HitJson::from).collect(),
                    }
                },
            )
            .collect(),
        page,
        per_page,
        total: results.total,
        jump,
    }))
}
