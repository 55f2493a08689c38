//! The service catalog: what runs, who owns it, how critical it is and where its runbook
//! is. Admins keep it (`/services`, the API, the CLI); everyone reads it. An incident may
//! still name a service that is not described yet: that creates a bare entry, shown as
//! such, which an admin fills in later. A service's page shows its history
//! ([`page`]).

pub mod api;
pub mod cli;
pub mod page;
pub mod web;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::access::Reader;
use crate::audit::{self, Actor};
use crate::auth::Permission;
use crate::db::functions::lower;
use crate::db::schema::{incident_services, incidents, services, teams};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::TeamId;
use crate::time::now;

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 2000;
/// Tier 1 is the most critical.
pub const TIERS: std::ops::RangeInclusive<i32> = 1..=4;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = services)]
pub struct Service {
    pub id: i32,
    pub name: String,
    pub team_id: Option<TeamId>,
    pub tier: Option<i32>,
    pub runbook_url: String,
    pub description: String,
    pub public: bool,
    pub created_at: NaiveDateTime,
}

impl Service {
    /// Named by an incident but not described by anyone yet.
    pub fn is_bare(&self) -> bool {
        self.team_id.is_none()
            && self.tier.is_none()
            && self.runbook_url.is_empty()
            && self.description.is_empty()
    }
}

/// A service with its owning team's name and the incidents of it a reader may see.
#[derive(Clone, Debug)]
pub struct ServiceView {
    pub service: Service,
    pub team: Option<String>,
    pub incidents: i64,
    pub open: i64,
    pub last_started: Option<NaiveDateTime>,
}

/// What a create or change sets; `None` keeps (or, creating, leaves empty).
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub name: Option<String>,
    /// `Some(None)` clears the team.
    pub team: Option<Option<String>>,
    pub tier: Option<Option<i32>>,
    pub runbook_url: Option<String>,
    pub description: Option<String>,
    pub public: Option<bool>,
}

fn validate_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Give the service a name."));
    }
    if name.chars().count() > NAME_MAX {
        return Err(AppError::invalid(
            "name",
            format!("A service name must be at most {NAME_MAX} characters."),
        ));
    }
    crate::text::check_field("name", name)?;
    Ok(name.to_string())
}

/// An http(s) address, or empty for none (a `javascript:` link would run on the page).
fn validate_runbook(raw: &str) -> Result<String, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(String::new());
    }
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(u.to_string())
        }
        _ => Err(AppError::invalid(
            "runbook_url",
            "The runbook URL must be a full http:// or https:// address.",
        )),
    }
}

fn validate_tier(tier: Option<i32>) -> Result<Option<i32>, AppError> {
    match tier {
        Some(t) if !TIERS.contains(&t) => Err(AppError::invalid(
            "tier",
            format!(
                "tier must be {} to {} (1 is the most critical), or empty.",
                TIERS.start(),
                TIERS.end()
            ),
        )),
        t => Ok(t),
    }
}

fn validate_description(raw: &str) -> Result<String, AppError> {
    let text = raw.trim();
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(AppError::invalid(
            "description",
            format!("A description must be at most {DESCRIPTION_MAX} characters."),
        ));
    }
    crate::text::check_field("description", text)?;
    Ok(text.to_string())
}

fn team_id(conn: &mut DbConnection, name: &str) -> Result<Option<TeamId>, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    crate::teams::find(conn, name)?
        .map(|t| Some(t.team.id))
        .ok_or_else(|| AppError::invalid("team", format!("There is no team `{name}`.")))
}

fn ensure_unique(conn: &mut DbConnection, name: &str, except: i32) -> Result<(), AppError> {
    let clash: i64 = services::table
        .filter(lower(services::name).eq(name.to_lowercase()))
        .filter(services::id.ne(except))
        .count()
        .get_result(conn)?;
    if clash > 0 {
        return Err(AppError::invalid(
            "name",
            format!("There is already a service called `{name}`."),
        ));
    }
    Ok(())
}

/// Adds a service to the catalog (admins).
pub fn create(conn: &mut DbConnection, c: Changes, actor: &Actor) -> Result<Service, AppError> {
    actor.require(Permission::Administer)?;
    let name = validate_name(c.name.as_deref().unwrap_or(""))?;
    crate::db::transaction(conn, |conn| {
        ensure_unique(conn, &name, 0)?;
        let id: i32 = diesel::insert_into(services::table)
            .values((services::name.eq(&name), services::created_at.eq(now())))
            .returning(services::id)
            .get_result(conn)?;
        apply(conn, id, Changes { name: None, ..c })?;
        let service = get(conn, id)?;
        audit::record(
            conn,
            actor,
            audit::Action::ServiceCreate,
            "service",
            &id.to_string(),
            &describe(&service),
        )?;
        Ok(service)
    })
}

/// Changes a service (admins). A new name shows on every incident that names it.
pub fn update(
    conn: &mut DbConnection,
    id: i32,
    c: Changes,
    actor: &Actor,
) -> Result<Service, AppError> {
    actor.require(Permission::Administer)?;
    crate::db::transaction(conn, |conn| {
        let old = get(conn, id)?;
        apply(conn, id, c)?;
        let new = get(conn, id)?;
        audit::record(
            conn,
            actor,
            audit::Action::ServiceUpdate,
            "service",
            &id.to_string(),
            &format!("{} → {}", describe(&old), describe(&new)),
        )?;
        Ok(new)
    })
}

fn apply(conn: &mut DbConnection, id: i32, c: Changes) -> Result<(), AppError> {
    if let Some(name) = c.name {
        let name = validate_name(&name)?;
        ensure_unique(conn, &name, id)?;
        diesel::update(services::table.find(id))
            .set(services::name.eq(name))
            .execute(conn)?;
    }
    if let Some(team) = c.team {
        let team = match team {
            Some(name) => team_id(conn, &name)?,
            None => None,
        };
        diesel::update(services::table.find(id))
            .set(services::team_id.eq(team))
            .execute(conn)?;
    }
    if let Some(tier) = c.tier {
        diesel::update(services::table.find(id))
            .set(services::tier.eq(validate_tier(tier)?))
            .execute(conn)?;
    }
    if let Some(url) = c.runbook_url {
        diesel::update(services::table.find(id))
            .set(services::runbook_url.eq(validate_runbook(&url)?))
            .execute(conn)?;
    }
    if let Some(text) = c.description {
        diesel::update(services::table.find(id))
            .set(services::description.eq(validate_description(&text)?))
            .execute(conn)?;
    }
    if let Some(public) = c.public {
        diesel::update(services::table.find(id))
            .set(services::public.eq(public))
            .execute(conn)?;
    }
    Ok(())
}

fn describe(s: &Service) -> String {
    format!(
        "{} (tier {}, team {}, public {})",
        s.name,
        s.tier.map_or("-".into(), |t| t.to_string()),
        s.team_id.map_or("-".into(), |t| t.to_string()),
        s.public
    )
}

/// Removes a service that no incident names (409 otherwise: incidents keep their record).
pub fn delete(conn: &mut DbConnection, id: i32, actor: &Actor) -> Result<(), AppError> {
    actor.require(Permission::Administer)?;
    crate::db::transaction(conn, |conn| {
        let old = get(conn, id)?;
        let used: i64 = incident_services::table
            .filter(incident_services::service_id.eq(id))
            .count()
            .get_result(conn)?;
        if used > 0 {
            return Err(AppError::Conflict(format!(
                "{used} incident(s) name the service `{}`; it stays in the catalog while they do.",
                old.name
            )));
        }
        diesel::delete(services::table.find(id)).execute(conn)?;
        audit::record(
            conn,
            actor,
            audit::Action::ServiceDelete,
            "service",
            &id.to_string(),
            &describe(&old),
        )
    })
}

pub fn get(conn: &mut DbConnection, id: i32) -> Result<Service, AppError> {
    services::table
        .find(id)
        .select(Service::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("service {id}")))
}

/// A service by name (any case), or 404.
pub fn named(conn: &mut DbConnection, name: &str) -> Result<Service, AppError> {
    services::table
        .filter(lower(services::name).eq(name.trim().to_lowercase()))
        .select(Service::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("service `{}`", name.trim())))
}

/// The catalog, by name, with what `reader` may see of each service's incidents (three
/// queries, whatever the number of services).
pub fn list(conn: &mut DbConnection, reader: Reader) -> Result<Vec<ServiceView>, AppError> {
    let rows: Vec<(Service, Option<String>)> = services::table
        .left_join(teams::table)
        .order(lower(services::name))
        .select((Service::as_select(), teams::name.nullable()))
        .load(conn)?;
    let visible = || {
        incident_services::table
            .inner_join(incidents::table)
            .filter(crate::visible_incidents!(reader))
            .group_by(incident_services::service_id)
    };
    let totals: HashMap<i32, (i64, Option<NaiveDateTime>)> = visible()
        .select((
            incident_services::service_id,
            count_star(),
            diesel::dsl::max(incidents::started_at),
        ))
        .load::<(i32, i64, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .map(|(id, n, last)| (id, (n, last)))
        .collect();
    let open: HashMap<i32, i64> = visible()
        .filter(incidents::status.ne_all(["resolved", "closed"]))
        .select((incident_services::service_id, count_star()))
        .load::<(i32, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(service, team)| {
            let (incidents, last_started) = totals.get(&service.id).copied().unwrap_or_default();
            ServiceView {
                open: open.get(&service.id).copied().unwrap_or(0),
                incidents,
                last_started,
                team,
                service,
            }
        })
        .collect())
}

/// The owning team's name of a service, if any.
pub fn team_name(conn: &mut DbConnection, s: &Service) -> Result<Option<String>, AppError> {
    match s.team_id {
        None => Ok(None),
        Some(id) => Ok(teams::table
            .find(id)
            .select(teams::name)
            .first(conn)
            .optional()?),
    }
}
