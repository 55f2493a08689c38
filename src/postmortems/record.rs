//! The record a postmortem document is made from: plain views of the incident and what
//! hangs off it, either loaded from the database ([`load`]) or built from a parsed document
//! ([`super::import::preview`]). The export reads only these, so a change to a table's rows
//! touches the loading here, never the document or the importer.

use crate::ids::IncidentId;
use chrono::{NaiveDate, NaiveDateTime};

use super::review::Verdict;
use super::{ReviewState, Sections};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::escalations::RecordedEscalation;
use crate::incidents::model::Durations;
use crate::incidents::{Severity, Status};
use crate::root_causes::CauseFields;
use crate::tasks::{TaskKind, TaskPriority, TaskStatus};
use crate::timeline::service::DocEntryView;

/// Everything a postmortem document is made from.
#[derive(Clone, Debug)]
pub struct Record {
    pub incident: DocIncident,
    pub entries: Vec<DocEntryView>,
    pub escalations: Vec<RecordedEscalation>,
    pub causes: Vec<CauseFields>,
    pub tasks: Vec<DocTask>,
    pub sections: Sections,
    pub review_state: ReviewState,
    pub review: DocReview,
}

/// Who wrote and reviewed the postmortem, for the document's front matter.
#[derive(Clone, Debug, Default)]
pub struct DocReview {
    pub author: Option<String>,
    /// Reviewer, decision, when.
    pub reviewers: Vec<(String, Verdict, NaiveDateTime)>,
}

impl DocReview {
    /// The reviewer whose approval stands (the latest), if any.
    pub fn approver(&self) -> Option<&str> {
        self.reviewers
            .iter()
            .filter(|r| r.1 == Verdict::Approved)
            .max_by_key(|r| r.2)
            .map(|r| r.0.as_str())
    }
}

/// The incident as its document states it.
#[derive(Clone, Debug)]
pub struct DocIncident {
    pub key: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub impact: String,
    pub users_affected_pct: Option<f64>,
    pub started_at: NaiveDateTime,
    pub detected_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub mitigated_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub services: Vec<String>,
    pub commander: Option<String>,
    /// Usernames holding the roles beside the commander.
    pub roles: crate::incidents::roles::Roles<String>,
}

impl DocIncident {
    pub fn durations(&self) -> Durations {
        Durations::between(
            self.started_at,
            self.detected_at,
            self.acknowledged_at,
            self.mitigated_at,
            self.resolved_at,
        )
    }
}

/// A follow-up task as its document states it.
#[derive(Clone, Debug)]
pub struct DocTask {
    pub title: String,
    pub description: String,
    pub kind: TaskKind,
    pub priority: TaskPriority,
    pub status: TaskStatus,
    pub owner: Option<String>,
    pub team: String,
    pub due_on: Option<NaiveDate>,
    pub external_url: String,
    pub completed_at: Option<NaiveDateTime>,
}

/// Loads an incident's whole record (a fixed number of queries).
pub fn load(conn: &mut DbConnection, incident_id: IncidentId) -> Result<Record, AppError> {
    let detail = crate::incidents::service::get(conn, incident_id)?;
    let mut tasks = crate::tasks::service::list_for_incident(conn, incident_id)?;
    tasks.sort_by_key(|t| t.task.id);
    let postmortem = super::get(conn, incident_id)?;
    let i = detail.incident;
    Ok(Record {
        incident: DocIncident {
            key: i.key(),
            title: i.title,
            severity: i.severity,
            status: i.status,
            impact: i.impact,
            users_affected_pct: i.users_affected_pct,
            started_at: i.started_at,
            detected_at: i.detected_at,
            acknowledged_at: i.acknowledged_at,
            mitigated_at: i.mitigated_at,
            resolved_at: i.resolved_at,
            services: detail.services,
            commander: detail.commander,
            roles: detail.roles,
        },
        entries: crate::timeline::service::list_for_document(conn, incident_id)?,
        escalations: crate::escalations::list(conn, incident_id)?
            .into_iter()
            .map(|v| {
                let e = v.escalation;
                RecordedEscalation {
                    target: e.target,
                    reason: e.reason,
                    state: e.state,
                    escalated_at: e.escalated_at,
                    acknowledged_at: e.acknowledged_at,
                    responded_at: e.responded_at,
                }
            })
            .collect(),
        causes: crate::root_causes::list(conn, incident_id)?
            .into_iter()
            .map(|c| CauseFields {
                kind: c.kind,
                category: c.category,
                description: c.description,
            })
            .collect(),
        tasks: tasks
            .into_iter()
            .map(|v| {
                let t = v.task;
                DocTask {
                    title: t.title,
                    description: t.description,
                    kind: t.kind,
                    priority: t.priority,
                    status: t.status,
                    owner: v.owner,
                    team: t.team,
                    due_on: t.due_on,
                    external_url: t.external_url,
                    completed_at: t.completed_at,
                }
            })
            .collect(),
        review: DocReview {
            author: match postmortem.author_id {
                Some(id) => crate::auth::users::usernames(conn, &[id])?.remove(&id),
                None => None,
            },
            reviewers: super::review::list(conn, incident_id)?
                .into_iter()
                .map(|r| (r.reviewer, r.state, r.updated_at))
                .collect(),
        },
        sections: Sections::of(&postmortem),
        review_state: postmortem.review_state,
    })
}
