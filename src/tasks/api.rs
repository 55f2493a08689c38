//! `/api/v1/incidents/{key}/tasks`, `/api/v1/tasks` (the board) and `/api/v1/tasks/{id}`.

use crate::access::visible::{Record, Task, Visible};
use crate::ids::TaskId;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::board::{self, BoardQuery};
use super::service::{self, TaskInput};
use super::{TaskKind, TaskPriority, TaskStatus, TaskView};
use crate::api::{nullable, ApiJson, ListEnvelope, PageParams};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::incidents::IncidentKey;
use crate::state::AppState;
use crate::time::{now, rfc3339};

#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskJson {
    pub id: TaskId,
    pub incident: String,
    pub title: String,
    pub description: String,
    pub kind: TaskKind,
    pub priority: TaskPriority,
    pub owner: Option<String>,
    pub team: String,
    pub due_on: Option<String>,
    pub status: TaskStatus,
    pub external_url: String,
    pub completed_at: Option<String>,
    pub overdue: bool,
    pub version: i32,
    /// The root cause (of its incident) this task addresses.
    pub root_cause_id: Option<crate::ids::RootCauseId>,
}

impl From<TaskView> for TaskJson {
    fn from(v: TaskView) -> Self {
        let today = now().date();
        let overdue = v.task.is_overdue(today);
        let t = v.task;
        TaskJson {
            id: t.id,
            incident: IncidentKey(t.incident_id).to_string(),
            title: t.title,
            description: t.description,
            kind: t.kind,
            priority: t.priority,
            owner: v.owner,
            team: t.team,
            due_on: t.due_on.map(|d| d.to_string()),
            status: t.status,
            external_url: t.external_url,
            completed_at: t.completed_at.map(rfc3339),
            overdue,
            version: t.version,
            root_cause_id: t.root_cause_id,
        }
    }
}

/// `GET /api/v1/incidents/{key}/tasks`
#[utoipa::path(get, path = "/api/v1/incidents/{key}/tasks", tag = "tasks", params(("key" = String, Path, description = "Incident key: INC-7 or 7"), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "at most 1000")), responses((status = 200, body = crate::api::ListEnvelope<TaskJson>), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn list_incident_tasks(
    state: web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
    paging: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    crate::api::incident_list(
        &state,
        key,
        &paging,
        service::list_for_incident,
        TaskJson::from,
    )
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    title: Option<String>,
    description: Option<String>,
    kind: Option<String>,
    priority: Option<String>,
    owner: Option<String>,
    team: Option<String>,
    due_on: Option<String>,
    status: Option<String>,
    external_url: Option<String>,
    /// The root cause (one of this incident's) the task addresses.
    root_cause_id: Option<crate::ids::RootCauseId>,
}

/// `POST /api/v1/incidents/{key}/tasks` → 201
#[utoipa::path(post, path = "/api/v1/incidents/{key}/tasks", tag = "tasks", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body = CreateTask, responses((status = 201, body = TaskJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn create_task(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<CreateTask>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let b = body.0;
    let input = TaskInput {
        title: b.title.unwrap_or_default(),
        description: b.description.unwrap_or_default(),
        kind: b.kind.unwrap_or_default(),
        priority: b.priority.unwrap_or_default(),
        owner: b.owner.unwrap_or_default(),
        team: b.team.unwrap_or_default(),
        due_on: b.due_on.unwrap_or_default(),
        status: b.status.unwrap_or_default(),
        external_url: b.external_url.unwrap_or_default(),
    };
    let cause = b.root_cause_id;
    let actor = user.actor();
    let view = state
        .db
        .write(move |conn| {
            let fields = input.parse(conn)?;
            let task = service::create(conn, id, &fields, &actor)?;
            if cause.is_some() {
                service::set_cause(conn, task.id, cause, &actor)?;
            }
            service::get(conn, task.id)
        })
        .await?;
    Ok(HttpResponse::Created().json(TaskJson::from(view)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTask {
    version: Option<i32>,
    title: Option<String>,
    description: Option<String>,
    kind: Option<String>,
    priority: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    owner: Option<Option<String>>,
    team: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    due_on: Option<Option<String>>,
    status: Option<String>,
    external_url: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    root_cause_id: Option<Option<crate::ids::RootCauseId>>,
}

/// `PATCH /api/v1/tasks/{id}`: partial update at `version`, or 409.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i32, Path)), request_body = PatchTask, responses((status = 200, body = TaskJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn update_task(
    state: web::Data<AppState>,
    user: ApiUser,
    record: Record<Task>,
    body: ApiJson<PatchTask>,
) -> Result<HttpResponse, ApiError> {
    let id = record.id();
    let b = body.0;
    let version = b.version.ok_or_else(|| {
        AppError::invalid(
            "version",
            "version is required: send the version you read last",
        )
    })?;
    let actor = user.actor();
    let view = state
        .db
        .write(move |conn| {
            let current = service::get(conn, id)?;
            let mut input = TaskInput::of(&current);
            let set = |target: &mut String, value: Option<String>| {
                if let Some(v) = value {
                    *target = v;
                }
            };
            set(&mut input.title, b.title);
            set(&mut input.description, b.description);
            set(&mut input.kind, b.kind);
            set(&mut input.priority, b.priority);
            set(&mut input.team, b.team);
            set(&mut input.status, b.status);
            set(&mut input.external_url, b.external_url);
            if let Some(owner) = b.owner {
                input.owner = owner.unwrap_or_default();
            }
            if let Some(due) = b.due_on {
                input.due_on = due.unwrap_or_default();
            }
            let fields = input.parse(conn)?;
            service::update(conn, id, version, &fields, &actor)?;
            if let Some(cause) = b.root_cause_id {
                service::set_cause(conn, id, cause, &actor)?;
            }
            service::get(conn, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TaskJson::from(view)))
}

/// `DELETE /api/v1/tasks/{id}` → 204 (admins)
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i32, Path)), responses((status = 204), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn delete_task(
    state: web::Data<AppState>,
    user: ApiUser,
    record: Record<Task>,
) -> Result<HttpResponse, ApiError> {
    let id = record.id();
    let actor = user.actor();
    state
        .db
        .write(move |conn| service::delete(conn, id, &actor).map(|_| ()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/tasks?status=&owner=&team=&overdue=true&incident=&severity=&no_link=&due_from=&due_to=&sort=`
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(("status" = Option<String>, Query, description = "a status, or open"), ("owner" = Option<String>, Query, description = "a username, me or none"), ("team" = Option<String>, Query), ("incident" = Option<String>, Query), ("severity" = Option<String>, Query), ("overdue" = Option<bool>, Query), ("no_link" = Option<bool>, Query), ("due_from" = Option<String>, Query), ("due_to" = Option<String>, Query), ("sort" = Option<String>, Query, description = "due or priority"), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "at most 1000")), responses((status = 200, body = crate::api::ListEnvelope<TaskJson>), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn list_tasks(
    state: web::Data<AppState>,
    user: ApiUser,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let paging = PageParams {
        page: query.page.clone(),
        per_page: query.per_page.clone(),
    };
    let (page, per_page) = paging.resolve()?;
    let me = user.user.clone();
    let (items, total) = state
        .db
        .read(move |conn| {
            let filter = query.filter(conn, &me)?;
            let hidden = crate::access::Hidden::from_reader(conn, crate::access::Reader::of(&me))?;
            board::page(conn, &hidden, &filter, page, Some(per_page))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ListEnvelope {
        items: items.into_iter().map(TaskJson::from).collect::<Vec<_>>(),
        page,
        per_page,
        total,
    }))
}
