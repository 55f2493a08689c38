//! Prometheus Alertmanager intake (`POST /api/v1/alerts/alertmanager`, webhook payload
//! version 4). Alerts of one `groupKey` map to one open incident, created on the first
//! `firing` notification; every notification adds a `detection` (firing) or `note`
//! (resolved) entry, and a redelivered notification adds nothing (dedupe on group key,
//! alert fingerprints and statuses).

pub mod api;

use crate::ids::IncidentId;
use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::audit::Actor;
use crate::db::schema::incidents;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::service::{self, CreateOptions, IncidentFields};
use crate::incidents::{Incident, Severity, Status};
use crate::time::{now, parse_rfc3339};
use crate::timeline::{self, EntryKind, NewEntry};

#[derive(Deserialize, Debug, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub version: Option<String>,
    pub group_key: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

#[derive(Deserialize, Debug, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

/// The `severity` label mapped to SEV1–SEV4 (README documents the table); SEV3 otherwise.
pub fn severity_of(label: Option<&str>) -> Severity {
    match label.map(|l| l.trim().to_lowercase()).as_deref() {
        Some("critical" | "page" | "sev1" | "p1" | "emergency" | "fatal") => Severity::Sev1,
        Some("high" | "error" | "major" | "sev2" | "p2") => Severity::Sev2,
        Some("warning" | "warn" | "minor" | "sev3" | "p3") => Severity::Sev3,
        Some("info" | "low" | "none" | "sev4" | "p4") => Severity::Sev4,
        _ => Severity::Sev3,
    }
}

/// A checked notification.
struct Checked {
    group_key: String,
    firing: bool,
    alerts: Vec<(bool, NaiveDateTime, Option<NaiveDateTime>, usize)>,
}

fn check(n: &Notification) -> Result<Checked, AppError> {
    if n.version.as_deref() != Some("4") {
        return Err(AppError::invalid(
            "version",
            "version must be \"4\" (Alertmanager webhook payload v4)",
        ));
    }
    let group_key = n
        .group_key
        .clone()
        .filter(|g| !g.is_empty())
        .ok_or_else(|| AppError::invalid("groupKey", "groupKey is required"))?;
    let firing = match n.status.as_deref() {
        Some("firing") => true,
        Some("resolved") => false,
        _ => {
            return Err(AppError::invalid(
                "status",
                "status must be firing or resolved",
            ))
        }
    };
    if n.alerts.is_empty() {
        return Err(AppError::invalid("alerts", "alerts must not be empty"));
    }
    let mut alerts = Vec::new();
    for (i, a) in n.alerts.iter().enumerate() {
        let alert_firing = match a.status.as_deref() {
            Some("firing") => true,
            Some("resolved") => false,
            _ => {
                return Err(AppError::invalid(
                    &format!("alerts[{i}].status"),
                    "status must be firing or resolved",
                ))
            }
        };
        let starts = a
            .starts_at
            .as_deref()
            .and_then(parse_rfc3339)
            .ok_or_else(|| {
                AppError::invalid(
                    &format!("alerts[{i}].startsAt"),
                    "startsAt must be an RFC 3339 time",
                )
            })?;
        // Alertmanager sends 0001-01-01 for "no end".
        let ends = a
            .ends_at
            .as_deref()
            .and_then(parse_rfc3339)
            .filter(|e| *e > starts);
        alerts.push((alert_firing, starts, ends, i));
    }
    Ok(Checked {
        group_key,
        firing,
        alerts,
    })
}

/// Stable across redeliveries of the same notification to the same incident.
fn dedupe_key(n: &Notification, c: &Checked, incident_id: IncidentId) -> String {
    let mut parts: Vec<String> = n
        .alerts
        .iter()
        .map(|a| format!("{}:{}", a.fingerprint, a.status.as_deref().unwrap_or("")))
        .collect();
    parts.sort();
    let digest = Sha256::digest(
        format!(
            "{}\n{incident_id}\n{}\n{}",
            c.group_key,
            c.firing,
            parts.join(",")
        )
        .as_bytes(),
    );
    format!("alertmanager:{}", hex::encode(digest))
}

fn entry_body(n: &Notification, c: &Checked) -> String {
    let name = n
        .common_labels
        .get("alertname")
        .or(n.group_labels.get("alertname"))
        .map(String::as_str)
        .unwrap_or("alerts");
    let firing = c.alerts.iter().filter(|a| a.0).count();
    let resolved = c.alerts.len() - firing;
    let mut body = if c.firing {
        format!("**Alertmanager: firing** {name} ({firing} firing, {resolved} resolved)\n")
    } else {
        format!("**Alertmanager: resolved** {name} ({resolved} resolved)\n")
    };
    for a in &n.alerts {
        let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let summary = a
            .annotations
            .get("summary")
            .or(a.annotations.get("description"))
            .cloned()
            .unwrap_or_default();
        body.push_str(&format!(
            "\n- {} `{}`",
            a.status.as_deref().unwrap_or(""),
            labels.join(" ").replace('`', "'")
        ));
        if !summary.is_empty() {
            body.push_str(&format!(" — {}", summary.replace('\n', " ")));
        }
        if a.generator_url.starts_with("http://") || a.generator_url.starts_with("https://") {
            body.push_str(&format!(
                " ([source](<{}>))",
                a.generator_url.replace('>', "%3E")
            ));
        }
    }
    body
}

/// Outcome of one notification.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub incident: Option<String>,
    pub created: bool,
    pub duplicate: bool,
}

fn open_incident(conn: &mut DbConnection, group_key: &str) -> Result<Option<Incident>, AppError> {
    Ok(incidents::table
        .filter(incidents::alert_group_key.eq(group_key))
        .filter(
            incidents::status.eq_any(
                Status::ALL
                    .iter()
                    .copied()
                    .filter(|s| s.is_open())
                    .collect::<Vec<_>>(),
            ),
        )
        .select(Incident::as_select())
        .first(conn)
        .optional()?)
}

/// Applies one notification in a transaction.
pub fn receive(
    conn: &mut DbConnection,
    n: &Notification,
    actor: &Actor,
) -> Result<Outcome, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    let c = check(n)?;
    crate::db::transaction(conn, |conn| {
        let mut created = false;
        let incident = match open_incident(conn, &c.group_key)? {
            Some(i) => i,
            None if !c.firing => {
                return Ok(Outcome {
                    incident: None,
                    created: false,
                    duplicate: false,
                })
            }
            None => {
                // A closed incident may hold this group key (it is unique): retire it there.
                diesel::update(
                    incidents::table.filter(incidents::alert_group_key.eq(&c.group_key)),
                )
                .set(incidents::alert_group_key.eq(None::<String>))
                .execute(conn)?;
                let earliest = c
                    .alerts
                    .iter()
                    .map(|a| a.1)
                    .min()
                    .unwrap_or_else(now)
                    .min(now());
                let name = n
                    .common_labels
                    .get("alertname")
                    .or(n.group_labels.get("alertname"))
                    .cloned()
                    .unwrap_or_else(|| "Alert".into());
                let title = n
                    .common_annotations
                    .get("summary")
                    .cloned()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or(name);
                let services = n
                    .common_labels
                    .get("service")
                    .map(|s| vec![s.clone()])
                    .unwrap_or_default();
                let fields = IncidentFields {
                    title: title
                        .replace(['\n', '\r'], " ")
                        .chars()
                        .take(service::TITLE_MAX)
                        .collect(),
                    severity: severity_of(n.common_labels.get("severity").map(String::as_str)),
                    status: Status::Investigating,
                    impact: n
                        .common_annotations
                        .get("description")
                        .cloned()
                        .unwrap_or_default(),
                    users_affected_pct: None,
                    services,
                    commander_id: None,
                    comms_lead_id: None,
                    scribe_id: None,
                    ops_lead_id: None,
                    started_at: earliest,
                    detected_at: Some(earliest),
                    acknowledged_at: None,
                    mitigated_at: None,
                    resolved_at: None,
                };
                let options = CreateOptions {
                    declared_entry: false,
                    alert_group_key: Some(c.group_key.clone()),
                    labels: serde_json::to_string(&n.common_labels).ok(),
                    restricted: false,
                };
                created = true;
                service::create(conn, fields, actor, &options)?
            }
        };
        let key = dedupe_key(n, &c, incident.id);
        let occurred = if c.firing {
            c.alerts.iter().filter(|a| a.0).map(|a| a.1).max()
        } else {
            c.alerts.iter().filter_map(|a| a.2).max()
        }
        .unwrap_or_else(now)
        .min(now());
        let kind = if c.firing {
            EntryKind::Detection
        } else {
            EntryKind::Note
        };
        let entry = NewEntry {
            occurred_at: occurred,
            dedupe_key: Some(key.clone()),
            ..NewEntry::now(kind, entry_body(n, &c), actor.user_id)
        };
        let before: i64 = crate::db::schema::timeline_entries::table
            .filter(crate::db::schema::timeline_entries::dedupe_key.eq(&key))
            .count()
            .get_result(conn)?;
        timeline::service::add(conn, incident.id, entry, actor)?;
        Ok(Outcome {
            incident: Some(incident.key()),
            created,
            duplicate: before > 0,
        })
    })
}
