//! Teams: named groups of users that admins keep (`/admin/teams`, the API, the CLI). A
//! task's team and an escalation's target stay free text, so outside parties can still be
//! named; a text equal to a team's name (any case) reaches that team's members.

pub mod api;
pub mod web;

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::auth::Permission;
use crate::db::functions::lower;
use crate::db::schema::{team_members, teams, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::{TeamId, UserId};
use crate::time::now;

pub const NAME_MAX: usize = 100;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// A team with its members' usernames (sorted).
#[derive(Clone, Debug)]
pub struct TeamView {
    pub team: Team,
    pub members: Vec<String>,
}

fn validate_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Give the team a name."));
    }
    if name.chars().count() > NAME_MAX {
        return Err(AppError::invalid(
            "name",
            format!("A team name must be at most {NAME_MAX} characters."),
        ));
    }
    crate::text::check_field("name", name)?;
    Ok(name.to_string())
}

/// The user ids for `usernames` (sorted, once each); an unknown one is a 422 on `members`
/// naming it.
pub fn user_ids(conn: &mut DbConnection, usernames: &[String]) -> Result<Vec<UserId>, AppError> {
    let mut ids = Vec::with_capacity(usernames.len());
    for name in usernames.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match crate::auth::users::find_by_username(conn, name)? {
            Some(u) => ids.push(u.id),
            None => {
                return Err(AppError::invalid(
                    "members",
                    format!("There is no user `{name}`."),
                ))
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn ensure_unique(
    conn: &mut DbConnection,
    name: &str,
    except: Option<TeamId>,
) -> Result<(), AppError> {
    let clash: Option<TeamId> = teams::table
        .filter(lower(teams::name).eq(name.to_lowercase()))
        .filter(teams::id.ne(except.unwrap_or(TeamId(0))))
        .select(teams::id)
        .first(conn)
        .optional()?;
    if clash.is_some() {
        return Err(AppError::invalid(
            "name",
            format!("There is already a team called `{name}`."),
        ));
    }
    // People and teams share one namespace (see `users::is_team_name`).
    let person: i64 = users::table
        .filter(users::username.eq(name.to_lowercase()))
        .count()
        .get_result(conn)?;
    if person > 0 {
        return Err(AppError::invalid(
            "name",
            format!("`{name}` is someone's username; people and teams need different names."),
        ));
    }
    Ok(())
}

fn set_members(conn: &mut DbConnection, team_id: TeamId, ids: &[UserId]) -> Result<(), AppError> {
    diesel::delete(team_members::table.filter(team_members::team_id.eq(team_id))).execute(conn)?;
    let rows: Vec<_> = ids
        .iter()
        .map(|&user_id| {
            (
                team_members::team_id.eq(team_id),
                team_members::user_id.eq(user_id),
            )
        })
        .collect();
    if !rows.is_empty() {
        crate::batch_insert!(&mut *conn, team_members::table, rows);
    }
    Ok(())
}

/// Creates a team with `members` (usernames).
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    members: &[String],
    actor: &Actor,
) -> Result<TeamView, AppError> {
    actor.require(Permission::Administer)?;
    let name = validate_name(name)?;
    crate::db::transaction(conn, |conn| {
        ensure_unique(conn, &name, None)?;
        let ids = user_ids(conn, members)?;
        let id: TeamId = diesel::insert_into(teams::table)
            .values((teams::name.eq(&name), teams::created_at.eq(now())))
            .returning(teams::id)
            .get_result(conn)?;
        set_members(conn, id, &ids)?;
        audit::record(
            conn,
            actor,
            audit::Action::TeamCreate,
            "team",
            &id.to_string(),
            &format!("{name}: {}", members.join(", ")),
        )?;
        get(conn, id)
    })
}

/// Renames a team and/or replaces its members (`None` keeps them).
pub fn update(
    conn: &mut DbConnection,
    id: TeamId,
    name: Option<&str>,
    members: Option<&[String]>,
    actor: &Actor,
) -> Result<TeamView, AppError> {
    actor.require(Permission::Administer)?;
    let name = name.map(validate_name).transpose()?;
    crate::db::transaction(conn, |conn| {
        let old = get(conn, id)?;
        if let Some(name) = &name {
            ensure_unique(conn, name, Some(id))?;
            diesel::update(teams::table.find(id))
                .set(teams::name.eq(name))
                .execute(conn)?;
        }
        if let Some(members) = members {
            let ids = user_ids(conn, members)?;
            set_members(conn, id, &ids)?;
            crate::db::access_changed(conn)?;
        }
        let new = get(conn, id)?;
        audit::record(
            conn,
            actor,
            audit::Action::TeamUpdate,
            "team",
            &id.to_string(),
            &format!(
                "{} ({}) → {} ({})",
                old.team.name,
                old.members.join(", "),
                new.team.name,
                new.members.join(", ")
            ),
        )?;
        Ok(new)
    })
}

pub fn delete(conn: &mut DbConnection, id: TeamId, actor: &Actor) -> Result<(), AppError> {
    actor.require(Permission::Administer)?;
    crate::db::transaction(conn, |conn| {
        let old = get(conn, id)?;
        diesel::delete(teams::table.find(id)).execute(conn)?;
        crate::db::access_changed(conn)?;
        audit::record(
            conn,
            actor,
            audit::Action::TeamDelete,
            "team",
            &id.to_string(),
            &format!("{} ({})", old.team.name, old.members.join(", ")),
        )
    })
}

pub fn get(conn: &mut DbConnection, id: TeamId) -> Result<TeamView, AppError> {
    list(conn)?
        .into_iter()
        .find(|t| t.team.id == id)
        .ok_or_else(|| AppError::NotFound(format!("team {id}")))
}

/// A team by name (any case).
pub fn find(conn: &mut DbConnection, name: &str) -> Result<Option<TeamView>, AppError> {
    let id: Option<TeamId> = teams::table
        .filter(lower(teams::name).eq(name.trim().to_lowercase()))
        .select(teams::id)
        .first(conn)
        .optional()?;
    id.map(|id| get(conn, id)).transpose()
}

/// Every team with its members, by name (two queries).
pub fn list(conn: &mut DbConnection) -> Result<Vec<TeamView>, AppError> {
    let all: Vec<Team> = teams::table
        .order(lower(teams::name))
        .select(Team::as_select())
        .load(conn)?;
    let pairs: Vec<(TeamId, String)> = team_members::table
        .inner_join(users::table)
        .order(users::username)
        .select((team_members::team_id, users::username))
        .load(conn)?;
    let mut members: BTreeMap<TeamId, Vec<String>> = BTreeMap::new();
    for (team, user) in pairs {
        members.entry(team).or_default().push(user);
    }
    Ok(all
        .into_iter()
        .map(|team| TeamView {
            members: members.remove(&team.id).unwrap_or_default(),
            team,
        })
        .collect())
}

/// Team names, for suggestions beside free-text fields.
pub fn names(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    Ok(teams::table
        .order(lower(teams::name))
        .select(teams::name)
        .load(conn)?)
}

/// The active members of the team called `name` (none when no team has that name).
pub fn member_ids(conn: &mut DbConnection, name: &str) -> Result<Vec<UserId>, AppError> {
    let name = name.trim().to_lowercase();
    if name.is_empty() {
        return Ok(vec![]);
    }
    Ok(team_members::table
        .inner_join(teams::table)
        .inner_join(users::table)
        .filter(lower(teams::name).eq(name))
        .filter(users::disabled.eq(false))
        .select(team_members::user_id)
        .load(conn)?)
}

/// Splits "ann, rex" or one per line into usernames.
pub fn parse_members(raw: &str) -> Vec<String> {
    raw.split([',', '\n', ' '])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}
