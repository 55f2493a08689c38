//! The fields of every version of an incident, stored as JSON when the version is written,
//! read back as the base of a three-way merge (`super::merge`).

use crate::ids::IncidentId;
use diesel::prelude::*;

use super::fields::IncidentFields;
use crate::db::schema::incident_revisions;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::time::now;

/// Keeps `fields` as version `version` of incident `id`.
pub fn record(
    conn: &mut DbConnection,
    id: IncidentId,
    version: i32,
    fields: &IncidentFields,
) -> Result<(), AppError> {
    let json = serde_json::to_string(fields).map_err(AppError::unexpected)?;
    diesel::insert_into(incident_revisions::table)
        .values((
            incident_revisions::incident_id.eq(id),
            incident_revisions::version.eq(version),
            incident_revisions::fields.eq(json),
            incident_revisions::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The fields of version `version`, if it was kept (versions written before revisions
/// existed, and imports, were not).
pub fn get(
    conn: &mut DbConnection,
    id: IncidentId,
    version: i32,
) -> Result<Option<IncidentFields>, AppError> {
    let json: Option<String> = incident_revisions::table
        .find((id, version))
        .select(incident_revisions::fields)
        .first(conn)
        .optional()?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}
