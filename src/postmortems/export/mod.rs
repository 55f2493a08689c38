//! The postmortem as Markdown (API.md, Markdown export): YAML front matter, then the seed
//! postmortem's sections. Deterministic: the same data gives the same bytes.
//!
//! Everything user-written sits between marker comments (`<!-- hs:entry {…} -->` …
//! `<!-- /hs -->`), invisible when rendered, carrying the structured fields as JSON. That
//! makes hindsight's own export importable without loss ([`super::import`]). The marker
//! tag is chosen so that it occurs in no user text.

mod markup;

use crate::ids::IncidentId;
use std::fmt::Write;

use chrono::NaiveDateTime;
use serde_json::{json, Value};

pub use markup::{
    cause_prefix, entry_prefix, escalation_prefix, indent, marker_json, task_suffix, Clock,
};
use markup::{choose_tag, front_value, Doc};

use super::record::{load, DocTask, Record};
use super::Sections;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::root_causes::{CauseFields, CauseKind};
use crate::tasks::TaskStatus;
use crate::time::{human_duration, rfc3339_secs, Zone};
use crate::timeline::EntryKind;

/// The document layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// The seed postmortem's sections; importable without loss.
    Default,
    /// The SRE-book layout: Summary, Impact, Root Causes, Trigger, Resolution, Detection,
    /// Action Items, Lessons Learned, Timeline.
    Sre,
}

impl Template {
    pub fn parse(raw: Option<&str>) -> Result<Self, AppError> {
        match raw.map(str::trim) {
            None | Some("") | Some("default") => Ok(Template::Default),
            Some("sre") => Ok(Template::Sre),
            Some(other) => Err(AppError::invalid(
                "template",
                format!("Template “{other}” must be default or sre."),
            )),
        }
    }
}

/// How `r`'s times are written in `zone`: with their date when the record spans more than
/// one day there.
pub fn clock_for(r: &Record, zone: Zone) -> Clock {
    let i = &r.incident;
    let day = zone.local(i.started_at).date();
    let milestones = [
        i.detected_at,
        i.acknowledged_at,
        i.mitigated_at,
        i.resolved_at,
    ];
    let other_day = |t: &NaiveDateTime| zone.local(*t).date() != day;
    let with_date = milestones.iter().flatten().any(other_day)
        || r.entries.iter().any(|e| other_day(&e.entry.occurred_at));
    Clock { zone, with_date }
}

/// An incident's key and its Markdown document, its visible times in `zone`.
pub fn document(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    template: Template,
    zone: Zone,
) -> Result<(String, String), AppError> {
    let record = load(conn, incident_id)?;
    Ok((record.incident.key.clone(), render(&record, template, zone)))
}

/// Reads an export's `zone` (query or flag): an IANA name, UTC when absent.
pub fn parse_zone(raw: Option<&str>) -> Result<Zone, AppError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(Zone::UTC),
        Some(name) => Zone::parse(name).ok_or_else(|| {
            AppError::invalid(
                "zone",
                format!("Zone “{name}” is not a time zone name like Europe/Berlin or UTC."),
            )
        }),
    }
}

/// Renders the document; visible times in `zone` (front matter and markers stay UTC, and
/// the front matter names the zone when it is not UTC).
pub fn render(r: &Record, template: Template, zone: Zone) -> String {
    let s = &r.sections;
    let mut texts: Vec<&str> = vec![&r.incident.title, &r.incident.impact];
    texts.extend(s.fields().iter().map(|(_, v)| *v));
    texts.extend(r.entries.iter().map(|e| e.entry.body.as_str()));
    texts.extend(
        r.escalations
            .iter()
            .flat_map(|e| [e.target.as_str(), e.reason.as_str()]),
    );
    texts.extend(r.causes.iter().map(|c| c.description.as_str()));
    texts.extend(
        r.tasks
            .iter()
            .flat_map(|t| [t.title.as_str(), t.description.as_str(), t.team.as_str()]),
    );
    let mut doc = Doc {
        out: String::with_capacity(4096 + texts.iter().map(|t| t.len() + 64).sum::<usize>()),
        tag: choose_tag(&texts),
        zone,
    };
    front_matter(&mut doc, r);
    match template {
        Template::Default => default_layout(&mut doc, r, s),
        Template::Sre => sre_layout(&mut doc, r, s),
    }
    while doc.out.ends_with("\n\n") {
        doc.out.pop();
    }
    doc.out
}

fn front_matter(doc: &mut Doc, r: &Record) {
    let i = &r.incident;
    let d = i.durations();
    let t = |v: Option<NaiveDateTime>| {
        v.map(|t| Value::String(rfc3339_secs(t)))
            .unwrap_or(Value::Null)
    };
    let s = |v: Option<String>| v.map(Value::String).unwrap_or(Value::Null);
    let mut fields: Vec<(&str, Value)> = vec![
        ("key", json!(i.key)),
        ("title", json!(i.title)),
        ("severity", json!(i.severity.as_str())),
        ("status", json!(i.status.as_str())),
        ("services", json!(i.services)),
        ("commander", s(i.commander.clone())),
    ];
    // Roles beside the commander, only when someone holds them.
    for (role, holder) in i.roles.iter() {
        if let Some(h) = holder {
            fields.push((role.name(), json!(h)));
        }
    }
    fields.extend(vec![
        ("review_state", json!(r.review_state.as_str())),
        ("author", s(r.review.author.clone())),
        (
            "reviewers",
            Value::Array(
                r.review
                    .reviewers
                    .iter()
                    .map(|(name, decision, at)| {
                        json!({"name": name, "decision": decision.as_str(), "at": rfc3339_secs(*at)})
                    })
                    .collect(),
            ),
        ),
        ("approver", s(r.review.approver().map(str::to_string))),
        (
            "users_affected_pct",
            i.users_affected_pct
                .map(|p| json!(p))
                .unwrap_or(Value::Null),
        ),
        ("started_at", t(Some(i.started_at))),
        ("detected_at", t(i.detected_at)),
        ("acknowledged_at", t(i.acknowledged_at)),
        ("mitigated_at", t(i.mitigated_at)),
        ("resolved_at", t(i.resolved_at)),
        ("time_to_detect", s(d.detect)),
        ("time_to_acknowledge", s(d.acknowledge)),
        ("time_to_mitigate", s(d.mitigate)),
        ("time_to_resolve", s(d.resolve)),
    ]);
    if doc.zone != Zone::UTC {
        fields.push(("zone", json!(doc.zone.name())));
    }
    fields.push(("format", json!(format!("hindsight/1 {}", doc.tag))));
    doc.line("---");
    for (name, value) in fields {
        let _ = writeln!(doc.out, "{name}: {}", front_value(&value));
    }
    doc.line("---");
    doc.blank();
}

fn duration_line(r: &Record, zone: Zone) -> String {
    let i = &r.incident;
    let (start, local_start) = (i.started_at, zone.local(i.started_at));
    match i.resolved_at {
        Some(end) if zone.local(end).date() == local_start.date() => format!(
            "**Duration:** {} – {} {} ({})",
            zone.date_hhmm(start),
            zone.hhmm(end),
            zone.abbreviation(end),
            human_duration(end - start)
        ),
        Some(end) => {
            // The start's abbreviation only when it differs (a clock change in between).
            let (from, to) = (zone.abbreviation(start), zone.abbreviation(end));
            let from = if from == to {
                String::new()
            } else {
                format!(" {from}")
            };
            format!(
                "**Duration:** {}{from} – {} {to} ({})",
                zone.date_hhmm(start),
                zone.date_hhmm(end),
                human_duration(end - start)
            )
        }
        None => format!(
            "**Duration:** started {} {}; not resolved yet",
            zone.date_hhmm(start),
            zone.abbreviation(start)
        ),
    }
}

/// The impact; `labelled` puts "**Impact:**" before it (the default layout, where it sits
/// in the Issue Summary), not under the SRE layout's own "## Impact" heading. The importer
/// reads it either way.
fn impact(doc: &mut Doc, r: &Record, labelled: bool) {
    let i = &r.incident;
    let label = if labelled { "**Impact:** " } else { "" };
    if !i.impact.is_empty() {
        doc.region("impact", None, &format!("{label}{}", i.impact));
    }
    if let Some(pct) = i.users_affected_pct {
        let pct_text = format!("{pct}%");
        if !i.impact.contains(&pct_text) {
            let prefix = if i.impact.is_empty() { label } else { "" };
            doc.line(&format!("{prefix}About {pct_text} of users were affected."));
            doc.blank();
        }
    } else if i.impact.is_empty() {
        doc.line(&format!("{label}Not recorded."));
        doc.blank();
    }
}

fn timeline(doc: &mut Doc, r: &Record, heading: &str) {
    doc.line(heading);
    doc.blank();
    if r.entries.is_empty() {
        doc.line("_Nothing was logged._");
        doc.blank();
        return;
    }
    if doc.zone == Zone::UTC {
        doc.line("All times UTC.");
    } else {
        doc.line(&format!("All times {}.", doc.zone.name()));
    }
    doc.blank();
    let clock = clock_for(r, doc.zone);
    for view in &r.entries {
        let e = &view.entry;
        let time = e.time_known.then(|| clock.show(e.occurred_at));
        let mut attrs = json!({"at": rfc3339_secs(e.occurred_at), "known": e.time_known, "kind": e.kind.as_str(), "author": view.author.as_deref().or(e.imported_author.as_deref())});
        if e.starred {
            attrs["starred"] = json!(true);
        }
        if let Some(m) = e.marker {
            attrs["marker"] = json!(m.as_str());
        }
        let content = format!(
            "{}{}",
            entry_prefix(time.as_deref(), e.kind, e.moment(), &e.body),
            e.body
        );
        doc.region("entry", Some(attrs), &content);
    }
}

fn escalations(doc: &mut Doc, r: &Record) {
    if r.escalations.is_empty() {
        return;
    }
    let clock = clock_for(r, doc.zone);
    doc.line("## Escalations");
    doc.blank();
    for e in &r.escalations {
        let attrs = json!({
            "target": e.target, "state": e.state.as_str(), "escalated_at": rfc3339_secs(e.escalated_at),
            "acknowledged_at": e.acknowledged_at.map(rfc3339_secs), "responded_at": e.responded_at.map(rfc3339_secs),
        });
        doc.region(
            "escalation",
            Some(attrs),
            &format!("{}{}", escalation_prefix(e, clock), e.reason),
        );
    }
}

/// The causes `which` accepts, each in its marker region, or `empty` when there are none.
fn causes(doc: &mut Doc, r: &Record, which: impl Fn(&CauseFields) -> bool, empty: &str) {
    let mut any = false;
    for c in r.causes.iter().filter(|c| which(c)) {
        any = true;
        let attrs = json!({"kind": c.kind.as_str(), "category": c.category.as_str()});
        doc.region(
            "cause",
            Some(attrs),
            &format!("{}{}", cause_prefix(c.kind, c.category), c.description),
        );
    }
    if !any {
        doc.line(empty);
        doc.blank();
    }
}

/// A task's fields for its marker (the title and description are the visible text).
fn task_attrs(t: &DocTask) -> Value {
    json!({
        "kind": t.kind.as_str(), "priority": t.priority.as_str(), "status": t.status.as_str(), "owner": t.owner,
        "team": t.team, "due_on": t.due_on.map(|d| d.to_string()), "external_url": t.external_url,
        "completed_at": t.completed_at.map(rfc3339_secs),
    })
}

fn tasks(doc: &mut Doc, r: &Record) {
    if r.tasks.is_empty() {
        doc.line("_No follow-up tasks yet._");
        doc.blank();
    }
    for t in &r.tasks {
        let due = t.due_on.map(|d| d.to_string());
        let attrs = task_attrs(t);
        let check = if t.status == TaskStatus::Done {
            "- [x] "
        } else {
            "- [ ] "
        };
        let mut content = format!(
            "{check}{}{}",
            t.title,
            task_suffix(
                t.owner.as_deref(),
                &t.team,
                due.as_deref(),
                t.status,
                &t.external_url
            )
        );
        if !t.description.is_empty() {
            content.push_str("\n\n");
            content.push_str(&indent(&t.description));
        }
        doc.region("task", Some(attrs), &content);
    }
}

fn lessons(doc: &mut Doc, s: &Sections) {
    if s.lessons_went_well.is_empty()
        && s.lessons_went_wrong.is_empty()
        && s.lessons_lucky.is_empty()
    {
        return;
    }
    doc.line("## Lessons Learned");
    doc.blank();
    for (heading, name, text) in [
        ("### What went well", "went_well", &s.lessons_went_well),
        ("### What went wrong", "went_wrong", &s.lessons_went_wrong),
        ("### Where we got lucky", "lucky", &s.lessons_lucky),
    ] {
        if !text.is_empty() {
            doc.line(heading);
            doc.blank();
            doc.region(name, None, text);
        }
    }
}

fn default_layout(doc: &mut Doc, r: &Record, s: &Sections) {
    let i = &r.incident;
    doc.line(&format!("# Postmortem: {}", i.title));
    doc.blank();
    doc.line("## Issue Summary");
    doc.blank();
    doc.line(&duration_line(r, doc.zone));
    doc.blank();
    impact(doc, r, true);
    doc.prose("summary", &s.summary, "");
    timeline(doc, r, "## Timeline");
    escalations(doc, r);
    doc.line("## Root Cause and Resolution");
    doc.blank();
    doc.line("### Root Cause");
    doc.blank();
    causes(doc, r, |_| true, "_Not identified yet._");
    doc.line("### Resolution");
    doc.blank();
    doc.prose("resolution", &s.resolution, "_Not written yet._");
    doc.line("## Corrective and Preventative Measures");
    doc.blank();
    doc.line("### Improvements/Fixes");
    doc.blank();
    doc.prose("improvements", &s.improvements, "_Not written yet._");
    doc.line("### Tasks");
    doc.blank();
    tasks(doc, r);
    lessons(doc, s);
    doc.line("## Conclusion");
    doc.blank();
    doc.prose("conclusion", &s.conclusion, "_Not written yet._");
}

/// A table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn sre_layout(doc: &mut Doc, r: &Record, s: &Sections) {
    let i = &r.incident;
    doc.line(&format!("# Postmortem: {}", i.title));
    doc.blank();
    doc.line(&format!(
        "**Status:** {} · **Severity:** {} · **Review:** {}",
        i.status,
        i.severity,
        r.review_state.label()
    ));
    doc.blank();
    doc.line("## Summary");
    doc.blank();
    doc.line(&duration_line(r, doc.zone));
    doc.blank();
    doc.prose("summary", &s.summary, "_Not written yet._");
    doc.line("## Impact");
    doc.blank();
    impact(doc, r, false);
    doc.line("## Root Causes");
    doc.blank();
    let is_trigger = |c: &CauseFields| c.kind == CauseKind::Trigger;
    causes(doc, r, |c| !is_trigger(c), "_Not identified yet._");
    doc.line("## Trigger");
    doc.blank();
    causes(doc, r, is_trigger, "_Not recorded._");
    doc.line("## Resolution");
    doc.blank();
    doc.prose("resolution", &s.resolution, "_Not written yet._");
    doc.line("## Detection");
    doc.blank();
    if let Some(ttd) = i.durations().detect {
        doc.line(&format!("Detected {ttd} after the start."));
        doc.blank();
    }
    for e in r
        .entries
        .iter()
        .filter(|e| e.entry.kind == EntryKind::Detection)
    {
        doc.line(&e.entry.body);
        doc.blank();
    }
    escalations(doc, r);
    doc.line("## Action Items");
    doc.blank();
    doc.prose("improvements", &s.improvements, "");
    if r.tasks.is_empty() {
        doc.line("_None yet._");
    } else {
        doc.line("| Action item | Type | Priority | Owner | Status | Due | Ticket |");
        doc.line("|---|---|---|---|---|---|---|");
        for t in &r.tasks {
            let owner = match (&t.owner, t.team.is_empty()) {
                (Some(o), false) => format!("{o} ({})", t.team),
                (Some(o), true) => o.clone(),
                (None, false) => t.team.clone(),
                (None, true) => String::new(),
            };
            let link = if t.external_url.is_empty() {
                String::new()
            } else {
                format!("[link](<{}>)", t.external_url)
            };
            doc.line(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&t.title),
                t.kind,
                t.priority,
                cell(&owner),
                t.status.label(),
                t.due_on.map(|d| d.to_string()).unwrap_or_default(),
                link
            ));
        }
        doc.blank();
        // A table row cannot hold a marker region: each task's fields follow as an empty,
        // invisible one (title and description included), so this layout imports whole.
        for t in &r.tasks {
            let mut attrs = task_attrs(t);
            attrs["title"] = json!(t.title);
            attrs["description"] = json!(t.description);
            doc.region("task", Some(attrs), "");
        }
    }
    doc.blank();
    doc.line("## Lessons Learned");
    doc.blank();
    for (heading, name, text) in [
        ("### What went well", "went_well", &s.lessons_went_well),
        ("### What went wrong", "went_wrong", &s.lessons_went_wrong),
        ("### Where we got lucky", "lucky", &s.lessons_lucky),
    ] {
        doc.line(heading);
        doc.blank();
        doc.prose(name, text, "_Not written yet._");
    }
    timeline(doc, r, "## Timeline");
    doc.line("## Conclusion");
    doc.blank();
    doc.prose("conclusion", &s.conclusion, "_Not written yet._");
}
