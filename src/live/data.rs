//! An event's data: its subject as the JSON API shows it (an added entry as
//! `GET …/timeline` returns it, the incident as `GET /api/v1/incidents/{key}` does), read
//! when the event is sent. A subject removed since is sent as `{"id": N, "deleted": true}`.

use crate::ids::{EntryId, RootCauseId, TaskId};
use serde::Serialize;
use serde_json::json;

use super::log::{Event, EventKind};
use crate::db::DbConnection;
use crate::error::AppError;

fn to_json<T: Serialize>(value: T) -> Result<String, AppError> {
    serde_json::to_string(&value).map_err(AppError::unexpected)
}

fn gone(id: i32) -> Result<String, AppError> {
    Ok(json!({ "id": id, "deleted": true }).to_string())
}

/// The data of `e` (see the module).
pub fn describe(conn: &mut DbConnection, e: &Event) -> Result<String, AppError> {
    let id = e.subject_id.unwrap_or(0);
    let found = |r: Result<String, AppError>| match r {
        Err(AppError::NotFound(_)) => gone(id),
        other => other,
    };
    match e.kind {
        EventKind::EntryAdded | EventKind::EntryEdited => found(
            crate::timeline::service::get(conn, e.incident_id, EntryId(id))
                .and_then(|v| to_json(crate::timeline::json::EntryJson::from(v))),
        ),
        EventKind::EntryDeleted | EventKind::TaskDeleted | EventKind::RootCauseDeleted => {
            Ok(json!({ "id": id }).to_string())
        }
        EventKind::IncidentUpdated => to_json(crate::incidents::api::IncidentJson::from(
            crate::incidents::service::get(conn, e.incident_id)?,
        )),
        EventKind::EscalationUpdated => {
            match crate::escalations::list(conn, e.incident_id)?
                .into_iter()
                .find(|v| v.escalation.id.0 == id)
            {
                Some(v) => to_json(crate::escalations::api::EscalationJson::from(v)),
                None => gone(id),
            }
        }
        EventKind::TaskUpdated => found(
            crate::tasks::service::get(conn, TaskId(id))
                .and_then(|v| to_json(crate::tasks::api::TaskJson::from(v))),
        ),
        EventKind::RootCauseUpdated => found(
            crate::root_causes::get(conn, RootCauseId(id))
                .and_then(|c| to_json(crate::root_causes::api::RootCauseJson::from(c))),
        ),
    }
}
