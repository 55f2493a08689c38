//! The incident list: filters, search, paging.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::opt;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::incidents::model::{Severity, Status};
use crate::incidents::search::{self, IncidentFilter};
use crate::incidents::service::IncidentDetail;
use crate::state::AppState;
use crate::time::{human_duration, now, rfc3339};
use crate::web::{page_number, render, url_encode, Layout, Pager};

const PER_PAGE: i64 = 25;

/// One incident as the list and dashboard show it.
pub struct IncidentRow {
    pub key: String,
    pub title: String,
    pub severity: &'static str,
    pub severity_css: &'static str,
    pub status: &'static str,
    pub started_iso: String,
    pub started: String,
    pub age: String,
    pub services: String,
    pub commander: String,
}

impl IncidentRow {
    pub fn of(d: &IncidentDetail, at: NaiveDateTime, zone: crate::time::Zone) -> Self {
        let i = &d.incident;
        let end = i.resolved_at.unwrap_or(at);
        IncidentRow {
            key: i.key(),
            title: i.title.clone(),
            severity: i.severity.as_str(),
            severity_css: i.severity.css(),
            status: i.status.as_str(),
            started_iso: rfc3339(i.started_at),
            started: zone.date_hhmm(i.started_at),
            age: human_duration(end - i.started_at),
            services: d.services.join(", "),
            commander: d.commander.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "incidents/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<IncidentRow>,
    pager: Pager,
    query: ListQuery,
    services: Vec<String>,
    statuses: &'static [Status],
    severities: &'static [Severity],
    error: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub sort: String,
    pub page: Option<String>,
}

impl ListQuery {
    fn base_query(&self) -> String {
        let pairs = [
            ("status", &self.status),
            ("severity", &self.severity),
            ("service", &self.service),
            ("q", &self.q),
            ("since", &self.since),
            ("until", &self.until),
            ("sort", &self.sort),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", url_encode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }
}
/// `GET /incidents`
pub async fn list_incidents(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = page_number(query.page.as_deref())?;
    let filter = IncidentFilter::parse(
        opt(&query.status),
        opt(&query.severity),
        opt(&query.service),
        opt(&query.q),
        opt(&query.since),
        opt(&query.until),
        opt(&query.sort),
    );
    let (filter, error) = match filter {
        Ok(f) => (f, None),
        Err(e) => (IncidentFilter::default(), Some(e.public_message())),
    };
    let reader = crate::access::Reader::of(&user.user);
    let (items, total, services) = state
        .db
        .read(move |conn| {
            let hidden = crate::access::Hidden::from_reader(conn, reader)?;
            let (items, total) = search::list(conn, &hidden, &filter, page, PER_PAGE)?;
            Ok((items, total, search::service_names(conn, &hidden)?))
        })
        .await?;
    let t = now();
    let page = ListPage {
        layout: Layout::new(&user, "incidents", "Incidents"),
        rows: items
            .iter()
            .map(|d| IncidentRow::of(d, t, user.user.zone()))
            .collect(),
        pager: Pager::new("/incidents", &query.base_query(), page, PER_PAGE, total),
        query,
        services,
        statuses: Status::ALL,
        severities: Severity::ALL,
        error,
    };
    render(&page)
}
