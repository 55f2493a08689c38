//! The document's Markdown pieces: marker regions around everything user-written, the tag
//! that no user text contains, and the visible labels before entries, escalations, causes
//! and tasks, which the importer strips again (so they live in one place).

use std::fmt::Write;

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::escalations::{EscalationState, RecordedEscalation};
use crate::root_causes::{CauseCategory, CauseKind};
use crate::tasks::TaskStatus;
use crate::time::{human_duration, Zone};
use crate::timeline::{EntryKind, KeyMoment};

/// JSON for a marker: one line, and never `-->` (which would end the comment).
pub fn marker_json(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace("-->", "--\\u003e")
}

/// A marker tag that appears in none of `texts` (`hs`, else `hs1`, `hs2`, …).
pub(super) fn choose_tag(texts: &[&str]) -> String {
    (0..)
        .map(|n| {
            if n == 0 {
                "hs".to_string()
            } else {
                format!("hs{n}")
            }
        })
        .find(|tag| {
            let open = format!("<!-- {tag}");
            let close = format!("<!-- /{tag}");
            !texts
                .iter()
                .any(|t| t.contains(&open) || t.contains(&close))
        })
        .unwrap_or_else(|| "hs".into())
}

/// Whether a body starts with something Markdown treats as a block (then the entry label
/// goes on its own line, so the body renders as written).
pub(super) fn starts_block(body: &str) -> bool {
    let Some(first) = body.chars().next() else {
        return true;
    };
    if !(first.is_alphanumeric() || "\"'(“‘¿¡".contains(first)) {
        return true;
    }
    let line = body.lines().next().unwrap_or("");
    let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && line[digits..].starts_with(['.', ')'])
}

/// The label put before a timeline entry's body, inline or on its own line.
pub fn entry_prefix(time: Option<&str>, kind: EntryKind, moment: KeyMoment, body: &str) -> String {
    let key = moment.label_suffix();
    let label = match time {
        Some(t) => format!("**{t} — {}{key}:**", kind.label()),
        None => format!("**{}{key}:**", kind.label()),
    };
    if starts_block(body) {
        format!("{label}\n\n")
    } else {
        format!("{label} ")
    }
}

/// The text after a task's title on its checklist line.
pub fn task_suffix(
    owner: Option<&str>,
    team: &str,
    due: Option<&str>,
    status: TaskStatus,
    link: &str,
) -> String {
    let mut parts = Vec::new();
    if let Some(o) = owner {
        parts.push(format!("owner: {o}"));
    }
    if !team.is_empty() {
        parts.push(format!("team: {team}"));
    }
    if let Some(d) = due {
        parts.push(format!("due {d}"));
    }
    parts.push(status.label().to_string());
    if !link.is_empty() {
        parts.push(format!("[ticket](<{link}>)"));
    }
    format!(" — {}", parts.join(" · "))
}

/// Indents a task description under its checklist item (blank lines stay empty).
pub fn indent(text: &str) -> String {
    text.split('\n')
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("  {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) struct Doc {
    pub(super) out: String,
    pub(super) tag: String,
    /// The zone the visible times are written in (markers and front matter stay UTC).
    pub(super) zone: Zone,
}

impl Doc {
    pub(super) fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    pub(super) fn blank(&mut self) {
        self.out.push('\n');
    }

    /// A user-written region: marker, content verbatim, end marker.
    pub(super) fn region(&mut self, name: &str, attrs: Option<Value>, content: &str) {
        match attrs {
            Some(a) => {
                let _ = writeln!(self.out, "<!-- {}:{name} {} -->", self.tag, marker_json(&a));
            }
            None => {
                let _ = writeln!(self.out, "<!-- {}:{name} -->", self.tag);
            }
        }
        self.out.push_str(content);
        let _ = writeln!(self.out, "\n<!-- /{} -->", self.tag);
        self.blank();
    }

    /// A prose field as a region, or a placeholder when empty.
    pub(super) fn prose(&mut self, name: &str, text: &str, placeholder: &str) {
        if text.is_empty() {
            if !placeholder.is_empty() {
                self.line(placeholder);
                self.blank();
            }
        } else {
            self.region(name, None, text);
        }
    }
}

pub(super) fn front_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// How a document writes a time: in its zone, with the date when the record spans days.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub zone: Zone,
    pub with_date: bool,
}

impl Clock {
    /// `t` (UTC) as `HH:MM` or `YYYY-MM-DD HH:MM` in the zone.
    pub fn show(self, t: NaiveDateTime) -> String {
        if self.with_date {
            self.zone.date_hhmm(t)
        } else {
            self.zone.hhmm(t)
        }
    }
}

/// The visible line before an escalation's reason.
pub fn escalation_prefix(e: &RecordedEscalation, clock: Clock) -> String {
    let state = match e.state {
        EscalationState::Unknown => "answer not recorded",
        other => other.as_str(),
    };
    let mut text = format!(
        "- **{}** ({state}), escalated {}",
        e.target,
        clock.show(e.escalated_at)
    );
    if let Some(a) = e.acknowledged_at {
        let _ = write!(
            text,
            ", acknowledged {} ({} later)",
            clock.show(a),
            human_duration(a - e.escalated_at)
        );
    }
    text.push_str(if e.reason.is_empty() { "." } else { ": " });
    text
}

/// The visible label before a root cause's description.
pub fn cause_prefix(kind: CauseKind, category: CauseCategory) -> String {
    let kind = match kind {
        CauseKind::Primary => "Primary cause",
        CauseKind::Contributing => "Contributing cause",
        CauseKind::Trigger => "Trigger",
    };
    format!("**{kind} ({category}):** ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry keeps its label when rendered, whatever its body starts with.
    #[test]
    fn entry_labels_survive_rendering() {
        for body in [
            "`kubectl rollout undo` brought the old pods back",
            "Restarted the gateway",
            "- a list",
            "1. a numbered list",
            "# a heading",
            "```\ncode\n```",
            "> a quote",
            "**bold** start",
        ] {
            let doc = format!(
                "{}{body}",
                entry_prefix(Some("10:05"), EntryKind::Action, KeyMoment::default(), body)
            );
            let html = crate::markdown::render(&doc);
            assert!(
                html.contains("<strong>10:05 — Action:</strong>"),
                "{body:?} lost its label: {html}"
            );
        }
    }

    #[test]
    fn clocks_write_the_zone_with_summer_time() {
        let t = crate::time::parse_rfc3339("2023-06-07T10:00:00Z").unwrap();
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        let clock = Clock {
            zone: berlin,
            with_date: false,
        };
        assert_eq!(clock.show(t), "12:00");
        let clock = Clock {
            zone: Zone::UTC,
            with_date: true,
        };
        assert_eq!(clock.show(t), "2023-06-07 10:00");
    }
}
