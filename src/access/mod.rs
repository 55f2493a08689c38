//! Restricted incidents. A restricted incident is seen only by its members (users, and the
//! members of its teams) and by admins, whose every look is in the audit log. To everyone
//! else it does not exist: lists and counts leave it out ([`Hidden`], [`visible_incidents!`]), and its
//! URLs, and those of its tasks, escalations, causes and entries, answer 404: a handler
//! reaches an incident only through [`visible::Visible`] or [`visible::Record`], which decide it.
//!
//! Its commander or an admin restricts it and keeps its members ([`web`], [`api`]); each
//! change is on its timeline and in the audit log.

pub mod api;
pub mod visible;
pub mod web;

use crate::ids::{IncidentId, TeamId, UserId};
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::auth::users::User;
use crate::auth::Role;
use crate::db::schema::{
    incident_member_teams, incident_members, incidents, team_members, teams, users,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;

/// Who is looking, as far as visibility goes.
#[derive(Clone, Copy, Debug)]
pub struct Reader {
    pub user_id: UserId,
    pub admin: bool,
}

impl Reader {
    pub fn of(user: &User) -> Reader {
        Reader {
            user_id: user.id,
            admin: user.role == Role::Admin,
        }
    }
}

/// A filter on `incidents` rows: those `$reader` (a [`Reader`]) may see. A macro so that
/// it fits any query the incidents table is in (postmortems, insights, digests; the busy
/// lists use [`Hidden`] instead). It reads as "not among the restricted
/// incidents this reader is not a member of": that set is small and found through a
/// partial index, so a count or a page over 100,000 incidents costs what it did before.
#[macro_export]
macro_rules! visible_incidents {
    ($reader:expr) => {{
        let reader: $crate::access::Reader = $reader;
        diesel::dsl::sql::<diesel::sql_types::Bool>("(")
            .bind::<diesel::sql_types::Bool, _>(reader.admin)
            .sql(
                " OR incidents.id NOT IN (SELECT r.id FROM incidents r WHERE r.restricted \
                 AND r.id NOT IN (SELECT m.incident_id FROM incident_members m WHERE m.user_id = ",
            )
            .bind::<diesel::sql_types::Integer, _>(reader.user_id)
            .sql(
                ") AND r.id NOT IN (SELECT t.incident_id FROM incident_member_teams t \
                 JOIN team_members tm ON tm.team_id = t.team_id WHERE tm.user_id = ",
            )
            .bind::<diesel::sql_types::Integer, _>(reader.user_id)
            .sql(")))")
    }};
}

/// The restricted incidents one reader may not see: what every list, count and search
/// leaves out. Only [`Hidden::from_reader`] makes one, and the lists take it as a required
/// argument, so no list can be asked for "everyone's" by leaving a field at its default.
#[derive(Clone, Debug)]
pub struct Hidden(Vec<IncidentId>);

impl Hidden {
    /// For `reader` (none for admins): usually none at all, so lists filter nothing and
    /// keep their fast counts; else a short `NOT IN` list.
    pub fn from_reader(conn: &mut DbConnection, reader: Reader) -> Result<Hidden, AppError> {
        hidden_ids(conn, reader).map(Hidden)
    }

    pub fn ids(&self) -> &[IncidentId] {
        &self.0
    }
}

fn hidden_ids(conn: &mut DbConnection, reader: Reader) -> Result<Vec<IncidentId>, AppError> {
    if reader.admin {
        return Ok(vec![]);
    }
    Ok(incidents::table
        // Literal, not a bound `= true`: SQLite then uses the partial index.
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "incidents.restricted",
        ))
        .filter(
            incidents::id.ne_all(
                incident_members::table
                    .filter(incident_members::user_id.eq(reader.user_id))
                    .select(incident_members::incident_id),
            ),
        )
        .filter(
            incidents::id.ne_all(
                incident_member_teams::table
                    .inner_join(
                        team_members::table
                            .on(team_members::team_id.eq(incident_member_teams::team_id)),
                    )
                    .filter(team_members::user_id.eq(reader.user_id))
                    .select(incident_member_teams::incident_id),
            ),
        )
        .select(incidents::id)
        .load(conn)?)
}

/// Whether `reader` may see incident `id` (false when it does not exist); an admin's look
/// at a restricted one is noted in the audit log by the caller ([`note_admin_look`]).
pub fn can_see(conn: &mut DbConnection, reader: Reader, id: IncidentId) -> Result<Seen, AppError> {
    let row: Option<bool> = incidents::table
        .find(id)
        .select(incidents::restricted)
        .first(conn)
        .optional()?;
    Ok(match row {
        None => Seen::No,
        Some(false) => Seen::Open,
        Some(true) if is_member(conn, reader.user_id, id)? => Seen::Member,
        Some(true) if reader.admin => Seen::AdminOnly,
        Some(true) => Seen::No,
    })
}

/// How someone sees an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Not restricted.
    Open,
    /// Restricted, and they are a member.
    Member,
    /// Restricted; they see it as an admin (audited).
    AdminOnly,
    /// Restricted and not theirs, or missing.
    No,
}

pub fn is_member(
    conn: &mut DbConnection,
    user_id: UserId,
    incident_id: IncidentId,
) -> Result<bool, AppError> {
    let direct: i64 = incident_members::table
        .filter(incident_members::incident_id.eq(incident_id))
        .filter(incident_members::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    if direct > 0 {
        return Ok(true);
    }
    let via_team: i64 = incident_member_teams::table
        .inner_join(
            team_members::table.on(team_members::team_id.eq(incident_member_teams::team_id)),
        )
        .filter(incident_member_teams::incident_id.eq(incident_id))
        .filter(team_members::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(via_team > 0)
}

/// Of `user_ids`, those who may see incident `id` (everyone when it is not restricted).
pub fn who_may_see(
    conn: &mut DbConnection,
    id: IncidentId,
    user_ids: &[UserId],
) -> Result<Vec<UserId>, AppError> {
    let restricted: bool = incidents::table
        .find(id)
        .select(incidents::restricted)
        .first(conn)?;
    if !restricted {
        return Ok(user_ids.to_vec());
    }
    let admins: Vec<UserId> = users::table
        .filter(users::id.eq_any(user_ids))
        .filter(users::role.eq(Role::Admin))
        .select(users::id)
        .load(conn)?;
    let mut out = Vec::new();
    for &u in user_ids {
        if admins.contains(&u) || is_member(conn, u, id)? {
            out.push(u);
        }
    }
    Ok(out)
}

/// Refuses (422 on `field`) to give `user_id`, named `name`, a part in incident `id` that
/// they may not see: a commander, role holder, reviewer, task owner or escalation target of a
/// restricted incident must be able to open it. The choice is the person's to make visibly:
/// add them to its members (the Access card) first; nobody is added as a side effect.
pub fn ensure_sees(
    conn: &mut DbConnection,
    id: IncidentId,
    user_id: UserId,
    name: &str,
    field: &str,
) -> Result<(), AppError> {
    if who_may_see(conn, id, &[user_id])?.is_empty() {
        return Err(AppError::invalid(
            field,
            format!(
                "{name} cannot see {}, which is restricted: add them to its members first.",
                IncidentKey(id)
            ),
        ));
    }
    Ok(())
}

/// [`ensure_sees`] for a team: of a restricted incident, only a member team.
pub fn ensure_team_sees(
    conn: &mut DbConnection,
    id: IncidentId,
    team_id: TeamId,
    name: &str,
    field: &str,
) -> Result<(), AppError> {
    if !is_restricted(conn, id)? {
        return Ok(());
    }
    let member: i64 = incident_member_teams::table
        .filter(incident_member_teams::incident_id.eq(id))
        .filter(incident_member_teams::team_id.eq(team_id))
        .count()
        .get_result(conn)?;
    if member == 0 {
        return Err(AppError::invalid(
            field,
            format!(
                "Team {name} cannot see {}, which is restricted: add the team to its members first.",
                IncidentKey(id)
            ),
        ));
    }
    Ok(())
}

/// Refuses (403) a change to who runs restricted incident `id` (its commander or roles)
/// by anyone but its commander or an admin: otherwise any member could make themselves
/// commander and then change who may see it.
pub fn ensure_controls(
    conn: &mut DbConnection,
    id: IncidentId,
    actor: &Actor,
) -> Result<(), AppError> {
    let (restricted, commander): (bool, Option<UserId>) = incidents::table
        .find(id)
        .select((incidents::restricted, incidents::commander_id))
        .first(conn)?;
    if restricted && !in_command(actor, commander) {
        return Err(AppError::Forbidden(
            "Only the commander or an admin can change who runs a restricted incident.".into(),
        ));
    }
    Ok(())
}

/// Whether `actor` is the incident's commander (`commander`), an admin or the system: who
/// may change who sees a restricted incident and who runs it.
fn in_command(actor: &Actor, commander: Option<UserId>) -> bool {
    actor.require(crate::auth::Permission::Administer).is_ok()
        || (actor.user_id.is_some() && actor.user_id == commander)
}

/// Whether incident `id` is restricted.
pub fn is_restricted(conn: &mut DbConnection, id: IncidentId) -> Result<bool, AppError> {
    Ok(incidents::table
        .find(id)
        .select(incidents::restricted)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

/// Notes an admin's look at a restricted incident in the audit log.
pub fn note_admin_look(
    conn: &mut DbConnection,
    actor: &Actor,
    id: IncidentId,
    what: &str,
) -> Result<(), AppError> {
    audit::record(
        conn,
        actor,
        audit::Action::IncidentAdminAccess,
        "incident",
        &IncidentKey(id).to_string(),
        what,
    )
}

/// An incident's restriction and members (usernames, team names), sorted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Access {
    pub restricted: bool,
    pub users: Vec<String>,
    pub teams: Vec<String>,
}

/// 404 when there is no such incident.
pub fn of(conn: &mut DbConnection, id: IncidentId) -> Result<Access, AppError> {
    let restricted = incidents::table
        .find(id)
        .select(incidents::restricted)
        .first::<bool>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("incident {}", IncidentKey(id))))?;
    let mut users_: Vec<String> = incident_members::table
        .inner_join(users::table.on(users::id.eq(incident_members::user_id)))
        .filter(incident_members::incident_id.eq(id))
        .select(users::username)
        .load(conn)?;
    users_.sort();
    let mut teams_: Vec<String> = incident_member_teams::table
        .inner_join(teams::table.on(teams::id.eq(incident_member_teams::team_id)))
        .filter(incident_member_teams::incident_id.eq(id))
        .select(teams::name)
        .load(conn)?;
    teams_.sort();
    Ok(Access {
        restricted,
        users: users_,
        teams: teams_,
    })
}

/// Sets an incident's restriction and members (commander or admin only); the one changing
/// it and the commander stay members, so nobody locks themselves out. Logs the change on the
/// timeline and in the audit log.
pub fn set(
    conn: &mut DbConnection,
    id: IncidentId,
    wanted: &Access,
    actor: &Actor,
) -> Result<Access, AppError> {
    crate::db::transaction(conn, |conn| {
        let commander: Option<UserId> = incidents::table
            .find(id)
            .select(incidents::commander_id)
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("incident {}", IncidentKey(id))))?;
        if !in_command(actor, commander) {
            return Err(AppError::Forbidden(
                "Only the incident's commander or an admin can restrict it or change who may see it.".into(),
            ));
        }
        let before = of(conn, id)?;
        let mut user_ids = crate::teams::user_ids(conn, &wanted.users)?;
        user_ids.extend(actor.user_id);
        user_ids.extend(commander);
        user_ids.sort_unstable();
        user_ids.dedup();
        let mut team_ids = Vec::new();
        for name in &wanted.teams {
            let t = crate::teams::find(conn, name)?
                .ok_or_else(|| AppError::invalid("teams", format!("There is no team `{name}`.")))?;
            team_ids.push(t.team.id);
        }
        team_ids.sort_unstable();
        team_ids.dedup();
        diesel::update(incidents::table.find(id))
            .set(incidents::restricted.eq(wanted.restricted))
            .execute(conn)?;
        diesel::delete(incident_members::table.filter(incident_members::incident_id.eq(id)))
            .execute(conn)?;
        diesel::delete(
            incident_member_teams::table.filter(incident_member_teams::incident_id.eq(id)),
        )
        .execute(conn)?;
        let rows: Vec<_> = user_ids
            .iter()
            .map(|&u| {
                (
                    incident_members::incident_id.eq(id),
                    incident_members::user_id.eq(u),
                )
            })
            .collect();
        if !rows.is_empty() {
            crate::batch_insert!(&mut *conn, incident_members::table, rows);
        }
        let rows: Vec<_> = team_ids
            .iter()
            .map(|&t| {
                (
                    incident_member_teams::incident_id.eq(id),
                    incident_member_teams::team_id.eq(t),
                )
            })
            .collect();
        if !rows.is_empty() {
            crate::batch_insert!(&mut *conn, incident_member_teams::table, rows);
        }
        let after = of(conn, id)?;
        if after != before {
            crate::db::access_changed(conn)?;
            let list = |a: &Access| {
                let mut names: Vec<String> = a.users.clone();
                names.extend(a.teams.iter().map(|t| format!("team {t}")));
                names.join(", ")
            };
            let text = match (before.restricted, after.restricted) {
                (false, true) => format!(
                    "Restricted: only its members ({}) and admins see it.",
                    list(&after)
                ),
                (true, false) => "No longer restricted: everyone can see it.".to_string(),
                _ => format!("Members changed: {}.", list(&after)),
            };
            let entry = crate::timeline::NewEntry::now(
                crate::timeline::EntryKind::Change,
                crate::markdown::escape(&text),
                actor.user_id,
            );
            crate::timeline::service::add(conn, id, entry, actor)?;
            audit::record(
                conn,
                actor,
                audit::Action::IncidentAccess,
                "incident",
                &IncidentKey(id).to_string(),
                &format!("restricted={} members: {}", after.restricted, list(&after)),
            )?;
        }
        Ok(after)
    })
}
