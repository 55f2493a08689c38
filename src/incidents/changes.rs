//! The timeline entry an edit leaves when it changes what responders steer by: title,
//! severity, commander and roles, services, and milestones moved or cleared (a status change
//! only ever fills an empty one). Everything users typed is escaped, since entry bodies
//! render as Markdown.

use super::fields::IncidentFields;
use super::transitions::Cleared;
use crate::auth::users;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;
use crate::markdown::escape;

/// "Changed severity SEV2 → SEV1; commander nobody → mara." or `None` when none of those
/// fields changed.
pub fn describe(
    conn: &mut DbConnection,
    before: &IncidentFields,
    after: &IncidentFields,
    reopened: Option<&Cleared>,
) -> Result<Option<String>, AppError> {
    let mut parts = Vec::new();
    // Milestones that were set and now say something else (reopening's own clearing is
    // in the reopening entry).
    let cleared = reopened.cloned().unwrap_or_default();
    for (label, b, a, by_reopening) in [
        (
            "started",
            Some(before.started_at),
            Some(after.started_at),
            None,
        ),
        ("detected", before.detected_at, after.detected_at, None),
        (
            "acknowledged",
            before.acknowledged_at,
            after.acknowledged_at,
            None,
        ),
        (
            "mitigated",
            before.mitigated_at,
            after.mitigated_at,
            cleared.mitigated_at,
        ),
        (
            "resolved",
            before.resolved_at,
            after.resolved_at,
            cleared.resolved_at,
        ),
    ] {
        let undone_by_reopening = a.is_none() && by_reopening.is_some();
        if b.is_some() && b != a && !undone_by_reopening {
            let show = |t: Option<chrono::NaiveDateTime>| {
                t.map_or_else(|| "not set".to_string(), crate::time::in_words)
            };
            parts.push(format!("{label} {} → {}", show(b), show(a)));
        }
    }
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
    // The commander, then the other roles: (label, before, after).
    let people: Vec<(&str, Option<UserId>, Option<UserId>)> =
        std::iter::once(("commander", before.commander_id, after.commander_id))
            .chain(super::roles::IncidentRole::ALL.map(|r| {
                let (b, a) = (before.roles(), after.roles());
                (r.label(), b.get(r).copied(), a.get(r).copied())
            }))
            .filter(|(_, b, a)| b != a)
            .collect();
    if !people.is_empty() {
        let ids: Vec<UserId> = people
            .iter()
            .flat_map(|(_, b, a)| [*b, *a])
            .flatten()
            .collect();
        let names = users::usernames(conn, &ids)?;
        let name = |id: Option<UserId>| {
            id.and_then(|id| names.get(&id))
                .map_or_else(|| "nobody".to_string(), |n| escape(n))
        };
        for (label, b, a) in people {
            let label = if label == "commander" {
                label.to_string()
            } else {
                label.to_lowercase()
            };
            parts.push(format!("{label} {} → {}", name(b), name(a)));
        }
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
