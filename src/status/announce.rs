//! Telling the people who wait: each public update and each maintenance step goes, once,
//! to the confirmed subscribers of its components by e-mail and to the `status.updated`
//! webhooks. A worker does it every [`EVERY`], so a responder posting an update waits for
//! none of the fan-out; a conditional update claims each thing, so with several servers
//! each is told once, and maintenance steps only move forward (a late round never tells
//! "scheduled" after "in progress").

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::maintenance::{self, Maintenance, MaintenanceState};
use super::subscribers::audience;
use crate::db::schema::{
    incident_services, incident_updates, incidents, services, status_maintenance_components,
    status_maintenances,
};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::ids::IncidentId;
use crate::incidents::updates::Audience;
use crate::incidents::{IncidentKey, Status};
use crate::mail::Recipient;

/// How often the worker looks.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Updates told per round (the rest wait for the next).
const BATCH: i64 = 50;

/// Runs [`round`] every [`EVERY`] with the clock's time.
pub async fn run(db: Db) {
    loop {
        if let Err(e) = db.write(|conn| round(conn, crate::time::now())).await {
            tracing::warn!(error = %e, "status announcements failed");
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// One look at `at`: updates not yet told and maintenance steps reached are told. Returns
/// how many things were told (to anyone).
pub fn round(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, AppError> {
    let page = super::settings(conn)?;
    let mut told = 0;
    let waiting: Vec<i32> = incident_updates::table
        .filter(incident_updates::announced.eq(false))
        .order(incident_updates::id.asc())
        .limit(BATCH)
        .select(incident_updates::id)
        .load(conn)?;
    for id in waiting {
        told += crate::db::transaction(conn, |conn| {
            let claimed = diesel::update(
                incident_updates::table
                    .find(id)
                    .filter(incident_updates::announced.eq(false)),
            )
            .set(incident_updates::announced.eq(true))
            .execute(conn)?;
            if claimed == 1 && page.enabled {
                tell_update(conn, id, &page.title)
            } else {
                Ok(0)
            }
        })?;
    }
    for m in maintenance::shown(conn, at)? {
        let reached = m.state_at(at);
        told += crate::db::transaction(conn, |conn| {
            let said: String = status_maintenances::table
                .find(m.id)
                .select(status_maintenances::announced)
                .first(conn)?;
            if said.parse::<MaintenanceState>().is_ok_and(|s| s >= reached) {
                return Ok(0);
            }
            let claimed = diesel::update(
                status_maintenances::table
                    .find(m.id)
                    .filter(status_maintenances::announced.eq(&said)),
            )
            .set(status_maintenances::announced.eq(reached.as_str()))
            .execute(conn)?;
            if claimed == 1 && page.enabled {
                tell_maintenance(conn, &m, reached, &page.title)
            } else {
                Ok(0)
            }
        })?;
    }
    Ok(told)
}

/// A public update of a public incident to its components' subscribers and the hooks.
fn tell_update(conn: &mut DbConnection, id: i32, page_title: &str) -> Result<usize, AppError> {
    type Row = (
        IncidentId,
        Audience,
        Status,
        String,
        String,
        Option<NaiveDateTime>,
        String,
        bool,
    );
    let (incident, audience_of, state, impact, actions, next, title, restricted): Row =
        incident_updates::table
            .inner_join(incidents::table)
            .filter(incident_updates::id.eq(id))
            .select((
                incident_updates::incident_id,
                incident_updates::audience,
                incident_updates::state,
                incident_updates::impact,
                incident_updates::actions,
                incident_updates::next_update_at,
                incidents::title,
                incidents::restricted,
            ))
            .first(conn)?;
    // Only what was written as public, and never of a restricted incident (one made
    // restricted after its update was posted included).
    if audience_of != Audience::Public || restricted {
        return Ok(0);
    }
    let components: Vec<(i32, String)> = incident_services::table
        .inner_join(services::table)
        .filter(incident_services::incident_id.eq(incident))
        .filter(services::public.eq(true))
        .order(services::name.asc())
        .select((services::id, services::name))
        .load(conn)?;
    let ids: Vec<i32> = components.iter().map(|c| c.0).collect();
    let names: Vec<&str> = components.iter().map(|c| c.1.as_str()).collect();
    let key = IncidentKey(incident);
    let mut body = format!("{title}\n{}: {impact}", capitalized(state.as_str()));
    if !actions.is_empty() {
        body.push_str(&format!("\nWhat we are doing: {actions}"));
    }
    if !names.is_empty() {
        body.push_str(&format!("\nAffects: {}", names.join(", ")));
    }
    if let Some(n) = next {
        body.push_str(&format!(
            "\nNext update by {} UTC",
            crate::time::date_hhmm(n)
        ));
    }
    let subject = format!("[{page_title}] {title}: {}", state.as_str());
    send(conn, &ids, &subject, &body, &format!("/status#{key}"))?;
    crate::webhooks::enqueue(
        conn,
        "status.updated",
        json!({"reason": "incident_update", "incident": key.to_string(), "title": title,
               "state": state.as_str(), "impact": impact, "actions": actions,
               "components": names}),
    )?;
    Ok(1)
}

/// A maintenance step to its components' subscribers and the hooks.
fn tell_maintenance(
    conn: &mut DbConnection,
    m: &Maintenance,
    step: MaintenanceState,
    page_title: &str,
) -> Result<usize, AppError> {
    let ids: Vec<i32> = status_maintenance_components::table
        .filter(status_maintenance_components::maintenance_id.eq(m.id))
        .select(status_maintenance_components::service_id)
        .load(conn)?;
    let what = match step {
        MaintenanceState::Scheduled => "Scheduled maintenance",
        MaintenanceState::InProgress => "Maintenance in progress",
        MaintenanceState::Completed => "Maintenance completed",
    };
    let mut body = format!(
        "{what}: {}\n{} – {} UTC",
        m.title,
        crate::time::date_hhmm(m.starts_at),
        crate::time::date_hhmm(m.ends_at)
    );
    if !m.components.is_empty() {
        body.push_str(&format!("\nAffects: {}", m.components.join(", ")));
    }
    if !m.body.is_empty() {
        body.push_str(&format!("\n{}", m.body));
    }
    let subject = format!("[{page_title}] {what}: {}", m.title);
    send(
        conn,
        &ids,
        &subject,
        &body,
        &format!("/status#maintenance-{}", m.id),
    )?;
    crate::webhooks::enqueue(
        conn,
        "status.updated",
        json!({"reason": "maintenance", "maintenance": m.id, "title": m.title,
               "state": step.as_str(), "components": m.components}),
    )?;
    Ok(1)
}

fn send(
    conn: &mut DbConnection,
    service_ids: &[i32],
    subject: &str,
    body: &str,
    link: &str,
) -> Result<(), AppError> {
    for (email, token) in audience(conn, service_ids)? {
        crate::mail::queue_for(
            conn,
            Recipient::Subscriber(&token),
            &email,
            subject,
            body,
            link,
        )?;
    }
    Ok(())
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
