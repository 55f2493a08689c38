//! Reading a postmortem into a new incident: hindsight's own export (lossless, read
//! through its region markers) and the seed's plain layout or free-form Markdown (blocks
//! found with pulldown-cmark, then read line by line: section titles, `Label:` paragraphs,
//! lines that start with a time, task lines). [`parse`] is pure; [`store`] writes
//! everything in one transaction.

use std::sync::OnceLock;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use regex::Regex;
use serde_json::Value;

use super::export::{cause_prefix, entry_prefix, escalation_prefix, task_suffix};
use super::{ReviewState, Sections};
use crate::audit::{self, Actor};
use crate::auth::users;
use crate::db::schema::{escalations, tasks, timeline_entries};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::escalations::{Escalation, EscalationState, EscalationView};
use crate::incidents::service::{CreateOptions, IncidentFields};
use crate::incidents::{Incident, Severity, Status};
use crate::root_causes::{CauseCategory, CauseFields, CauseKind, RootCause};
use crate::tasks::service::TaskInput;
use crate::tasks::TaskStatus;
use crate::time::{now, parse_rfc3339};
use crate::timeline::EntryKind;

/// Documents larger than this are refused (413).
pub const MAX_BYTES: usize = crate::limits::IMPORT_BYTES;

#[derive(Clone, Debug, PartialEq)]
pub struct ImportedEntry {
    pub occurred_at: NaiveDateTime,
    pub time_known: bool,
    pub kind: EntryKind,
    pub body: String,
    pub author: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImportedEscalation {
    pub target: String,
    pub reason: String,
    pub state: EscalationState,
    pub escalated_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub responded_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug)]
pub struct ImportedTask {
    pub input: TaskInput,
    pub completed_at: Option<NaiveDateTime>,
}

/// A parsed document, not yet stored.
#[derive(Clone, Debug)]
pub struct Imported {
    pub fields: IncidentFields,
    pub commander: Option<String>,
    pub entries: Vec<ImportedEntry>,
    pub escalations: Vec<ImportedEscalation>,
    pub causes: Vec<CauseFields>,
    pub tasks: Vec<ImportedTask>,
    pub sections: Sections,
    pub review_state: ReviewState,
}

fn bad(line: usize, expected: impl std::fmt::Display) -> AppError {
    AppError::invalid("document", format!("line {line}: expected {expected}"))
}

/// Reads a document of either kind.
pub fn parse(text: &str) -> Result<Imported, AppError> {
    check_size(text.len())?;
    parse_unbounded(text)
}

/// Refuses a document (or an upload, all its parts counted) of more than [`MAX_BYTES`].
pub fn check_size(bytes: usize) -> Result<(), AppError> {
    if bytes > MAX_BYTES {
        return Err(AppError::PayloadTooLarge(format!(
            "A postmortem may be at most {}.",
            crate::limits::describe(MAX_BYTES)
        )));
    }
    Ok(())
}

/// [`parse`] after its size check.
fn parse_unbounded(text: &str) -> Result<Imported, AppError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(bad(1, "a postmortem, found an empty document"));
    }
    match own_format_tag(text) {
        Some(tag) => parse_own(text, &tag),
        None => parse_plain(text),
    }
}

// ---------------------------------------------------------------------------------------
// hindsight's own export

/// The marker tag when the text is a hindsight export (front matter `format: "hindsight/1 TAG"`).
fn own_format_tag(text: &str) -> Option<String> {
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

struct Region {
    line: usize,
    name: String,
    attrs: Value,
    content: String,
}

fn parse_own(text: &str, tag: &str) -> Result<Imported, AppError> {
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

fn str_of<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

fn time_of(v: &Value, name: &str, line: usize) -> Result<Option<NaiveDateTime>, AppError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_rfc3339(s)
            .map(Some)
            .ok_or_else(|| bad(line, format!("an RFC 3339 time for `{name}`"))),
        Some(_) => Err(bad(line, format!("a time string for `{name}`"))),
    }
}

fn strip_any<'a>(content: &'a str, prefixes: &[String]) -> &'a str {
    prefixes
        .iter()
        .find_map(|p| content.strip_prefix(p.as_str()))
        .unwrap_or(content)
}

fn build_own(
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
    let review_state: ReviewState = str_of(&fm, "review_state")
        .unwrap_or("draft")
        .parse()
        .map_err(|e| bad(2, format!("review_state {e}")))?;
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
    let mut out = Imported {
        fields: IncidentFields {
            title,
            severity,
            status,
            impact: String::new(),
            users_affected_pct: fm.get("users_affected_pct").and_then(Value::as_f64),
            services,
            commander_id: None,
            started_at,
            detected_at: time_of(&fm, "detected_at", 2)?,
            acknowledged_at: time_of(&fm, "acknowledged_at", 2)?,
            mitigated_at: time_of(&fm, "mitigated_at", 2)?,
            resolved_at: time_of(&fm, "resolved_at", 2)?,
        },
        commander: str_of(&fm, "commander").map(str::to_string),
        entries: vec![],
        escalations: vec![],
        causes: vec![],
        tasks: vec![],
        sections: Sections::default(),
        review_state,
    };
    for r in regions {
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
            "entry" => {
                let at = time_of(a, "at", r.line)?
                    .ok_or_else(|| bad(r.line, "`at` in the entry marker"))?;
                let known = a.get("known").and_then(Value::as_bool).unwrap_or(true);
                let kind: EntryKind = str_of(a, "kind")
                    .unwrap_or("note")
                    .parse()
                    .map_err(|e| bad(r.line, format!("entry kind {e}")))?;
                let times = [
                    Some(at.format("%H:%M").to_string()),
                    Some(at.format("%Y-%m-%d %H:%M").to_string()),
                ];
                let candidates: Vec<String> = if known {
                    times
                        .iter()
                        .flat_map(|t| prefixes(t.as_deref(), kind))
                        .collect()
                } else {
                    prefixes(None, kind)
                };
                out.entries.push(ImportedEntry {
                    occurred_at: at,
                    time_known: known,
                    kind,
                    body: strip_any(&r.content, &candidates).to_string(),
                    author: str_of(a, "author").map(str::to_string),
                });
            }
            "escalation" => {
                let target = str_of(a, "target")
                    .ok_or_else(|| bad(r.line, "`target` in the escalation marker"))?
                    .to_string();
                let state: EscalationState = str_of(a, "state")
                    .unwrap_or("pending")
                    .parse()
                    .map_err(|e| bad(r.line, format!("escalation state {e}")))?;
                let escalated_at = time_of(a, "escalated_at", r.line)?
                    .ok_or_else(|| bad(r.line, "`escalated_at` in the escalation marker"))?;
                let acknowledged_at = time_of(a, "acknowledged_at", r.line)?;
                let mut candidates = Vec::new();
                for reason in ["x", ""] {
                    let view =
                        escalation_view(&target, state, escalated_at, acknowledged_at, reason);
                    candidates.extend([false, true].iter().map(|d| escalation_prefix(&view, *d)));
                }
                let reason = strip_any(&r.content, &candidates);
                out.escalations.push(ImportedEscalation {
                    reason: reason.to_string(),
                    target,
                    state,
                    escalated_at,
                    acknowledged_at,
                    responded_at: time_of(a, "responded_at", r.line)?,
                });
            }
            "cause" => {
                let kind: CauseKind = str_of(a, "kind")
                    .unwrap_or("primary")
                    .parse()
                    .map_err(|e| bad(r.line, format!("cause kind {e}")))?;
                let category: CauseCategory = str_of(a, "category")
                    .unwrap_or("unknown")
                    .parse()
                    .map_err(|e| bad(r.line, format!("category {e}")))?;
                let probe = RootCause {
                    id: 0,
                    incident_id: 0,
                    kind,
                    category,
                    description: String::new(),
                    description_html: String::new(),
                    created_by: None,
                    created_at: started_at,
                    updated_at: started_at,
                };
                let description = r
                    .content
                    .strip_prefix(&cause_prefix(&probe))
                    .unwrap_or(&r.content)
                    .to_string();
                out.causes.push(CauseFields {
                    kind,
                    category,
                    description,
                });
            }
            "task" => out.tasks.push(own_task(a, &r)?),
            _ => {}
        }
    }
    Ok(out)
}

fn prefixes(time: Option<&str>, kind: EntryKind) -> Vec<String> {
    // Both forms: inline (body starts with text) and block (label on its own line).
    vec![entry_prefix(time, kind, "x"), entry_prefix(time, kind, "#")]
}

fn escalation_view(
    target: &str,
    state: EscalationState,
    at: NaiveDateTime,
    ack: Option<NaiveDateTime>,
    reason: &str,
) -> EscalationView {
    EscalationView {
        escalation: Escalation {
            id: 0,
            incident_id: 0,
            target: target.to_string(),
            reason: reason.into(),
            state,
            escalated_at: at,
            acknowledged_at: ack,
            responded_at: None,
            responded_by: None,
            escalated_by: None,
            created_at: at,
            updated_at: at,
            version: 1,
        },
        escalated_by: None,
        responded_by: None,
    }
}

fn own_task(a: &Value, r: &Region) -> Result<ImportedTask, AppError> {
    let status: TaskStatus = str_of(a, "status")
        .unwrap_or("open")
        .parse()
        .map_err(|e| bad(r.line, format!("task status {e}")))?;
    let owner = str_of(a, "owner").map(str::to_string);
    let team = str_of(a, "team").unwrap_or("").to_string();
    let due = str_of(a, "due_on").map(str::to_string);
    let link = str_of(a, "external_url").unwrap_or("").to_string();
    let (first, rest) = r.content.split_once('\n').unwrap_or((&r.content, ""));
    let first = first
        .strip_prefix("- [ ] ")
        .or_else(|| first.strip_prefix("- [x] "))
        .unwrap_or(first);
    let title = first
        .strip_suffix(&task_suffix(
            owner.as_deref(),
            &team,
            due.as_deref(),
            status,
            &link,
        ))
        .unwrap_or(first);
    let rest = rest.strip_prefix('\n').unwrap_or(rest);
    let description = rest
        .split('\n')
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(ImportedTask {
        input: TaskInput {
            title: title.to_string(),
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
    })
}

// ---------------------------------------------------------------------------------------
// The seed's plain layout and free-form Markdown

#[derive(Clone, Debug, PartialEq)]
enum Unit {
    /// A `#` heading.
    Heading(usize, String),
    /// One source line of a paragraph, list item or code block.
    Line(usize, String),
    /// A boundary between blocks (a blank line in the source).
    Break,
}

/// The document's blocks as lines, found with a Markdown parser so that headings, lists
/// and code blocks are recognised as Markdown defines them.
fn units(text: &str) -> Vec<Unit> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset);
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut item_depth = 0usize;
    for (event, range) in
        Parser::new_ext(text, Options::ENABLE_TASKLISTS | Options::ENABLE_TABLES).into_offset_iter()
    {
        match event {
            Event::Start(Tag::Heading { .. }) if depth == 0 => {
                let raw = &text[range.clone()];
                let title = raw
                    .trim()
                    .trim_start_matches('#')
                    .trim_end_matches('#')
                    .trim();
                let title = title
                    .lines()
                    .next()
                    .unwrap_or(title)
                    .trim_end_matches(['=', '-'])
                    .trim();
                out.push(Unit::Break);
                out.push(Unit::Heading(line_of(range.start), title.to_string()));
                depth += 1;
            }
            Event::Start(Tag::Item) => {
                item_depth += 1;
                if item_depth == 1 && depth == 1 {
                    let raw = &text[range.clone()];
                    for (n, l) in raw.trim_end().split('\n').enumerate() {
                        out.push(Unit::Line(
                            line_of(range.start) + n,
                            l.trim_end_matches('\r').to_string(),
                        ));
                    }
                }
                depth += 1;
            }
            Event::Start(tag) => {
                if depth == 0 {
                    out.push(Unit::Break);
                    let raw = &text[range.clone()];
                    let keep = !matches!(tag, Tag::List(_));
                    if keep {
                        for (n, l) in raw.trim_end().split('\n').enumerate() {
                            out.push(Unit::Line(
                                line_of(range.start) + n,
                                l.trim_end_matches('\r').to_string(),
                            ));
                        }
                    }
                }
                depth += 1;
            }
            Event::End(TagEnd::Item) => {
                item_depth = item_depth.saturating_sub(1);
                depth = depth.saturating_sub(1);
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Html(html) if depth == 0 => {
                out.push(Unit::Break);
                for (n, l) in html.trim_end().split('\n').enumerate() {
                    out.push(Unit::Line(
                        line_of(range.start) + n,
                        l.trim_end_matches('\r').to_string(),
                    ));
                }
            }
            Event::Rule => out.push(Unit::Break),
            _ => {}
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Preamble,
    Summary,
    Timeline,
    RootCause,
    Measures,
    Tasks,
    Lessons,
    Conclusion,
}

/// Normalises a label or title: lowercase, no `#`, `*`, `_` or trailing colon.
fn norm(s: &str) -> String {
    s.trim()
        .trim_start_matches('#')
        .trim_matches(|c| c == '*' || c == '_')
        .trim()
        .trim_end_matches(':')
        .trim_matches(|c| c == '*' || c == '_')
        .trim()
        .to_lowercase()
}

fn section_of(title: &str) -> Option<Section> {
    Some(match norm(title).as_str() {
        "postmortem"
        | "post-mortem"
        | "post mortem"
        | "incident postmortem"
        | "incident report" => Section::Preamble,
        "issue summary" | "summary" | "incident summary" | "overview" | "impact" => {
            Section::Summary
        }
        "timeline" | "timeline of events" | "incident timeline" => Section::Timeline,
        "root cause and resolution"
        | "root causes"
        | "root cause"
        | "root cause analysis"
        | "resolution" => Section::RootCause,
        "corrective and preventative measures"
        | "corrective and preventive measures"
        | "corrective actions"
        | "preventative measures"
        | "preventive measures"
        | "improvements/fixes"
        | "improvements" => Section::Measures,
        "tasks to address the issue"
        | "tasks"
        | "action items"
        | "follow-up tasks"
        | "follow-up items" => Section::Tasks,
        "lessons learned" | "lessons" | "what went well" | "what went wrong"
        | "where we got lucky" => Section::Lessons,
        "conclusion" | "conclusions" => Section::Conclusion,
        _ => return None,
    })
}

/// Which field a `Label:` paragraph fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Title,
    Severity,
    Services,
    Duration,
    Impact,
    Summary,
    Entry(EntryKind),
    Cause(CauseKind),
    Resolution,
    Improvements,
    WentWell,
    WentWrong,
    Lucky,
    Conclusion,
}

fn field_of(label: &str, section: Section) -> Option<Field> {
    let l = norm(label);
    // Entry kinds only inside the timeline: a "Note:" in the conclusion stays prose.
    let kind = |k| (section == Section::Timeline).then_some(Field::Entry(k));
    match l.as_str() {
        "title" | "incident" | "postmortem" | "post-mortem" | "incident postmortem" => {
            Some(Field::Title)
        }
        "severity" | "sev" => Some(Field::Severity),
        "services" | "service" | "affected services" | "systems affected" => Some(Field::Services),
        "duration" => Some(Field::Duration),
        "impact" | "customer impact" | "user impact" => Some(Field::Impact),
        "summary" => Some(Field::Summary),
        "root cause" | "primary cause" | "primary root cause" | "cause" => {
            Some(Field::Cause(CauseKind::Primary))
        }
        "contributing cause"
        | "contributing causes"
        | "contributing factor"
        | "contributing factors"
        | "trigger" => Some(Field::Cause(CauseKind::Contributing)),
        "resolution" | "fix" if section != Section::Timeline => Some(Field::Resolution),
        "improvements/fixes" | "improvements" | "fixes" | "preventative measures" => {
            Some(Field::Improvements)
        }
        "what went well" | "went well" => Some(Field::WentWell),
        "what went wrong" | "went wrong" => Some(Field::WentWrong),
        "where we got lucky" | "got lucky" | "lucky" => Some(Field::Lucky),
        "conclusion" => Some(Field::Conclusion),
        "detection" | "detected" => kind(EntryKind::Detection),
        "actions taken" | "action" | "actions" | "action taken" => kind(EntryKind::Action),
        "investigation" | "investigation steps" => kind(EntryKind::Investigation),
        "misleading investigation/debugging paths"
        | "misleading investigation paths"
        | "misleading paths"
        | "misleading path"
        | "misleading"
        | "dead ends"
        | "dead end" => kind(EntryKind::Misleading),
        "escalation" | "escalations" => kind(EntryKind::Escalation),
        "communication" | "communications" | "comms" => kind(EntryKind::Communication),
        "mitigation" => kind(EntryKind::Mitigation),
        "resolution" => kind(EntryKind::Resolution),
        "note" | "notes" => kind(EntryKind::Note),
        "status change" | "status" => kind(EntryKind::StatusChange),
        _ => None,
    }
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| {
        Regex::new(pattern).unwrap_or_else(|e| panic!("built-in pattern {pattern}: {e}"))
    })
}

static TIMED: OnceLock<Regex> = OnceLock::new();
static TIME: OnceLock<Regex> = OnceLock::new();
static DATE: OnceLock<Regex> = OnceLock::new();
static PCT: OnceLock<Regex> = OnceLock::new();
static LIST: OnceLock<Regex> = OnceLock::new();
static LABEL: OnceLock<Regex> = OnceLock::new();

/// A line that starts with a time: `10:00 AM: …`, `14:05 - …`, `2023-06-07 10:00 UTC: …`,
/// `**10:00** …`, `[10:00] …`.
fn timed_line(line: &str) -> Option<regex::Captures<'_>> {
    regex(
        &TIMED,
        r"(?i)^[\[\(*]*(?:(\d{4}-\d{2}-\d{2})[ T])?(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?\s*(?:utc|z|gmt)?[\]\)*]*\s*(?:[:\-–—|]\s*|\s+)(.*)$",
    )
    .captures(line)
}

fn clock(h: &str, m: &str, ampm: Option<&str>, line: usize) -> Result<NaiveTime, AppError> {
    let (mut h, m): (u32, u32) = (h.parse().unwrap_or(99), m.parse().unwrap_or(99));
    if let Some(p) = ampm {
        if !(1..=12).contains(&h) {
            return Err(bad(line, format!("a 12-hour time (1–12) before {p}")));
        }
        let pm = p.to_lowercase().starts_with('p');
        h = match (h, pm) {
            (12, false) => 0,
            (12, true) => 12,
            (h, true) => h + 12,
            (h, false) => h,
        };
    }
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(|| bad(line, "a time such as 10:00 AM or 14:05"))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// All dates in a text, in order: `June 7, 2023`, `7 June 2023`, `2023-06-07`.
fn dates(text: &str) -> Vec<(usize, NaiveDate)> {
    let re = regex(
        &DATE,
        r"(?i)\b(?:(\d{4})-(\d{2})-(\d{2})|(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})|(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+(\d{4}))\b",
    );
    re.captures_iter(text)
        .filter_map(|c| {
            let at = c.get(0)?.start();
            let month = |m: &str| {
                MONTHS
                    .iter()
                    .position(|x| m.to_lowercase().starts_with(x))
                    .map(|i| i as u32 + 1)
            };
            let date = if let Some(y) = c.get(1) {
                NaiveDate::from_ymd_opt(
                    y.as_str().parse().ok()?,
                    c[2].parse().ok()?,
                    c[3].parse().ok()?,
                )
            } else if let Some(m) = c.get(4) {
                NaiveDate::from_ymd_opt(c[6].parse().ok()?, month(m.as_str())?, c[5].parse().ok()?)
            } else {
                NaiveDate::from_ymd_opt(c[9].parse().ok()?, month(&c[8])?, c[7].parse().ok()?)
            };
            date.map(|d| (at, d))
        })
        .collect()
}

/// All clock times in a text, in order.
fn times(text: &str, line: usize) -> Result<Vec<(usize, NaiveTime)>, AppError> {
    let re = regex(
        &TIME,
        r"(?i)\b(\d{1,2}):(\d{2})(?::\d{2})?(?:\s*([ap]\.?m\.?)(?:[^a-z]|$))?",
    );
    re.captures_iter(text)
        .map(|c| {
            Ok((
                c.get(0).map(|m| m.start()).unwrap_or(0),
                clock(&c[1], &c[2], c.get(3).map(|m| m.as_str()), line)?,
            ))
        })
        .collect()
}

/// `from 10:00 AM to 2:00 PM (UTC) on June 7, 2023`, and multi-day forms.
fn duration(text: &str, line: usize) -> Result<(NaiveDateTime, Option<NaiveDateTime>), AppError> {
    let ds = dates(text);
    let ts = times(text, line)?;
    let expected = "a duration like `from 10:00 AM to 2:00 PM (UTC) on June 7, 2023`";
    if ts.is_empty() || ds.is_empty() {
        return Err(bad(line, expected));
    }
    let date_for = |i: usize| {
        if ds.len() >= 2 {
            ds[i.min(ds.len() - 1)].1
        } else {
            ds[0].1
        }
    };
    let start = date_for(0).and_time(ts[0].1);
    let end = ts.get(1).map(|(_, t)| {
        let e = date_for(1).and_time(*t);
        if e < start {
            e + Duration::days(1)
        } else {
            e
        }
    });
    Ok((start, end))
}

fn category_of(text: &str) -> CauseCategory {
    let t = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&[
        "misconfigur",
        "configuration",
        "config ",
        "parameter",
        "setting",
    ]) {
        CauseCategory::Configuration
    } else if has(&[
        "deploy",
        "release",
        "rollout",
        "roll-out",
        "update",
        "migration",
        "change",
    ]) {
        CauseCategory::Change
    } else if has(&[
        "capacity",
        "load",
        "traffic",
        "memory",
        "disk space",
        "exhaust",
        "saturat",
    ]) {
        CauseCategory::Capacity
    } else if has(&[
        "third-party",
        "third party",
        "dependency",
        "vendor",
        "provider",
        "upstream",
        "network partition",
        "dns",
    ]) {
        CauseCategory::Dependency
    } else if has(&[
        "hardware",
        "power",
        "disk failure",
        "network card",
        "host failure",
    ]) {
        CauseCategory::Hardware
    } else if has(&["process", "procedure", "runbook", "human error"]) {
        CauseCategory::Process
    } else if has(&["bug", "software", "code", "regression"]) {
        CauseCategory::Software
    } else {
        CauseCategory::Unknown
    }
}

/// The kind a timed line most likely records, from its wording (default: action).
fn entry_kind_of(text: &str) -> EntryKind {
    let t = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&[
        "detect",
        "alarm",
        "alert fired",
        "alert indicating",
        "triggered an alert",
        "noticed",
        "check failed",
        "reported by",
    ]) {
        EntryKind::Detection
    } else if has(&["escalat", "paged"]) {
        EntryKind::Escalation
    } else if has(&[
        "resolved",
        "restored",
        "back to normal",
        "back to baseline",
        "recovered",
        "fully operational",
    ]) {
        EntryKind::Resolution
    } else if has(&[
        "mitigat",
        "rolled back",
        "rollback",
        "reverted",
        "disabled",
        "workaround",
        "failed over",
    ]) {
        EntryKind::Mitigation
    } else if has(&[
        "status page",
        "customers were informed",
        "announced",
        "notified",
    ]) {
        EntryKind::Communication
    } else {
        EntryKind::Action
    }
}

/// Strips list markers and task checkboxes; `Some(true)` when checked.
fn list_item(line: &str) -> (&str, Option<bool>) {
    let re = regex(&LIST, r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[([ xX])\]\s+)?");
    match re.captures(line) {
        Some(c) => (
            &line[c.get(0).map(|m| m.end()).unwrap_or(0)..],
            c.get(1).map(|m| m.as_str() != " "),
        ),
        None => (line, None),
    }
}

/// `Label: rest` with a short label (at most six words, no sentence punctuation).
fn labelled(line: &str) -> Option<(&str, &str)> {
    let re = regex(
        &LABEL,
        r"^\s*(?:\*\*|__)?([A-Za-z][A-Za-z /&\-']{0,60}?)(?::\*\*|:__|\*\*:|__:|:)(?:\s+|$)(.*)$",
    );
    let c = re.captures(line)?;
    let label = c.get(1)?.as_str();
    if label.split_whitespace().count() > 6 {
        return None;
    }
    Some((label, c.get(2).map(|m| m.as_str()).unwrap_or("")))
}

/// Text accumulated line by line; a block break starts a new paragraph.
#[derive(Default)]
struct Buf {
    text: String,
    paragraph_pending: bool,
}

impl Buf {
    fn push(&mut self, line: &str) {
        if !self.text.is_empty() {
            self.text
                .push_str(if self.paragraph_pending { "\n\n" } else { "\n" });
        }
        self.text.push_str(line);
        self.paragraph_pending = false;
    }
}

struct Plain {
    title: Option<String>,
    severity: Option<Severity>,
    services: Vec<String>,
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
    pct: Option<f64>,
    impact: Buf,
    summary: Buf,
    entries: Vec<(ImportedEntry, Buf)>,
    causes: Vec<(CauseKind, Buf)>,
    resolution: Buf,
    improvements: Buf,
    tasks: Vec<(String, bool)>,
    went_well: Buf,
    went_wrong: Buf,
    lucky: Buf,
    conclusion: Buf,
    recognised: bool,
}

/// Where continuation lines go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    None,
    Impact,
    Summary,
    Entry,
    Cause,
    Resolution,
    Improvements,
    WentWell,
    WentWrong,
    Lucky,
    Conclusion,
}

fn parse_plain(text: &str) -> Result<Imported, AppError> {
    let mut p = Plain {
        title: None,
        severity: None,
        services: vec![],
        start: None,
        end: None,
        pct: None,
        impact: Buf::default(),
        summary: Buf::default(),
        entries: vec![],
        causes: vec![],
        resolution: Buf::default(),
        improvements: Buf::default(),
        tasks: vec![],
        went_well: Buf::default(),
        went_wrong: Buf::default(),
        lucky: Buf::default(),
        conclusion: Buf::default(),
        recognised: false,
    };
    let mut section = Section::Preamble;
    let mut target = Target::None;
    // The last absolute time seen in the timeline, for times without a date.
    let mut clock_at: Option<NaiveDateTime> = None;
    let mut pending_timed: Vec<(usize, NaiveTime, Option<NaiveDate>, usize)> = Vec::new();
    let mut first_line = 0usize;
    for unit in units(text) {
        let (line_no, raw) = match unit {
            Unit::Break => {
                for b in bufs(&mut p, target) {
                    b.paragraph_pending = true;
                }
                continue;
            }
            Unit::Heading(n, title) => {
                if let Some(s) = section_of(&title) {
                    section = s;
                    p.recognised = true;
                    target = heading_target(&title, s);
                } else if let Some(rest) = title
                    .to_lowercase()
                    .strip_prefix("postmortem:")
                    .map(|_| title[11..].trim().to_string())
                {
                    p.title = Some(rest);
                    p.recognised = true;
                } else if p.title.is_none() && section == Section::Preamble {
                    p.title = Some(title.clone());
                } else {
                    // An unknown heading: keep its text where we are.
                    if let Some(b) = bufs(&mut p, target).into_iter().next() {
                        b.push(&title);
                    }
                }
                if first_line == 0 {
                    first_line = n;
                }
                continue;
            }
            Unit::Line(n, l) => (n, l),
        };
        if first_line == 0 {
            first_line = line_no;
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        // A section title on its own line (with or without a colon).
        if let Some(s) = section_of(trimmed)
            .filter(|_| labelled(trimmed).is_none_or(|(_, rest)| rest.is_empty()))
        {
            let is_label_only =
                trimmed.ends_with(':') || !trimmed.contains(' ') || section_of(trimmed).is_some();
            if is_label_only {
                section = s;
                p.recognised = true;
                target = heading_target(trimmed, s);
                continue;
            }
        }
        let (item, checked) = list_item(trimmed);
        match section {
            Section::Tasks => {
                if let Some((label, rest)) = labelled(item) {
                    if rest.is_empty() && section_of(label).is_some() {
                        continue;
                    }
                }
                p.tasks.push((item.to_string(), checked.unwrap_or(false)));
                continue;
            }
            Section::Timeline => {
                if let Some(c) = timed_line(item) {
                    let time = clock(&c[2], &c[3], c.get(5).map(|m| m.as_str()), line_no)?;
                    let date = c
                        .get(1)
                        .and_then(|d| NaiveDate::parse_from_str(d.as_str(), "%Y-%m-%d").ok());
                    let body = c.get(6).map(|m| m.as_str()).unwrap_or("").to_string();
                    let kind = entry_kind_of(&body);
                    pending_timed.push((p.entries.len(), time, date, line_no));
                    let mut buf = Buf::default();
                    buf.push(&body);
                    let at = clock_at.unwrap_or_default();
                    p.entries.push((
                        ImportedEntry {
                            occurred_at: at,
                            time_known: true,
                            kind,
                            body: String::new(),
                            author: None,
                        },
                        buf,
                    ));
                    target = Target::Entry;
                    p.recognised = true;
                    // Resolve the absolute time now, so later untimed entries follow it.
                    let day = date
                        .or_else(|| clock_at.map(|c| c.date()))
                        .or_else(|| p.start.map(|s| s.date()));
                    if let Some(day) = day {
                        let mut t = day.and_time(time);
                        if date.is_none() {
                            if let Some(prev) = clock_at {
                                if t < prev {
                                    t += Duration::days(1);
                                }
                            }
                        }
                        clock_at = Some(t);
                        if let Some(last) = p.entries.last_mut() {
                            last.0.occurred_at = t;
                        }
                        pending_timed.pop();
                    }
                    continue;
                }
            }
            _ => {}
        }
        if let Some((label, rest)) = labelled(item) {
            if let Some(field) = field_of(label, section) {
                p.recognised = true;
                target = apply_field(&mut p, field, rest, line_no, clock_at)?;
                if section == Section::Measures && field == Field::Improvements && rest.is_empty() {
                    target = Target::Improvements;
                }
                continue;
            }
        }
        // A continuation line, or free text where nothing is open.
        match (section, target) {
            (Section::Measures, Target::Improvements) if !p.improvements.text.is_empty() => {
                let line = if trimmed.starts_with(['-', '*', '+']) {
                    trimmed.to_string()
                } else {
                    format!("- {item}")
                };
                // The measures become one tight list after the intro paragraph.
                let in_list =
                    p.improvements.text.contains("\n- ") || p.improvements.text.starts_with("- ");
                p.improvements.paragraph_pending = !in_list;
                p.improvements.push(&line);
            }
            (_, Target::None) => match section {
                Section::Timeline => {
                    let at = clock_at.or(p.start).unwrap_or_default();
                    let mut buf = Buf::default();
                    buf.push(item);
                    p.entries.push((
                        ImportedEntry {
                            occurred_at: at,
                            time_known: false,
                            kind: EntryKind::Note,
                            body: String::new(),
                            author: None,
                        },
                        buf,
                    ));
                    target = Target::Entry;
                }
                Section::Conclusion => {
                    p.conclusion.push(trimmed);
                    target = Target::Conclusion;
                }
                Section::RootCause => {
                    let mut buf = Buf::default();
                    buf.push(trimmed);
                    p.causes.push((
                        if p.causes.is_empty() {
                            CauseKind::Primary
                        } else {
                            CauseKind::Contributing
                        },
                        buf,
                    ));
                    target = Target::Cause;
                }
                Section::Measures => {
                    p.improvements.push(trimmed);
                    target = Target::Improvements;
                }
                Section::Lessons => {
                    p.went_wrong.push(trimmed);
                    target = Target::WentWrong;
                }
                Section::Preamble if p.title.is_none() && !p.recognised => {
                    p.title = Some(trimmed.trim_start_matches('#').trim().to_string());
                }
                _ => {
                    p.summary.push(trimmed);
                    target = Target::Summary;
                }
            },
            _ => {
                if let Some(b) = bufs(&mut p, target).into_iter().next() {
                    b.push(trimmed);
                }
            }
        }
    }
    if !p.recognised {
        return Err(bad(first_line.max(1), "a postmortem section title such as `Issue Summary`, `Timeline` or `Root Cause and Resolution`"));
    }
    finish(p, pending_timed)
}

/// The buffer continuation lines go to.
fn bufs(p: &mut Plain, target: Target) -> Vec<&mut Buf> {
    match target {
        Target::None => vec![],
        Target::Impact => vec![&mut p.impact],
        Target::Summary => vec![&mut p.summary],
        Target::Entry => p
            .entries
            .last_mut()
            .map(|e| vec![&mut e.1])
            .unwrap_or_default(),
        Target::Cause => p
            .causes
            .last_mut()
            .map(|c| vec![&mut c.1])
            .unwrap_or_default(),
        Target::Resolution => vec![&mut p.resolution],
        Target::Improvements => vec![&mut p.improvements],
        Target::WentWell => vec![&mut p.went_well],
        Target::WentWrong => vec![&mut p.went_wrong],
        Target::Lucky => vec![&mut p.lucky],
        Target::Conclusion => vec![&mut p.conclusion],
    }
}

fn heading_target(title: &str, section: Section) -> Target {
    match (norm(title).as_str(), section) {
        ("resolution", _) => Target::Resolution,
        ("what went well", _) => Target::WentWell,
        ("what went wrong", _) => Target::WentWrong,
        ("where we got lucky", _) => Target::Lucky,
        ("improvements/fixes" | "improvements", _) => Target::Improvements,
        (_, Section::Conclusion) => Target::Conclusion,
        _ => Target::None,
    }
}

fn apply_field(
    p: &mut Plain,
    field: Field,
    rest: &str,
    line: usize,
    clock_at: Option<NaiveDateTime>,
) -> Result<Target, AppError> {
    let rest = rest.trim();
    Ok(match field {
        Field::Title => {
            p.title = Some(rest.to_string());
            Target::None
        }
        Field::Severity => {
            let sev = rest.split_whitespace().next().unwrap_or("").to_uppercase();
            let sev = if sev.starts_with("SEV") {
                sev
            } else {
                format!("SEV{sev}")
            };
            p.severity = Some(
                sev.parse()
                    .map_err(|_| bad(line, "a severity SEV1 to SEV4"))?,
            );
            Target::None
        }
        Field::Services => {
            p.services = rest
                .split(',')
                .map(|s| s.trim().trim_end_matches('.').to_string())
                .filter(|s| !s.is_empty())
                .collect();
            Target::None
        }
        Field::Duration => {
            let (start, end) = duration(rest, line)?;
            p.start = Some(start);
            p.end = end;
            Target::None
        }
        Field::Impact => {
            if let Some(c) = regex(&PCT, r"(?i)(\d{1,3}(?:\.\d+)?)\s*%\s*(?:of\s+)?(?:all\s+|our\s+|the\s+)?(?:users|customers|requests|traffic)").captures(rest) {
                p.pct = c[1].parse().ok().filter(|v: &f64| *v <= 100.0);
            }
            p.impact.push(rest);
            Target::Impact
        }
        Field::Entry(kind) => {
            let at = clock_at.or(p.start).unwrap_or_default();
            let mut buf = Buf::default();
            buf.push(rest);
            p.entries.push((
                ImportedEntry {
                    occurred_at: at,
                    time_known: false,
                    kind,
                    body: String::new(),
                    author: None,
                },
                buf,
            ));
            Target::Entry
        }
        Field::Cause(kind) => {
            let mut buf = Buf::default();
            buf.push(rest);
            p.causes.push((kind, buf));
            Target::Cause
        }
        // Prose fields: the text goes to the buffer its target names.
        Field::Summary
        | Field::Resolution
        | Field::WentWell
        | Field::WentWrong
        | Field::Lucky
        | Field::Conclusion => {
            let target = match field {
                Field::Summary => Target::Summary,
                Field::Resolution => Target::Resolution,
                Field::WentWell => Target::WentWell,
                Field::WentWrong => Target::WentWrong,
                Field::Lucky => Target::Lucky,
                _ => Target::Conclusion,
            };
            if let Some(buf) = bufs(p, target).into_iter().next() {
                buf.push(rest);
            }
            target
        }
        Field::Improvements => {
            if !rest.is_empty() {
                p.improvements.push(rest);
            }
            Target::Improvements
        }
    })
}

fn finish(
    mut p: Plain,
    pending: Vec<(usize, NaiveTime, Option<NaiveDate>, usize)>,
) -> Result<Imported, AppError> {
    // Timed lines seen before any date: place them on the start date.
    if let Some((_, _, _, line)) = pending.first() {
        let day = p.start.map(|s| s.date()).ok_or_else(|| {
            bad(
                *line,
                "a date for this time (a `Duration:` line with a date, or a full timestamp)",
            )
        })?;
        let mut prev: Option<NaiveDateTime> = None;
        for (index, time, _, _) in &pending {
            let mut t = day.and_time(*time);
            if prev.is_some_and(|p| t < p) {
                t += Duration::days(1);
            }
            prev = Some(t);
            p.entries[*index].0.occurred_at = t;
        }
    }
    let start = p
        .start
        .or_else(|| p.entries.iter().filter(|e| e.0.time_known).map(|e| e.0.occurred_at).min())
        .ok_or_else(|| bad(1, "a `Duration:` line such as `Duration: from 10:00 AM to 2:00 PM (UTC) on June 7, 2023`, or timeline lines with full timestamps"))?;
    // Entries without a time sit at the previous known time (or the start).
    let mut last = start;
    let entries: Vec<ImportedEntry> = p
        .entries
        .into_iter()
        .filter(|(_, buf)| !buf.text.trim().is_empty())
        .map(|(mut e, buf)| {
            if e.time_known {
                last = e.occurred_at;
            } else {
                e.occurred_at = last;
            }
            e.body = buf.text;
            e
        })
        .collect();
    let detected_at = entries
        .iter()
        .find(|e| e.kind == EntryKind::Detection && e.time_known)
        .map(|e| e.occurred_at)
        .filter(|d| *d >= start);
    let mitigated_at = entries
        .iter()
        .find(|e| e.kind == EntryKind::Mitigation && e.time_known)
        .map(|e| e.occurred_at)
        .filter(|m| *m >= start && p.end.is_none_or(|end| *m <= end));
    let impact = p.impact.text;
    let title = p
        .title
        .filter(|t| !t.is_empty() && norm(t) != "postmortem")
        .unwrap_or_else(|| derive_title(&impact, start));
    let title: String = title
        .chars()
        .take(crate::incidents::service::TITLE_MAX)
        .collect();
    let causes = p
        .causes
        .into_iter()
        .filter(|(_, b)| !b.text.trim().is_empty())
        .map(|(kind, b)| CauseFields {
            kind,
            category: category_of(&b.text),
            description: b.text,
        })
        .collect();
    let tasks = p
        .tasks
        .into_iter()
        .map(|(line, done)| {
            let (title, description) = if line.chars().count() > crate::tasks::service::TITLE_MAX {
                (
                    line.chars()
                        .take(crate::tasks::service::TITLE_MAX - 1)
                        .collect::<String>()
                        + "…",
                    line.clone(),
                )
            } else {
                (line.clone(), String::new())
            };
            let lower = line.to_lowercase();
            let kind = if lower.contains("monitor") || lower.contains("alert") {
                "detect"
            } else if lower.contains("training") || lower.contains("process") {
                "process"
            } else {
                "prevent"
            };
            ImportedTask {
                input: TaskInput {
                    title,
                    description,
                    kind: kind.into(),
                    priority: "medium".into(),
                    status: if done { "done".into() } else { "open".into() },
                    ..Default::default()
                },
                completed_at: None,
            }
        })
        .collect();
    Ok(Imported {
        fields: IncidentFields {
            title,
            severity: p.severity.unwrap_or(Severity::Sev3),
            status: if p.end.is_some() {
                Status::Resolved
            } else {
                Status::Investigating
            },
            impact,
            users_affected_pct: p.pct,
            services: p.services,
            commander_id: None,
            started_at: start,
            detected_at,
            acknowledged_at: None,
            mitigated_at,
            resolved_at: p.end,
        },
        commander: None,
        entries,
        escalations: vec![],
        causes,
        tasks,
        sections: Sections {
            summary: p.summary.text,
            resolution: p.resolution.text,
            improvements: p.improvements.text,
            lessons_went_well: p.went_well.text,
            lessons_went_wrong: p.went_wrong.text,
            lessons_lucky: p.lucky.text,
            conclusion: p.conclusion.text,
        },
        review_state: ReviewState::Draft,
    })
}

/// A title from the impact's first clause, else from the date.
fn derive_title(impact: &str, start: NaiveDateTime) -> String {
    let clause = impact
        .split(['.', ',', ';', '\n'])
        .next()
        .unwrap_or("")
        .trim();
    if clause.len() >= 8 {
        clause.chars().take(100).collect()
    } else {
        format!("Incident of {}", start.format("%Y-%m-%d"))
    }
}

/// The record a parsed document would become, without storing it (ids are placeholders):
/// for previews, and for checking that export → import → export is a fixpoint.
pub fn preview(imported: &Imported, incident_id: i32) -> super::export::Record {
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
    super::export::Record {
        detail: IncidentDetail {
            incident,
            services: f.services.clone(),
            commander: imported.commander.clone(),
        },
        entries,
        escalations,
        causes,
        tasks,
        postmortem: super::Postmortem {
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

// ---------------------------------------------------------------------------------------
// Storing

/// Checks every entry and renders its Markdown (`None`: blank, skipped), on all cores and
/// before the write transaction: rendering is most of an import's work, and other writers
/// should not wait for it.
fn render_entries(entries: &[ImportedEntry]) -> Result<Vec<Option<String>>, AppError> {
    let max = crate::timeline::service::BODY_MAX;
    if entries
        .iter()
        .any(|e| e.body.trim_end().chars().count() > max)
    {
        return Err(AppError::invalid(
            "document",
            format!("a timeline entry is longer than {max} characters"),
        ));
    }
    let render = |e: &ImportedEntry| {
        let body = e.body.trim_end();
        (!body.trim().is_empty()).then(|| crate::markdown::render(body))
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || entries.len() < 256 {
        return Ok(entries.iter().map(render).collect());
    }
    let per_thread = entries.len().div_ceil(threads);
    Ok(std::thread::scope(|scope| {
        let parts: Vec<_> = entries
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().map(render).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("Markdown rendering does not panic"))
            .collect()
    }))
}

/// Stores a parsed document as a new incident with its whole record, in one transaction.
pub fn store(
    conn: &mut DbConnection,
    imported: Imported,
    actor: &Actor,
) -> Result<Incident, AppError> {
    let html = render_entries(&imported.entries)?;
    crate::db::transaction(conn, |conn| {
        let Imported {
            mut fields,
            commander,
            entries,
            escalations: escs,
            causes,
            tasks: task_list,
            sections,
            review_state,
        } = imported;
        fields.commander_id = users::resolve(conn, commander.as_deref(), "commander")?;
        let incident =
            crate::incidents::service::create(conn, fields, actor, &CreateOptions::default())?;
        let id = incident.id;
        let t = now();
        // Entries go in in bulk (a 10,000-entry document stays fast); authors by username.
        let mut names: Vec<String> = entries.iter().filter_map(|e| e.author.clone()).collect();
        names.sort();
        names.dedup();
        let mut author_ids = std::collections::HashMap::new();
        for name in names {
            if let Some(u) = users::find_by_username(conn, &name)? {
                author_ids.insert(name, u.id);
            }
        }
        let mut rows = Vec::with_capacity(entries.len());
        for (e, html) in entries.iter().zip(html) {
            let Some(html) = html else { continue };
            let body = e.body.trim_end();
            rows.push((
                timeline_entries::incident_id.eq(id),
                timeline_entries::occurred_at.eq(e.occurred_at),
                timeline_entries::time_known.eq(e.time_known),
                timeline_entries::recorded_at.eq(t),
                timeline_entries::kind.eq(e.kind),
                timeline_entries::body.eq(body.to_string()),
                timeline_entries::body_html.eq(html),
                timeline_entries::author_id.eq(e
                    .author
                    .as_ref()
                    .and_then(|a| author_ids.get(a).copied())
                    .or(actor.user_id)),
                timeline_entries::updated_at.eq(t),
                timeline_entries::version.eq(1),
            ));
        }
        let entry_count = rows.len();
        crate::batch_insert!(&mut *conn, timeline_entries::table, rows);
        for e in &escs {
            diesel::insert_into(escalations::table)
                .values((
                    escalations::incident_id.eq(id),
                    escalations::target.eq(&e.target),
                    escalations::reason.eq(&e.reason),
                    escalations::state.eq(e.state),
                    escalations::escalated_at.eq(e.escalated_at),
                    escalations::acknowledged_at.eq(e.acknowledged_at),
                    escalations::responded_at.eq(e.responded_at),
                    escalations::escalated_by.eq(actor.user_id),
                    escalations::created_at.eq(t),
                    escalations::updated_at.eq(t),
                    escalations::version.eq(1),
                ))
                .execute(conn)?;
        }
        for c in &causes {
            let fields = CauseFields::parse(c.kind.as_str(), c.category.as_str(), &c.description)?;
            crate::root_causes::create(conn, id, &fields, actor)?;
        }
        let mut task_rows = Vec::with_capacity(task_list.len());
        for task in &task_list {
            let f = task.input.parse(conn)?;
            let completed = if f.status == TaskStatus::Done {
                task.completed_at.or(Some(t))
            } else {
                None
            };
            task_rows.push((
                tasks::incident_id.eq(id),
                tasks::title.eq(f.title),
                tasks::description.eq(f.description),
                tasks::kind.eq(f.kind),
                tasks::priority.eq(f.priority),
                tasks::owner_id.eq(f.owner_id),
                tasks::team.eq(f.team),
                tasks::due_on.eq(f.due_on),
                tasks::status.eq(f.status),
                tasks::external_url.eq(f.external_url),
                tasks::completed_at.eq(completed),
                tasks::created_by.eq(actor.user_id),
                tasks::created_at.eq(t),
                tasks::updated_at.eq(t),
                tasks::version.eq(1),
            ));
        }
        let task_count = task_rows.len();
        crate::batch_insert!(&mut *conn, tasks::table, task_rows);
        let sections = sections.validate()?;
        super::insert(conn, id, &sections, review_state, actor.user_id, t)?;
        let detail = format!("{entry_count} entries, {task_count} tasks");
        audit::record(
            conn,
            actor,
            "incident.import",
            "incident",
            &incident.key(),
            &detail,
        )?;
        Ok(incident)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_durations() {
        let (s, e) = duration(
            "The outage occurred from 10:00 AM to 2:00 PM (UTC) on June 7, 2023.",
            1,
        )
        .unwrap();
        assert_eq!(s.to_string(), "2023-06-07 10:00:00");
        assert_eq!(e.unwrap().to_string(), "2023-06-07 14:00:00");
        let (s, e) = duration(
            "from 11:30 PM on March 3, 2024 to 02:15 on March 5, 2024",
            1,
        )
        .unwrap();
        assert_eq!(s.to_string(), "2024-03-03 23:30:00");
        assert_eq!(e.unwrap().to_string(), "2024-03-05 02:15:00");
        let (_, e) = duration("22:00 to 01:00 UTC, 2024-01-31", 1).unwrap();
        assert_eq!(
            e.unwrap().to_string(),
            "2024-02-01 01:00:00",
            "past midnight"
        );
        assert!(duration("all afternoon", 4)
            .unwrap_err()
            .to_string()
            .contains("line 4"));
        assert!(duration("from 13:00 PM on June 7, 2023", 2).is_err());
    }

    #[test]
    fn reads_timed_lines_and_labels() {
        let c = timed_line("10:00 AM: The issue was detected").unwrap();
        assert_eq!(
            (&c[2], &c[3], &c[6]),
            ("10", "00", "The issue was detected")
        );
        assert!(timed_line("2023-06-07 10:00 UTC: x").is_some());
        assert!(timed_line("14:05 - Restarted").is_some());
        assert!(timed_line("Approximately 25% of users").is_none());
        assert_eq!(
            labelled("Actions Taken: The team"),
            Some(("Actions Taken", "The team"))
        );
        assert_eq!(
            labelled("Misleading Investigation/Debugging Paths: As"),
            Some(("Misleading Investigation/Debugging Paths", "As"))
        );
        assert!(labelled("In conclusion, the outage was bad: really").is_none());
    }
}
