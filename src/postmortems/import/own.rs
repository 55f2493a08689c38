//! hindsight's own export, read back losslessly through its region markers and front
//! matter.

use chrono::NaiveDateTime;
use serde_json::Value;

use super::{bad, Imported, ImportedEntry, ImportedTask, RecordedEscalation};
use crate::error::AppError;
use crate::escalations::EscalationState;
use crate::incidents::service::IncidentFields;
use crate::incidents::{Severity, Status};
use crate::postmortems::export::{
    cause_prefix, entry_prefix, escalation_prefix, task_suffix, Clock,
};
use crate::postmortems::Sections;
use crate::root_causes::{CauseCategory, CauseFields, CauseKind};
use crate::tasks::service::TaskInput;
use crate::tasks::TaskStatus;
use crate::time::{parse_rfc3339, Zone};
use crate::timeline::{EntryKind, KeyMoment, Marker};

/// The marker tag when the text is a hindsight export (front matter `format: "hindsight/1 TAG"`).
pub(super) fn own_format_tag(text: &str) -> Option<String> {
    if !text.starts_with("---\n") && !text.starts_with("---\r\n") {
        return None;
    }
    text.lines()
        .skip(1)
        .take_while(|l| l.trim_end() != "---")
        .find_map(|l| {
            let value = l.strip_prefix("format: ")?;
            let format: String = serde_json::from_str(value).ok()?;
            format.strip_prefix("hindsight/1 ").map(str::to_string)
        })
}

pub(super) struct Region {
    line: usize,
    name: String,
    attrs: Value,
    content: String,
}

pub(super) fn parse_own(text: &str, tag: &str) -> Result<Imported, AppError> {
    let lines: Vec<&str> = text.split('\n').collect();
    // Front matter.
    let mut front = serde_json::Map::new();
    let mut i = 1;
    while i < lines.len() && lines[i].trim_end_matches('\r') != "---" {
        let line = lines[i].trim_end_matches('\r');
        let (name, value) = line
            .split_once(": ")
            .ok_or_else(|| bad(i + 1, "`name: value` in the front matter"))?;
        let value: Value = serde_json::from_str(value).map_err(|_| {
            bad(
                i + 1,
                format!("a JSON value for `{name}` in the front matter"),
            )
        })?;
        front.insert(name.to_string(), value);
        i += 1;
    }
    if i >= lines.len() {
        return Err(bad(1, "the front matter to end with a `---` line"));
    }
    // Regions.
    let open = format!("<!-- {tag}:");
    let close = format!("<!-- /{tag} -->");
    let mut regions = Vec::new();
    i += 1;
    while i < lines.len() {
        let line = lines[i].trim_end_matches('\r');
        if let Some(rest) = line
            .strip_prefix(&open)
            .and_then(|r| r.strip_suffix(" -->"))
        {
            let (name, attrs) = match rest.split_once(' ') {
                Some((name, json)) => {
                    let attrs = serde_json::from_str(json)
                        .map_err(|_| bad(i + 1, "JSON attributes in the marker"))?;
                    (name.to_string(), attrs)
                }
                None => (rest.to_string(), Value::Null),
            };
            let start = i + 1;
            let end = (start..lines.len())
                .find(|&j| lines[j].trim_end_matches('\r') == close)
                .ok_or_else(|| bad(i + 1, format!("`{close}` to close the region opened here")))?;
            regions.push(Region {
                line: i + 1,
                name,
                attrs,
                content: lines[start..end].join("\n"),
            });
            i = end + 1;
        } else {
            i += 1;
        }
    }
    build_own(&front, regions)
}

/// The front matter's review fields as one line of text ("review state published; author
/// mara; reviewers lee approved 2026-06-08T09:00:00Z"), empty when it has none.
fn review_history(fm: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(state) = str_of(fm, "review_state") {
        parts.push(format!("review state {state}"));
    }
    if let Some(author) = str_of(fm, "author") {
        parts.push(format!("author {author}"));
    }
    let reviewers: Vec<String> = fm
        .get("reviewers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            [str_of(r, "name"), str_of(r, "decision"), str_of(r, "at")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    if !reviewers.is_empty() {
        parts.push(format!("reviewers {}", reviewers.join(", ")));
    }
    if let Some(approver) = str_of(fm, "approver") {
        parts.push(format!("approved by {approver}"));
    }
    parts.join("; ")
}

pub(super) fn str_of<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

pub(super) fn time_of(
    v: &Value,
    name: &str,
    line: usize,
) -> Result<Option<NaiveDateTime>, AppError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_rfc3339(s)
            .map(Some)
            .ok_or_else(|| bad(line, format!("an RFC 3339 time for `{name}`"))),
        Some(_) => Err(bad(line, format!("a time string for `{name}`"))),
    }
}

pub(super) fn strip_any<'a>(content: &'a str, prefixes: &[String]) -> &'a str {
    prefixes
        .iter()
        .find_map(|p| content.strip_prefix(p.as_str()))
        .unwrap_or(content)
}

pub(super) fn build_own(
    front: &serde_json::Map<String, Value>,
    regions: Vec<Region>,
) -> Result<Imported, AppError> {
    let fm = Value::Object(front.clone());
    let title = str_of(&fm, "title")
        .ok_or_else(|| bad(2, "a `title` in the front matter"))?
        .to_string();
    let severity: Severity = str_of(&fm, "severity")
        .unwrap_or("SEV3")
        .parse()
        .map_err(|e| bad(2, format!("severity {e}")))?;
    let status: Status = str_of(&fm, "status")
        .unwrap_or("investigating")
        .parse()
        .map_err(|e| bad(2, format!("status {e}")))?;
    let review_history = review_history(&fm);
    let services = fm
        .get("services")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let started_at =
        time_of(&fm, "started_at", 2)?.ok_or_else(|| bad(2, "`started_at` in the front matter"))?;
    // The zone the visible times were written in (the values themselves are in the markers).
    let zone = match str_of(&fm, "zone") {
        None => Zone::UTC,
        Some(name) => {
            Zone::parse(name).ok_or_else(|| bad(2, format!("a time zone name, not “{name}”")))?
        }
    };
    let mut out = Imported {
        fields: IncidentFields {
            title,
            severity,
            status,
            impact: String::new(),
            users_affected_pct: fm.get("users_affected_pct").and_then(Value::as_f64),
            services,
            commander_id: None,
            comms_lead_id: None,
            scribe_id: None,
            ops_lead_id: None,
            started_at,
            detected_at: time_of(&fm, "detected_at", 2)?,
            acknowledged_at: time_of(&fm, "acknowledged_at", 2)?,
            mitigated_at: time_of(&fm, "mitigated_at", 2)?,
            resolved_at: time_of(&fm, "resolved_at", 2)?,
        },
        commander: str_of(&fm, "commander").map(str::to_string),
        roles: crate::incidents::roles::Roles::from_fn(|r| {
            str_of(&fm, r.name()).map(str::to_string)
        }),
        entries: vec![],
        escalations: vec![],
        causes: vec![],
        tasks: vec![],
        sections: Sections::default(),
        review_history,
        stated: super::Stated {
            title: true,
            severity: fm.get("severity").is_some_and(|s| !s.is_null()),
        },
        read_from: None,
        not_understood: vec![],
    };
    for r in regions {
        read_region(&mut out, r, zone)?;
    }
    Ok(out)
}

/// Puts one region's content where it belongs in `out`.
fn read_region(out: &mut Imported, r: Region, zone: Zone) -> Result<(), AppError> {
    let a = &r.attrs;
    match r.name.as_str() {
        "impact" => {
            out.fields.impact = r
                .content
                .strip_prefix("**Impact:** ")
                .unwrap_or(&r.content)
                .to_string()
        }
        "summary" => out.sections.summary = r.content,
        "resolution" => out.sections.resolution = r.content,
        "improvements" => out.sections.improvements = r.content,
        "went_well" => out.sections.lessons_went_well = r.content,
        "went_wrong" => out.sections.lessons_went_wrong = r.content,
        "lucky" => out.sections.lessons_lucky = r.content,
        "conclusion" => out.sections.conclusion = r.content,
        "entry" => out.entries.push(own_entry(a, &r, zone)?),
        "escalation" => out.escalations.push(own_escalation(a, &r, zone)?),
        "cause" => out.causes.push(own_cause(a, &r)?),
        "task" => out.tasks.push(own_task(a, &r)?),
        _ => {}
    }
    Ok(())
}

/// An `entry` region: its time and kind from the marker, its text without the visible label.
fn own_entry(a: &Value, r: &Region, zone: Zone) -> Result<ImportedEntry, AppError> {
    let at = time_of(a, "at", r.line)?.ok_or_else(|| bad(r.line, "`at` in the entry marker"))?;
    let known = a.get("known").and_then(Value::as_bool).unwrap_or(true);
    let kind: EntryKind = str_of(a, "kind")
        .unwrap_or("note")
        .parse()
        .map_err(|e| bad(r.line, format!("entry kind {e}")))?;
    let moment = KeyMoment {
        starred: a.get("starred").and_then(Value::as_bool).unwrap_or(false),
        marker: str_of(a, "marker")
            .map(|m| m.parse::<Marker>())
            .transpose()
            .map_err(|e| bad(r.line, format!("entry marker {e}")))?,
    };
    let times = [Some(zone.hhmm(at)), Some(zone.date_hhmm(at))];
    let candidates: Vec<String> = if known {
        times
            .iter()
            .flat_map(|t| prefixes(t.as_deref(), kind, moment))
            .collect()
    } else {
        prefixes(None, kind, moment)
    };
    Ok(ImportedEntry {
        occurred_at: at,
        time_known: known,
        kind,
        body: strip_any(&r.content, &candidates).to_string(),
        author: str_of(a, "author").map(str::to_string),
        moment,
    })
}

/// An `escalation` region: the marker's facts, its reason without the visible label.
fn own_escalation(a: &Value, r: &Region, zone: Zone) -> Result<RecordedEscalation, AppError> {
    let target = str_of(a, "target")
        .ok_or_else(|| bad(r.line, "`target` in the escalation marker"))?
        .to_string();
    let state: EscalationState = str_of(a, "state")
        .unwrap_or("pending")
        .parse()
        .map_err(|e| bad(r.line, format!("escalation state {e}")))?;
    let escalated_at = time_of(a, "escalated_at", r.line)?
        .ok_or_else(|| bad(r.line, "`escalated_at` in the escalation marker"))?;
    let mut escalation = RecordedEscalation {
        target,
        reason: String::new(),
        state,
        escalated_at,
        acknowledged_at: time_of(a, "acknowledged_at", r.line)?,
        responded_at: time_of(a, "responded_at", r.line)?,
    };
    // The visible prefix differs with and without a reason, and with dates.
    let mut candidates = Vec::new();
    for reason in ["x", ""] {
        escalation.reason = reason.into();
        candidates.extend(
            [false, true]
                .iter()
                .map(|&with_date| escalation_prefix(&escalation, Clock { zone, with_date })),
        );
    }
    escalation.reason = strip_any(&r.content, &candidates).to_string();
    Ok(escalation)
}

/// A `cause` region: kind and category from the marker, the description without the label.
fn own_cause(a: &Value, r: &Region) -> Result<CauseFields, AppError> {
    let kind: CauseKind = str_of(a, "kind")
        .unwrap_or("primary")
        .parse()
        .map_err(|e| bad(r.line, format!("cause kind {e}")))?;
    let category: CauseCategory = str_of(a, "category")
        .unwrap_or("unknown")
        .parse()
        .map_err(|e| bad(r.line, format!("category {e}")))?;
    let description = r
        .content
        .strip_prefix(&cause_prefix(kind, category))
        .unwrap_or(&r.content)
        .to_string();
    Ok(CauseFields {
        kind,
        category,
        description,
    })
}

pub(super) fn prefixes(time: Option<&str>, kind: EntryKind, moment: KeyMoment) -> Vec<String> {
    // Both forms: inline (body starts with text) and block (label on its own line).
    vec![
        entry_prefix(time, kind, moment, "x"),
        entry_prefix(time, kind, moment, "#"),
    ]
}

pub(super) fn own_task(a: &Value, r: &Region) -> Result<ImportedTask, AppError> {
    let status: TaskStatus = str_of(a, "status")
        .unwrap_or("open")
        .parse()
        .map_err(|e| bad(r.line, format!("task status {e}")))?;
    let owner = str_of(a, "owner").map(str::to_string);
    let team = str_of(a, "team").unwrap_or("").to_string();
    let due = str_of(a, "due_on").map(str::to_string);
    let link = str_of(a, "external_url").unwrap_or("").to_string();
    let (title, description) = match str_of(a, "title") {
        // The SRE layout's hidden task regions carry the text in the marker.
        Some(title) => (
            title.to_string(),
            str_of(a, "description").unwrap_or("").to_string(),
        ),
        None => task_text(
            &r.content,
            owner.as_deref(),
            &team,
            due.as_deref(),
            status,
            &link,
        ),
    };
    Ok(ImportedTask {
        input: TaskInput {
            title,
            description,
            kind: str_of(a, "kind").unwrap_or("other").to_string(),
            priority: str_of(a, "priority").unwrap_or("medium").to_string(),
            owner: owner.unwrap_or_default(),
            team,
            due_on: due.unwrap_or_default(),
            status: status.to_string(),
            external_url: link,
        },
        completed_at: time_of(a, "completed_at", r.line)?,
        owner_as_written: false,
    })
}

/// A checklist item's title (without its status suffix) and indented description.
fn task_text(
    content: &str,
    owner: Option<&str>,
    team: &str,
    due: Option<&str>,
    status: TaskStatus,
    link: &str,
) -> (String, String) {
    let (first, rest) = content.split_once('\n').unwrap_or((content, ""));
    let first = first
        .strip_prefix("- [ ] ")
        .or_else(|| first.strip_prefix("- [x] "))
        .unwrap_or(first);
    let title = first
        .strip_suffix(&task_suffix(owner, team, due, status, link))
        .unwrap_or(first);
    let rest = rest.strip_prefix('\n').unwrap_or(rest);
    let description = rest
        .split('\n')
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    (title.to_string(), description)
}
