//! The editable fields of an incident and their rules: lengths, percentages, services,
//! and milestones in order. Validated together before any write.

use chrono::NaiveDateTime;

use super::model::{IncidentDetail, Severity, Status};
use super::roles::{IncidentRole, Roles};
use crate::error::AppError;
use crate::ids::UserId;

pub const TITLE_MAX: usize = 200;
pub const IMPACT_MAX: usize = 20_000;
const SERVICES_MAX: usize = 30;

/// Every editable field of an incident, validated together (and kept per version as JSON).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncidentFields {
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub impact: String,
    pub users_affected_pct: Option<f64>,
    pub services: Vec<String>,
    pub commander_id: Option<UserId>,
    /// The holders of the roles beside the commander (absent from revisions kept before
    /// roles existed); see [`IncidentFields::roles`].
    #[serde(default)]
    pub comms_lead_id: Option<UserId>,
    #[serde(default)]
    pub scribe_id: Option<UserId>,
    #[serde(default)]
    pub ops_lead_id: Option<UserId>,
    pub started_at: NaiveDateTime,
    pub detected_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub mitigated_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
}

impl IncidentFields {
    /// The current values of an incident, to apply partial changes to.
    pub fn of(detail: &IncidentDetail) -> Self {
        let i = &detail.incident;
        IncidentFields {
            title: i.title.clone(),
            severity: i.severity,
            status: i.status,
            impact: i.impact.clone(),
            users_affected_pct: i.users_affected_pct,
            services: detail.services.clone(),
            commander_id: i.commander_id,
            comms_lead_id: i.comms_lead_id,
            scribe_id: i.scribe_id,
            ops_lead_id: i.ops_lead_id,
            started_at: i.started_at,
            detected_at: i.detected_at,
            acknowledged_at: i.acknowledged_at,
            mitigated_at: i.mitigated_at,
            resolved_at: i.resolved_at,
        }
    }

    /// Who holds the roles beside the commander.
    pub fn roles(&self) -> Roles<UserId> {
        Roles {
            communications_lead: self.comms_lead_id,
            scribe: self.scribe_id,
            operations_lead: self.ops_lead_id,
        }
    }

    /// Gives `role` to `id` (or to nobody).
    pub fn set_role(&mut self, role: IncidentRole, id: Option<UserId>) {
        match role {
            IncidentRole::CommunicationsLead => self.comms_lead_id = id,
            IncidentRole::Scribe => self.scribe_id = id,
            IncidentRole::OperationsLead => self.ops_lead_id = id,
        }
    }

    /// Trims text and checks every rule; the error names the first offending field.
    pub fn validate(&mut self) -> Result<(), AppError> {
        self.title = self.title.trim().to_string();
        if self.title.is_empty() {
            return Err(AppError::invalid("title", "Title is required."));
        }
        if self.title.contains(['\n', '\r']) {
            return Err(AppError::invalid("title", "Title must be a single line."));
        }
        if self.title.chars().count() > TITLE_MAX {
            return Err(AppError::invalid(
                "title",
                format!("Title must be at most {TITLE_MAX} characters."),
            ));
        }
        if self.impact.chars().count() > IMPACT_MAX {
            return Err(AppError::invalid(
                "impact",
                format!("Impact must be at most {IMPACT_MAX} characters."),
            ));
        }
        if let Some(pct) = self.users_affected_pct {
            if !(0.0..=100.0).contains(&pct) || pct.is_nan() {
                return Err(AppError::invalid(
                    "users_affected_pct",
                    "Percent of users affected must be between 0 and 100.",
                ));
            }
        }
        let mut names: Vec<String> = Vec::new();
        for name in &self.services {
            let name = name.trim();
            if name.is_empty() || names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                continue;
            }
            if name.chars().count() > 100 {
                return Err(AppError::invalid(
                    "services",
                    "A service name must be at most 100 characters.",
                ));
            }
            names.push(name.to_string());
        }
        if names.len() > SERVICES_MAX {
            return Err(AppError::invalid(
                "services",
                format!("At most {SERVICES_MAX} services."),
            ));
        }
        self.services = names;
        // One time policy everywhere: nothing in the future beyond clock drift.
        let now = crate::time::now();
        for (field, label, time) in self.milestones() {
            if let Some(t) = time.filter(|t| crate::time::too_far_ahead(*t, now)) {
                return Err(AppError::invalid(
                    field,
                    format!("{label} ({}) is in the future.", crate::time::in_words(t)),
                ));
            }
        }
        self.check_order()
            .map_err(|(field, message)| AppError::invalid(field, message))
    }

    /// The milestones in order: (field, label, time).
    fn milestones(&self) -> [(&'static str, &'static str, Option<NaiveDateTime>); 5] {
        [
            ("started_at", "Started", Some(self.started_at)),
            ("detected_at", "Detected", self.detected_at),
            ("acknowledged_at", "Acknowledged", self.acknowledged_at),
            ("mitigated_at", "Mitigated", self.mitigated_at),
            ("resolved_at", "Resolved", self.resolved_at),
        ]
    }

    /// Milestones in order: started ≤ detected ≤ acknowledged ≤ mitigated ≤ resolved; the
    /// error names the later field of the first pair out of order.
    pub fn check_order(&self) -> Result<(), (&'static str, String)> {
        let milestones = self.milestones();
        for (i, (later, later_label, later_time)) in milestones.iter().enumerate() {
            let Some(later_time) = later_time else {
                continue;
            };
            for (_, earlier_label, earlier_time) in &milestones[..i] {
                if let Some(earlier_time) = earlier_time {
                    if earlier_time > later_time {
                        return Err((
                            later,
                            format!(
                                "{later_label} ({}) can't be before {} ({})",
                                crate::time::in_words(*later_time),
                                earlier_label.to_lowercase(),
                                crate::time::in_words(*earlier_time)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
