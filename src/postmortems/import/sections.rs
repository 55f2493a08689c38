//! Section titles and `Label:` paragraphs of a plain postmortem, and what each one fills.

use crate::root_causes::CauseKind;
use crate::timeline::EntryKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Section {
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
pub(super) fn norm(s: &str) -> String {
    s.trim()
        .trim_start_matches('#')
        .trim_matches(|c| c == '*' || c == '_')
        .trim()
        .trim_end_matches(':')
        .trim_matches(|c| c == '*' || c == '_')
        .trim()
        .to_lowercase()
}

pub(super) fn section_of(title: &str) -> Option<Section> {
    Some(match norm(title).as_str() {
        "postmortem"
        | "post-mortem"
        | "post mortem"
        | "incident postmortem"
        | "incident report" => Section::Preamble,
        "issue summary"
        | "summary"
        | "incident summary"
        | "overview"
        | "impact"
        | "impact & metrics"
        | "impact and metrics"
        | "customer impact"
        | "what happened"
        | "leadup"
        | "lead-up"
        | "fault"
        | "detection"
        | "detection & response"
        | "detection and response"
        | "response"
        | "recovery"
        | "responders"
        | "five whys"
        | "5 whys" => Section::Summary,
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
        "lessons learned"
        | "lessons"
        | "blameless lessons learned"
        | "what went well"
        | "what went wrong"
        | "what can be improved"
        | "where we got lucky" => Section::Lessons,
        "conclusion" | "conclusions" | "supporting information" | "appendix" | "references" => {
            Section::Conclusion
        }
        _ => return None,
    })
}

/// Which field a `Label:` paragraph fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Title,
    /// The day of the incident (`**Date:** 2025-02-11`).
    Date,
    /// Who wrote it and its review state: kept for the import's audit entry.
    Review,
    /// How it was found, said outside the timeline: kept in the summary with its label.
    Detection,
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

pub(super) fn field_of(label: &str, section: Section) -> Option<Field> {
    let l = norm(label);
    // Entry kinds only inside the timeline: a "Note:" in the conclusion stays prose.
    let kind = |k| (section == Section::Timeline).then_some(Field::Entry(k));
    match l.as_str() {
        "title" | "incident" | "postmortem" | "post-mortem" | "incident postmortem" => {
            Some(Field::Title)
        }
        "severity" | "sev" => Some(Field::Severity),
        "date" | "incident date" => Some(Field::Date),
        "authors" | "author" | "reviewers" | "document status" => Some(Field::Review),
        "status" if section == Section::Preamble => Some(Field::Review),
        "services"
        | "service"
        | "affected services"
        | "systems affected"
        | "services affected"
        | "service(s) affected"
        | "affected components"
        | "components affected" => Some(Field::Services),
        "duration" => Some(Field::Duration),
        "impact" | "customer impact" | "user impact" => Some(Field::Impact),
        "summary" => Some(Field::Summary),
        "root cause" | "root causes" | "primary cause" | "primary root cause" | "cause" => {
            Some(Field::Cause(CauseKind::Primary))
        }
        "contributing cause"
        | "contributing causes"
        | "contributing factor"
        | "contributing factors" => Some(Field::Cause(CauseKind::Contributing)),
        "trigger" => Some(Field::Cause(CauseKind::Trigger)),
        "resolution" | "fix" if section != Section::Timeline => Some(Field::Resolution),
        "improvements/fixes" | "improvements" | "fixes" | "preventative measures" => {
            Some(Field::Improvements)
        }
        "what went well" | "went well" => Some(Field::WentWell),
        "what went wrong" | "went wrong" | "what can be improved" => Some(Field::WentWrong),
        "where we got lucky" | "got lucky" | "lucky" => Some(Field::Lucky),
        "conclusion" => Some(Field::Conclusion),
        "detection" | "detected" if section != Section::Timeline => Some(Field::Detection),
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
        "reopened" => kind(EntryKind::Reopened),
        "change" | "changed" => kind(EntryKind::Change),
        _ => None,
    }
}
