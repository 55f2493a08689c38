//! Task pages: add and edit forms, quick status/owner changes (work without JavaScript),
//! deletion (admins), and the board with its CSV export.

use crate::access::visible::{Record, Task, Visible};
use crate::access::{Hidden, Reader};
use crate::ids::{IncidentId, TaskId};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::board::{self, BoardQuery, GroupBy, GroupCounts};
use super::service::{self, TaskInput};
use super::{TaskKind, TaskPriority, TaskStatus, TaskView};
use crate::auth::csrf::{NoFields, SessionForm};
use crate::auth::extract::safe_next;
use crate::auth::{ensure, users, CurrentUser, Permission};
use crate::error::AppError;
use crate::incidents::{IncidentKey, Severity};
use crate::state::AppState;
use crate::time::now;
use crate::web::{page_number, render_status, see_other, FormError, Layout, Pager};

/// A task as lists show it.
pub struct TaskRow {
    pub id: TaskId,
    pub version: i32,
    pub key: String,
    pub incident_title: String,
    pub severity: &'static str,
    pub severity_css: &'static str,
    pub title: String,
    pub kind: &'static str,
    pub priority: &'static str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub owner: String,
    pub team: String,
    pub due: String,
    pub overdue: bool,
    pub done: bool,
    pub link: String,
    pub completed: String,
    /// On a grouped board: the group this row starts, if it starts one.
    pub group_head: Option<String>,
    /// Later incidents of the same kind that came back after it was done.
    pub not_prevented: Vec<IncidentKey>,
}

impl TaskRow {
    /// A task for a page: `today` decides overdue (UTC dates, as the board's filter does);
    /// its completion time is shown in `zone`.
    pub fn of(v: &TaskView, today: chrono::NaiveDate, zone: crate::time::Zone) -> Self {
        let t = &v.task;
        TaskRow {
            id: t.id,
            version: t.version,
            key: IncidentKey(t.incident_id).to_string(),
            incident_title: v.incident_title.clone(),
            severity: v.severity.as_str(),
            severity_css: v.severity.css(),
            title: t.title.clone(),
            kind: t.kind.as_str(),
            priority: t.priority.as_str(),
            status: t.status.as_str(),
            status_label: t.status.label(),
            owner: v.owner.clone().unwrap_or_default(),
            team: t.team.clone(),
            due: t.due_on.map(|d| d.to_string()).unwrap_or_default(),
            overdue: t.is_overdue(today),
            done: t.status == TaskStatus::Done,
            link: t.external_url.clone(),
            completed: t
                .completed_at
                .map(|t| zone.date_hhmm(t))
                .unwrap_or_default(),
            group_head: None,
            not_prevented: vec![],
        }
    }

    /// Fills in, from `found`, the incidents each row's task did not prevent.
    pub fn with_recurrences(
        mut rows: Vec<TaskRow>,
        found: &std::collections::BTreeMap<TaskId, Vec<IncidentKey>>,
    ) -> Vec<TaskRow> {
        for r in &mut rows {
            r.not_prevented = found.get(&r.id).cloned().unwrap_or_default();
        }
        rows
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct TaskForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub due_on: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub external_url: String,
    #[serde(default)]
    pub version: String,
}

impl TaskForm {
    fn input(&self) -> TaskInput {
        TaskInput {
            title: self.title.clone(),
            description: self.description.clone(),
            kind: self.kind.clone(),
            priority: self.priority.clone(),
            owner: self.owner.clone(),
            team: self.team.clone(),
            due_on: self.due_on.clone(),
            status: self.status.clone(),
            external_url: self.external_url.clone(),
        }
    }

    fn of(v: &TaskView) -> Self {
        let i = TaskInput::of(v);
        TaskForm {
            title: i.title,
            description: i.description,
            kind: i.kind,
            priority: i.priority,
            owner: i.owner,
            team: i.team,
            due_on: i.due_on,
            status: i.status,
            external_url: i.external_url,
            version: v.task.version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "tasks/form.html")]
struct TaskPage {
    layout: Layout,
    key: String,
    task_id: Option<TaskId>,
    form: TaskForm,
    error: Option<String>,
    error_field: String,
    users: Vec<String>,
    /// Defined teams, suggested beside the free-text team field.
    teams: Vec<String>,
    kinds: &'static [TaskKind],
    priorities: &'static [TaskPriority],
    statuses: &'static [TaskStatus],
    can_delete: bool,
}

/// Usernames and team names for the owner and team fields' suggestions (one read).
async fn people_and_teams(state: &AppState) -> Result<(Vec<String>, Vec<String>), AppError> {
    state
        .db
        .read(|conn| {
            Ok((
                users::active_usernames(conn, false)?,
                crate::teams::names(conn)?,
            ))
        })
        .await
}

async fn task_page(
    state: &AppState,
    user: &CurrentUser,
    incident_id: IncidentId,
    task_id: Option<TaskId>,
    form: TaskForm,
    error: Option<AppError>,
) -> Result<HttpResponse, AppError> {
    let error = FormError::from(error);
    let (users, teams) = people_and_teams(state).await?;
    let page = TaskPage {
        layout: Layout::new(
            user,
            "tasks",
            if task_id.is_some() {
                "Edit task"
            } else {
                "Add task"
            },
        ),
        key: IncidentKey(incident_id).to_string(),
        task_id,
        form,
        error_field: error.field,
        error: error.message,
        users,
        teams,
        kinds: TaskKind::ALL,
        priorities: TaskPriority::ALL,
        statuses: TaskStatus::ALL,
        can_delete: user.user.role.allows(Permission::Delete),
    };
    render_status(error.status, &page)
}

/// `GET /incidents/{key}/tasks/new`
pub async fn new_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: Visible,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let id = key.id();
    let form = TaskForm {
        kind: "prevent".into(),
        priority: "medium".into(),
        status: "open".into(),
        ..Default::default()
    };
    task_page(&state, &user, id, None, form, None).await
}

/// `POST /incidents/{key}/tasks`
pub async fn add_task(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<TaskForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.id();
    let input = data.input();
    let result = state
        .db
        .write(move |conn| {
            let fields = input.parse(conn)?;
            service::create(conn, id, &fields, &actor)
        })
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/incidents/{}#tasks", IncidentKey(id)))),
        Err(e) => {
            let e = e.shown_on_form()?;
            task_page(&state, &user, id, None, data, Some(e)).await
        }
    }
}

/// `GET /tasks/{id}/edit`
pub async fn edit_task_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    record: Record<Task>,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let id = record.id();
    let view = state.db.read(move |conn| service::get(conn, id)).await?;
    task_page(
        &state,
        &user,
        view.task.incident_id,
        Some(id),
        TaskForm::of(&view),
        None,
    )
    .await
}

/// `POST /tasks/{id}/edit`: a stale version is a conflict that keeps the input.
pub async fn edit_task(
    state: web::Data<AppState>,
    record: Record<Task>,
    form: SessionForm<TaskForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = record.id();
    let version = crate::web::form_version(&data.version)?;
    let input = data.input();
    let result = state
        .db
        .write(move |conn| {
            let fields = input.parse(conn)?;
            service::update(conn, id, version, &fields, &actor)
        })
        .await;
    match result {
        Ok(task) => Ok(see_other(&format!(
            "/incidents/{}#tasks",
            IncidentKey(task.incident_id)
        ))),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let current = state.db.read(move |conn| service::get(conn, id)).await?;
            let form = if matches!(e, AppError::Conflict(_)) {
                TaskForm {
                    version: current.task.version.to_string(),
                    ..data
                }
            } else {
                data
            };
            task_page(
                &state,
                &user,
                current.task.incident_id,
                Some(id),
                form,
                Some(e),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct QuickForm {
    status: Option<String>,
    owner: Option<String>,
    #[serde(default)]
    version: String,
    #[serde(rename = "return")]
    return_to: Option<String>,
}

/// `POST /tasks/{id}/quick`: change status and/or owner from a list, then go back.
pub async fn quick_update(
    state: web::Data<AppState>,
    record: Record<Task>,
    form: SessionForm<QuickForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm {
        user: _,
        data,
        actor,
    } = form;
    let id = record.id();
    let version = crate::web::form_version(&data.version)?;
    let back = safe_next(data.return_to.as_deref());
    let (status, owner) = (data.status, data.owner);
    state
        .db
        .write(move |conn| {
            let current = service::get(conn, id)?;
            let mut input = TaskInput::of(&current);
            if let Some(s) = status {
                input.status = s;
            }
            if let Some(o) = owner {
                input.owner = o;
            }
            let fields = input.parse(conn)?;
            service::update(conn, id, version, &fields, &actor)
        })
        .await?;
    Ok(see_other(&back))
}

/// `POST /tasks/{id}/delete` (admins)
pub async fn delete_task(
    state: web::Data<AppState>,
    record: Record<Task>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = record.id();
    let actor = form.actor;
    let task = state
        .db
        .write(move |conn| service::delete(conn, id, &actor))
        .await?;
    Ok(see_other(&format!(
        "/incidents/{}#tasks",
        IncidentKey(task.incident_id)
    )))
}

#[derive(Template)]
#[template(path = "tasks/board.html")]
struct BoardPage {
    layout: Layout,
    rows: Vec<TaskRow>,
    groups: Vec<GroupCounts>,
    group_label: &'static str,
    pager: Pager,
    query: BoardQuery,
    csv_link: String,
    return_to: String,
    users: Vec<String>,
    teams: Vec<String>,
    statuses: &'static [TaskStatus],
    severities: &'static [Severity],
    can_write: bool,
    /// The reader's username: a task's owner may set its status whatever their role.
    me: String,
    error: Option<String>,
}

const BOARD_PER_PAGE: i64 = 50;

/// Marks where each owner's (or team's) rows begin; the query already sorted them so.
fn grouped(mut rows: Vec<TaskRow>, by: GroupBy) -> Vec<TaskRow> {
    let name = |r: &TaskRow| -> String {
        let (value, none) = match by {
            GroupBy::Owner => (&r.owner, board::NOBODY),
            GroupBy::Team => (&r.team, board::NO_TEAM),
            GroupBy::None => return String::new(),
        };
        if value.is_empty() {
            none.to_string()
        } else {
            value.clone()
        }
    };
    if by == GroupBy::None {
        return rows;
    }
    let mut previous: Option<String> = None;
    for row in &mut rows {
        let current = name(row);
        if previous.as_ref() != Some(&current) {
            row.group_head = Some(current.clone());
        }
        previous = Some(current);
    }
    rows
}

/// `GET /tasks`: the action-item board.
pub async fn show_board(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = page_number(query.page.as_deref())?;
    let me = user.user.clone();
    let q = query.clone();
    let result = state
        .db
        .read(move |conn| {
            let filter = q.filter(conn, &me)?;
            let hidden = Hidden::from_reader(conn, Reader::of(&me))?;
            let (items, total) = board::page(conn, &hidden, &filter, page, Some(BOARD_PER_PAGE))?;
            let groups = board::groups(conn, &hidden, &filter, q.group_by())?;
            let ids = items.iter().map(|v| v.task.id).collect();
            let recurred = crate::incidents::recurrence::not_prevented(conn, ids, &hidden)?;
            Ok((items, total, groups, recurred))
        })
        .await;
    let (items, total, groups, recurred, error) = match result {
        Ok((items, total, groups, recurred)) => (items, total, groups, recurred, None),
        Err(e @ AppError::Invalid { .. }) => (
            vec![],
            0,
            vec![],
            Default::default(),
            Some(e.public_message()),
        ),
        Err(e) => return Err(e),
    };
    let today = now().date();
    let base = query.base_query();
    let (users, teams) = people_and_teams(&state).await?;
    let page = BoardPage {
        layout: Layout::new(&user, "tasks", "Action items"),
        rows: grouped(
            TaskRow::with_recurrences(
                items
                    .iter()
                    .map(|v| TaskRow::of(v, today, user.user.zone()))
                    .collect(),
                &recurred,
            ),
            query.group_by(),
        ),
        group_label: match query.group_by() {
            GroupBy::Owner => "Owner",
            GroupBy::Team => "Team",
            GroupBy::None => "",
        },
        groups,
        pager: Pager::new("/tasks", &base, page, BOARD_PER_PAGE, total),
        csv_link: if base.is_empty() {
            "/tasks.csv".into()
        } else {
            format!("/tasks.csv?{base}")
        },
        return_to: req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/tasks".into()),
        users,
        teams,
        query,
        statuses: TaskStatus::ALL,
        severities: Severity::ALL,
        can_write: user.user.role.allows(Permission::Write),
        me: user.user.username.clone(),
        error,
    };
    render_status(StatusCode::OK, &page)
}

/// `GET /tasks.csv`: exactly the filtered set, every page. The filter is checked first (a
/// mistake is a 422 as on the board); then the rows stream as they are read.
pub async fn export_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let me = user.user.clone();
    let (filter, hidden) = state
        .db
        .read(move |conn| {
            let filter = query.filter(conn, &me)?;
            let hidden = Hidden::from_reader(conn, Reader::of(&me))?;
            Ok((filter, hidden))
        })
        .await?;
    let body = state
        .db
        .stream(move |conn, sink| board::write_csv(conn, &hidden, &filter, sink));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"hindsight-tasks-{}.csv\"",
                now().date()
            ),
        ))
        .streaming(body))
}
