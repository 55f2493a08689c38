//! What a service's page shows beside its catalog entry: its incidents, their monthly
//! MTTA and MTTR, the follow-ups still open and the causes that keep coming back, all as
//! far as the reader may see.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::Service;
use crate::access::{Hidden, Reader};
use crate::db::schema::{incident_services, incidents, root_causes, tasks};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::{IncidentId, TaskId};
use crate::incidents::recurrence::{self, Recurrence, Scope};
use crate::incidents::{IncidentKey, Severity, Status};
use crate::insights::Month;

/// How many incidents and open follow-ups the page lists (newest and soonest due first).
pub const SHOWN: i64 = 50;
/// The months of figures the page shows.
pub const MONTHS: u32 = 12;

pub struct IncidentRow {
    pub key: IncidentKey,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub started_at: NaiveDateTime,
}

pub struct TaskRow {
    pub id: TaskId,
    pub key: IncidentKey,
    pub title: String,
    pub status: String,
    pub due_on: Option<NaiveDate>,
}

pub struct History {
    pub incidents: Vec<IncidentRow>,
    pub total: i64,
    pub months: Vec<Month>,
    /// MTTD, MTTA, MTTR over the months.
    pub overall: [Option<f64>; 3],
    pub open_tasks: Vec<TaskRow>,
    /// Root-cause categories of its incidents, most frequent first: (category, incidents).
    pub causes: Vec<(String, i64)>,
    pub recurrences: Vec<Recurrence>,
}

/// The history of `service` that `reader` may see.
pub fn history(
    conn: &mut DbConnection,
    service: &Service,
    reader: Reader,
    today: NaiveDate,
) -> Result<History, AppError> {
    let of_service = || {
        incident_services::table
            .filter(incident_services::service_id.eq(service.id))
            .select(incident_services::incident_id)
    };
    let total: i64 = incidents::table
        .filter(incidents::id.eq_any(of_service()))
        .filter(crate::visible_incidents!(reader))
        .count()
        .get_result(conn)?;
    let incidents = incidents::table
        .filter(incidents::id.eq_any(of_service()))
        .filter(crate::visible_incidents!(reader))
        .order((incidents::started_at.desc(), incidents::id.desc()))
        .limit(SHOWN)
        .select((
            incidents::id,
            incidents::title,
            incidents::severity,
            incidents::status,
            incidents::started_at,
        ))
        .load::<(IncidentId, String, Severity, Status, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(id, title, severity, status, started_at)| IncidentRow {
            key: IncidentKey(id),
            title,
            severity,
            status,
            started_at,
        })
        .collect();
    let open_tasks = tasks::table
        .filter(tasks::incident_id.eq_any(of_service()))
        .filter(tasks::status.eq_any(["open", "in_progress", "blocked"]))
        .inner_join(incidents::table)
        .filter(crate::visible_incidents!(reader))
        .order((
            tasks::due_on.is_null(),
            tasks::due_on.asc(),
            tasks::id.asc(),
        ))
        .limit(SHOWN)
        .select((
            tasks::id,
            tasks::incident_id,
            tasks::title,
            tasks::status,
            tasks::due_on,
        ))
        .load::<(TaskId, IncidentId, String, String, Option<NaiveDate>)>(conn)?
        .into_iter()
        .map(|(id, incident, title, status, due_on)| TaskRow {
            id,
            key: IncidentKey(incident),
            title,
            status: status.replace('_', " "),
            due_on,
        })
        .collect();
    let mut causes: Vec<(String, i64)> = root_causes::table
        .inner_join(incidents::table)
        .filter(incidents::id.eq_any(of_service()))
        .filter(crate::visible_incidents!(reader))
        .group_by(root_causes::category)
        .select((
            root_causes::category,
            diesel::dsl::count(root_causes::incident_id).aggregate_distinct(),
        ))
        .load(conn)?;
    causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (months, overall) = crate::insights::load(conn, MONTHS, today, reader, Some(service.id))?;
    let hidden = Hidden::from_reader(conn, reader)?;
    Ok(History {
        incidents,
        total,
        months,
        overall,
        open_tasks,
        causes,
        recurrences: recurrence::find(conn, &Scope::Service(service.id), &hidden)?,
    })
}
