//! Reading a postmortem into a new incident: hindsight's own export (lossless, read
//! through its region markers) and the seed's plain layout or free-form Markdown (blocks
//! found with pulldown-cmark, then read line by line: section titles, `Label:` paragraphs,
//! lines that start with a time, task lines). [`parse`] is pure; [`store`] writes
//! everything in one transaction.

mod assemble;
mod blocks;
mod classify;
mod collected;
pub mod dry_run;
mod escalated;
mod own;
mod plain;
mod preview;
mod sections;
mod store;
mod tables;
mod tasks;
mod times;
mod zone;

use chrono::NaiveDateTime;

use super::Sections;
use crate::error::AppError;
use crate::escalations::RecordedEscalation;
use crate::incidents::service::IncidentFields;
use crate::root_causes::CauseFields;
use crate::tasks::service::TaskInput;
use crate::timeline::EntryKind;
use own::{own_format_tag, parse_own};
pub use preview::preview;
pub use store::{
    imported_before, prepare, prepare_parsed, source_hash, store, Again, FactOverrides, Prepared,
};

/// Documents larger than this are refused (413).
pub const MAX_BYTES: usize = crate::limits::IMPORT_BYTES;

#[derive(Clone, Debug, PartialEq)]
pub struct ImportedEntry {
    pub occurred_at: NaiveDateTime,
    pub time_known: bool,
    pub kind: EntryKind,
    pub body: String,
    pub author: Option<String>,
    pub moment: crate::timeline::KeyMoment,
}

#[derive(Clone, Debug)]
pub struct ImportedTask {
    pub input: TaskInput,
    pub completed_at: Option<NaiveDateTime>,
    /// Written by hand in another template: an owner with no account here is kept as the
    /// task's team. (hindsight's own export names accounts: an unknown one is refused.)
    pub owner_as_written: bool,
}

/// A parsed document, not yet stored.
#[derive(Clone, Debug)]
pub struct Imported {
    pub fields: IncidentFields,
    pub commander: Option<String>,
    /// Usernames holding the roles beside the commander, resolved like the commander.
    pub roles: crate::incidents::roles::Roles<String>,
    pub entries: Vec<ImportedEntry>,
    pub escalations: Vec<RecordedEscalation>,
    pub causes: Vec<CauseFields>,
    pub tasks: Vec<ImportedTask>,
    pub sections: Sections,
    /// What the document said of its review (state, author, reviewers), as text for the
    /// import's audit entry: an imported postmortem is always a draft that nobody approved
    /// here.
    pub review_history: String,
    /// Which of the title and severity the document itself gave (the preview names the
    /// rest as defaults).
    pub stated: Stated,
    /// For a document in another template: the line each fact was read from (`title`,
    /// `severity`, `services`, `impact`, `users_affected_pct`, `started_at`, `detected_at`,
    /// `mitigated_at`, `resolved_at`; line 0: set on the preview's form instead); `None` for
    /// hindsight's own export, read whole.
    pub read_from: Option<std::collections::BTreeMap<&'static str, usize>>,
    /// Lines kept only as text because no fact was read from them: (line, text).
    pub not_understood: Vec<(usize, String)>,
}

/// Facts a document may leave out, and whether it gave them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stated {
    pub title: bool,
    pub severity: bool,
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
    if let Some((n, line)) = text
        .split('\n')
        .enumerate()
        .find(|(_, line)| crate::text::refused_char(line).is_some())
    {
        let c = crate::text::refused_char(line).map_or(0, |(_, c)| c as u32);
        return Err(AppError::invalid(
            "document",
            format!(
                "line {}: the control character U+{c:04X} is not allowed",
                n + 1
            ),
        ));
    }
    if text.trim().is_empty() {
        return Err(bad(1, "a postmortem, found an empty document"));
    }
    match own_format_tag(text) {
        Some(tag) => parse_own(text, &tag),
        None => {
            let (collected, pending) = plain::collect(text)?;
            let mut imported = assemble::finish(collected, pending)?;
            if let Some(z) = zone::named(text) {
                zone::to_utc(&mut imported, z);
            }
            Ok(imported)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::classify::labelled;
    use super::times::{duration, timed_line};

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
