//! The timeline entry an edit leaves when it changes what responders steer by: title,
//! severity, commander and services. Everything users typed is escaped, since entry
//! bodies render as Markdown.

use super::fields::IncidentFields;
use crate::auth::users;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::markdown::escape;

/// "Changed severity SEV2 → SEV1; commander nobody → mara." or `None` when none of those
/// fields changed.
pub fn describe(
    conn: &mut DbConnection,
    before: &IncidentFields,
    after: &IncidentFields,
) -> Result<Option<String>, AppError> {
    let mut parts = Vec::new();
    if before.title != after.title {
        parts.push(format!(
            "title “{}” → “{}”",
            escape(&before.title),
            escape(&after.title)
        ));
    }
    if before.severity != after.severity {
        parts.push(format!("severity {} → {}", before.severity, after.severity));
    }
    if before.commander_id != after.commander_id {
        let ids: Vec<i32> = [before.commander_id, after.commander_id]
            .into_iter()
            .flatten()
            .collect();
        let names = users::usernames(conn, &ids)?;
        let name = |id: Option<i32>| {
            id.and_then(|id| names.get(&id))
                .map_or_else(|| "nobody".to_string(), |n| escape(n))
        };
        parts.push(format!(
            "commander {} → {}",
            name(before.commander_id),
            name(after.commander_id)
        ));
    }
    let listed = |from: &[String], missing_in: &[String]| -> Vec<String> {
        from.iter()
            .filter(|s| !missing_in.iter().any(|m| m.eq_ignore_ascii_case(s)))
            .map(|s| escape(s))
            .collect()
    };
    let added = listed(&after.services, &before.services);
    let removed = listed(&before.services, &after.services);
    if !added.is_empty() {
        parts.push(format!("services added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("services removed: {}", removed.join(", ")));
    }
    Ok((!parts.is_empty()).then(|| format!("Changed {}.", parts.join("; "))))
}
