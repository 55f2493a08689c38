//! The record a parsed document would become, without storing it: for previews, and for
//! checking that export → import → export is a fixpoint. Built from the document's own
//! views, so it never fills database rows with placeholders.

use super::Imported;
use crate::ids::IncidentId;
use crate::incidents::IncidentKey;
use crate::postmortems::record::{DocIncident, DocTask, Record};
use crate::tasks::{TaskKind, TaskPriority, TaskStatus};
use crate::timeline::service::{DocEntry, DocEntryView};

/// What storing `imported` as incident `incident_id` would give, as its document sees it.
pub fn preview(imported: &Imported, incident_id: IncidentId) -> Record {
    let f = &imported.fields;
    let entries = imported
        .entries
        .iter()
        .map(|e| DocEntryView {
            entry: DocEntry {
                occurred_at: e.occurred_at,
                time_known: e.time_known,
                kind: e.kind,
                body: e.body.trim_end().to_string(),
                imported_author: e.author.clone(),
                starred: e.moment.starred,
                marker: e.moment.marker,
            },
            // As stored: a document's author is text, never a local account.
            author: None,
        })
        .collect();
    // As storing would normalise them (`TaskInput::parse`, minus the owner lookup).
    let tasks = imported
        .tasks
        .iter()
        .map(|task| {
            let input = &task.input;
            DocTask {
                title: input.title.trim().to_string(),
                description: input.description.trim_end().to_string(),
                kind: input.kind.parse().unwrap_or(TaskKind::Other),
                priority: input.priority.parse().unwrap_or(TaskPriority::Medium),
                status: input.status.parse().unwrap_or(TaskStatus::Open),
                owner: Some(input.owner.clone()).filter(|o| !o.is_empty()),
                team: input.team.trim().to_string(),
                due_on: crate::time::parse_date(&input.due_on),
                external_url: input.external_url.trim().to_string(),
                completed_at: task.completed_at,
            }
        })
        .collect();
    Record {
        incident: DocIncident {
            key: IncidentKey(incident_id).to_string(),
            title: f.title.clone(),
            severity: f.severity,
            status: f.status,
            impact: f.impact.clone(),
            users_affected_pct: f.users_affected_pct,
            started_at: f.started_at,
            detected_at: f.detected_at,
            acknowledged_at: f.acknowledged_at,
            mitigated_at: f.mitigated_at,
            resolved_at: f.resolved_at,
            services: f.services.clone(),
            commander: imported.commander.clone(),
            roles: imported.roles.clone(),
        },
        entries,
        escalations: imported.escalations.clone(),
        causes: imported.causes.clone(),
        tasks,
        sections: imported.sections.clone(),
        review_state: crate::postmortems::ReviewState::Draft,
        review: Default::default(),
    }
}
