//! `/api/v1/incidents`: list, create, read, and optimistic-concurrency PATCH.

use crate::access::visible::Visible;
use crate::ids::IncidentId;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::model::{IncidentKey, Severity, Status};
use super::roles::{IncidentRole, Roles};
use super::search::{self, IncidentFilter};
use super::service::{self, CreateOptions, IncidentDetail, IncidentFields};
use super::StatusChange;
use crate::api::{nullable, optional_time, time_field, ApiJson, ListEnvelope, PageParams};
use crate::auth::{users, ApiUser};
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::state::AppState;
use crate::time::{now, rfc3339};
use crate::timeline::api::EntryJson;

#[derive(Serialize, utoipa::ToSchema)]
pub struct IncidentJson {
    pub id: IncidentId,
    pub key: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub impact: String,
    pub users_affected_pct: Option<f64>,
    pub services: Vec<String>,
    pub commander: Option<String>,
    pub communications_lead: Option<String>,
    pub scribe: Option<String>,
    pub operations_lead: Option<String>,
    pub started_at: String,
    pub detected_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub mitigated_at: Option<String>,
    pub resolved_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i32,
    /// The number of the incident's last live event: `GET …/events?after=` this.
    pub event_seq: i32,
    /// Seen only by its members and admins.
    pub restricted: bool,
    /// A restricted incident's members: usernames, then team names (`GET …/access` keeps
    /// them apart); empty when not restricted.
    pub members: Vec<String>,
    /// The incident this one duplicates (see `links`), e.g. `INC-3`.
    pub duplicate_of: Option<String>,
    /// When the next stakeholder update is owed (see `POST …/updates`), or null.
    pub next_update_due_at: Option<String>,
}

impl From<IncidentDetail> for IncidentJson {
    fn from(d: IncidentDetail) -> Self {
        let i = d.incident;
        IncidentJson {
            key: IncidentKey(i.id).to_string(),
            id: i.id,
            title: i.title,
            severity: i.severity,
            status: i.status,
            impact: i.impact,
            users_affected_pct: i.users_affected_pct,
            services: d.services,
            commander: d.commander,
            communications_lead: d.roles.communications_lead.clone(),
            scribe: d.roles.scribe.clone(),
            operations_lead: d.roles.operations_lead.clone(),
            started_at: rfc3339(i.started_at),
            detected_at: i.detected_at.map(rfc3339),
            acknowledged_at: i.acknowledged_at.map(rfc3339),
            mitigated_at: i.mitigated_at.map(rfc3339),
            resolved_at: i.resolved_at.map(rfc3339),
            created_at: rfc3339(i.created_at),
            updated_at: rfc3339(i.updated_at),
            version: i.version,
            event_seq: i.event_seq,
            restricted: i.restricted,
            members: d.members,
            duplicate_of: i.duplicate_of.map(|o| IncidentKey(o).to_string()),
            next_update_due_at: i.next_update_due_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IncidentWithRecord {
    #[serde(flatten)]
    incident: IncidentJson,
    /// Serialised once per timeline revision (the timeline cache), spliced in as it is.
    #[schema(value_type = Vec<EntryJson>)]
    timeline: Box<serde_json::value::RawValue>,
    escalations: Vec<crate::escalations::api::EscalationJson>,
    root_causes: Vec<crate::root_causes::api::RootCauseJson>,
    tasks: Vec<crate::tasks::api::TaskJson>,
    /// Links to other incidents, both ways (those the reader may see).
    links: Vec<super::links::api::LinkJson>,
    /// The same kind of failure on a shared service after the earlier incident's
    /// follow-ups were done, this incident at either end.
    recurrences: Vec<RecurrenceJson>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecurrenceJson {
    earlier: String,
    later: String,
    /// The root-cause category both share.
    category: String,
    /// A service both name.
    service: String,
    /// The earlier incident's follow-ups for that cause, done before `later` started.
    tasks: Vec<crate::ids::TaskId>,
}

impl From<super::recurrence::Recurrence> for RecurrenceJson {
    fn from(r: super::recurrence::Recurrence) -> Self {
        RecurrenceJson {
            earlier: r.earlier.to_string(),
            later: r.later.to_string(),
            category: r.category,
            service: r.service,
            tasks: r.tasks,
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    severity: Option<String>,
    service: Option<String>,
    q: Option<String>,
    since: Option<String>,
    until: Option<String>,
    sort: Option<String>,
    #[serde(flatten)]
    paging: PageParams,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `GET /api/v1/incidents`
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(("status" = Option<String>, Query, description = "a status, or open"), ("severity" = Option<String>, Query), ("service" = Option<String>, Query), ("q" = Option<String>, Query), ("since" = Option<String>, Query), ("until" = Option<String>, Query), ("sort" = Option<String>, Query, description = "newest, oldest, severity or updated"), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "at most 1000")), responses((status = 200, body = crate::api::ListEnvelope<IncidentJson>), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn list_incidents(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (page, per_page) = query.paging.resolve()?;
    let filter = IncidentFilter::parse(
        non_empty(&query.status),
        non_empty(&query.severity),
        non_empty(&query.service),
        non_empty(&query.q),
        non_empty(&query.since),
        non_empty(&query.until),
        non_empty(&query.sort),
    )?;
    let reader = crate::access::Reader::of(&user.user);
    let (items, total) = state
        .db
        .read(move |conn| {
            let hidden = crate::access::Hidden::from_reader(conn, reader)?;
            search::list(conn, &hidden, &filter, page, per_page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListEnvelope {
        items: items.into_iter().map(IncidentJson::from).collect(),
        page,
        per_page,
        total,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    title: Option<String>,
    severity: Option<String>,
    status: Option<String>,
    impact: Option<String>,
    users_affected_pct: Option<f64>,
    services: Option<Vec<String>>,
    commander: Option<String>,
    communications_lead: Option<String>,
    scribe: Option<String>,
    operations_lead: Option<String>,
    /// Only its creator, its commander and admins see it (members: `PUT …/access`).
    restricted: Option<bool>,
    started_at: Option<String>,
    detected_at: Option<String>,
    acknowledged_at: Option<String>,
    mitigated_at: Option<String>,
    resolved_at: Option<String>,
}

/// `POST /api/v1/incidents` → 201
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = CreateIncident, responses((status = 201, body = IncidentJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn create_incident(
    state: web::Data<AppState>,
    user: ApiUser,
    body: ApiJson<CreateIncident>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let title = b
        .title
        .ok_or_else(|| AppError::invalid("title", "title is required"))?;
    let severity = b
        .severity
        .as_deref()
        .map(Severity::parse_field)
        .transpose()?
        .unwrap_or(Severity::Sev3);
    let status = b
        .status
        .as_deref()
        .map(Status::parse_field)
        .transpose()?
        .unwrap_or(Status::Investigating);
    let started_at = optional_time(b.started_at.as_deref(), "started_at")?.unwrap_or_else(now);
    let mut fields = IncidentFields {
        title,
        severity,
        status,
        impact: b.impact.unwrap_or_default(),
        users_affected_pct: b.users_affected_pct,
        services: b.services.unwrap_or_default(),
        commander_id: None,
        comms_lead_id: None,
        scribe_id: None,
        ops_lead_id: None,
        started_at,
        detected_at: optional_time(b.detected_at.as_deref(), "detected_at")?,
        acknowledged_at: optional_time(b.acknowledged_at.as_deref(), "acknowledged_at")?,
        mitigated_at: optional_time(b.mitigated_at.as_deref(), "mitigated_at")?,
        resolved_at: optional_time(b.resolved_at.as_deref(), "resolved_at")?,
    };
    let actor = user.actor();
    let commander = b.commander;
    let roles = Roles {
        communications_lead: b.communications_lead,
        scribe: b.scribe,
        operations_lead: b.operations_lead,
    };
    let restricted = b.restricted.unwrap_or(false);
    let detail = state
        .db
        .write(move |conn| {
            fields.commander_id = users::resolve(conn, commander.as_deref(), "commander")?;
            for role in IncidentRole::ALL {
                let name = roles.get(role).map(String::as_str);
                fields.set_role(role, users::resolve(conn, name, role.name())?);
            }
            let options = CreateOptions {
                declared_entry: true,
                restricted,
                ..Default::default()
            };
            let incident = service::create(conn, fields, &actor, &options)?;
            service::get(conn, incident.id)
        })
        .await?;
    let key = detail.incident.key();
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/incidents/{key}")))
        .json(IncidentJson::from(detail)))
}

/// `GET /api/v1/incidents/{key}` with its timeline, escalations, root causes and tasks.
#[utoipa::path(get, path = "/api/v1/incidents/{key}", tag = "incidents", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), responses((status = 200, body = IncidentWithRecord), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn get_incident(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let reader = crate::access::Reader::of(&user.user);
    let timelines = std::sync::Arc::clone(&state.timelines);
    let (detail, timeline, escalations, causes, tasks, (links, recurrences)) = state
        .db
        .read(move |conn| {
            let detail = service::get(conn, id)?;
            let rev = detail.incident.timeline_rev;
            let hidden = crate::access::Hidden::from_reader(conn, reader)?;
            Ok((
                detail,
                timelines.timeline_json(conn, id, rev)?,
                crate::escalations::list(conn, id)?,
                crate::root_causes::list(conn, id)?,
                crate::tasks::service::list_for_incident(conn, id)?,
                (
                    super::links::list(conn, id, &hidden)?,
                    super::recurrence::of(conn, id, &hidden)?,
                ),
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(IncidentWithRecord {
        incident: detail.into(),
        timeline: serde_json::value::RawValue::from_string(timeline.to_string())
            .map_err(AppError::unexpected)?,
        escalations: escalations.into_iter().map(Into::into).collect(),
        root_causes: causes.into_iter().map(Into::into).collect(),
        tasks: tasks.into_iter().map(Into::into).collect(),
        links: links.into_iter().map(Into::into).collect(),
        recurrences: recurrences.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchIncident {
    version: Option<i32>,
    title: Option<String>,
    severity: Option<String>,
    status: Option<String>,
    /// When the status changed (RFC 3339; default now). Only with `status`.
    status_at: Option<String>,
    /// Resolving cancels pending escalations instead of answering 409.
    #[serde(default)]
    cancel_pending_escalations: bool,
    impact: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    users_affected_pct: Option<Option<f64>>,
    services: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    commander: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    communications_lead: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    scribe: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    operations_lead: Option<Option<String>>,
    started_at: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    detected_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    acknowledged_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    mitigated_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    resolved_at: Option<Option<String>>,
}

fn patch_time(
    current: Option<chrono::NaiveDateTime>,
    change: Option<Option<String>>,
    field: &str,
) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    match change {
        None => Ok(current),
        Some(None) => Ok(None),
        Some(Some(raw)) => time_field(&raw, field).map(Some),
    }
}

/// `PATCH /api/v1/incidents/{key}`: partial update at the `version` last read, or 409.
#[utoipa::path(patch, path = "/api/v1/incidents/{key}", tag = "incidents", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body = PatchIncident, responses((status = 200, body = IncidentJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn update_incident(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<PatchIncident>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let b = body.0;
    let version = b.version.ok_or_else(|| {
        AppError::invalid(
            "version",
            "version is required: send the version you read last",
        )
    })?;
    let actor = user.actor();
    let detail = state
        .db
        .write(move |conn| {
            let current = service::get(conn, id)?;
            let mut f = IncidentFields::of(&current);
            if let Some(t) = b.title {
                f.title = t;
            }
            if let Some(s) = b.severity.as_deref() {
                f.severity = Severity::parse_field(s)?;
            }
            if let Some(s) = b.status.as_deref() {
                f.status = Status::parse_field(s)?;
            }
            if let Some(i) = b.impact {
                f.impact = i;
            }
            if let Some(p) = b.users_affected_pct {
                f.users_affected_pct = p;
            }
            if let Some(s) = b.services {
                f.services = s;
            }
            if let Some(c) = b.commander {
                f.commander_id = users::resolve(conn, c.as_deref(), "commander")?;
            }
            let changes = Roles {
                communications_lead: b.communications_lead,
                scribe: b.scribe,
                operations_lead: b.operations_lead,
            };
            for (role, change) in changes.iter() {
                if let Some(c) = change {
                    f.set_role(role, users::resolve(conn, c.as_deref(), role.name())?);
                }
            }
            if let Some(s) = b.started_at.as_deref() {
                f.started_at = time_field(s, "started_at")?;
            }
            f.detected_at = patch_time(f.detected_at, b.detected_at, "detected_at")?;
            f.acknowledged_at =
                patch_time(f.acknowledged_at, b.acknowledged_at, "acknowledged_at")?;
            f.mitigated_at = patch_time(f.mitigated_at, b.mitigated_at, "mitigated_at")?;
            f.resolved_at = patch_time(f.resolved_at, b.resolved_at, "resolved_at")?;
            let change = StatusChange {
                at: optional_time(b.status_at.as_deref(), "status_at")?,
                cancel_pending_escalations: b.cancel_pending_escalations,
            };
            service::update(conn, id, version, f, &change, &actor)?;
            service::get(conn, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(IncidentJson::from(detail)))
}
