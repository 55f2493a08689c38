//! Incident types: the row, its enums, keys and derived durations.

use crate::ids::{IncidentId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::incidents;
use crate::error::AppError;
use crate::time::human_duration;

crate::text_enum!(
    /// SEV1 is the worst.
    Severity {
        Sev1 => "SEV1",
        Sev2 => "SEV2",
        Sev3 => "SEV3",
        Sev4 => "SEV4",
    }
);

crate::text_enum!(
    /// investigating → identified → monitoring → resolved → closed
    Status {
        Investigating => "investigating",
        Identified => "identified",
        Monitoring => "monitoring",
        Resolved => "resolved",
        Closed => "closed",
    }
);

impl Status {
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

impl Severity {
    /// A severity from a form or request field (`sev2` or `SEV2`), or a 422 naming it.
    pub fn parse_field(raw: &str) -> Result<Severity, AppError> {
        raw.trim()
            .to_uppercase()
            .parse()
            .map_err(|e| AppError::invalid("severity", format!("severity {e}")))
    }
}

impl Status {
    /// A status from a form or request field, or a 422 naming it.
    pub fn parse_field(raw: &str) -> Result<Status, AppError> {
        raw.trim()
            .parse()
            .map_err(|e| AppError::invalid("status", format!("status {e}")))
    }
}

impl Severity {
    /// Lowercase CSS class, e.g. `sev1`.
    pub fn css(self) -> &'static str {
        match self {
            Severity::Sev1 => "sev1",
            Severity::Sev2 => "sev2",
            Severity::Sev3 => "sev3",
            Severity::Sev4 => "sev4",
        }
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = incidents)]
pub struct Incident {
    pub id: IncidentId,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub impact: String,
    pub users_affected_pct: Option<f64>,
    pub commander_id: Option<UserId>,
    pub started_at: NaiveDateTime,
    pub detected_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub mitigated_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub alert_group_key: Option<String>,
    pub labels: String,
    /// Bumped by every timeline change; keys the page's rendered-timeline cache.
    pub timeline_rev: i32,
    /// The number of the incident's last live event (see `live`).
    pub event_seq: i32,
    pub comms_lead_id: Option<UserId>,
    pub scribe_id: Option<UserId>,
    pub ops_lead_id: Option<UserId>,
    /// Seen only by its members and admins (see `access`).
    pub restricted: bool,
    /// The incident this one duplicates (see `links`): closed, and left out of insights.
    pub duplicate_of: Option<IncidentId>,
    /// When the people waiting are owed the next update (see `updates`); none when resolved
    /// or when the severity has no cadence and no update promised one.
    pub next_update_due_at: Option<NaiveDateTime>,
}

impl Incident {
    pub fn key(&self) -> String {
        IncidentKey(self.id).to_string()
    }

    /// The durations derived from the milestones, each `None` until both ends are known:
    /// detect = detected − started, acknowledge = acknowledged − detected,
    /// mitigate = mitigated − started, resolve = resolved − started.
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

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Durations {
    pub detect: Option<String>,
    pub acknowledge: Option<String>,
    pub mitigate: Option<String>,
    pub resolve: Option<String>,
}

impl Durations {
    /// From the milestones: detect = detected − started, acknowledge = acknowledged −
    /// detected, mitigate = mitigated − started, resolve = resolved − started.
    pub fn between(
        started: NaiveDateTime,
        detected: Option<NaiveDateTime>,
        acknowledged: Option<NaiveDateTime>,
        mitigated: Option<NaiveDateTime>,
        resolved: Option<NaiveDateTime>,
    ) -> Durations {
        let span = |from: Option<NaiveDateTime>, to: Option<NaiveDateTime>| match (from, to) {
            (Some(a), Some(b)) => Some(human_duration(b - a)),
            _ => None,
        };
        Durations {
            detect: span(Some(started), detected),
            acknowledge: span(detected, acknowledged),
            mitigate: span(Some(started), mitigated),
            resolve: span(Some(started), resolved),
        }
    }
}

/// `INC-7`; parsed from `INC-7` (the prefix in any case) or `7`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncidentKey(pub IncidentId);

impl IncidentKey {
    /// The incident an event's data names (`incident`, or `key` in incident events).
    pub fn named_in(data: &serde_json::Value) -> Option<IncidentKey> {
        ["incident", "key"]
            .iter()
            .find_map(|k| data.get(*k).and_then(serde_json::Value::as_str))
            .and_then(|k| k.parse().ok())
    }
}

impl std::fmt::Display for IncidentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "INC-{}", self.0)
    }
}

impl std::str::FromStr for IncidentKey {
    type Err = AppError;
    fn from_str(s: &str) -> Result<Self, AppError> {
        // The prefix in any case (`Inc-7` from a tired hand); digits only after it.
        let digits = match s.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("INC-") => &s[4..],
            _ => s,
        };
        Some(digits)
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<i32>().ok())
            .filter(|n| *n > 0)
            .map(|n| IncidentKey(IncidentId(n)))
            .ok_or_else(|| AppError::NotFound(format!("incident “{s}”")))
    }
}

/// As a path segment or JSON string, parsed like [`FromStr`](std::str::FromStr).
impl<'de> serde::Deserialize<'de> for IncidentKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = std::borrow::Cow::<str>::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// An incident with its service names and the usernames of its commander and of the
/// holders of the other roles.
#[derive(Clone, Debug)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub services: Vec<String>,
    pub commander: Option<String>,
    pub roles: super::roles::Roles<String>,
    /// A restricted incident's members: usernames, then team names (empty when open).
    pub members: Vec<String>,
}

impl Incident {
    /// Who holds the roles beside the commander.
    pub fn roles(&self) -> super::roles::Roles<crate::ids::UserId> {
        super::roles::Roles {
            communications_lead: self.comms_lead_id,
            scribe: self.scribe_id,
            operations_lead: self.ops_lead_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(
            "INC-7".parse::<IncidentKey>().unwrap(),
            IncidentKey(crate::ids::IncidentId(7))
        );
        assert_eq!(
            "7".parse::<IncidentKey>().unwrap(),
            IncidentKey(crate::ids::IncidentId(7))
        );
        assert!("INC-x".parse::<IncidentKey>().is_err());
        assert!("0".parse::<IncidentKey>().is_err());
        assert_eq!(
            IncidentKey(crate::ids::IncidentId(42)).to_string(),
            "INC-42"
        );
    }

    #[test]
    fn enums_parse() {
        assert_eq!("SEV2".parse::<Severity>().unwrap(), Severity::Sev2);
        assert!("sev9".parse::<Severity>().unwrap_err().contains("SEV1"));
        assert!(Status::Monitoring.is_open());
        assert!(!Status::Closed.is_open());
    }
}
