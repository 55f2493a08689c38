//! Markdown tables in a postmortem, by where they stand and what their header says:
//! action items (Action | Type | Owner | Bug), a timeline (Time | Event), and question
//! and answer tables (GitLab's "Impact & Metrics", "Detection & Response").

use chrono::NaiveDateTime;

use super::collected::{Pending, Plain};
use super::sections::Section;
use super::tasks::{column_of, from_row, Column};
use super::times::{dates, timed_line, times, PCT};
use crate::error::AppError;

/// The cells of a table row (`| a | b |`), trimmed; `None` for a line that is not one.
pub(super) fn cells(line: &str) -> Option<Vec<String>> {
    let t = line.trim();
    let inner = t.strip_prefix('|')?;
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    Some(inner.split('|').map(|c| c.trim().to_string()).collect())
}

/// `|---|:---:|`: the line under a header.
fn is_separator(cells: &[String]) -> bool {
    cells
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
}

/// A table being read: its header, once seen.
#[derive(Default)]
pub(super) struct Table {
    header: Option<Vec<String>>,
}

/// Reads one row of a table standing in `section`.
#[allow(clippy::too_many_arguments)]
pub(super) fn row(
    p: &mut Plain,
    table: &mut Table,
    section: Section,
    cells: Vec<String>,
    line_no: usize,
    clock_at: &mut Option<NaiveDateTime>,
    pending: &mut Pending,
) -> Result<(), AppError> {
    if is_separator(&cells) {
        return Ok(());
    }
    let Some(header) = &table.header else {
        table.header = Some(cells);
        p.recognised = true;
        return Ok(());
    };
    let columns: Vec<Column> = header.iter().map(|h| column_of(h)).collect();
    let lower: Vec<String> = header.iter().map(|h| h.to_lowercase()).collect();
    let is_tasks = matches!(section, Section::Tasks | Section::Measures)
        || columns.contains(&Column::Title) && columns.contains(&Column::Owner);
    if is_tasks {
        match from_row(&columns, &cells) {
            Some(t) => p.tasks.push(t),
            None => p.not_understood.push((line_no, cells.join(" | "))),
        }
        return Ok(());
    }
    if section == Section::Timeline || lower.first().is_some_and(|h| h.starts_with("time")) {
        let (when, what) = cells
            .split_first()
            .map_or(("", &[][..]), |(w, r)| (w.as_str(), r));
        let line = format!("{when} - {}", what.join(" — "));
        match timed_line(&line) {
            Some(c) => super::collected::timed_entry(p, &c, line_no, clock_at, pending)?,
            None => p.not_understood.push((line_no, cells.join(" | "))),
        }
        return Ok(());
    }
    if cells.len() >= 2 {
        answer(p, &cells[0], &cells[1..].join(" "), line_no);
    } else {
        p.not_understood.push((line_no, cells.join(" | ")));
    }
    Ok(())
}

/// A question and its answer: impact and who was affected (with the share of users),
/// services, when it was detected. Anything else stays in the summary and is reported.
fn answer(p: &mut Plain, question: &str, answer: &str, line_no: usize) {
    let q = question.trim().trim_end_matches('?').to_lowercase();
    if answer.trim().is_empty() {
        return;
    }
    let about = |words: &[&str]| words.iter().any(|w| q.contains(w));
    if about(&[
        "services affected",
        "affected services",
        "service(s)",
        "which services",
        "what services",
        "components affected",
        "affected components",
    ]) {
        p.read_from.insert("services", line_no);
        p.services.extend(
            answer
                .split(',')
                .map(|s| s.trim().trim_end_matches('.').to_string())
                .filter(|s| !s.is_empty()),
        );
    } else if about(&["detected", "detection time"]) && q.starts_with("when") {
        let day = dates(answer).first().map(|(_, d)| *d).or(p.date);
        let time = times(answer, line_no)
            .ok()
            .and_then(|t| t.first().map(|(_, t)| *t));
        match (day, time) {
            (Some(d), Some(t)) => {
                p.detected = Some(d.and_time(t));
                p.read_from.insert("detected_at", line_no);
            }
            _ => p
                .not_understood
                .push((line_no, format!("{question} | {answer}"))),
        }
    } else if about(&["impact", "affected", "who was"]) {
        if p.pct.is_none() {
            p.pct = share_of_users(answer);
            if p.pct.is_some() {
                p.read_from.insert("users_affected_pct", line_no);
            }
        }
        p.read_from.entry("impact").or_insert(line_no);
        p.impact.paragraph_pending = true;
        if q.starts_with("what was the impact") || q == "impact" {
            p.impact.push(answer);
        } else {
            p.impact.push(&format!(
                "**{}:** {answer}",
                question.trim().trim_end_matches('?')
            ));
        }
    } else {
        p.summary.paragraph_pending = true;
        p.summary.push(&format!("**{}** {answer}", question.trim()));
        p.not_understood
            .push((line_no, format!("{question} | {answer}")));
    }
}

/// "About 70% of visitors": the share of users a text states, if one from 0 to 100.
pub(super) fn share_of_users(text: &str) -> Option<f64> {
    super::times::regex(&PCT, super::times::PCT_PATTERN)
        .captures(text)
        .and_then(|c| c[1].parse::<f64>().ok())
        .filter(|v| v.is_finite() && (0.0..=100.0).contains(v))
}
