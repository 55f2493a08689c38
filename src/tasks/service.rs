//! Task rules: validation, create, versioned update (completion time, audited reassignment
//! and completion), delete, and the per-incident list.

use crate::ids::{IncidentId, TaskId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{Task, TaskKind, TaskPriority, TaskStatus, TaskView};
use crate::audit::{self, Actor};
use crate::auth::users;
use crate::db::schema::{incidents, tasks, users as users_table};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::live::log::{record as live_event, EventKind};
use crate::time::{now, parse_date};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 20_000;

/// Every editable field of a task, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskFields {
    pub title: String,
    pub description: String,
    pub kind: TaskKind,
    pub priority: TaskPriority,
    pub owner_id: Option<UserId>,
    pub team: String,
    pub due_on: Option<NaiveDate>,
    pub status: TaskStatus,
    pub external_url: String,
}

impl TaskFields {
    /// A stored task's fields.
    pub fn of_task(t: &Task) -> TaskFields {
        TaskFields {
            title: t.title.clone(),
            description: t.description.clone(),
            kind: t.kind,
            priority: t.priority,
            owner_id: t.owner_id,
            team: t.team.clone(),
            due_on: t.due_on,
            status: t.status,
            external_url: t.external_url.clone(),
        }
    }
}

/// Raw values as a form or JSON body carries them.
#[derive(Clone, Debug, Default)]
pub struct TaskInput {
    pub title: String,
    pub description: String,
    pub kind: String,
    pub priority: String,
    pub owner: String,
    pub team: String,
    pub due_on: String,
    pub status: String,
    pub external_url: String,
}

/// Accepts only absolute http(s) URLs (no `javascript:`, `data:` or relative links).
pub fn validate_url(raw: &str) -> Result<String, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(String::new());
    }
    let parsed = url::Url::parse(raw).map_err(|_| {
        AppError::invalid(
            "external_url",
            "The link must be a full http:// or https:// URL.",
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.host_str().is_none()
        || raw.len() > 2000
    {
        return Err(AppError::invalid(
            "external_url",
            "The link must be a full http:// or https:// URL.",
        ));
    }
    Ok(parsed.to_string())
}

impl TaskInput {
    /// Parses and checks every field; the owner must be a known user.
    pub fn parse(&self, conn: &mut DbConnection) -> Result<TaskFields, AppError> {
        let title = self.title.trim().to_string();
        if title.is_empty() {
            return Err(AppError::invalid("title", "Title is required."));
        }
        if title.contains(['\n', '\r']) {
            return Err(AppError::invalid("title", "Title must be a single line."));
        }
        if title.chars().count() > TITLE_MAX {
            return Err(AppError::invalid(
                "title",
                format!("Title must be at most {TITLE_MAX} characters."),
            ));
        }
        if self.description.chars().count() > DESCRIPTION_MAX {
            return Err(AppError::invalid(
                "description",
                format!("Description must be at most {DESCRIPTION_MAX} characters."),
            ));
        }
        let or = |v: &str, d: &'static str| {
            if v.trim().is_empty() {
                d.to_string()
            } else {
                v.trim().to_string()
            }
        };
        let kind = or(&self.kind, "other")
            .parse()
            .map_err(|e| AppError::invalid("kind", format!("Kind {e}.")))?;
        let priority = or(&self.priority, "medium")
            .parse()
            .map_err(|e| AppError::invalid("priority", format!("Priority {e}.")))?;
        let status = or(&self.status, "open")
            .parse()
            .map_err(|e| AppError::invalid("status", format!("Status {e}.")))?;
        let due_on = match self.due_on.trim() {
            "" => None,
            raw => Some(parse_date(raw).ok_or_else(|| {
                AppError::invalid("due_on", "Due date must be a date like 2023-07-01.")
            })?),
        };
        let team = self.team.trim().to_string();
        if team.chars().count() > 100 || team.contains(['\n', '\r']) {
            return Err(AppError::invalid(
                "team",
                "Team must be one line of at most 100 characters.",
            ));
        }
        Ok(TaskFields {
            title,
            description: self.description.trim_end().to_string(),
            kind,
            priority,
            owner_id: users::resolve(conn, Some(&self.owner), "owner")?,
            team,
            due_on,
            status,
            external_url: validate_url(&self.external_url)?,
        })
    }

    /// The current values of a task, to apply partial changes to.
    pub fn of(view: &TaskView) -> Self {
        let t = &view.task;
        TaskInput {
            title: t.title.clone(),
            description: t.description.clone(),
            kind: t.kind.to_string(),
            priority: t.priority.to_string(),
            owner: view.owner.clone().unwrap_or_default(),
            team: t.team.clone(),
            due_on: t.due_on.map(|d| d.to_string()).unwrap_or_default(),
            status: t.status.to_string(),
            external_url: t.external_url.clone(),
        }
    }
}

/// The editable columns of a task and its completion time, written by create, update and
/// bulk insert alike.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = tasks)]
#[diesel(treat_none_as_null = true)]
struct TaskColumns<'a> {
    title: &'a str,
    description: &'a str,
    kind: TaskKind,
    priority: TaskPriority,
    owner_id: Option<UserId>,
    team: &'a str,
    due_on: Option<NaiveDate>,
    status: TaskStatus,
    external_url: &'a str,
    completed_at: Option<NaiveDateTime>,
}

impl<'a> TaskColumns<'a> {
    fn of(f: &'a TaskFields, completed_at: Option<NaiveDateTime>) -> Self {
        TaskColumns {
            title: &f.title,
            description: &f.description,
            kind: f.kind,
            priority: f.priority,
            owner_id: f.owner_id,
            team: &f.team,
            due_on: f.due_on,
            status: f.status,
            external_url: &f.external_url,
            completed_at,
        }
    }
}

pub fn create(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    f: &TaskFields,
    actor: &Actor,
) -> Result<Task, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        crate::incidents::service::get(conn, incident_id)?;
        ensure_assignees_see(conn, incident_id, f, None)?;
        let t = now();
        let id: TaskId = diesel::insert_into(tasks::table)
            .values((
                TaskColumns::of(f, (f.status == TaskStatus::Done).then_some(t)),
                tasks::incident_id.eq(incident_id),
                tasks::created_by.eq(actor.user_id),
                tasks::created_at.eq(t),
                tasks::updated_at.eq(t),
                tasks::version.eq(1),
            ))
            .returning(tasks::id)
            .get_result(conn)?;
        let task = get(conn, id)?.task;
        audit::record(
            conn,
            actor,
            audit::Action::TaskCreate,
            "task",
            &task.id.to_string(),
            &format!("{}: {}", IncidentKey(incident_id), task.title),
        )?;
        tell_owner(conn, &task, true, true, actor)?;
        live_event(conn, incident_id, EventKind::TaskUpdated, Some(task.id.0))?;
        Ok(task)
    })
}

/// Responders and admins change tasks; a task's owner of any role may change its status
/// (a viewer given a follow-up can mark it done), and nothing else.
fn ensure_may_update(old: &Task, f: &TaskFields, actor: &Actor) -> Result<(), AppError> {
    if actor.require(crate::auth::Permission::Write).is_ok() {
        return Ok(());
    }
    let owner = actor.user_id.is_some() && actor.user_id == old.owner_id;
    let only_status = TaskFields {
        status: old.status,
        ..f.clone()
    } == TaskFields::of_task(old);
    if owner && only_status {
        return Ok(());
    }
    Err(AppError::Forbidden(if owner {
        "As its owner you may change this task's status; the rest is for responders.".into()
    } else {
        "Your role (viewer) may change only the status of tasks you own.".into()
    }))
}

/// A task of a restricted incident goes only to an owner and a team who can see it (newly
/// given ones: a task kept as it was stays where it is).
fn ensure_assignees_see(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    f: &TaskFields,
    old: Option<&Task>,
) -> Result<(), AppError> {
    if let Some(owner) = f
        .owner_id
        .filter(|o| old.is_none_or(|t| t.owner_id != Some(*o)))
    {
        let name = users::find(conn, owner)?.username;
        crate::access::ensure_sees(conn, incident_id, owner, &name, "owner")?;
    }
    if !f.team.is_empty() && old.is_none_or(|t| t.team != f.team) {
        if let Some(team) = crate::teams::find(conn, &f.team)? {
            crate::access::ensure_team_sees(conn, incident_id, team.team.id, &f.team, "team")?;
        }
    }
    Ok(())
}

/// Tells a task's new owner, and the members of its new team, that it is theirs now (not
/// whoever gave it).
fn tell_owner(
    conn: &mut DbConnection,
    task: &Task,
    owner_changed: bool,
    team_changed: bool,
    actor: &Actor,
) -> Result<(), AppError> {
    use crate::notifications::{incident_label, notify, NotificationKind};
    let owner = task.owner_id.filter(|_| owner_changed);
    let team = if team_changed { task.team.as_str() } else { "" };
    let mut people = crate::teams::member_ids(conn, team)?;
    people.retain(|id| Some(*id) != owner);
    if owner.is_none() && people.is_empty() {
        return Ok(());
    }
    let label = incident_label(conn, task.incident_id)?;
    let link = format!("/incidents/{}#tasks", IncidentKey(task.incident_id));
    if let Some(owner) = owner {
        notify(
            conn,
            &[owner],
            NotificationKind::TaskAssigned,
            &format!("{} gave you a task on {label}: {}", actor.name, task.title),
            &link,
            actor,
        )?;
    }
    notify(
        conn,
        &people,
        NotificationKind::TaskAssigned,
        &format!(
            "{} gave your team {} a task on {label}: {}",
            actor.name, task.team, task.title
        ),
        &link,
        actor,
    )
}

/// Inserts tasks recorded elsewhere (an imported document) in bulk: each with its fields
/// and, when done, when it was completed (`None`: now). No audit entry per task; the
/// caller records one for the whole import.
pub fn insert_many(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    tasks: &[(TaskFields, Option<NaiveDateTime>)],
    created_by: Option<UserId>,
) -> Result<usize, AppError> {
    let t = now();
    let rows: Vec<_> = tasks
        .iter()
        .map(|(f, completed_at)| {
            let completed = (f.status == TaskStatus::Done).then(|| completed_at.unwrap_or(t));
            (
                TaskColumns::of(f, completed),
                tasks::incident_id.eq(incident_id),
                tasks::created_by.eq(created_by),
                tasks::created_at.eq(t),
                tasks::updated_at.eq(t),
                tasks::version.eq(1),
            )
        })
        .collect();
    Ok(crate::batch_insert!(&mut *conn, tasks::table, rows))
}

/// Applies `f` when the task is still at `expected_version`, else a conflict. Reaching
/// `done` sets `completed_at`; leaving it clears it.
pub fn update(
    conn: &mut DbConnection,
    id: TaskId,
    expected_version: i32,
    f: &TaskFields,
    actor: &Actor,
) -> Result<Task, AppError> {
    crate::db::transaction(conn, |conn| {
        let old = get(conn, id)?.task;
        ensure_may_update(&old, f, actor)?;
        if old.version != expected_version {
            return Err(AppError::Conflict(format!(
                "Task {id} was changed by someone else (you edited version {expected_version}, it is now at version {}). Reload and apply your change again.",
                old.version
            )));
        }
        ensure_assignees_see(conn, old.incident_id, f, Some(&old))?;
        let t = now();
        let completed_at = match (old.status == TaskStatus::Done, f.status == TaskStatus::Done) {
            (false, true) => Some(t),
            (true, true) => old.completed_at,
            _ => None,
        };
        let updated = diesel::update(
            tasks::table
                .find(id)
                .filter(tasks::version.eq(expected_version)),
        )
        .set((
            TaskColumns::of(f, completed_at),
            tasks::updated_at.eq(t),
            tasks::version.eq(expected_version + 1),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(AppError::Conflict(format!(
                "Task {id} was changed by someone else. Reload and try again."
            )));
        }
        let object = id.to_string();
        if old.owner_id != f.owner_id || old.team != f.team {
            let names = users::usernames(
                conn,
                &[old.owner_id, f.owner_id]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>(),
            )?;
            let who = |o: Option<UserId>, team: &str| {
                let owner = o
                    .and_then(|o| names.get(&o).cloned())
                    .unwrap_or_else(|| "nobody".into());
                if team.is_empty() {
                    owner
                } else {
                    format!("{owner} ({team})")
                }
            };
            let detail = format!(
                "{} → {}",
                who(old.owner_id, &old.team),
                who(f.owner_id, &f.team)
            );
            audit::record(
                conn,
                actor,
                audit::Action::TaskReassign,
                "task",
                &object,
                &detail,
            )?;
        }
        let task = get(conn, id)?.task;
        tell_owner(
            conn,
            &task,
            old.owner_id != f.owner_id,
            !old.team.eq_ignore_ascii_case(&f.team),
            actor,
        )?;
        if old.status != f.status {
            let action = if f.status == TaskStatus::Done {
                audit::Action::TaskComplete
            } else {
                audit::Action::TaskStatus
            };
            audit::record(
                conn,
                actor,
                action,
                "task",
                &object,
                &format!("{} → {}", old.status, f.status),
            )?;
        }
        audit::record(
            conn,
            actor,
            audit::Action::TaskUpdate,
            "task",
            &object,
            &f.title,
        )?;
        live_event(conn, task.incident_id, EventKind::TaskUpdated, Some(id.0))?;
        Ok(task)
    })
}

pub fn delete(conn: &mut DbConnection, id: TaskId, actor: &Actor) -> Result<Task, AppError> {
    actor.require(crate::auth::Permission::Delete)?;
    crate::db::transaction(conn, |conn| {
        let old = get(conn, id)?.task;
        diesel::delete(tasks::table.find(id)).execute(conn)?;
        let detail = format!(
            "{}: {} ({})",
            IncidentKey(old.incident_id),
            old.title,
            old.status
        );
        audit::record(
            conn,
            actor,
            audit::Action::TaskDelete,
            "task",
            &id.to_string(),
            &detail,
        )?;
        live_event(conn, old.incident_id, EventKind::TaskDeleted, Some(id.0))?;
        Ok(old)
    })
}

type ViewRow = (Task, Option<String>, String, crate::incidents::Severity);

fn view_of((task, owner, incident_title, severity): ViewRow) -> TaskView {
    TaskView {
        task,
        owner,
        incident_title,
        severity,
    }
}

/// Names the root cause a task addresses (or none); it must be one of the task's own
/// incident's causes.
pub fn set_cause(
    conn: &mut DbConnection,
    id: TaskId,
    cause: Option<crate::ids::RootCauseId>,
    actor: &Actor,
) -> Result<(), AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        let task = get(conn, id)?.task;
        if let Some(c) = cause {
            let of: Option<IncidentId> = crate::db::schema::root_causes::table
                .find(c)
                .select(crate::db::schema::root_causes::incident_id)
                .first(conn)
                .optional()?;
            if of != Some(task.incident_id) {
                return Err(AppError::invalid(
                    "root_cause_id",
                    format!(
                        "Root cause {c} is not one of {}'s.",
                        crate::incidents::IncidentKey(task.incident_id)
                    ),
                ));
            }
        }
        diesel::update(tasks::table.find(id))
            .set(tasks::root_cause_id.eq(cause))
            .execute(conn)?;
        Ok(())
    })
}

pub fn get(conn: &mut DbConnection, id: TaskId) -> Result<TaskView, AppError> {
    tasks::table
        .inner_join(incidents::table)
        .left_join(users_table::table.on(tasks::owner_id.eq(users_table::id.nullable())))
        .filter(tasks::id.eq(id))
        .select((
            Task::as_select(),
            users_table::username.nullable(),
            incidents::title,
            incidents::severity,
        ))
        .first::<ViewRow>(conn)
        .optional()?
        .map(view_of)
        .ok_or_else(|| AppError::NotFound(format!("task {id}")))
}

/// An incident's tasks: open ones first by due date, then finished ones.
pub fn list_for_incident(
    conn: &mut DbConnection,
    incident_id: IncidentId,
) -> Result<Vec<TaskView>, AppError> {
    let rows: Vec<ViewRow> = tasks::table
        .inner_join(incidents::table)
        .left_join(users_table::table.on(tasks::owner_id.eq(users_table::id.nullable())))
        .filter(tasks::incident_id.eq(incident_id))
        .order(tasks::id.asc())
        .select((
            Task::as_select(),
            users_table::username.nullable(),
            incidents::title,
            incidents::severity,
        ))
        .load(conn)?;
    let mut views: Vec<TaskView> = rows.into_iter().map(view_of).collect();
    views.sort_by_key(|v| {
        (
            !v.task.status.is_open(),
            v.task.due_on.is_none(),
            v.task.due_on,
        )
    });
    Ok(views)
}

/// Today's date in UTC (what "overdue" is measured against).
pub fn today() -> NaiveDate {
    now().date()
}
