//! The record a plain document becomes: what [`super::plain`] collected, assembled into
//! an [`Imported`] (milestones from the timeline, entries timed from their text, causes,
//! tasks and escalations, a title when the document has none).

use chrono::{Duration, NaiveDateTime};

use super::classify::category_of;
use super::collected::{Pending, Plain};
use super::sections::norm;
use super::{bad, Imported, ImportedEntry};
use crate::error::AppError;
use crate::escalations::{EscalationState, RecordedEscalation};
use crate::incidents::service::IncidentFields;
use crate::incidents::{Severity, Status};
use crate::postmortems::Sections;
use crate::root_causes::CauseFields;
use crate::timeline::EntryKind;

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

pub(super) fn finish(mut p: Plain, pending: Pending) -> Result<Imported, AppError> {
    span_from_summary(&mut p);
    place_undated(&mut p, &pending)?;
    let start = start_and_stated_end(&mut p)?;
    let entries = entries_in_order(std::mem::take(&mut p.entries), start, p.end);
    let (detected_at, mitigated_at) = milestones(&mut p, &entries, start);
    let entries: Vec<ImportedEntry> = entries.into_iter().map(|(e, _)| e).collect();
    let escalations = escalations_named(&entries);
    let impact = p.impact.text;
    let pct = p.pct.or_else(|| {
        let found = super::tables::share_of_users(&impact);
        if let (Some(_), Some(line)) = (found, p.read_from.get("impact").copied()) {
            p.read_from.insert("users_affected_pct", line);
        }
        found
    });
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
    let tasks = p.tasks.into_iter().map(super::tasks::task_of).collect();
    Ok(Imported {
        fields: IncidentFields {
            title,
            severity: p.severity.unwrap_or(Severity::Sev3),
            // A postmortem is written after the fact: history, resolved (its time stays
            // empty when the document does not give it).
            status: Status::Resolved,
            impact,
            users_affected_pct: pct,
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
        review_history: p.review.join("; "),
        stated,
        read_from: Some(p.read_from),
        not_understood: p.not_understood,
    })
}

/// "Between 09:10 and 10:02 UTC on 3 August 2025 …" in the summary, when nothing else gave
/// the start.
fn span_from_summary(p: &mut Plain) {
    if p.start.is_some() {
        return;
    }
    if let Some((start, end, sentence)) = span_in(&p.summary.text) {
        p.start = Some(start);
        p.end = p.end.or(end);
        let probe: String = sentence.chars().take(40).collect();
        if let Some(n) = p.source.iter().position(|l| l.contains(&probe)) {
            p.read_from.insert("started_at", n + 1);
            p.read_from.entry("resolved_at").or_insert(n + 1);
        }
    }
}

/// The start (stated, `OUTAGE BEGINS`, else the first timed entry) and an end `OUTAGE
/// ENDS` gives when none was stated.
fn start_and_stated_end(p: &mut Plain) -> Result<NaiveDateTime, AppError> {
    let outage = |words: &str| {
        p.entries
            .iter()
            .find(|e| e.0.time_known && e.1.text.to_lowercase().contains(words))
            .map(|e| (e.0.occurred_at, e.1.line))
    };
    let (begins, ends) = (outage("outage begins"), outage("outage ends"));
    let first_timed = p
        .entries
        .iter()
        .filter(|e| e.0.time_known)
        .min_by_key(|e| e.0.occurred_at)
        .map(|e| (e.0.occurred_at, e.1.line));
    let start = match (p.start, begins.or(first_timed)) {
        (Some(s), _) => s,
        (None, Some((s, line))) => {
            p.read_from.insert("started_at", line);
            s
        }
        (None, None) => return Err(bad(1, "a `Duration:` line such as `Duration: from 10:00 AM to 2:00 PM (UTC) on June 7, 2023`, or timeline lines with full timestamps")),
    };
    if let (None, Some((end, line))) = (p.end, ends) {
        p.end = Some(end);
        p.read_from.insert("resolved_at", line);
    }
    Ok(start)
}

/// Detected and mitigated (a stated time, else the first timed entry of the kind within
/// the incident), and the end from the first resolution entry when none was stated.
fn milestones(
    p: &mut Plain,
    entries: &[(ImportedEntry, usize)],
    start: NaiveDateTime,
) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    let first_of = |kind: EntryKind| {
        entries
            .iter()
            .find(|(e, _)| e.kind == kind && e.time_known && e.occurred_at >= start)
            .map(|(e, line)| (e.occurred_at, *line))
    };
    if p.end.is_none() {
        if let Some((end, line)) = first_of(EntryKind::Resolution) {
            p.end = Some(end);
            p.read_from.insert("resolved_at", line);
        }
    }
    let detected_at = match (p.detected, first_of(EntryKind::Detection)) {
        (Some(d), _) => Some(d),
        (None, Some((d, line))) => {
            p.read_from.insert("detected_at", line);
            Some(d)
        }
        (None, None) => None,
    }
    .filter(|d| *d >= start);
    let mitigated_at = first_of(EntryKind::Mitigation)
        .filter(|(m, _)| p.end.is_none_or(|end| *m <= end))
        .map(|(m, line)| {
            p.read_from.insert("mitigated_at", line);
            m
        });
    (detected_at, mitigated_at)
}

/// "Between 09:10 and 10:02 UTC on 3 August 2025": the first sentence of `text` that
/// gives a span of time with its date.
fn span_in(text: &str) -> Option<(NaiveDateTime, Option<NaiveDateTime>, &str)> {
    text.split(['.', '\n'])
        .map(str::trim)
        .filter(|s| {
            let l = s.to_lowercase();
            (l.starts_with("between ") || l.starts_with("from ") || l.contains(" between "))
                && !super::times::dates(s).is_empty()
        })
        .find_map(|s| {
            let (start, end) = super::times::duration(s, 0).ok()?;
            end.is_some().then_some((start, end, s))
        })
}

/// Timed lines seen before any date: placed on the document's day (its start, its `Date:`,
/// or the one day it names), each after the one before.
fn place_undated(p: &mut Plain, pending: &Pending) -> Result<(), AppError> {
    if let Some((_, _, _, line)) = pending.first() {
        let only_day = match p.stated_days.as_slice() {
            [day] => Some(*day),
            _ => None,
        };
        let day = p.start.map(|s| s.date()).or(p.date).or(only_day).ok_or_else(|| {
            bad(
                *line,
                "a date for this time (a `Date:` or `Duration:` line, a date line above the times, or a full timestamp)",
            )
        })?;
        let mut prev: Option<NaiveDateTime> = None;
        for (index, time, _, _) in pending {
            let mut t = day.and_time(*time);
            if prev.is_some_and(|p| t < p) {
                t += Duration::days(1);
            }
            prev = Some(t);
            p.entries[*index].0.occurred_at = t;
        }
    }
    Ok(())
}

/// The entries with text, each at its time: its own, one its text states ("restored at
/// 2:00 PM") within the incident, else the previous known time (or the start).
fn entries_in_order(
    entries: Vec<(ImportedEntry, super::collected::Buf)>,
    start: NaiveDateTime,
    end: Option<NaiveDateTime>,
) -> Vec<(ImportedEntry, usize)> {
    let mut last = start;
    entries
        .into_iter()
        .filter(|(_, buf)| !buf.text.trim().is_empty())
        .map(|(mut e, buf)| {
            // A time the entry's own text gives ("restored at 2:00 PM"), within the
            // incident, is its time; else the previous known time (or the start).
            if !e.time_known {
                if let Some(t) = time_in_text(&buf.text, last, end) {
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
            (e, buf.line)
        })
        .collect()
}

/// One escalation per team or person an escalation entry names. The document says who was
/// asked, not whether, when or by whom they answered: the record says that much and no more
/// (unknown blocks nothing).
fn escalations_named(entries: &[ImportedEntry]) -> Vec<RecordedEscalation> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::Escalation)
        .flat_map(|e| {
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
        .collect()
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
