//! `POST /api/v1/import?dry_run=true`: the incident a document would become, what each fact
//! was read from, and the lines no fact was read from; nothing stored.

use serde::Serialize;

use super::Imported;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::time::rfc3339;

#[derive(Serialize, utoipa::ToSchema)]
pub struct DryRun {
    /// As it would be created (no key yet).
    #[schema(value_type = Object)]
    pub incident: serde_json::Value,
    /// The line each fact was read from; a fact missing here is not in the document.
    /// `null` for hindsight's own export (read whole).
    #[schema(value_type = Option<Object>)]
    pub read_from: Option<serde_json::Value>,
    pub not_understood: Vec<NotUnderstood>,
    /// The incident the same document made before, if any.
    pub duplicate_of: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotUnderstood {
    pub line: usize,
    pub text: String,
}

/// The dry run of `imported`; task owners resolved as storing would (an owner with no
/// account here becomes the team, for documents in other templates).
pub fn of(
    conn: &mut DbConnection,
    imported: &Imported,
    duplicate_of: Option<String>,
) -> Result<DryRun, AppError> {
    let f = &imported.fields;
    let t = |v: Option<chrono::NaiveDateTime>| v.map(rfc3339);
    let mut tasks = Vec::with_capacity(imported.tasks.len());
    for task in &imported.tasks {
        let input = match task.owner_as_written {
            true => super::store::owned_here(conn, &task.input)?,
            false => task.input.clone(),
        };
        tasks.push(serde_json::json!({
            "title": input.title, "description": input.description, "kind": input.kind,
            "status": input.status, "owner": Some(input.owner).filter(|o| !o.is_empty()),
            "team": input.team, "due_on": Some(input.due_on).filter(|d| !d.is_empty()),
            "external_url": input.external_url,
        }));
    }
    let incident = serde_json::json!({
        "title": f.title, "severity": f.severity.as_str(), "status": f.status.as_str(),
        "impact": f.impact, "users_affected_pct": f.users_affected_pct,
        "services": f.services, "started_at": rfc3339(f.started_at),
        "detected_at": t(f.detected_at), "acknowledged_at": t(f.acknowledged_at),
        "mitigated_at": t(f.mitigated_at), "resolved_at": t(f.resolved_at),
        "entries": imported.entries.iter().map(|e| serde_json::json!({
            "occurred_at": rfc3339(e.occurred_at), "time_known": e.time_known,
            "kind": e.kind.as_str(), "body": e.body,
        })).collect::<Vec<_>>(),
        "root_causes": imported.causes.iter().map(|c| serde_json::json!({
            "kind": c.kind.as_str(), "category": c.category.as_str(), "description": c.description,
        })).collect::<Vec<_>>(),
        "tasks": tasks,
        "escalations": imported.escalations.iter().map(|e| serde_json::json!({
            "target": e.target, "escalated_at": rfc3339(e.escalated_at),
        })).collect::<Vec<_>>(),
    });
    Ok(DryRun {
        incident,
        read_from: imported.read_from.as_ref().map(|m| serde_json::json!(m)),
        not_understood: imported
            .not_understood
            .iter()
            .map(|(line, text)| NotUnderstood {
                line: *line,
                text: text.clone(),
            })
            .collect(),
        duplicate_of,
    })
}
