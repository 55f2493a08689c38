//! Reminders, from a worker that looks every [`EVERY`]: an update overdue (the
//! communications lead is told, else the commander, else whoever declared it; once per
//! due time; `incident.update_due` webhook), and a SEV1 or SEV2 with no commander five
//! minutes after it was declared (once). Each open incident's due time is brought up to
//! date on the way, so a severity change or a resolution is followed within one round.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{due, Cadence, Update};
use crate::audit::Actor;
use crate::db::schema::{incident_updates, incidents};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::ids::IncidentId;
use crate::incidents::{Incident, IncidentKey, Severity, Status};
use crate::notifications::{notify, NotificationKind};

/// How often the worker looks.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a SEV1 or SEV2 may go without a commander before its declarer is reminded.
pub const NO_COMMANDER_AFTER: i64 = 5;

/// Runs [`round`] every [`EVERY`] with the clock's time.
pub async fn run(db: Db, cadence: Cadence) {
    loop {
        if let Err(e) = db
            .write(move |conn| round(conn, crate::time::now(), &cadence))
            .await
        {
            tracing::warn!(error = %e, "update reminders failed");
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// One look at `now`: due times refreshed, reminders sent that are owed. Returns how many
/// reminders went out.
pub fn round(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    cadence: &Cadence,
) -> Result<usize, AppError> {
    crate::db::transaction(conn, |conn| {
        // Resolved and closed incidents owe nothing.
        diesel::update(
            incidents::table
                .filter(incidents::status.eq_any([Status::Resolved, Status::Closed]))
                .filter(incidents::next_update_due_at.is_not_null()),
        )
        .set(incidents::next_update_due_at.eq(None::<NaiveDateTime>))
        .execute(conn)?;
        type Open = (Incident, Option<NaiveDateTime>, Option<NaiveDateTime>);
        let open: Vec<Open> = incidents::table
            .filter(incidents::status.eq_any(Status::ALL.iter().copied().filter(|s| s.is_open())))
            .select((
                Incident::as_select(),
                incidents::update_nudged_due_at,
                incidents::commander_nudged_at,
            ))
            .load(conn)?;
        let ids: Vec<IncidentId> = open.iter().map(|o| o.0.id).collect();
        let mut last: HashMap<IncidentId, Update> = HashMap::new();
        for u in incident_updates::table
            .filter(incident_updates::incident_id.eq_any(&ids))
            .order((
                incident_updates::created_at.asc(),
                incident_updates::id.asc(),
            ))
            .select(Update::as_select())
            .load::<Update>(conn)?
        {
            last.insert(u.incident_id, u);
        }
        let mut sent = 0;
        for (incident, nudged_for, commander_nudged) in open {
            let owed = due(&incident, last.get(&incident.id), cadence);
            if owed != incident.next_update_due_at {
                diesel::update(incidents::table.find(incident.id))
                    .set(incidents::next_update_due_at.eq(owed))
                    .execute(conn)?;
            }
            if let Some(at) = owed.filter(|at| *at <= now && nudged_for != Some(*at)) {
                update_due(conn, &incident, at, now)?;
                sent += 1;
            }
            let severe = matches!(incident.severity, Severity::Sev1 | Severity::Sev2);
            if severe
                && incident.commander_id.is_none()
                && commander_nudged.is_none()
                && incident.created_at + Duration::minutes(NO_COMMANDER_AFTER) <= now
            {
                no_commander(conn, &incident, now)?;
                sent += 1;
            }
        }
        Ok(sent)
    })
}

fn update_due(
    conn: &mut DbConnection,
    incident: &Incident,
    at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let key = IncidentKey(incident.id);
    let who: Vec<_> = incident
        .comms_lead_id
        .or(incident.commander_id)
        .or(incident.created_by)
        .into_iter()
        .collect();
    let late = crate::time::human_duration(now - at);
    notify(
        conn,
        &who,
        NotificationKind::UpdateDue,
        &format!(
            "An update on {key} {} is due ({late} ago): say where things stand.",
            incident.title
        ),
        &format!("/incidents/{key}#update"),
        &Actor::system("reminders"),
    )?;
    crate::webhooks::enqueue(
        conn,
        "incident.update_due",
        serde_json::json!({"incident": key.to_string(), "title": incident.title, "severity": incident.severity.as_str(), "due_at": crate::time::rfc3339(at)}),
    )?;
    diesel::update(incidents::table.find(incident.id))
        .set(incidents::update_nudged_due_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}

fn no_commander(
    conn: &mut DbConnection,
    incident: &Incident,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let key = IncidentKey(incident.id);
    let who: Vec<_> = incident.created_by.into_iter().collect();
    notify(
        conn,
        &who,
        NotificationKind::NoCommander,
        &format!(
            "{key} ({}) has had no commander for {} minutes: name one.",
            incident.severity, NO_COMMANDER_AFTER
        ),
        &format!("/incidents/{key}"),
        &Actor::system("reminders"),
    )?;
    diesel::update(incidents::table.find(incident.id))
        .set(incidents::commander_nudged_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}
