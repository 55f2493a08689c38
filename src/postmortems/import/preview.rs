//! The record a parsed document would become, without storing it.

use super::own::escalation_view;
use super::Imported;
use crate::incidents::Incident;
use crate::root_causes::RootCause;
use crate::tasks::TaskStatus;

/// The record a parsed document would become, without storing it (ids are placeholders):
/// for previews, and for checking that export → import → export is a fixpoint.
pub fn preview(imported: &Imported, incident_id: i32) -> crate::postmortems::export::Record {
    use crate::escalations::EscalationView;
    use crate::incidents::service::IncidentDetail;
    use crate::tasks::{Task, TaskView};
    use crate::timeline::service::{DocEntry, DocEntryView};
    let f = &imported.fields;
    let t = f.started_at;
    let incident = Incident {
        id: incident_id,
        title: f.title.clone(),
        severity: f.severity,
        status: f.status,
        impact: f.impact.clone(),
        users_affected_pct: f.users_affected_pct,
        commander_id: None,
        started_at: f.started_at,
        detected_at: f.detected_at,
        acknowledged_at: f.acknowledged_at,
        mitigated_at: f.mitigated_at,
        resolved_at: f.resolved_at,
        created_by: None,
        created_at: t,
        updated_at: t,
        version: 1,
        alert_group_key: None,
        labels: "{}".into(),
        timeline_rev: 0,
    };
    let entries = imported
        .entries
        .iter()
        .map(|e| DocEntryView {
            entry: DocEntry {
                occurred_at: e.occurred_at,
                time_known: e.time_known,
                kind: e.kind,
                body: e.body.trim_end().to_string(),
            },
            author: e.author.clone(),
        })
        .collect();
    let escalations = imported
        .escalations
        .iter()
        .map(|e| {
            let mut v = escalation_view(
                &e.target,
                e.state,
                e.escalated_at,
                e.acknowledged_at,
                &e.reason,
            );
            v.escalation.responded_at = e.responded_at;
            v
        })
        .collect::<Vec<EscalationView>>();
    let causes = imported
        .causes
        .iter()
        .enumerate()
        .map(|(i, c)| RootCause {
            id: i as i32 + 1,
            incident_id,
            kind: c.kind,
            category: c.category,
            description: c.description.clone(),
            description_html: String::new(),
            created_by: None,
            created_at: t,
            updated_at: t,
        })
        .collect();
    let tasks = imported
        .tasks
        .iter()
        .enumerate()
        .map(|(i, task)| {
            let input = &task.input;
            let status: TaskStatus = input.status.parse().unwrap_or(TaskStatus::Open);
            TaskView {
                task: Task {
                    id: i as i32 + 1,
                    incident_id,
                    title: input.title.trim().to_string(),
                    description: input.description.trim_end().to_string(),
                    kind: input.kind.parse().unwrap_or(crate::tasks::TaskKind::Other),
                    priority: input
                        .priority
                        .parse()
                        .unwrap_or(crate::tasks::TaskPriority::Medium),
                    owner_id: None,
                    team: input.team.trim().to_string(),
                    due_on: crate::time::parse_date(&input.due_on),
                    status,
                    external_url: input.external_url.trim().to_string(),
                    completed_at: task.completed_at,
                    created_by: None,
                    created_at: t,
                    updated_at: t,
                    version: 1,
                },
                owner: Some(input.owner.clone()).filter(|o| !o.is_empty()),
                incident_title: f.title.clone(),
                severity: f.severity,
            }
        })
        .collect();
    let s = &imported.sections;
    crate::postmortems::export::Record {
        detail: IncidentDetail {
            incident,
            services: f.services.clone(),
            commander: imported.commander.clone(),
        },
        entries,
        escalations,
        causes,
        tasks,
        postmortem: crate::postmortems::Postmortem {
            incident_id,
            summary: s.summary.clone(),
            resolution: s.resolution.clone(),
            improvements: s.improvements.clone(),
            lessons_went_well: s.lessons_went_well.clone(),
            lessons_went_wrong: s.lessons_went_wrong.clone(),
            lessons_lucky: s.lessons_lucky.clone(),
            conclusion: s.conclusion.clone(),
            review_state: imported.review_state,
            published_at: None,
            published_by: None,
            author_id: None,
            created_at: t,
            updated_at: t,
            version: 1,
        },
    }
}
