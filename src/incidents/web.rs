//! Incident pages: the list, declare, the incident page (timeline first), edit with
//! conflict display, and the quick status change.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::model::{Incident, IncidentKey, Severity, Status};
use super::service::{
    self, changed_fields, CreateOptions, IncidentDetail, IncidentFields, IncidentFilter,
};
use crate::auth::csrf::SessionForm;
use crate::auth::{ensure, users, CurrentUser, Permission};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;
use crate::tasks::web::TaskRow;
use crate::time::{date_hhmm, human_duration, now, now as t_now, parse_user_time, rfc3339};
use crate::timeline::EntryKind;
use crate::web::{
    page_number, render, render_sized, render_status, see_other, url_encode, FormError, Layout,
    Pager,
};

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
    pub fn of(d: &IncidentDetail, at: NaiveDateTime) -> Self {
        let i = &d.incident;
        let end = i.resolved_at.unwrap_or(at);
        IncidentRow {
            key: i.key(),
            title: i.title.clone(),
            severity: i.severity.as_str(),
            severity_css: i.severity.css(),
            status: i.status.as_str(),
            started_iso: rfc3339(i.started_at),
            started: date_hhmm(i.started_at),
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

fn opt(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
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
        Err(e) => (Default::default(), Some(e.public_message())),
    };
    let (items, total, services) = state
        .db
        .read(move |conn| {
            let (items, total) = service::list(conn, &filter, page, PER_PAGE)?;
            Ok((items, total, service::service_names(conn)?))
        })
        .await?;
    let t = now();
    let page = ListPage {
        layout: Layout::new(&user, "incidents", "Incidents"),
        rows: items.iter().map(|d| IncidentRow::of(d, t)).collect(),
        pager: Pager::new("/incidents", &query.base_query(), page, PER_PAGE, total),
        query,
        services,
        statuses: Status::ALL,
        severities: Severity::ALL,
        error,
    };
    render(&page)
}

/// The incident form's raw values: what the user typed, kept on errors.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct IncidentForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub impact: String,
    #[serde(default)]
    pub users_affected_pct: String,
    #[serde(default)]
    pub services: String,
    #[serde(default)]
    pub commander: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub detected_at: String,
    #[serde(default)]
    pub acknowledged_at: String,
    #[serde(default)]
    pub mitigated_at: String,
    #[serde(default)]
    pub resolved_at: String,
    #[serde(default)]
    pub version: String,
}

fn show_time(t: Option<NaiveDateTime>) -> String {
    t.map(date_hhmm).unwrap_or_default()
}

impl IncidentForm {
    fn of(d: &IncidentDetail) -> Self {
        let i = &d.incident;
        IncidentForm {
            title: i.title.clone(),
            severity: i.severity.to_string(),
            status: i.status.to_string(),
            impact: i.impact.clone(),
            users_affected_pct: i
                .users_affected_pct
                .map(|p| p.to_string())
                .unwrap_or_default(),
            services: d.services.join(", "),
            commander: d.commander.clone().unwrap_or_default(),
            started_at: date_hhmm(i.started_at),
            detected_at: show_time(i.detected_at),
            acknowledged_at: show_time(i.acknowledged_at),
            mitigated_at: show_time(i.mitigated_at),
            resolved_at: show_time(i.resolved_at),
            version: i.version.to_string(),
        }
    }

    /// Parses into fields; blank start means now, blank detection means the start.
    fn parse(
        &self,
        conn: &mut DbConnection,
        at: NaiveDateTime,
    ) -> Result<IncidentFields, AppError> {
        let time = |raw: &str, field: &str| -> Result<Option<NaiveDateTime>, AppError> {
            match opt(raw) {
                None => Ok(None),
                Some(r) => parse_user_time(r, at).map(Some).ok_or_else(|| {
                    AppError::invalid(field, "Use YYYY-MM-DD HH:MM (UTC), or HH:MM for today.")
                }),
            }
        };
        let started_at = time(&self.started_at, "started_at")?.unwrap_or(at);
        let pct =
            match opt(&self.users_affected_pct) {
                None => None,
                Some(raw) => Some(raw.trim_end_matches('%').trim().parse::<f64>().map_err(
                    |_| {
                        AppError::invalid(
                            "users_affected_pct",
                            "Percent of users affected must be a number from 0 to 100.",
                        )
                    },
                )?),
            };
        Ok(IncidentFields {
            title: self.title.clone(),
            severity: Severity::parse_field(if self.severity.is_empty() {
                "SEV3"
            } else {
                &self.severity
            })?,
            status: Status::parse_field(if self.status.is_empty() {
                "investigating"
            } else {
                &self.status
            })?,
            impact: self.impact.trim().to_string(),
            users_affected_pct: pct,
            services: self
                .services
                .split(',')
                .map(|s| s.trim().to_string())
                .collect(),
            commander_id: users::resolve(conn, opt(&self.commander), "commander")?,
            started_at,
            detected_at: time(&self.detected_at, "detected_at")?,
            acknowledged_at: time(&self.acknowledged_at, "acknowledged_at")?,
            mitigated_at: time(&self.mitigated_at, "mitigated_at")?,
            resolved_at: time(&self.resolved_at, "resolved_at")?,
        })
    }
}

/// A field someone else changed while the user was editing.
pub struct ConflictRow {
    pub field: &'static str,
    pub theirs: String,
}

#[derive(Template)]
#[template(path = "incidents/form.html")]
struct FormPage {
    layout: Layout,
    key: Option<String>,
    form: IncidentForm,
    error: Option<String>,
    error_field: String,
    conflict: Vec<ConflictRow>,
    users: Vec<String>,
    services: Vec<String>,
    statuses: &'static [Status],
    severities: &'static [Severity],
}

async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    key: Option<String>,
    form: IncidentForm,
    error: Option<AppError>,
    conflict: Vec<ConflictRow>,
) -> Result<HttpResponse, AppError> {
    let (users, services) = state
        .db
        .read(|conn| {
            let users = users::active_usernames(conn, false)?;
            Ok((users, service::service_names(conn)?))
        })
        .await?;
    let error = FormError::from(error);
    let title = match &key {
        Some(k) => format!("Edit {k}"),
        None => "Declare an incident".into(),
    };
    let page = FormPage {
        layout: Layout::new(user, "incidents", title),
        key,
        error_field: error.field,
        error: error.message,
        form,
        conflict,
        users,
        services,
        statuses: Status::ALL,
        severities: Severity::ALL,
    };
    render_status(error.status, &page)
}

/// `GET /incidents/new`
pub async fn new_incident(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let form = IncidentForm {
        severity: "SEV2".into(),
        status: "investigating".into(),
        commander: user.user.username.clone(),
        ..Default::default()
    };
    form_page(&state, &user, None, form, None, vec![]).await
}

/// `POST /incidents`
pub async fn create_incident(
    state: web::Data<AppState>,
    form: SessionForm<IncidentForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Write)?;
    let submitted = data.clone();
    let result = state
        .db
        .write(move |conn| {
            let t = now();
            let mut fields = submitted.parse(conn, t)?;
            if fields.detected_at.is_none() && opt(&submitted.started_at).is_none() {
                fields.detected_at = Some(fields.started_at);
            }
            let options = CreateOptions {
                declared_entry: true,
                ..Default::default()
            };
            service::create(conn, fields, &actor, &options)
        })
        .await;
    match result {
        Ok(incident) => Ok(see_other(&format!("/incidents/{}", incident.key()))),
        Err(e @ AppError::Invalid { .. }) => {
            form_page(&state, &user, None, data, Some(e), vec![]).await
        }
        Err(e) => Err(e),
    }
}

/// A milestone in the incident header.
pub struct Milestone {
    pub label: &'static str,
    pub iso: String,
    pub text: String,
}

/// A segment of the phase bar (SVG units out of 1000).
pub struct Phase {
    pub label: &'static str,
    pub css: &'static str,
    pub x: i64,
    pub width: i64,
    pub text_x: i64,
    pub duration: String,
}

fn phases(i: &Incident, at: NaiveDateTime) -> Vec<Phase> {
    let mut points: Vec<(NaiveDateTime, &'static str, &'static str)> = vec![(i.started_at, "", "")];
    for (time, label, css) in [
        (i.detected_at, "Detect", "detect"),
        (i.acknowledged_at, "Investigate", "investigate"),
        (i.mitigated_at, "Mitigate", "mitigate"),
        (i.resolved_at, "Monitor", "monitor"),
    ] {
        if let Some(t) = time {
            points.push((t, label, css));
        }
    }
    if i.status.is_open() && i.resolved_at.is_none() {
        let last = points.last().map(|p| p.0).unwrap_or(i.started_at);
        points.push((at.max(last), "Ongoing", "ongoing"));
    }
    let start = i.started_at;
    let end = points.last().map(|p| p.0).unwrap_or(start);
    let total = (end - start).num_seconds().max(1) as f64;
    let scale =
        |t: NaiveDateTime| (((t - start).num_seconds() as f64 / total) * 1000.0).round() as i64;
    points
        .windows(2)
        .filter(|w| w[1].0 > w[0].0)
        .map(|w| {
            let x = scale(w[0].0);
            let width = (scale(w[1].0) - x).max(2);
            Phase {
                label: w[1].1,
                css: w[1].2,
                x,
                width,
                text_x: x + 6,
                duration: human_duration(w[1].0 - w[0].0),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "incidents/show.html")]
struct ShowPage {
    layout: Layout,
    key: String,
    incident: Incident,
    severity_css: &'static str,
    services: Vec<String>,
    commander: String,
    milestones: Vec<Milestone>,
    total_duration: Option<String>,
    phases: Vec<Phase>,
    timeline: crate::timeline::rendered::Rendered,
    kinds: &'static [EntryKind],
    statuses: &'static [Status],
    can_write: bool,
    pct: Option<String>,
    now_iso: String,
    error: Option<String>,
    draft_body: String,
    draft_time: String,
    draft_kind: String,
    /// Changes with every write to the incident or its timeline (the page script polls it).
    updated_iso: String,
    escalations: Vec<EscalationRow>,
    pending_escalations: usize,
    causes: Vec<CauseRow>,
    primary_causes: usize,
    tasks: Vec<TaskRow>,
    overdue_tasks: usize,
    suggestions: Vec<String>,
    users: Vec<String>,
}

/// State of the quick-add form when it comes back with an error.
#[derive(Default)]
pub struct Draft {
    pub error: Option<String>,
    pub body: String,
    pub time: String,
    pub kind: String,
}

/// Renders the incident page; `draft` refills the quick-add form after an error.
pub async fn incident_page(
    state: &AppState,
    user: &CurrentUser,
    id: i32,
    draft: Draft,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let can_write = user.user.role.allows(Permission::Write);
    let timelines = std::sync::Arc::clone(&state.timelines);
    let record = state
        .db
        .read(move |conn| {
            let detail = service::get(conn, id)?;
            let rev = detail.incident.timeline_rev;
            Ok(Record {
                timeline: timelines.timeline(conn, id, rev, can_write)?,
                detail,
                escalations: crate::escalations::list(conn, id)?,
                causes: crate::root_causes::list(conn, id)?,
                tasks: crate::tasks::service::list_for_incident(conn, id)?,
                suggestions: crate::escalations::target_suggestions(conn)?,
                users: users::active_usernames(conn, false)?,
            })
        })
        .await?;
    let Record {
        detail,
        timeline,
        escalations,
        causes,
        tasks,
        suggestions,
        users,
    } = record;
    let today = t_now().date();
    let t = now();
    let i = &detail.incident;
    let milestones = [
        ("started", Some(i.started_at)),
        ("detected", i.detected_at),
        ("acknowledged", i.acknowledged_at),
        ("mitigated", i.mitigated_at),
        ("resolved", i.resolved_at),
    ]
    .into_iter()
    .filter_map(|(label, t)| {
        t.map(|t| Milestone {
            label,
            iso: rfc3339(t),
            text: date_hhmm(t),
        })
    })
    .collect();
    let total_duration = Some(human_duration(i.resolved_at.unwrap_or(t) - i.started_at));
    let pending = escalations
        .iter()
        .filter(|e| e.escalation.state == crate::escalations::EscalationState::Pending)
        .count();
    let task_rows: Vec<TaskRow> = tasks.iter().map(|v| TaskRow::of(v, today)).collect();
    let page = ShowPage {
        pending_escalations: pending,
        updated_iso: rfc3339(i.updated_at),
        overdue_tasks: task_rows.iter().filter(|t| t.overdue).count(),
        primary_causes: causes
            .iter()
            .filter(|c| c.kind == crate::root_causes::CauseKind::Primary)
            .count(),
        escalations: escalations
            .iter()
            .map(|v| {
                let e = &v.escalation;
                EscalationRow {
                    id: e.id,
                    version: e.version,
                    target: e.target.clone(),
                    reason: e.reason.clone(),
                    state: e.state.as_str(),
                    pending: e.state == crate::escalations::EscalationState::Pending,
                    iso: rfc3339(e.escalated_at),
                    at: date_hhmm(e.escalated_at),
                    time_to_ack: e.time_to_acknowledge(),
                    by: v.escalated_by.clone().unwrap_or_default(),
                }
            })
            .collect(),
        causes: causes
            .into_iter()
            .map(|c| CauseRow {
                id: c.id,
                kind: c.kind.as_str(),
                category: c.category.as_str(),
                html: c.description_html,
            })
            .collect(),
        tasks: task_rows,
        suggestions,
        users,
        layout: Layout::new(user, "incidents", format!("{} {}", i.key(), i.title)),
        key: i.key(),
        severity_css: i.severity.css(),
        services: detail.services.clone(),
        commander: detail.commander.clone().unwrap_or_default(),
        milestones,
        total_duration,
        phases: phases(i, t),
        timeline,
        kinds: EntryKind::PICKABLE,
        statuses: Status::ALL,
        can_write,
        pct: i.users_affected_pct.map(|p| format!("{p}%")),
        now_iso: rfc3339(t),
        error: draft.error,
        draft_body: draft.body,
        draft_time: draft.time,
        draft_kind: if draft.kind.is_empty() {
            "action".into()
        } else {
            draft.kind
        },
        incident: detail.incident,
    };
    let capacity = 32 * 1024 + page.timeline.html.len();
    render_sized(status, &page, capacity)
}

/// Everything the incident page shows, loaded in one blocking call (a fixed number of
/// queries whatever the incident's size).
struct Record {
    detail: IncidentDetail,
    timeline: crate::timeline::rendered::Rendered,
    escalations: Vec<crate::escalations::EscalationView>,
    causes: Vec<crate::root_causes::RootCause>,
    tasks: Vec<crate::tasks::TaskView>,
    suggestions: Vec<String>,
    users: Vec<String>,
}

/// An escalation on the incident page.
pub struct EscalationRow {
    pub id: i32,
    pub version: i32,
    pub target: String,
    pub reason: String,
    pub state: &'static str,
    pub pending: bool,
    pub iso: String,
    pub at: String,
    pub time_to_ack: Option<String>,
    pub by: String,
}

/// A root cause on the incident page.
pub struct CauseRow {
    pub id: i32,
    pub kind: &'static str,
    pub category: &'static str,
    pub html: String,
}

/// `GET /incidents/{key}`
pub async fn show_incident(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: IncidentKey,
) -> Result<HttpResponse, AppError> {
    let id = key.0;
    incident_page(&state, &user, id, Draft::default(), StatusCode::OK).await
}

/// `GET /incidents/{key}/stamp`: the last-change stamp the page polls for live updates, as
/// plain text (the page's `data-updated`), instead of the whole page every 20 seconds.
pub async fn incident_stamp(
    state: web::Data<AppState>,
    _user: CurrentUser,
    key: IncidentKey,
) -> Result<HttpResponse, AppError> {
    let id = key.0;
    let updated = state
        .db
        .read(move |conn| service::last_change(conn, id))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(rfc3339(updated)))
}

/// `GET /incidents/{key}/edit`
pub async fn edit_incident(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: IncidentKey,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let id = key.0;
    let detail = state.db.read(move |conn| service::get(conn, id)).await?;
    form_page(
        &state,
        &user,
        Some(detail.incident.key()),
        IncidentForm::of(&detail),
        None,
        vec![],
    )
    .await
}

/// `POST /incidents/{key}/edit`: a stale version shows what changed and keeps the input.
pub async fn update_incident(
    state: web::Data<AppState>,
    key: IncidentKey,
    form: SessionForm<IncidentForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Write)?;
    let id = key.0;
    let version: i32 = data.version.trim().parse().map_err(|_| {
        AppError::invalid(
            "version",
            "The form lacks the version it was based on. Reload the page.",
        )
    })?;
    let submitted = data.clone();
    let result = state
        .db
        .write(move |conn| {
            let fields = submitted.parse(conn, now())?;
            service::update(conn, id, version, fields, &actor)
        })
        .await;
    match result {
        Ok(incident) => Ok(see_other(&format!("/incidents/{}", incident.key()))),
        Err(e @ AppError::Invalid { .. }) => {
            form_page(
                &state,
                &user,
                Some(IncidentKey(id).to_string()),
                data,
                Some(e),
                vec![],
            )
            .await
        }
        Err(e @ AppError::Conflict(_)) => {
            let submitted = data.clone();
            let (current, rows) = state
                .db
                .read(move |conn| {
                    let current = service::get(conn, id)?;
                    let rows = conflict_rows(conn, &submitted, &current);
                    Ok((current, rows))
                })
                .await?;
            // Keep the user's input but move it onto the current version, so a deliberate
            // second submit applies it.
            let form = IncidentForm {
                version: current.incident.version.to_string(),
                ..data
            };
            form_page(
                &state,
                &user,
                Some(current.incident.key()),
                form,
                Some(e),
                rows,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

fn conflict_rows(
    conn: &mut DbConnection,
    submitted: &IncidentForm,
    current: &IncidentDetail,
) -> Vec<ConflictRow> {
    let theirs = IncidentFields::of(current);
    let Ok(mine) = submitted.parse(conn, now()) else {
        return vec![];
    };
    let shown = IncidentForm::of(current);
    changed_fields(&mine, &theirs)
        .into_iter()
        .map(|field| ConflictRow {
            field,
            theirs: match field {
                "title" => shown.title.clone(),
                "severity" => shown.severity.clone(),
                "status" => shown.status.clone(),
                "impact" => shown.impact.clone(),
                "users_affected_pct" => shown.users_affected_pct.clone(),
                "services" => shown.services.clone(),
                "commander" => shown.commander.clone(),
                "started_at" => shown.started_at.clone(),
                "detected_at" => shown.detected_at.clone(),
                "acknowledged_at" => shown.acknowledged_at.clone(),
                "mitigated_at" => shown.mitigated_at.clone(),
                _ => shown.resolved_at.clone(),
            },
        })
        .collect()
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    version: String,
}

/// `POST /incidents/{key}/status`: the one-click status change on the incident page.
pub async fn change_status(
    state: web::Data<AppState>,
    key: IncidentKey,
    form: SessionForm<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Write)?;
    let id = key.0;
    let status = Status::parse_field(&data.status)?;
    let version: i32 = data
        .version
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("version", "Reload the page and try again."))?;
    let result = state
        .db
        .write(move |conn| {
            let current = service::get(conn, id)?;
            let fields = IncidentFields {
                status,
                ..IncidentFields::of(&current)
            };
            service::update(conn, id, version, fields, &actor)
        })
        .await;
    match result {
        Ok(incident) => Ok(see_other(&format!(
            "/incidents/{}#timeline",
            incident.key()
        ))),
        Err(e @ (AppError::Conflict(_) | AppError::Invalid { .. })) => {
            let status = if matches!(e, AppError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let draft = Draft {
                error: Some(e.public_message()),
                ..Default::default()
            };
            incident_page(&state, &user, id, draft, status).await
        }
        Err(e) => Err(e),
    }
}
