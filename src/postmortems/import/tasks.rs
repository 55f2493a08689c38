//! Follow-up tasks as postmortem templates write them: a line of the measures, a checkbox
//! item with `(owner: @dana, due 2025-06-15)` and a ticket (`PRICE-88`), or a row of an
//! action-item table (Action | Type | Owner | Bug | Due date | Status).

use std::sync::OnceLock;

use chrono::NaiveDate;
use regex::Regex;

use super::times::{dates, regex};
use super::ImportedTask;
use crate::tasks::service::TaskInput;

static OWNER_DUE: OnceLock<Regex> = OnceLock::new();
static TICKET: OnceLock<Regex> = OnceLock::new();
static MD_LINK: OnceLock<Regex> = OnceLock::new();

/// A task as the document states it; nothing it leaves out is filled in.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct TaskLine {
    pub text: String,
    pub done: bool,
    /// As written, without `@`: a local user becomes the owner, anyone else the team.
    pub owner: String,
    pub due: Option<NaiveDate>,
    /// `prevent`, `detect`, `mitigate`, `process` when a column says so.
    pub kind: Option<String>,
    /// A ticket: a key such as `SRCH-101`, a URL, or a Markdown link to one.
    pub reference: String,
}

/// A list item or line of the measures: `text (owner: @dana, due 2025-06-15) PRICE-88`.
pub(super) fn from_line(item: &str, done: bool) -> TaskLine {
    let mut text = item.trim().to_string();
    let mut t = TaskLine {
        done,
        ..Default::default()
    };
    let owner_due = regex(
        &OWNER_DUE,
        r"(?i)\s*\((?:owner|assignee|assigned to|owned by)\s*:?\s*@?([^,)]+?)\s*(?:,\s*(?:due|by)\s*:?\s*([^)]+?))?\)",
    );
    if let Some(c) = owner_due.captures(&text) {
        t.owner = c[1].trim().to_string();
        t.due = c
            .get(2)
            .and_then(|d| dates(d.as_str()).first().map(|(_, d)| *d));
        let whole = c.get(0).map(|m| m.range()).unwrap_or_default();
        text.replace_range(whole, "");
    }
    let ticket = regex(&TICKET, r"\s+\[?([A-Z][A-Z0-9]{1,15}-\d{1,7})\]?\.?$");
    if let Some(c) = ticket.captures(&text) {
        t.reference = c[1].to_string();
        let whole = c.get(0).map(|m| m.range()).unwrap_or_default();
        text.replace_range(whole, "");
    }
    t.text = text.trim().to_string();
    t
}

/// What an action-item table's column holds, from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Column {
    Title,
    Kind,
    Owner,
    Reference,
    Due,
    Status,
    Other,
}

pub(super) fn column_of(header: &str) -> Column {
    let h = header.trim().to_lowercase();
    match h.as_str() {
        "action" | "action item" | "action items" | "item" | "task" | "description"
        | "corrective action" | "follow-up" => Column::Title,
        "type" | "kind" | "category" => Column::Kind,
        "owner" | "assignee" | "assigned to" | "owned by" | "who" => Column::Owner,
        "bug" | "ticket" | "issue" | "jira" | "reference" | "link" | "tracking" => {
            Column::Reference
        }
        "due" | "due date" | "due on" | "deadline" | "by" | "when" => Column::Due,
        "status" | "state" | "done" => Column::Status,
        _ => Column::Other,
    }
}

/// One row of an action-item table under `columns`; `None` for a row without an action.
pub(super) fn from_row(columns: &[Column], cells: &[String]) -> Option<TaskLine> {
    let mut t = TaskLine::default();
    let mut other = Vec::new();
    for (column, cell) in columns.iter().zip(cells) {
        let cell = cell.trim();
        match column {
            Column::Title => t.text = cell.to_string(),
            Column::Kind => {
                let k = cell.to_lowercase();
                t.kind = ["prevent", "detect", "mitigate", "process"]
                    .into_iter()
                    .find(|known| k.starts_with(known))
                    .map(str::to_string);
                if t.kind.is_none() && !cell.is_empty() {
                    other.push(format!("Type: {cell}"));
                }
            }
            Column::Owner => t.owner = cell.trim_start_matches('@').to_string(),
            Column::Reference => t.reference = cell.to_string(),
            Column::Due => t.due = dates(cell).first().map(|(_, d)| *d),
            Column::Status => {
                let s = cell.to_lowercase();
                t.done = matches!(
                    s.as_str(),
                    "done"
                        | "complete"
                        | "completed"
                        | "closed"
                        | "fixed"
                        | "yes"
                        | "x"
                        | "[x]"
                        | "✅"
                );
            }
            Column::Other if !cell.is_empty() => other.push(cell.to_string()),
            Column::Other => {}
        }
    }
    if t.text.is_empty() {
        return None;
    }
    if !other.is_empty() {
        t.text = format!("{} ({})", t.text, other.join("; "));
    }
    Some(t)
}

/// The task a line becomes: a title cut to the limit (the whole line then its
/// description), the kind its column or words say, the ticket as the link when it is one
/// (else named in the description).
pub(super) fn task_of(t: TaskLine) -> ImportedTask {
    let line = t.text;
    let (title, mut description) = if line.chars().count() > crate::tasks::service::TITLE_MAX {
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
    let kind = t.kind.unwrap_or_else(|| {
        if lower.contains("monitor") || lower.contains("alert") {
            "detect"
        } else if lower.contains("training") || lower.contains("process") {
            "process"
        } else {
            "prevent"
        }
        .to_string()
    });
    let link = regex(&MD_LINK, r"^\[([^\]]*)\]\(<?([^)>\s]+)>?\)$");
    let reference = t.reference.trim();
    let (label, url) = match link.captures(reference) {
        Some(c) => (c[1].to_string(), c[2].to_string()),
        None if reference.starts_with("http://") || reference.starts_with("https://") => {
            (String::new(), reference.to_string())
        }
        None => (reference.to_string(), String::new()),
    };
    if !label.is_empty() && url.is_empty() {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!("Ticket: {label}"));
    }
    ImportedTask {
        input: TaskInput {
            title,
            description,
            kind,
            priority: "medium".into(),
            status: if t.done { "done".into() } else { "open".into() },
            owner: t.owner,
            due_on: t.due.map(|d| d.to_string()).unwrap_or_default(),
            external_url: url,
            ..Default::default()
        },
        completed_at: None,
        owner_as_written: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_owner_due_and_ticket_from_a_line() {
        let t = from_line(
            "Make the warm-up wait (owner: @dana, due 2025-06-15) PRICE-88",
            false,
        );
        assert_eq!(t.text, "Make the warm-up wait");
        assert_eq!(t.owner, "dana");
        assert_eq!(t.due, NaiveDate::from_ymd_opt(2025, 6, 15));
        assert_eq!(t.reference, "PRICE-88");
        let plain = from_line("Review the change process", true);
        assert_eq!(
            plain,
            TaskLine {
                text: "Review the change process".into(),
                done: true,
                ..Default::default()
            }
        );
    }

    #[test]
    fn reads_a_table_row_by_its_headers() {
        let columns: Vec<Column> = ["Action Item", "Type", "Owner", "Bug"]
            .into_iter()
            .map(column_of)
            .collect();
        let cells: Vec<String> = ["Count documents", "prevent", "@rhea", "SRCH-101"]
            .into_iter()
            .map(String::from)
            .collect();
        let t = from_row(&columns, &cells).unwrap();
        assert_eq!(
            (
                t.text.as_str(),
                t.kind.as_deref(),
                t.owner.as_str(),
                t.reference.as_str()
            ),
            ("Count documents", Some("prevent"), "rhea", "SRCH-101")
        );
        let task = task_of(t);
        assert_eq!(task.input.description, "Ticket: SRCH-101");
        let linked = task_of(TaskLine {
            text: "Refresh".into(),
            reference: "[AUTH-310](https://tracker.example.com/AUTH-310)".into(),
            ..Default::default()
        });
        assert_eq!(
            linked.input.external_url,
            "https://tracker.example.com/AUTH-310"
        );
        assert_eq!(linked.input.description, "");
    }
}
