//! The seed's plain layout and free-form Markdown: read line by line into sections,
//! labelled fields, timed lines and task lines, then finished into an [`Imported`].

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::blocks::{units, Unit};
use super::classify::{category_of, entry_kind_of, labelled, list_item};
use super::sections::{field_of, norm, section_of, Field, Section};
use super::times::{clock, duration, regex, timed_line, PCT};
use super::{bad, Imported, ImportedEntry, ImportedTask};
use crate::error::AppError;
use crate::escalations::{EscalationState, RecordedEscalation};
use crate::incidents::service::IncidentFields;
use crate::incidents::{Severity, Status};
use crate::postmortems::Sections;
use crate::root_causes::{CauseFields, CauseKind};
use crate::tasks::service::TaskInput;
use crate::timeline::EntryKind;

/// Text accumulated line by line; a block break starts a new paragraph.
#[derive(Default)]
pub(super) struct Buf {
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

pub(super) struct Plain {
    title: Option<String>,
    severity: Option<Severity>,
    services: Vec<String>,
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
    /// The `Duration:` line as written, for a summary when the document has none.
    duration_text: String,
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
pub(super) enum Target {
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

pub(super) fn parse_plain(text: &str) -> Result<Imported, AppError> {
    let mut p = Plain {
        title: None,
        severity: None,
        services: vec![],
        start: None,
        end: None,
        duration_text: String::new(),
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
pub(super) fn bufs(p: &mut Plain, target: Target) -> Vec<&mut Buf> {
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

pub(super) fn heading_target(title: &str, section: Section) -> Target {
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

pub(super) fn apply_field(
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
            p.duration_text = rest.to_string();
            Target::None
        }
        Field::Impact => {
            // The whole number before `%` (a sign or digits far beyond 100 included), so
            // that an impossible share is refused instead of misread.
            if let Some(c) = regex(&PCT, r"(?i)(-?\d+(?:\.\d+)?)\s*%\s*(?:of\s+)?(?:all\s+|our\s+|the\s+)?(?:users|customers|requests|traffic)").captures(rest) {
                let pct = c[1]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && (0.0..=100.0).contains(v))
                    .ok_or_else(|| {
                        bad(line, format!("a share of users from 0 to 100%, found {}%", &c[1]))
                    })?;
                p.pct = Some(pct);
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

/// The one clock time an untimed entry's text states ("at 2:00 PM", "by 13:50"), placed on
/// the day of `after` (or the next, when earlier than it) and kept only when it falls
/// between `after` and the incident's `end`: an entry naming two times, or a time outside
/// the incident, keeps no time rather than a guessed one.
fn time_in_text(
    text: &str,
    after: NaiveDateTime,
    end: Option<NaiveDateTime>,
) -> Option<NaiveDateTime> {
    let found = super::times::times(text, 0).ok()?;
    let [(_, time)] = found.as_slice() else {
        return None;
    };
    let mut t = after.date().and_time(*time);
    if t < after {
        t += Duration::days(1);
    }
    let within = end.is_none_or(|end| t <= end);
    within.then_some(t)
}

pub(super) fn finish(
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
            // A time the entry's own text gives ("restored at 2:00 PM"), within the
            // incident, is its time; else the previous known time (or the start).
            if !e.time_known {
                if let Some(t) = time_in_text(&buf.text, last, p.end) {
                    e.occurred_at = t;
                    e.time_known = true;
                }
            }
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
    let escalations = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Escalation)
        .flat_map(|e| {
            // The document says who was asked, not whether, when or by whom they answered:
            // the record says that much and no more (unknown blocks nothing).
            super::escalated::targets(&e.body)
                .into_iter()
                .map(|target| RecordedEscalation {
                    target,
                    reason: String::new(),
                    state: EscalationState::Unknown,
                    escalated_at: e.occurred_at,
                    acknowledged_at: None,
                    responded_at: None,
                })
        })
        .collect();
    let impact = p.impact.text;
    // The Issue Summary as written: its own text, else its Duration and Impact lines.
    let summary = if p.summary.text.trim().is_empty() {
        [p.duration_text.trim(), impact.trim()]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        p.summary.text
    };
    let stated = super::Stated {
        title: p
            .title
            .as_ref()
            .is_some_and(|t| !t.is_empty() && norm(t) != "postmortem"),
        severity: p.severity.is_some(),
    };
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
            comms_lead_id: None,
            scribe_id: None,
            ops_lead_id: None,
            started_at: start,
            detected_at,
            acknowledged_at: None,
            mitigated_at,
            resolved_at: p.end,
        },
        commander: None,
        roles: Default::default(),
        entries,
        escalations,
        causes,
        tasks,
        sections: Sections {
            summary,
            resolution: p.resolution.text,
            improvements: p.improvements.text,
            lessons_went_well: p.went_well.text,
            lessons_went_wrong: p.went_wrong.text,
            lessons_lucky: p.lucky.text,
            conclusion: p.conclusion.text,
        },
        review_history: String::new(),
        stated,
    })
}

/// A title from the impact's first clause, else from the date.
pub(super) fn derive_title(impact: &str, start: NaiveDateTime) -> String {
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
