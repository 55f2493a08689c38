//! Incident rules and transactions: validation, creation, optimistic-concurrency updates
//! (status changes add a timeline entry and fill their milestone), and loading one
//! incident with its services and commander.

use crate::ids::{IncidentId, UserId};
use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::merge::{changed_fields, merge, Merge};
use super::model::{Incident, IncidentKey, Severity, Status};
use super::revisions;
use super::roles::IncidentRole;
use super::transitions::{self, Cleared, StatusChange, Transition};
use crate::audit::{self, Actor};
use crate::auth::users;
use crate::db::functions::lower;
use crate::db::schema::{incident_services, incidents, services};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::live::log::EventKind;
use crate::time::{now, rfc3339};
use crate::timeline::{self, EntryKind, NewEntry};

pub use super::fields::{IncidentFields, IMPACT_MAX, TITLE_MAX};
pub use super::model::IncidentDetail;

/// The editable columns, written by create and by update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = incidents)]
#[diesel(treat_none_as_null = true)]
struct IncidentColumns<'a> {
    title: &'a str,
    severity: Severity,
    status: Status,
    impact: &'a str,
    users_affected_pct: Option<f64>,
    commander_id: Option<UserId>,
    comms_lead_id: Option<UserId>,
    scribe_id: Option<UserId>,
    ops_lead_id: Option<UserId>,
    started_at: NaiveDateTime,
    detected_at: Option<NaiveDateTime>,
    acknowledged_at: Option<NaiveDateTime>,
    mitigated_at: Option<NaiveDateTime>,
    resolved_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

impl<'a> IncidentColumns<'a> {
    fn of(f: &'a IncidentFields, t: NaiveDateTime) -> Self {
        IncidentColumns {
            title: &f.title,
            severity: f.severity,
            status: f.status,
            impact: &f.impact,
            users_affected_pct: f.users_affected_pct,
            commander_id: f.commander_id,
            comms_lead_id: f.comms_lead_id,
            scribe_id: f.scribe_id,
            ops_lead_id: f.ops_lead_id,
            started_at: f.started_at,
            detected_at: f.detected_at,
            acknowledged_at: f.acknowledged_at,
            mitigated_at: f.mitigated_at,
            resolved_at: f.resolved_at,
            updated_at: t,
        }
    }
}

/// Options for creation that differ between a person declaring and an import.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// Add a `status_change` entry "Incident declared …" (not for imports).
    pub declared_entry: bool,
    /// Restricted from the start: only its creator and commander (and admins) see it.
    pub restricted: bool,
    pub alert_group_key: Option<String>,
    pub labels: Option<String>,
}

/// Creates an incident in one transaction (services, audit, optional declared entry).
pub fn create(
    conn: &mut DbConnection,
    mut fields: IncidentFields,
    actor: &Actor,
    options: &CreateOptions,
) -> Result<Incident, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    fields.validate()?;
    let t = now();
    crate::db::transaction(conn, |conn| {
        let id: IncidentId = diesel::insert_into(incidents::table)
            .values((
                IncidentColumns::of(&fields, t),
                incidents::created_by.eq(actor.user_id),
                incidents::created_at.eq(t),
                incidents::version.eq(1),
                incidents::alert_group_key.eq(options.alert_group_key.as_deref()),
                incidents::labels.eq(options.labels.as_deref().unwrap_or("{}")),
                incidents::restricted.eq(options.restricted),
            ))
            .returning(incidents::id)
            .get_result(conn)?;
        // The row as a struct in a second read: diesel's multi-backend connection cannot
        // return a `Selectable` from an insert.
        let incident: Incident = incidents::table
            .find(id)
            .select(Incident::as_select())
            .first(conn)?;
        if options.restricted {
            // Members before anything is announced, so nobody else hears of it.
            use crate::db::schema::incident_members;
            let mut members: Vec<UserId> = actor
                .user_id
                .into_iter()
                .chain(incident.commander_id)
                .collect();
            members.sort_unstable();
            members.dedup();
            for user_id in members {
                diesel::insert_into(incident_members::table)
                    .values((
                        incident_members::incident_id.eq(incident.id),
                        incident_members::user_id.eq(user_id),
                    ))
                    .execute(conn)?;
            }
        }
        set_services(conn, incident.id, &fields.services)?;
        revisions::record(conn, incident.id, 1, &fields)?;
        if options.declared_entry {
            let body = format!(
                "Incident declared: {} {}, status {}.",
                incident.severity,
                crate::markdown::escape(&incident.title),
                incident.status
            );
            let mut entry = NewEntry::now(EntryKind::StatusChange, body, actor.user_id);
            // An incident recorded long after the fact is "declared" when it was detected,
            // not today, so the timeline does not end with a years-long gap.
            if t - incident.started_at > chrono::Duration::days(1) {
                entry.occurred_at = incident.detected_at.unwrap_or(incident.started_at);
            }
            timeline::service::add(conn, incident.id, entry, actor)?;
        }
        crate::webhooks::enqueue(conn, "incident.created", incident_event(&incident))?;
        // A live SEV1/SEV2 (not one recorded after the fact) reaches those who opted in.
        let severe = matches!(incident.severity, Severity::Sev1 | Severity::Sev2);
        if severe && t - incident.started_at <= chrono::Duration::days(1) {
            use crate::notifications::{notify, prefs, NotificationKind};
            let kind = NotificationKind::SevereDeclared;
            let people = prefs::subscribers(conn, kind)?;
            let message = format!(
                "{} declared {} {}: {}",
                actor.name,
                incident.severity,
                incident.key(),
                incident.title
            );
            notify(
                conn,
                &people,
                kind,
                &message,
                &format!("/incidents/{}", incident.key()),
                actor,
            )?;
        }
        audit::record(
            conn,
            actor,
            audit::Action::IncidentCreate,
            "incident",
            &incident.key(),
            &incident.title,
        )?;
        Ok(incident)
    })
}

/// Applies `fields` if the incident is still at `expected_version`; otherwise an edit
/// conflict naming the fields both sides changed, and nothing changes. A status change is
/// stamped with `change.at` (or now), sets its milestone and adds its timeline entry;
/// changes to title, severity, commander or services add one entry listing them.
pub fn update(
    conn: &mut DbConnection,
    id: IncidentId,
    expected_version: i32,
    mut fields: IncidentFields,
    change: &StatusChange,
    actor: &Actor,
) -> Result<Incident, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    let t = now();
    crate::db::transaction(conn, |conn| {
        let current = get(conn, id)?;
        if current.incident.version != expected_version {
            let merged = merge_onto(conn, &current, expected_version, &fields)?;
            return Err(edit_conflict(
                &current.incident,
                expected_version,
                merged.conflicts,
            ));
        }
        let before = IncidentFields::of(&current);
        // (field, holder) for the commander and each other role.
        let people = |f: &IncidentFields| -> Vec<(&'static str, Option<UserId>)> {
            let roles = f.roles();
            std::iter::once(("commander", f.commander_id))
                .chain(IncidentRole::ALL.map(|r| (r.name(), roles.get(r).copied())))
                .collect()
        };
        if current.incident.restricted && people(&before) != people(&fields) {
            crate::access::ensure_controls(conn, id, actor)?;
            for ((field, new), (_, old)) in people(&fields).into_iter().zip(people(&before)) {
                if let Some(user_id) = new.filter(|n| Some(*n) != old) {
                    let name = crate::auth::users::find(conn, user_id)?.username;
                    crate::access::ensure_sees(conn, id, user_id, &name, field)?;
                }
            }
        }
        let transition = transitions::plan(&before, &mut fields, change, t)?;
        fields.validate()?;
        if let Some(tr) = transition.as_ref().filter(|tr| tr.resolves()) {
            let cancel = change.cancel_pending_escalations;
            crate::escalations::settle_before_resolving(conn, id, tr.at, cancel, actor)?;
        }
        let version = expected_version + 1;
        let updated = diesel::update(
            incidents::table
                .find(id)
                .filter(incidents::version.eq(expected_version)),
        )
        .set((
            IncidentColumns::of(&fields, t),
            incidents::version.eq(version),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(edit_conflict(&current.incident, expected_version, vec![]));
        }
        revisions::record(conn, id, version, &fields)?;
        crate::live::log::record(conn, id, EventKind::IncidentUpdated, Some(id.0))?;
        if fields.services != current.services {
            set_services(conn, id, &fields.services)?;
        }
        let mut detail = changed_fields(&before, &fields).join(", ");
        if let Some(tr) = &transition {
            record_transition(conn, id, tr, actor)?;
            if let Some(cleared) = &tr.reopened {
                detail = format!("{detail}; reopened, {}", describe_cleared(cleared));
            }
        }
        let reopened = transition.as_ref().and_then(|t| t.reopened.as_ref());
        if let Some(body) = super::changes::describe(conn, &before, &fields, reopened)? {
            let entry = NewEntry::now(EntryKind::Change, body, actor.user_id);
            timeline::service::add(conn, id, entry, actor)?;
        }
        audit::record(
            conn,
            actor,
            audit::Action::IncidentUpdate,
            "incident",
            &IncidentKey(id).to_string(),
            &detail,
        )?;
        Ok(get(conn, id)?.incident)
    })
}

/// The fields of version `version`: kept in its revision, or the current ones when that is
/// the current version.
pub fn fields_at(
    conn: &mut DbConnection,
    current: &IncidentDetail,
    version: i32,
) -> Result<Option<IncidentFields>, AppError> {
    if current.incident.version == version {
        return Ok(Some(IncidentFields::of(current)));
    }
    revisions::get(conn, current.incident.id, version)
}

/// Your edit of version `base_version` merged onto the saved incident (see `merge`).
pub fn merge_onto(
    conn: &mut DbConnection,
    current: &IncidentDetail,
    base_version: i32,
    mine: &IncidentFields,
) -> Result<Merge, AppError> {
    let base = fields_at(conn, current, base_version)?;
    Ok(merge(base.as_ref(), &IncidentFields::of(current), mine))
}

/// The status entry (a `reopened` one when it undoes a resolution) and webhook.
fn record_transition(
    conn: &mut DbConnection,
    id: IncidentId,
    tr: &Transition,
    actor: &Actor,
) -> Result<(), AppError> {
    let moved = format!("changed from {} to {}", tr.from, tr.to);
    let (kind, body) = match &tr.reopened {
        Some(cleared) => (
            EntryKind::Reopened,
            format!("Reopened: status {moved}; {}.", describe_cleared(cleared)),
        ),
        None => (EntryKind::StatusChange, format!("Status {moved}.")),
    };
    let entry = NewEntry {
        occurred_at: tr.at,
        ..NewEntry::now(kind, body, actor.user_id)
    };
    timeline::service::add(conn, id, entry, actor)?;
    let mut data = incident_event(&get(conn, id)?.incident);
    data["previous_status"] = serde_json::json!(tr.from.as_str());
    crate::webhooks::enqueue(conn, "incident.status_changed", data)
}

/// "it had been resolved at …, mitigated at …" for what reopening cleared.
fn describe_cleared(c: &Cleared) -> String {
    let mut parts = Vec::new();
    if let Some(t) = c.resolved_at {
        parts.push(format!("resolved at {}", rfc3339(t)));
    }
    if let Some(t) = c.mitigated_at {
        parts.push(format!("mitigated at {}", rfc3339(t)));
    }
    if parts.is_empty() {
        "no milestone cleared".into()
    } else {
        format!("it had been {}", parts.join(", "))
    }
}

/// The webhook payload describing an incident.
fn incident_event(i: &Incident) -> serde_json::Value {
    serde_json::json!({"key": i.key(), "title": i.title, "severity": i.severity.as_str(), "status": i.status.as_str(), "started_at": rfc3339(i.started_at)})
}

/// A stale edit: one message, the fields to settle, and the version to settle them on.
fn edit_conflict(current: &Incident, expected: i32, conflicts: Vec<&'static str>) -> AppError {
    if expected > current.version {
        return AppError::EditConflict {
            message: format!(
                "{} is at version {}; version {expected} never existed. Reload it and apply your change.",
                current.key(),
                current.version
            ),
            conflicts: vec![],
            current_version: current.version,
        };
    }
    let settle = if conflicts.is_empty() {
        "Their changes are merged into yours; none clash. Check and save again.".to_string()
    } else {
        format!(
            "Their changes are merged into yours; you both changed {}: choose a value for each and save again.",
            conflicts.join(", ")
        )
    };
    AppError::EditConflict {
        message: format!(
            "{} was changed by someone else while you edited it (your version {expected}, now {}). {settle}",
            current.key(),
            current.version
        ),
        conflicts,
        current_version: current.version,
    }
}

/// Replaces an incident's services, creating unknown names.
fn set_services(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    names: &[String],
) -> Result<(), AppError> {
    diesel::delete(incident_services::table.filter(incident_services::incident_id.eq(incident_id)))
        .execute(conn)?;
    for name in names {
        let service_id = service_id(conn, name)?;
        diesel::insert_into(incident_services::table)
            .values((
                incident_services::incident_id.eq(incident_id),
                incident_services::service_id.eq(service_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn service_id(conn: &mut DbConnection, name: &str) -> Result<i32, AppError> {
    let find = |conn: &mut DbConnection| {
        services::table
            .filter(lower(services::name).eq(name.to_lowercase()))
            .select(services::id)
            .first::<i32>(conn)
            .optional()
    };
    if let Some(id) = find(conn)? {
        return Ok(id);
    }
    // A savepoint, so that losing a race to create the same name leaves the outer
    // transaction usable (PostgreSQL aborts a transaction on a failed statement).
    let inserted = crate::db::savepoint(conn, |conn| {
        diesel::insert_into(services::table)
            .values((services::name.eq(name), services::created_at.eq(now())))
            .returning(services::id)
            .get_result::<i32>(conn)
    });
    match inserted {
        Ok(id) => Ok(id),
        Err(_) => find(conn)?.ok_or_else(|| AppError::unexpected("service vanished")),
    }
}

/// One incident with its services and commander.
/// When the incident last changed (its page's live-update stamp).
pub fn last_change(conn: &mut DbConnection, id: IncidentId) -> Result<NaiveDateTime, AppError> {
    incidents::table
        .find(id)
        .select(incidents::updated_at)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("incident {}", IncidentKey(id))))
}

pub fn get(conn: &mut DbConnection, id: IncidentId) -> Result<IncidentDetail, AppError> {
    let incident = incidents::table
        .find(id)
        .select(Incident::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("incident {}", IncidentKey(id))))?;
    Ok(details(conn, vec![incident])?.remove(0))
}

/// The members of those of `incidents` that are restricted: usernames, then team names.
/// No query at all when none is (the usual case).
fn members_of_restricted(
    conn: &mut DbConnection,
    incidents: &[Incident],
) -> Result<HashMap<IncidentId, Vec<String>>, AppError> {
    use crate::db::schema::{incident_member_teams, incident_members, teams, users as users_t};
    let ids: Vec<IncidentId> = incidents
        .iter()
        .filter(|i| i.restricted)
        .map(|i| i.id)
        .collect();
    let mut out: HashMap<IncidentId, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let people: Vec<(IncidentId, String)> = incident_members::table
        .inner_join(users_t::table.on(users_t::id.eq(incident_members::user_id)))
        .filter(incident_members::incident_id.eq_any(&ids))
        .order(users_t::username.asc())
        .select((incident_members::incident_id, users_t::username))
        .load(conn)?;
    let groups: Vec<(IncidentId, String)> = incident_member_teams::table
        .inner_join(teams::table.on(teams::id.eq(incident_member_teams::team_id)))
        .filter(incident_member_teams::incident_id.eq_any(&ids))
        .order(teams::name.asc())
        .select((incident_member_teams::incident_id, teams::name))
        .load(conn)?;
    for (id, name) in people.into_iter().chain(groups) {
        out.entry(id).or_default().push(name);
    }
    Ok(out)
}

/// Attaches services and commanders to incidents in two queries, whatever their number.
pub(super) fn details(
    conn: &mut DbConnection,
    incidents: Vec<Incident>,
) -> Result<Vec<IncidentDetail>, AppError> {
    let ids: Vec<IncidentId> = incidents.iter().map(|i| i.id).collect();
    let mut by_incident: HashMap<IncidentId, Vec<String>> = HashMap::new();
    if !ids.is_empty() {
        let rows: Vec<(IncidentId, String)> = incident_services::table
            .inner_join(services::table)
            .filter(incident_services::incident_id.eq_any(&ids))
            .select((incident_services::incident_id, services::name))
            .order(services::name.asc())
            .load(conn)?;
        for (incident_id, name) in rows {
            by_incident.entry(incident_id).or_default().push(name);
        }
    }
    let people: Vec<UserId> = incidents
        .iter()
        .flat_map(|i| {
            let r = i.roles();
            [
                i.commander_id,
                r.communications_lead,
                r.scribe,
                r.operations_lead,
            ]
        })
        .flatten()
        .collect();
    let names = users::usernames(conn, &people)?;
    let name = |id: Option<UserId>| id.and_then(|id| names.get(&id).cloned());
    let mut members = members_of_restricted(conn, &incidents)?;
    Ok(incidents
        .into_iter()
        .map(|incident| IncidentDetail {
            members: members.remove(&incident.id).unwrap_or_default(),
            services: by_incident.remove(&incident.id).unwrap_or_default(),
            commander: name(incident.commander_id),
            roles: incident.roles().and_then(|id| name(Some(id))),
            incident,
        })
        .collect())
}
