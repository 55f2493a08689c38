//! The public status page: what the people waiting see without signing in. Off until an
//! admin turns it on. Its components are the catalog's public services; each one's state is
//! set by hand or comes from its open public incidents (the worst wins). A public incident
//! is one with a public stakeholder update and never a restricted one, and only its public
//! updates are shown: nothing written for the responders reaches this page.

pub mod announce;
pub mod api;
pub mod cache;
pub mod feed;
pub mod maintenance;
pub mod subscribe_web;
pub mod subscribers;
pub mod web;

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::auth::Permission;
use crate::db::schema::{
    incident_services, incident_updates, incidents, postmortems, services, status_page,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::IncidentId;
use crate::incidents::updates::Audience;
use crate::incidents::{IncidentKey, Severity, Status};
use crate::time::now;

/// Days of history per component.
pub const HISTORY_DAYS: i64 = 90;
pub const TITLE_MAX: usize = 100;

crate::text_enum!(
    /// A component's state, worst last.
    ComponentState {
        Operational => "operational",
        Maintenance => "maintenance",
        Degraded => "degraded",
        PartialOutage => "partial_outage",
        MajorOutage => "major_outage",
    }
);

impl ComponentState {
    /// What the page says.
    pub fn label(self) -> &'static str {
        match self {
            ComponentState::Operational => "Operational",
            ComponentState::Maintenance => "Under maintenance",
            ComponentState::Degraded => "Degraded performance",
            ComponentState::PartialOutage => "Partial outage",
            ComponentState::MajorOutage => "Major outage",
        }
    }

    fn rank(self) -> u8 {
        ComponentState::ALL
            .iter()
            .position(|s| *s == self)
            .unwrap_or(0) as u8
    }

    /// What an open incident of `severity` does to its components.
    fn of(severity: Severity) -> ComponentState {
        match severity {
            Severity::Sev1 => ComponentState::MajorOutage,
            Severity::Sev2 => ComponentState::PartialOutage,
            Severity::Sev3 | Severity::Sev4 => ComponentState::Degraded,
        }
    }
}

fn worst(a: ComponentState, b: ComponentState) -> ComponentState {
    if b.rank() > a.rank() {
        b
    } else {
        a
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = status_page)]
pub struct Settings {
    pub id: i32,
    pub enabled: bool,
    pub title: String,
    pub logo_url: String,
    pub updated_at: NaiveDateTime,
}

pub fn settings(conn: &mut DbConnection) -> Result<Settings, AppError> {
    Ok(status_page::table
        .find(1)
        .select(Settings::as_select())
        .first(conn)?)
}

/// What an admin changes: `None` keeps.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub enabled: Option<bool>,
    pub title: Option<String>,
    pub logo_url: Option<String>,
    /// (service name, state or `None` for "from incidents").
    pub components: Option<Vec<(String, Option<ComponentState>)>>,
}

/// Changes the page (admins). Components named become public with the state given; the
/// public services not named stop being components.
pub fn update(conn: &mut DbConnection, c: Changes, actor: &Actor) -> Result<Settings, AppError> {
    actor.require(Permission::Administer)?;
    let title = c
        .title
        .map(|t| {
            let t = t.trim().to_string();
            if t.is_empty() || t.chars().count() > TITLE_MAX {
                return Err(AppError::invalid(
                    "title",
                    format!("The title must be 1 to {TITLE_MAX} characters."),
                ));
            }
            crate::text::check_field("title", &t)?;
            Ok(t)
        })
        .transpose()?;
    let logo = c
        .logo_url
        .map(|u| match u.trim() {
            "" => Ok(String::new()),
            raw => crate::webhooks::validate_url(raw)
                .map_err(|_| AppError::invalid("logo_url", "The logo must be an http(s) URL.")),
        })
        .transpose()?;
    crate::db::transaction(conn, |conn| {
        if let Some(components) = &c.components {
            let mut ids = Vec::with_capacity(components.len());
            for (i, (name, state)) in components.iter().enumerate() {
                let service = crate::services::named(conn, name).map_err(|_| {
                    AppError::invalid(
                        &format!("components[{i}].service"),
                        format!("There is no service `{name}` in the catalog."),
                    )
                })?;
                diesel::update(services::table.find(service.id))
                    .set((
                        services::public.eq(true),
                        services::status_override.eq(state.map(|s| s.as_str())),
                    ))
                    .execute(conn)?;
                ids.push(service.id);
            }
            diesel::update(services::table.filter(services::id.ne_all(ids)))
                .set((
                    services::public.eq(false),
                    services::status_override.eq(None::<&str>),
                ))
                .execute(conn)?;
        }
        let mut set = settings(conn)?;
        if let Some(e) = c.enabled {
            set.enabled = e;
        }
        if let Some(t) = title {
            set.title = t;
        }
        if let Some(l) = logo {
            set.logo_url = l;
        }
        diesel::update(status_page::table.find(1))
            .set((
                status_page::enabled.eq(set.enabled),
                status_page::title.eq(&set.title),
                status_page::logo_url.eq(&set.logo_url),
                status_page::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if set.enabled {
            crate::webhooks::enqueue(
                conn,
                "status.updated",
                serde_json::json!({"reason": "page", "title": set.title}),
            )?;
        }
        audit::record(
            conn,
            actor,
            audit::Action::StatusPageUpdate,
            "status_page",
            "1",
            &format!("enabled {}, title {}", set.enabled, set.title),
        )?;
        settings(conn)
    })
}

/// A public update, as the page shows it.
#[derive(Clone, Debug)]
pub struct PublicUpdate {
    pub id: i32,
    pub state: Status,
    pub impact: String,
    pub actions: String,
    pub next_update_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub struct PublicIncident {
    pub key: IncidentKey,
    pub title: String,
    pub status: Status,
    pub started_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub components: Vec<String>,
    /// Newest first.
    pub updates: Vec<PublicUpdate>,
    /// The summary of its postmortem, when published and marked public.
    pub postmortem: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Component {
    pub name: String,
    pub description: String,
    pub state: ComponentState,
    /// The worst state of each of the last [`HISTORY_DAYS`] days, oldest first.
    pub days: Vec<(NaiveDate, ComponentState)>,
}

/// Everything the page, the JSON and the feed show, as of `at`.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub settings: Settings,
    pub components: Vec<Component>,
    pub active: Vec<PublicIncident>,
    pub past: Vec<PublicIncident>,
    /// The page as a whole: the worst component state.
    pub overall: ComponentState,
    /// Maintenance windows not long over, soonest first.
    pub maintenances: Vec<maintenance::Maintenance>,
    /// The time the snapshot is of (maintenance states follow from it).
    pub at: NaiveDateTime,
}

type IncidentRow = (
    IncidentId,
    String,
    Status,
    Severity,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// Reads the page as the public sees it.
/// Public incidents: a public update, not restricted, open or resolved since `since`.
fn public_incidents(
    conn: &mut DbConnection,
    since: NaiveDateTime,
) -> Result<Vec<IncidentRow>, AppError> {
    // Public incidents: a public update, not restricted, started or open within the window.
    Ok(incidents::table
        .filter(incidents::restricted.eq(false))
        .filter(incidents::duplicate_of.is_null())
        .filter(
            incidents::id.eq_any(
                incident_updates::table
                    .filter(incident_updates::audience.eq(Audience::Public))
                    .select(incident_updates::incident_id),
            ),
        )
        .filter(
            incidents::resolved_at
                .is_null()
                .or(incidents::resolved_at.ge(since)),
        )
        .order((incidents::started_at.desc(), incidents::id.desc()))
        .select((
            incidents::id,
            incidents::title,
            incidents::status,
            incidents::severity,
            incidents::started_at,
            incidents::resolved_at,
        ))
        .load(conn)?)
}

/// The public updates of `ids`, newest first per incident.
fn public_updates(
    conn: &mut DbConnection,
    ids: &[IncidentId],
) -> Result<BTreeMap<IncidentId, Vec<PublicUpdate>>, AppError> {
    let mut updates: BTreeMap<IncidentId, Vec<PublicUpdate>> = BTreeMap::new();
    for (incident, u) in incident_updates::table
        .filter(incident_updates::incident_id.eq_any(ids))
        .filter(incident_updates::audience.eq(Audience::Public))
        .order((
            incident_updates::created_at.desc(),
            incident_updates::id.desc(),
        ))
        .select((
            incident_updates::incident_id,
            (
                incident_updates::id,
                incident_updates::state,
                incident_updates::impact,
                incident_updates::actions,
                incident_updates::next_update_at,
                incident_updates::created_at,
            ),
        ))
        .load::<(
            IncidentId,
            (
                i32,
                Status,
                String,
                String,
                Option<NaiveDateTime>,
                NaiveDateTime,
            ),
        )>(conn)?
    {
        updates.entry(incident).or_default().push(PublicUpdate {
            id: u.0,
            state: u.1,
            impact: u.2,
            actions: u.3,
            next_update_at: u.4,
            created_at: u.5,
        });
    }
    Ok(updates)
}

pub fn snapshot(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Snapshot, AppError> {
    let settings = settings(conn)?;
    let since = at - Duration::days(HISTORY_DAYS);
    let rows = public_incidents(conn, since)?;
    let ids: Vec<IncidentId> = rows.iter().map(|r| r.0).collect();
    let mut updates = public_updates(conn, &ids)?;
    let mut postmortems: BTreeMap<IncidentId, String> = postmortems::table
        .filter(postmortems::incident_id.eq_any(&ids))
        .filter(postmortems::public.eq(true))
        .filter(postmortems::published_at.is_not_null())
        .select((postmortems::incident_id, postmortems::summary))
        .load::<(IncidentId, String)>(conn)?
        .into_iter()
        .collect();
    let public_services: Vec<(i32, String, String, Option<String>)> = services::table
        .filter(services::public.eq(true))
        .order(services::name.asc())
        .select((
            services::id,
            services::name,
            services::description,
            services::status_override,
        ))
        .load(conn)?;
    let service_ids: Vec<i32> = public_services.iter().map(|s| s.0).collect();
    let pairs: Vec<(IncidentId, i32)> = incident_services::table
        .filter(incident_services::incident_id.eq_any(&ids))
        .filter(incident_services::service_id.eq_any(&service_ids))
        .select((
            incident_services::incident_id,
            incident_services::service_id,
        ))
        .load(conn)?;
    let name_of: BTreeMap<i32, String> =
        public_services.iter().map(|s| (s.0, s.1.clone())).collect();
    let (mut active, mut past) = (Vec::new(), Vec::new());
    let mut severity_of: BTreeMap<IncidentId, Severity> = BTreeMap::new();
    for (id, title, status, severity, started_at, resolved_at) in rows {
        severity_of.insert(id, severity);
        let incident = PublicIncident {
            key: IncidentKey(id),
            title,
            status,
            started_at,
            resolved_at,
            components: pairs
                .iter()
                .filter(|p| p.0 == id)
                .filter_map(|p| name_of.get(&p.1).cloned())
                .collect(),
            updates: updates.remove(&id).unwrap_or_default(),
            postmortem: postmortems.remove(&id).filter(|s| !s.trim().is_empty()),
        };
        if status.is_open() {
            active.push(incident);
        } else {
            past.push(incident);
        }
    }
    let today = at.date();
    let maintenances = maintenance::shown(conn, at)?;
    let components: Vec<Component> = public_services
        .into_iter()
        .map(|(sid, name, description, manual)| {
            let mine = |i: &&PublicIncident| pairs.iter().any(|p| p.0 == i.key.0 && p.1 == sid);
            let from_incidents = active
                .iter()
                .filter(mine)
                .map(|i| ComponentState::of(severity_of[&i.key.0]))
                .fold(ComponentState::Operational, worst);
            let in_maintenance = maintenances.iter().any(|m| {
                m.state_at(at) == maintenance::MaintenanceState::InProgress
                    && m.components.contains(&name)
            });
            let from_incidents = if in_maintenance {
                worst(from_incidents, ComponentState::Maintenance)
            } else {
                from_incidents
            };
            let state = manual
                .and_then(|m| m.parse().ok())
                .unwrap_or(from_incidents);
            let days = (0..HISTORY_DAYS)
                .rev()
                .map(|back| {
                    let day = today - Duration::days(back);
                    let worst_that_day = active
                        .iter()
                        .chain(past.iter())
                        .filter(mine)
                        .filter(|i| {
                            i.started_at.date() <= day
                                && i.resolved_at.is_none_or(|r| r.date() >= day)
                        })
                        .map(|i| ComponentState::of(severity_of[&i.key.0]))
                        .fold(ComponentState::Operational, worst);
                    (day, worst_that_day)
                })
                .collect();
            Component {
                name,
                description,
                state,
                days,
            }
        })
        .collect();
    let overall = components
        .iter()
        .map(|c| c.state)
        .fold(ComponentState::Operational, worst);
    Ok(Snapshot {
        settings,
        components,
        active,
        past,
        overall,
        maintenances,
        at,
    })
}
