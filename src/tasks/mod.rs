//! Follow-up tasks (action items): per incident, with owner and/or team, due date, status
//! and an external link; optimistic concurrency as for incidents. `board` is the managers'
//! cross-incident view and its CSV export.

pub mod api;
pub mod board;
pub mod service;
pub mod web;

use crate::ids::{IncidentId, TaskId, UserId};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::tasks;
use crate::incidents::Severity;

crate::text_enum!(
    /// What a task is for.
    TaskKind {
        Prevent => "prevent",
        Detect => "detect",
        Mitigate => "mitigate",
        Process => "process",
        Other => "other",
    }
);

crate::text_enum!(
    /// How urgent a task is.
    TaskPriority {
        High => "high",
        Medium => "medium",
        Low => "low",
    }
);

crate::text_enum!(
    /// Where a task stands.
    TaskStatus {
        Open => "open",
        InProgress => "in_progress",
        Blocked => "blocked",
        Done => "done",
        WontDo => "wont_do",
    }
);

impl TaskStatus {
    /// Still to do (counts towards overdue).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TaskStatus::Open | TaskStatus::InProgress | TaskStatus::Blocked
        )
    }

    pub const OPEN: &'static [TaskStatus] = &[
        TaskStatus::Open,
        TaskStatus::InProgress,
        TaskStatus::Blocked,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::InProgress => "in progress",
            TaskStatus::Blocked => "blocked",
            TaskStatus::Done => "done",
            TaskStatus::WontDo => "won't do",
        }
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = tasks)]
pub struct Task {
    pub id: TaskId,
    pub incident_id: IncidentId,
    pub title: String,
    pub description: String,
    pub kind: TaskKind,
    pub priority: TaskPriority,
    pub owner_id: Option<UserId>,
    pub team: String,
    pub due_on: Option<NaiveDate>,
    pub status: TaskStatus,
    pub external_url: String,
    pub completed_at: Option<NaiveDateTime>,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// The root cause this follow-up addresses (see `incidents::recurrence`).
    pub root_cause_id: Option<crate::ids::RootCauseId>,
}

impl Task {
    /// Due date passed (UTC) and not done or dropped.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status.is_open() && self.due_on.is_some_and(|d| d < today)
    }
}

/// A task with what lists show beside it: owner, and its incident's key, title, severity.
#[derive(Clone, Debug)]
pub struct TaskView {
    pub task: Task,
    pub owner: Option<String>,
    pub incident_title: String,
    pub severity: Severity,
}
