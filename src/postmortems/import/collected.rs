//! What reading a plain document collects, line by line: text buffers, the facts found so
//! far and the timed entries (shared by the line reader, [`super::plain`], and the table
//! reader, [`super::tables`]).

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::classify::entry_kind_of;
use super::tasks::TaskLine;
use super::times::clock;
use super::ImportedEntry;
use crate::error::AppError;
use crate::incidents::Severity;
use crate::root_causes::CauseKind;

/// Text accumulated line by line; a block break starts a new paragraph.
#[derive(Default)]
pub(super) struct Buf {
    pub(super) text: String,
    pub(super) paragraph_pending: bool,
    /// The line its text starts on (an entry's, for the preview's "read from line N").
    pub(super) line: usize,
}

impl Buf {
    pub(super) fn at(line: usize) -> Buf {
        Buf {
            line,
            ..Buf::default()
        }
    }

    pub(super) fn push(&mut self, line: &str) {
        if !self.text.is_empty() {
            self.text
                .push_str(if self.paragraph_pending { "\n\n" } else { "\n" });
        }
        self.text.push_str(line);
        self.paragraph_pending = false;
    }
}

#[derive(Default)]
pub(super) struct Plain {
    pub(super) title: Option<String>,
    pub(super) severity: Option<Severity>,
    pub(super) services: Vec<String>,
    pub(super) start: Option<NaiveDateTime>,
    pub(super) end: Option<NaiveDateTime>,
    /// The `Duration:` line as written, for a summary when the document has none.
    pub(super) duration_text: String,
    pub(super) pct: Option<f64>,
    pub(super) impact: Buf,
    pub(super) summary: Buf,
    pub(super) entries: Vec<(ImportedEntry, Buf)>,
    pub(super) causes: Vec<(CauseKind, Buf)>,
    pub(super) resolution: Buf,
    pub(super) improvements: Buf,
    pub(super) tasks: Vec<TaskLine>,
    /// The day the document states (`Date:`, a date line in the timeline).
    pub(super) date: Option<NaiveDate>,
    /// When it was detected, as a field or answer says (the timeline may say it too).
    pub(super) detected: Option<NaiveDateTime>,
    /// Authors and review state as written, for the import's audit entry.
    pub(super) review: Vec<String>,
    /// Lines kept only as text because no fact was read from them: (line, text).
    pub(super) not_understood: Vec<(usize, String)>,
    /// Every day the document names, in order, once each.
    pub(super) stated_days: Vec<NaiveDate>,
    /// The document's lines, to say where a fact found in running text was read.
    pub(super) source: Vec<String>,
    /// The line each fact was read from (`title`, `severity`, `services`, `started_at`, …).
    pub(super) read_from: std::collections::BTreeMap<&'static str, usize>,
    pub(super) went_well: Buf,
    pub(super) went_wrong: Buf,
    pub(super) lucky: Buf,
    pub(super) conclusion: Buf,
    pub(super) recognised: bool,
}

/// Entries whose line gave a clock time (and maybe a date) that the assembly places once
/// the incident's start is known: (entry index, time, date, line).
pub(super) type Pending = Vec<(usize, NaiveTime, Option<NaiveDate>, usize)>;

/// A timeline line that starts with a time: an entry at that time, placed on its day now
/// when the day is known (else later, once the start is: `pending`).
pub(super) fn timed_entry(
    p: &mut Plain,
    c: &regex::Captures<'_>,
    line_no: usize,
    clock_at: &mut Option<NaiveDateTime>,
    pending: &mut Pending,
) -> Result<(), AppError> {
    let time = clock(&c[2], &c[3], c.get(5).map(|m| m.as_str()), line_no)?;
    let date = c
        .get(1)
        .and_then(|d| NaiveDate::parse_from_str(d.as_str(), "%Y-%m-%d").ok());
    let body = c.get(6).map(|m| m.as_str()).unwrap_or("").to_string();
    let kind = entry_kind_of(&body);
    pending.push((p.entries.len(), time, date, line_no));
    let mut buf = Buf::at(line_no);
    buf.push(&body);
    let at = clock_at.unwrap_or_default();
    p.entries.push((
        ImportedEntry {
            moment: Default::default(),
            occurred_at: at,
            time_known: true,
            kind,
            body: String::new(),
            author: None,
        },
        buf,
    ));
    p.recognised = true;
    // Resolve the absolute time now, so later untimed entries follow it.
    let day = date
        .or_else(|| clock_at.map(|c| c.date()))
        .or_else(|| p.start.map(|s| s.date()))
        .or(p.date);
    if let Some(day) = day {
        let mut t = day.and_time(time);
        if date.is_none() {
            if let Some(prev) = *clock_at {
                if t < prev {
                    t += Duration::days(1);
                }
            }
        }
        *clock_at = Some(t);
        if let Some(last) = p.entries.last_mut() {
            last.0.occurred_at = t;
        }
        pending.pop();
    }
    Ok(())
}
