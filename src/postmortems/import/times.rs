//! Dates, clock times and durations as postmortems write them (`10:00 AM`, `June 7, 2023`,
//! `from 10:00 AM to 2:00 PM (UTC) on …`), and the shared line patterns.

use std::sync::OnceLock;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use regex::Regex;

use super::bad;
use crate::error::AppError;

pub(super) fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| {
        Regex::new(pattern).unwrap_or_else(|e| panic!("built-in pattern {pattern}: {e}"))
    })
}

pub(super) static TIMED: OnceLock<Regex> = OnceLock::new();
pub(super) static TIME: OnceLock<Regex> = OnceLock::new();
pub(super) static DATE: OnceLock<Regex> = OnceLock::new();
pub(super) static PCT: OnceLock<Regex> = OnceLock::new();
pub(super) static LIST: OnceLock<Regex> = OnceLock::new();
pub(super) static LABEL: OnceLock<Regex> = OnceLock::new();

/// A share of users: "38% of search requests", "About 70% of visitors". The number before
/// `%` is taken whole (a sign or digits far beyond 100 included), so that an impossible
/// share can be refused instead of misread.
pub(super) const PCT_PATTERN: &str = r"(?i)(-?\d+(?:\.\d+)?)\s*%\s*(?:of\s+)?(?:all\s+|our\s+|the\s+)?(?:[a-z-]+\s+){0,2}?(?:users|customers|requests|traffic|visitors|sessions|accounts|merchants|orders|sign-ins|logins|transactions|page views|members)";

/// A line that starts with a time: `10:00 AM: …`, `14:05 - …`, `2023-06-07 10:00 UTC: …`,
/// `**10:00** …`, `[10:00] …`.
pub(super) fn timed_line(line: &str) -> Option<regex::Captures<'_>> {
    regex(
        &TIMED,
        r"(?i)^[\[\(*]*(?:(\d{4}-\d{2}-\d{2})[ T])?(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?\s*(?:utc|z|gmt|[a-z]{1,3}[sd]t|cet|cest|bst|jst)?[\]\)*]*\s*(?:[:\-–—|]\s*|\s+)(.*)$",
    )
    .captures(line)
}

pub(super) fn clock(
    h: &str,
    m: &str,
    ampm: Option<&str>,
    line: usize,
) -> Result<NaiveTime, AppError> {
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

pub(super) const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// All dates in a text, in order: `June 7, 2023`, `7 June 2023`, `2023-06-07`.
pub(super) fn dates(text: &str) -> Vec<(usize, NaiveDate)> {
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
pub(super) fn times(text: &str, line: usize) -> Result<Vec<(usize, NaiveTime)>, AppError> {
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
pub(super) fn duration(
    text: &str,
    line: usize,
) -> Result<(NaiveDateTime, Option<NaiveDateTime>), AppError> {
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
