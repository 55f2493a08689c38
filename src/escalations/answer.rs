//! Answering an escalation as the record needs it: the answer itself (`super::respond`),
//! and the first acknowledgement as the incident's acknowledged time. Kept apart from
//! `super` because resolving an incident (in `incidents::service`) settles escalations.

use crate::ids::{EscalationId, IncidentId};
use chrono::NaiveDateTime;

use super::{Escalation, EscalationState};
use crate::audit::Actor;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::service::{self, IncidentFields};

/// Records the answer; an acknowledgement also fills the incident's acknowledged time.
pub fn answer(
    conn: &mut DbConnection,
    id: EscalationId,
    state: EscalationState,
    at: Option<NaiveDateTime>,
    expected_version: Option<i32>,
    actor: &Actor,
) -> Result<Escalation, AppError> {
    crate::db::transaction(conn, |conn| {
        let escalation = super::respond(conn, id, state, at, expected_version, actor)?;
        if let Some(at) = escalation.acknowledged_at {
            fill_acknowledged(conn, escalation.incident_id, at, actor)?;
        }
        Ok(escalation)
    })
}

/// The first acknowledgement is when the incident was acknowledged, unless a time is
/// already recorded or this one would put the milestones out of order.
fn fill_acknowledged(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    at: NaiveDateTime,
    actor: &Actor,
) -> Result<(), AppError> {
    let current = service::get(conn, incident_id)?;
    if current.incident.acknowledged_at.is_some() {
        return Ok(());
    }
    let fields = IncidentFields {
        acknowledged_at: Some(at),
        ..IncidentFields::of(&current)
    };
    if fields.check_order().is_err() {
        return Ok(());
    }
    let version = current.incident.version;
    service::update(
        conn,
        incident_id,
        version,
        fields,
        &Default::default(),
        actor,
    )?;
    Ok(())
}
