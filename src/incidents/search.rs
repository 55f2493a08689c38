//! Finding incidents: the list's filters (status, severity, service, dates, text search),
//! sort orders and paging, in a fixed number of queries however long the list.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::model::{Incident, Severity, Status};
use super::service::{details, IncidentDetail};
use crate::access::Hidden;
use crate::db::functions::lower;
use crate::db::schema::{incident_counts, incident_services, incidents, services};
use crate::db::{like_pattern, DbConnection, MultiBackend};
use crate::error::AppError;
use crate::search::query::{Match, Query};

/// How the list is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    Severity,
    Updated,
    /// Latest resolution first (the dashboard's "Recently resolved": an old incident
    /// imported today is not recent).
    Resolved,
}

impl Sort {
    pub fn parse(s: &str) -> Option<Sort> {
        match s {
            "" | "newest" => Some(Sort::Newest),
            "oldest" => Some(Sort::Oldest),
            "severity" => Some(Sort::Severity),
            "updated" => Some(Sort::Updated),
            "resolved" => Some(Sort::Resolved),
            _ => None,
        }
    }
}

/// Filters for the incident list; `open` selects every status before resolved.
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    pub statuses: Vec<Status>,
    pub severity: Option<Severity>,
    pub service: Option<String>,
    pub q: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub sort: Sort,
    /// Incidents with these words anywhere in their record (the search index): from `q`
    /// on the list, from the search box on `/search`.
    pub words: Option<Match>,
}

impl IncidentFilter {
    /// Builds the list filter from query values shared by the page and the API.
    pub fn parse(
        status: Option<&str>,
        severity: Option<&str>,
        service: Option<&str>,
        q: Option<&str>,
        since: Option<&str>,
        until: Option<&str>,
        sort: Option<&str>,
    ) -> Result<IncidentFilter, AppError> {
        let statuses = match status {
            None => vec![],
            Some("open") => Status::ALL
                .iter()
                .copied()
                .filter(|s| s.is_open())
                .collect(),
            Some(s) => vec![s
                .parse()
                .map_err(|e| AppError::invalid("status", format!("status {e} (or open)")))?],
        };
        let severity = severity
            .map(|s| s.to_uppercase().parse::<Severity>())
            .transpose()
            .map_err(|e| AppError::invalid("severity", format!("severity {e}")))?;
        // A bare date means the start of that day for `since`, and includes the whole day
        // for `until`.
        let day_or_time =
            |raw: Option<&str>, field: &str, end_of_day: bool| -> Result<_, AppError> {
                raw.map(|r| {
                    crate::time::parse_date(r)
                        .map(|d| {
                            let start = d.and_time(chrono::NaiveTime::MIN);
                            if end_of_day {
                                start + chrono::Duration::days(1)
                            } else {
                                start
                            }
                        })
                        .or_else(|| crate::time::parse_rfc3339(r))
                        .ok_or_else(|| {
                            AppError::invalid(
                                field,
                                format!(
                                    "{} must be a date like 2023-07-01 (or an RFC 3339 time).",
                                    if field == "since" { "From" } else { "To" }
                                ),
                            )
                        })
                })
                .transpose()
            };
        // Half-open [since, until) at the microseconds both databases store. An end past
        // year 9999 bounds nothing (every storable time is before it); kept, it would fail
        // on SQLite, which compares times as text ("10000-…" sorts before "9999-…").
        use chrono::{Datelike, SubsecRound};
        let since = day_or_time(since, "since", false)?.map(|t| t.trunc_subsecs(6));
        let until = day_or_time(until, "until", true)?
            .map(|t| t.trunc_subsecs(6))
            .filter(|t| t.year() <= 9999);
        let sort = match sort {
            None => Sort::Newest,
            Some(s) => Sort::parse(s).ok_or_else(|| {
                AppError::invalid(
                    "sort",
                    "Sort must be newest, oldest, severity, updated or resolved.",
                )
            })?,
        };
        Ok(IncidentFilter {
            statuses,
            severity,
            service: service.map(str::to_string),
            q: q.map(|s| s.chars().take(200).collect()),
            words: q.and_then(|q| Query::parse(q).matcher()),
            since,
            until,
            sort,
        })
    }
}

/// `text` as an FTS5 phrase for SQLite's trigram index (migration 000005), which finds
/// substrings of three characters or more; shorter searches read the table instead.
fn fts_phrase(text: &str) -> Option<String> {
    let text = text.trim();
    (text.chars().count() >= 3).then(|| format!("\"{}\"", text.replace('"', "\"\"")))
}

/// Incidents with a document in the search index that matches `m` (migration `search`:
/// a document id's high 32 bits are its incident).
pub fn matching(
    m: &Match,
    sqlite: bool,
) -> Box<dyn BoxableExpression<incidents::table, MultiBackend, SqlType = Bool>> {
    let (head, tail) = if sqlite {
        (
            "incidents.id IN (SELECT rowid >> 32 FROM search_docs WHERE search_docs MATCH ",
            format!("{})", m.kind_clause("rowid")),
        )
    } else {
        (
            "incidents.id IN (SELECT (id >> 32)::integer FROM search_docs WHERE tsv @@ to_tsquery('english', ",
            format!("){})", m.kind_clause("id")),
        )
    };
    let words = if sqlite { &m.fts5 } else { &m.tsquery };
    Box::new(sql::<Bool>(head).bind::<Text, _>(words.clone()).sql(&tail))
}

/// `hidden`: restricted incidents the reader may not see (`access::Hidden`).
fn filtered(
    f: &IncidentFilter,
    sqlite: bool,
    hidden: &[crate::ids::IncidentId],
) -> incidents::BoxedQuery<'static, MultiBackend> {
    let mut q = incidents::table.into_boxed();
    if !hidden.is_empty() {
        q = q.filter(incidents::id.ne_all(hidden.to_vec()));
    }
    if !f.statuses.is_empty() {
        q = q.filter(incidents::status.eq_any(f.statuses.clone()));
    }
    if let Some(severity) = f.severity {
        q = q.filter(incidents::severity.eq(severity));
    }
    if let Some(name) = &f.service {
        let ids = incident_services::table
            .inner_join(services::table)
            .filter(lower(services::name).eq(name.to_lowercase()))
            .select(incident_services::incident_id);
        q = q.filter(incidents::id.eq_any(ids));
    }
    match (&f.q, &f.words) {
        (Some(text), words) => {
            let in_text: Box<dyn BoxableExpression<_, _, SqlType = Bool>> =
                match fts_phrase(text).filter(|_| sqlite) {
                    Some(phrase) => Box::new(
                        sql::<Bool>(
                            "incidents.id IN (SELECT rowid FROM incidents_search WHERE incidents_search MATCH ",
                        )
                        .bind::<Text, _>(phrase)
                        .sql(")"),
                    ),
                    None => {
                        let pattern = like_pattern(text);
                        Box::new(
                            lower(incidents::title)
                                .like(pattern.clone())
                                .escape('\\')
                                .or(lower(incidents::impact).like(pattern).escape('\\')),
                        )
                    }
                };
            q = match words {
                Some(m) => q.filter(in_text.or(matching(m, sqlite))),
                None => q.filter(in_text),
            };
        }
        (None, Some(m)) => q = q.filter(matching(m, sqlite)),
        (None, None) => {}
    }
    if let Some(since) = f.since {
        q = q.filter(incidents::started_at.ge(since));
    }
    if let Some(until) = f.until {
        q = q.filter(incidents::started_at.lt(until));
    }
    q
}

/// How many incidents match `f`. A filter of statuses and severity only (the list's usual
/// views) reads the counts the database keeps (`incident_counts`, maintained by triggers),
/// less the hidden incidents that match: exact, without counting 100,000 rows (5 ms of a
/// 6 ms list page on PostgreSQL). Other filters are counted.
fn total(
    conn: &mut DbConnection,
    f: &IncidentFilter,
    sqlite: bool,
    hidden: &[crate::ids::IncidentId],
) -> Result<i64, AppError> {
    if f.service.is_some()
        || f.q.is_some()
        || f.words.is_some()
        || f.since.is_some()
        || f.until.is_some()
    {
        return Ok(filtered(f, sqlite, hidden).count().get_result(conn)?);
    }
    let mut counts = incident_counts::table
        .select(incident_counts::n)
        .into_boxed();
    if !f.statuses.is_empty() {
        let statuses: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        counts = counts.filter(incident_counts::status.eq_any(statuses));
    }
    if let Some(severity) = f.severity {
        counts = counts.filter(incident_counts::severity.eq(severity.as_str()));
    }
    let all: i64 = counts.load::<i64>(conn)?.into_iter().sum();
    let unseen: i64 = if hidden.is_empty() {
        0
    } else {
        filtered(f, sqlite, &[])
            .filter(incidents::id.eq_any(hidden.to_vec()))
            .count()
            .get_result(conn)?
    };
    Ok(all - unseen)
}

/// A page of the incidents a reader may see (`hidden`: those they may not) and the total
/// that match.
pub fn list(
    conn: &mut DbConnection,
    hidden: &Hidden,
    f: &IncidentFilter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<IncidentDetail>, i64), AppError> {
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let total = total(conn, f, sqlite, hidden.ids())?;
    Ok((page_of(conn, hidden, f, page, per_page)?, total))
}

/// [`list`] without the total (counting every match is the slow part of a short list of
/// many: the dashboard's recently resolved).
pub fn page_of(
    conn: &mut DbConnection,
    hidden: &Hidden,
    f: &IncidentFilter,
    page: i64,
    per_page: i64,
) -> Result<Vec<IncidentDetail>, AppError> {
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let q = filtered(f, sqlite, hidden.ids());
    let q = match f.sort {
        Sort::Newest => q.order((incidents::started_at.desc(), incidents::id.desc())),
        Sort::Oldest => q.order((incidents::started_at.asc(), incidents::id.asc())),
        Sort::Severity => q.order((incidents::severity.asc(), incidents::started_at.desc())),
        Sort::Updated => q.order((incidents::updated_at.desc(), incidents::id.desc())),
        // Unresolved last, on both databases (no NULLS LAST in diesel's multi-backend).
        Sort::Resolved => q.order((
            incidents::resolved_at.is_null().asc(),
            incidents::resolved_at.desc(),
            incidents::id.desc(),
        )),
    };
    let rows = q
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select(Incident::as_select())
        .load(conn)?;
    details(conn, rows)
}

/// A page of the incidents matching `f` (which has words), those matching each of
/// `boosts` first (in order), then the most recent; and the total that match.
pub fn ranked(
    conn: &mut DbConnection,
    hidden: &Hidden,
    f: &IncidentFilter,
    boosts: &[Match],
    page: i64,
    per_page: i64,
) -> Result<(Vec<IncidentDetail>, i64), AppError> {
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let hidden = hidden.ids();
    let total = filtered(f, sqlite, hidden).count().get_result(conn)?;
    let mut q = filtered(f, sqlite, hidden);
    for b in boosts {
        // false sorts before true on both databases: matching incidents first.
        q = q.then_order_by(matching(b, sqlite).eq(false));
    }
    let rows = q
        .then_order_by((incidents::started_at.desc(), incidents::id.desc()))
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select(Incident::as_select())
        .load(conn)?;
    Ok((details(conn, rows)?, total))
}

/// The service names a reader may know of, for filters and suggestions: every service but
/// those named only by incidents hidden from them.
pub fn service_names(conn: &mut DbConnection, hidden: &Hidden) -> Result<Vec<String>, AppError> {
    let mut q = services::table.into_boxed();
    if !hidden.ids().is_empty() {
        let ids = hidden.ids().to_vec();
        q = q.filter(
            services::id
                .ne_all(
                    incident_services::table
                        .filter(incident_services::incident_id.eq_any(ids.clone()))
                        .select(incident_services::service_id),
                )
                .or(services::id.eq_any(
                    incident_services::table
                        .filter(incident_services::incident_id.ne_all(ids))
                        .select(incident_services::service_id),
                )),
        );
    }
    Ok(q.select(services::name)
        .order(services::name.asc())
        .load(conn)?)
}
