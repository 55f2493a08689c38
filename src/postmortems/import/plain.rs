//! The seed's plain layout and free-form Markdown: read line by line into sections,
//! labelled fields, timed lines and task lines, then finished into an [`Imported`].

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::blocks::{units, Unit};
use super::classify::{labelled, list_item};
use super::collected::{timed_entry, Buf, Pending, Plain};
use super::sections::{field_of, norm, section_of, Field, Section};
use super::tasks::from_line;
use super::times::{dates, duration, regex, timed_line, PCT, PCT_PATTERN};
use super::{bad, ImportedEntry};
use crate::error::AppError;
use crate::root_causes::CauseKind;
use crate::timeline::EntryKind;

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
    /// List items under a `Services affected:` label with nothing after it.
    Services,
}

/// Reads a plain document's sections, fields and lines into [`Plain`], for
/// [`super::assemble::finish`] to make the record of.
pub(super) fn collect(text: &str) -> Result<(Plain, Pending), AppError> {
    let mut p = Plain {
        source: text.lines().map(str::to_string).collect(),
        ..Plain::default()
    };
    let mut section = Section::Preamble;
    let mut target = Target::None;
    // The last absolute time seen in the timeline, for times without a date.
    let mut clock_at: Option<NaiveDateTime> = None;
    let mut pending_timed: Pending = Vec::new();
    let mut first_line = 0usize;
    let mut table = super::tables::Table::default();
    for unit in units(text) {
        let (line_no, raw) = match unit {
            Unit::Break => {
                for b in bufs(&mut p, target) {
                    b.paragraph_pending = true;
                }
                table = Default::default();
                continue;
            }
            Unit::Heading(n, title) => {
                let had_title = p.title.is_some();
                heading(&mut p, &title, &mut section, &mut target);
                if !had_title && p.title.is_some() {
                    p.read_from.insert("title", n);
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
        if let Some(cells) = super::tables::cells(trimmed) {
            super::tables::row(
                &mut p,
                &mut table,
                section,
                cells,
                line_no,
                &mut clock_at,
                &mut pending_timed,
            )?;
            continue;
        }
        let (item, checked) = list_item(trimmed);
        match section {
            Section::Tasks => {
                if let Some((label, rest)) = labelled(item) {
                    if rest.is_empty() && section_of(label).is_some() {
                        continue;
                    }
                }
                p.tasks.push(from_line(item, checked.unwrap_or(false)));
                continue;
            }
            // A checkbox among the measures is a task (GitLab's corrective actions).
            Section::Measures if checked.is_some() => {
                p.tasks.push(from_line(item, checked.unwrap_or(false)));
                continue;
            }
            Section::Timeline => {
                if let Some(c) = timed_line(item) {
                    timed_entry(&mut p, &c, line_no, &mut clock_at, &mut pending_timed)?;
                    target = Target::Entry;
                    continue;
                }
                if let Some(day) = date_line(item) {
                    // `2025-02-11 (all times UTC)`: the day of the times below it.
                    p.date.get_or_insert(day);
                    clock_at = Some(day.and_time(NaiveTime::MIN));
                    target = Target::None;
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
            (_, Target::Services) if checked.is_none() && item != trimmed => {
                p.services
                    .push(item.trim().trim_end_matches(['.', ',']).to_string());
            }
            (_, Target::Services) => {
                // The list ended: this line is read afresh.
                target = Target::None;
                if let Some(t) = free_text(&mut p, section, item, trimmed, clock_at, line_no) {
                    target = t;
                }
            }
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
            (_, Target::None) => {
                if let Some(t) = free_text(&mut p, section, item, trimmed, clock_at, line_no) {
                    target = t;
                }
            }
            _ => {
                if target == Target::Impact {
                    p.read_from.entry("impact").or_insert(line_no);
                }
                if let Some(b) = bufs(&mut p, target).into_iter().next() {
                    b.push(trimmed);
                }
            }
        }
    }
    if !p.recognised {
        return Err(bad(first_line.max(1), "a postmortem section title such as `Issue Summary`, `Timeline` or `Root Cause and Resolution`"));
    }
    for (_, day) in dates(text) {
        if !p.stated_days.contains(&day) {
            p.stated_days.push(day);
        }
    }
    Ok((p, pending_timed))
}

/// What documents put before their title: `Postmortem: Queue backlog`.
const TITLE_PREFIXES: [&str; 5] = [
    "postmortem:",
    "post-mortem:",
    "incident review:",
    "post-incident review:",
    "incident report:",
];

/// Headings of the summary's parts (Leadup, Fault, Five whys, …) that stay in it as
/// subheadings; the summary's own titles do not.
fn summary_part(title: &str) -> bool {
    !matches!(
        norm(title).as_str(),
        "issue summary" | "summary" | "incident summary" | "overview"
    )
}

/// A Markdown heading: a section title, the document's title, or text kept where it is.
fn heading(p: &mut Plain, title: &str, section: &mut Section, target: &mut Target) {
    let lower = title.to_lowercase();
    if let Some(s) = section_of(title) {
        *section = s;
        p.recognised = true;
        *target = heading_target(title, s);
        if s == Section::Summary && *target == Target::None && summary_part(title) {
            p.summary.paragraph_pending = true;
            p.summary.push(&format!("### {}", title.trim()));
            p.summary.paragraph_pending = true;
        }
    } else if let Some(prefix) = TITLE_PREFIXES.iter().find(|t| lower.starts_with(*t)) {
        p.title = Some(title[prefix.len()..].trim().to_string());
        p.recognised = true;
    } else if p.title.is_none() && *section == Section::Preamble {
        p.title = Some(title.to_string());
    } else if let Some(b) = bufs(p, *target).into_iter().next() {
        // An unknown heading: keep its text where we are.
        b.push(title);
    }
}

/// Free text where nothing is open: a new entry, cause or paragraph, by section; the target
/// later lines continue, if it changed.
fn free_text(
    p: &mut Plain,
    section: Section,
    item: &str,
    trimmed: &str,
    clock_at: Option<NaiveDateTime>,
    line_no: usize,
) -> Option<Target> {
    match section {
        Section::Timeline => {
            let at = clock_at.or(p.start).unwrap_or_default();
            let mut buf = Buf::at(line_no);
            buf.push(item);
            p.entries.push((
                ImportedEntry {
                    moment: Default::default(),
                    occurred_at: at,
                    time_known: false,
                    kind: EntryKind::Note,
                    body: String::new(),
                    author: None,
                },
                buf,
            ));
            Some(Target::Entry)
        }
        Section::Conclusion => {
            p.conclusion.push(trimmed);
            Some(Target::Conclusion)
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
            Some(Target::Cause)
        }
        Section::Measures => {
            p.improvements.push(trimmed);
            Some(Target::Improvements)
        }
        Section::Lessons => {
            p.went_wrong.push(trimmed);
            Some(Target::WentWrong)
        }
        Section::Preamble if p.title.is_none() && !p.recognised => {
            p.read_from.insert("title", line_no);
            p.title = Some(trimmed.trim_start_matches('#').trim().to_string());
            None
        }
        Section::Preamble => {
            // Before any section: kept in the summary, and said in the preview.
            p.not_understood.push((line_no, trimmed.to_string()));
            p.summary.push(trimmed);
            Some(Target::Summary)
        }
        _ => {
            p.summary.push(trimmed);
            Some(Target::Summary)
        }
    }
}

/// The buffer continuation lines go to.
pub(super) fn bufs(p: &mut Plain, target: Target) -> Vec<&mut Buf> {
    match target {
        Target::None | Target::Services => vec![],
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
        ("resolution" | "recovery", _) => Target::Resolution,
        ("impact" | "customer impact" | "impact & metrics" | "impact and metrics", _) => {
            Target::Impact
        }
        ("what can be improved", _) => Target::WentWrong,
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
            p.read_from.insert("title", line);
            p.title = Some(rest.to_string());
            Target::None
        }
        Field::Date => {
            match dates(rest).first() {
                Some((_, d)) => p.date = Some(*d),
                None => return Err(bad(line, "a date such as 2025-02-11 or June 7, 2023")),
            }
            Target::None
        }
        Field::Review => {
            p.review.push(rest.to_string());
            Target::None
        }
        Field::Detection => {
            p.summary.paragraph_pending = true;
            p.summary.push(&format!("**Detection:** {rest}"));
            Target::Summary
        }
        Field::Severity => {
            let sev = rest.split_whitespace().next().unwrap_or("").to_uppercase();
            let sev = if sev.starts_with("SEV") {
                sev
            } else {
                format!("SEV{sev}")
            };
            p.read_from.insert("severity", line);
            p.severity = Some(
                sev.parse()
                    .map_err(|_| bad(line, "a severity SEV1 to SEV4"))?,
            );
            Target::None
        }
        Field::Services => {
            p.read_from.insert("services", line);
            p.services = rest
                .split(',')
                .map(|s| s.trim().trim_end_matches('.').to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if rest.trim().is_empty() {
                Target::Services
            } else {
                Target::None
            }
        }
        Field::Duration => {
            let (start, end) = duration(rest, line)?;
            p.read_from.insert("started_at", line);
            if end.is_some() {
                p.read_from.insert("resolved_at", line);
            }
            p.start = Some(start);
            p.end = end;
            p.duration_text = rest.to_string();
            Target::None
        }
        Field::Impact => {
            // The whole number before `%` (a sign or digits far beyond 100 included), so
            // that an impossible share is refused instead of misread.
            if let Some(c) = regex(&PCT, PCT_PATTERN).captures(rest) {
                let pct = c[1]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && (0.0..=100.0).contains(v))
                    .ok_or_else(|| {
                        bad(
                            line,
                            format!("a share of users from 0 to 100%, found {}%", &c[1]),
                        )
                    })?;
                p.pct = Some(pct);
                p.read_from.insert("users_affected_pct", line);
            }
            p.read_from.entry("impact").or_insert(line);
            p.impact.push(rest);
            Target::Impact
        }
        Field::Entry(kind) => {
            let at = clock_at.or(p.start).unwrap_or_default();
            let mut buf = Buf::at(line);
            buf.push(rest);
            p.entries.push((
                ImportedEntry {
                    moment: Default::default(),
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

/// A line that is only a date (`2025-02-11 (all times UTC)`, `**June 7, 2023**`,
/// `Tuesday 11 February 2025`).
fn date_line(item: &str) -> Option<NaiveDate> {
    let found = dates(item);
    let [(_, day)] = found.as_slice() else {
        return None;
    };
    const NOISE: [&str; 16] = [
        "all",
        "times",
        "time",
        "utc",
        "gmt",
        "z",
        "in",
        "are",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "on",
    ];
    let only_date = item
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .all(|w| {
            let w = w.to_lowercase();
            w.chars().any(|c| c.is_ascii_digit())
                || NOISE.contains(&w.as_str())
                || super::times::MONTHS.iter().any(|m| w.starts_with(m))
        });
    (only_date && !item.contains(':')).then_some(*day)
}
