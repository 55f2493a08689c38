//! Scheduled maintenance on the status page: a window, the components it touches and what
//! the public is told. Its state follows from the clock — scheduled before the window, in
//! progress during it, completed after — so it moves on by itself, exactly on time, and
//! the page, the JSON and the feed all read it the same way.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::auth::Permission;
use crate::db::schema::{services, status_maintenance_components, status_maintenances};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::time::now;

/// How long completed maintenance stays on the page.
pub const SHOWN_AFTER_DAYS: i64 = 7;

crate::text_enum!(
    /// Where a maintenance window stands.
    MaintenanceState {
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Completed => "completed",
    }
);

impl MaintenanceState {
    pub fn label(self) -> &'static str {
        match self {
            MaintenanceState::Scheduled => "Scheduled",
            MaintenanceState::InProgress => "In progress",
            MaintenanceState::Completed => "Completed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Maintenance {
    pub id: i32,
    pub title: String,
    pub body: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    /// Service names.
    pub components: Vec<String>,
}

impl Maintenance {
    pub fn state_at(&self, at: NaiveDateTime) -> MaintenanceState {
        if at < self.starts_at {
            MaintenanceState::Scheduled
        } else if at < self.ends_at {
            MaintenanceState::InProgress
        } else {
            MaintenanceState::Completed
        }
    }

    /// The steps it has taken by `at`, each with its time: announced, started, completed.
    pub fn steps_until(&self, at: NaiveDateTime) -> Vec<(MaintenanceState, NaiveDateTime)> {
        [
            (
                MaintenanceState::Scheduled,
                self.created_at.min(self.starts_at),
            ),
            (MaintenanceState::InProgress, self.starts_at),
            (MaintenanceState::Completed, self.ends_at),
        ]
        .into_iter()
        .filter(|(_, t)| *t <= at)
        .collect()
    }
}

/// A new window, as written.
#[derive(Clone, Debug, Default)]
pub struct NewMaintenance {
    pub title: String,
    pub body: String,
    pub components: Vec<String>,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
}

/// Schedules maintenance (admins): a title, a window that ends after it starts and not in
/// the past, and components from the catalog.
pub fn schedule(
    conn: &mut DbConnection,
    m: NewMaintenance,
    actor: &Actor,
) -> Result<Maintenance, AppError> {
    actor.require(Permission::Administer)?;
    let title = m.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(AppError::invalid(
            "title",
            "Give the maintenance a title of at most 200 characters.",
        ));
    }
    crate::text::check_field("title", &title)?;
    let body = m.body.trim().to_string();
    if body.chars().count() > 4000 {
        return Err(AppError::invalid(
            "body",
            "The text must be at most 4000 characters.",
        ));
    }
    crate::text::check_field("body", &body)?;
    let starts = m
        .starts_at
        .ok_or_else(|| AppError::invalid("starts_at", "When does it start? (RFC 3339)"))?;
    let ends = m
        .ends_at
        .ok_or_else(|| AppError::invalid("ends_at", "When does it end? (RFC 3339)"))?;
    if ends <= starts {
        return Err(AppError::invalid(
            "ends_at",
            "The window must end after it starts.",
        ));
    }
    if ends <= now() {
        return Err(AppError::invalid("ends_at", "The window is over already."));
    }
    if ends - starts > Duration::days(14) {
        return Err(AppError::invalid(
            "ends_at",
            "A window may last at most 14 days.",
        ));
    }
    crate::db::transaction(conn, |conn| {
        let mut ids = Vec::with_capacity(m.components.len());
        for (i, name) in m.components.iter().enumerate() {
            let s = crate::services::named(conn, name).map_err(|_| {
                AppError::invalid(
                    &format!("components[{i}]"),
                    format!("There is no service `{name}` in the catalog."),
                )
            })?;
            ids.push(s.id);
        }
        ids.sort_unstable();
        ids.dedup();
        let id: i32 = diesel::insert_into(status_maintenances::table)
            .values((
                status_maintenances::title.eq(&title),
                status_maintenances::body.eq(&body),
                status_maintenances::starts_at.eq(starts),
                status_maintenances::ends_at.eq(ends),
                status_maintenances::created_by.eq(actor.user_id),
                status_maintenances::created_at.eq(now()),
            ))
            .returning(status_maintenances::id)
            .get_result(conn)?;
        for service_id in ids {
            diesel::insert_into(status_maintenance_components::table)
                .values((
                    status_maintenance_components::maintenance_id.eq(id),
                    status_maintenance_components::service_id.eq(service_id),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            actor,
            audit::Action::StatusMaintenanceSchedule,
            "status_maintenance",
            &id.to_string(),
            &format!(
                "{title}: {} – {}",
                crate::time::rfc3339(starts),
                crate::time::rfc3339(ends)
            ),
        )?;
        // Every window ending after `starts` is shown as of `starts`, this one among them.
        shown(conn, starts)?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| AppError::unexpected("maintenance vanished"))
    })
}

/// The windows not completed more than [`SHOWN_AFTER_DAYS`] before `at`, soonest first.
pub fn shown(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Vec<Maintenance>, AppError> {
    type Row = (
        i32,
        String,
        String,
        NaiveDateTime,
        NaiveDateTime,
        NaiveDateTime,
    );
    let rows: Vec<Row> = status_maintenances::table
        .filter(status_maintenances::ends_at.ge(at - Duration::days(SHOWN_AFTER_DAYS)))
        .order((
            status_maintenances::starts_at.asc(),
            status_maintenances::id.asc(),
        ))
        .select((
            status_maintenances::id,
            status_maintenances::title,
            status_maintenances::body,
            status_maintenances::starts_at,
            status_maintenances::ends_at,
            status_maintenances::created_at,
        ))
        .load(conn)?;
    let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
    let mut names: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for (m, name) in status_maintenance_components::table
        .inner_join(services::table)
        .filter(status_maintenance_components::maintenance_id.eq_any(&ids))
        .order(services::name.asc())
        .select((
            status_maintenance_components::maintenance_id,
            services::name,
        ))
        .load::<(i32, String)>(conn)?
    {
        names.entry(m).or_default().push(name);
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, title, body, starts_at, ends_at, created_at)| Maintenance {
                components: names.remove(&id).unwrap_or_default(),
                id,
                title,
                body,
                starts_at,
                ends_at,
                created_at,
            },
        )
        .collect())
}
