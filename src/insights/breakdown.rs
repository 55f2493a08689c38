//! The period's incidents broken down: by service (with its owning team), by root-cause
//! category, the recurrences (fixes that did not hold) per service and per team, and the
//! time each incident spent in dead ends. Each is one query over the period's incidents a
//! reader may see; the sums are made in memory.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::access::{Hidden, Reader};
use crate::db::schema::{
    incident_services, incidents, root_causes, services, teams, timeline_entries,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::IncidentId;
use crate::incidents::recurrence::{self, Scope};
use crate::incidents::IncidentKey;

/// One service's figures over the period.
#[derive(Clone, Debug, PartialEq)]
pub struct ByService {
    pub service: String,
    pub team: Option<String>,
    pub incidents: i64,
    /// Mean minutes: detected → acknowledged, started → resolved.
    pub mtta: Option<f64>,
    pub mttr: Option<f64>,
    pub recurrences: i64,
}

/// One root-cause category's figures over the period.
#[derive(Clone, Debug, PartialEq)]
pub struct ByCategory {
    pub category: String,
    pub causes: i64,
    pub incidents: i64,
    pub recurrences: i64,
}

/// From the first dead end to the diagnosis mark (or, without one, mitigation).
#[derive(Clone, Debug, PartialEq)]
pub struct DeadEnds {
    pub key: IncidentKey,
    pub title: String,
    pub dead_ends: i64,
    /// `None` while neither end has come.
    pub minutes: Option<f64>,
    /// "diagnosis" or "mitigation": what ended the time.
    pub until: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct Breakdown {
    pub services: Vec<ByService>,
    pub categories: Vec<ByCategory>,
    /// Recurrences per owning team of the service (services with no team: "no team").
    pub teams: Vec<(String, i64)>,
    pub dead_ends: Vec<DeadEnds>,
}

/// How many incidents the dead-end table lists (the latest first).
pub const DEAD_ENDS_SHOWN: usize = 20;

fn minutes(from: Option<NaiveDateTime>, to: Option<NaiveDateTime>) -> Option<f64> {
    match (from, to) {
        (Some(a), Some(b)) if b >= a => Some((b - a).num_seconds() as f64 / 60.0),
        _ => None,
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The breakdown of the incidents started since `first` that `reader` may see.
pub fn load(
    conn: &mut DbConnection,
    first: NaiveDateTime,
    reader: Reader,
) -> Result<Breakdown, AppError> {
    let hidden = Hidden::from_reader(conn, reader)?;
    let recurrences = recurrence::find(conn, &Scope::Since(first), &hidden)?;
    let mut out = Breakdown {
        services: by_service(conn, first, reader, &recurrences)?,
        categories: by_category(conn, first, reader, &recurrences)?,
        dead_ends: dead_ends(conn, first, reader)?,
        teams: vec![],
    };
    let team_of: HashMap<&str, Option<&str>> = out
        .services
        .iter()
        .map(|s| (s.service.as_str(), s.team.as_deref()))
        .collect();
    let mut teams: BTreeMap<String, i64> = BTreeMap::new();
    for r in &recurrences {
        let team = team_of.get(r.service.as_str()).copied().flatten();
        *teams
            .entry(team.unwrap_or("no team").to_string())
            .or_default() += 1;
    }
    out.teams = teams.into_iter().collect();
    out.teams.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}

type ServiceRow = (
    String,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

fn by_service(
    conn: &mut DbConnection,
    first: NaiveDateTime,
    reader: Reader,
    recurrences: &[recurrence::Recurrence],
) -> Result<Vec<ByService>, AppError> {
    let rows: Vec<ServiceRow> = incident_services::table
        .inner_join(incidents::table)
        .inner_join(services::table.left_join(teams::table))
        .filter(crate::visible_incidents!(reader))
        .filter(incidents::duplicate_of.is_null())
        .filter(incidents::started_at.ge(first))
        .select((
            services::name,
            teams::name.nullable(),
            incidents::started_at,
            incidents::detected_at,
            incidents::acknowledged_at,
            incidents::resolved_at,
        ))
        .load(conn)?;
    #[derive(Default)]
    struct Sums {
        team: Option<String>,
        ack: Vec<f64>,
        resolve: Vec<f64>,
        incidents: i64,
    }
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    for (service, team, started, detected, acked, resolved) in rows {
        let g = groups.entry(service).or_default();
        g.team = team;
        g.incidents += 1;
        g.ack.extend(minutes(detected, acked));
        g.resolve.extend(minutes(Some(started), resolved));
    }
    let mut out: Vec<ByService> = groups
        .into_iter()
        .map(|(service, g)| ByService {
            recurrences: recurrences.iter().filter(|r| r.service == service).count() as i64,
            mtta: mean(&g.ack),
            mttr: mean(&g.resolve),
            incidents: g.incidents,
            team: g.team,
            service,
        })
        .collect();
    out.sort_by(|a, b| {
        b.incidents
            .cmp(&a.incidents)
            .then(a.service.cmp(&b.service))
    });
    Ok(out)
}

fn by_category(
    conn: &mut DbConnection,
    first: NaiveDateTime,
    reader: Reader,
    recurrences: &[recurrence::Recurrence],
) -> Result<Vec<ByCategory>, AppError> {
    let rows: Vec<(String, IncidentId)> = root_causes::table
        .inner_join(incidents::table)
        .filter(crate::visible_incidents!(reader))
        .filter(incidents::duplicate_of.is_null())
        .filter(incidents::started_at.ge(first))
        .select((root_causes::category, root_causes::incident_id))
        .load(conn)?;
    let mut groups: BTreeMap<String, (i64, Vec<IncidentId>)> = BTreeMap::new();
    for (category, incident) in rows {
        let g = groups.entry(category).or_default();
        g.0 += 1;
        g.1.push(incident);
    }
    let mut out: Vec<ByCategory> = groups
        .into_iter()
        .map(|(category, (causes, mut ids))| {
            ids.sort();
            ids.dedup();
            ByCategory {
                recurrences: recurrences
                    .iter()
                    .filter(|r| r.category == category)
                    .count() as i64,
                incidents: ids.len() as i64,
                causes,
                category,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.incidents
            .cmp(&a.incidents)
            .then(a.category.cmp(&b.category))
    });
    Ok(out)
}

type EntryRow = (IncidentId, Option<String>, NaiveDateTime);

/// The latest [`DEAD_ENDS_SHOWN`] incidents of the period with a dead end, each with its
/// time in dead ends. Reads only those incidents' dead ends and diagnosis marks, through
/// partial indexes whose conditions are written literally here (a bound value could not be
/// matched to them).
fn dead_ends(
    conn: &mut DbConnection,
    first: NaiveDateTime,
    reader: Reader,
) -> Result<Vec<DeadEnds>, AppError> {
    const DEAD_END: &str =
        "timeline_entries.kind = 'misleading' AND timeline_entries.deleted_at IS NULL";
    const DIAGNOSIS: &str =
        "timeline_entries.marker = 'diagnosis' AND timeline_entries.deleted_at IS NULL";
    let heads: Vec<(IncidentId, String, Option<NaiveDateTime>)> = incidents::table
        .filter(crate::visible_incidents!(reader))
        .filter(incidents::duplicate_of.is_null())
        .filter(incidents::started_at.ge(first))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM timeline_entries WHERE timeline_entries.incident_id = incidents.id AND {DEAD_END})"
        )))
        .order((incidents::started_at.desc(), incidents::id.desc()))
        .limit(DEAD_ENDS_SHOWN as i64)
        .select((incidents::id, incidents::title, incidents::mitigated_at))
        .load(conn)?;
    let ids: Vec<IncidentId> = heads.iter().map(|h| h.0).collect();
    let entries = |condition: &'static str, conn: &mut DbConnection| {
        timeline_entries::table
            .filter(timeline_entries::incident_id.eq_any(&ids))
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(condition))
            .select((
                timeline_entries::incident_id,
                timeline_entries::marker,
                timeline_entries::occurred_at,
            ))
            .load::<EntryRow>(conn)
    };
    let dead: Vec<EntryRow> = entries(DEAD_END, conn)?;
    let diagnoses: Vec<EntryRow> = entries(DIAGNOSIS, conn)?;
    Ok(heads
        .into_iter()
        .map(|(id, title, mitigated)| {
            let mine: Vec<NaiveDateTime> = dead.iter().filter(|r| r.0 == id).map(|r| r.2).collect();
            let start = mine.iter().min().copied();
            let diagnosis = diagnoses
                .iter()
                .filter(|r| r.0 == id && start.is_some_and(|s| r.2 >= s))
                .map(|r| r.2)
                .min();
            let (end, until) = match diagnosis {
                Some(d) => (Some(d), "diagnosis"),
                None => (mitigated, "mitigation"),
            };
            DeadEnds {
                key: IncidentKey(id),
                title,
                dead_ends: mine.len() as i64,
                minutes: minutes(start, end),
                until,
            }
        })
        .collect())
}
