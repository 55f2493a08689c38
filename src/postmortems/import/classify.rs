//! Guessing from wording: a timeline line's entry kind, a root cause's category; list
//! items and `Label: text` lines.

use super::times::{regex, LABEL, LIST};
use crate::root_causes::CauseCategory;
use crate::timeline::EntryKind;

pub(super) fn category_of(text: &str) -> CauseCategory {
    let t = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&[
        "misconfigur",
        "configuration",
        "config ",
        "parameter",
        "setting",
    ]) {
        CauseCategory::Configuration
    } else if has(&[
        "deploy",
        "release",
        "rollout",
        "roll-out",
        "update",
        "migration",
        "change",
    ]) {
        CauseCategory::Change
    } else if has(&[
        "capacity",
        "high load",
        "under load",
        "load spike",
        "traffic",
        "memory",
        "disk space",
        "exhaust",
        "saturat",
    ]) {
        CauseCategory::Capacity
    } else if has(&[
        "third-party",
        "third party",
        "dependency",
        "vendor",
        "provider",
        "upstream",
        "network partition",
        "dns",
    ]) {
        CauseCategory::Dependency
    } else if has(&[
        "hardware",
        "power",
        "disk failure",
        "network card",
        "host failure",
    ]) {
        CauseCategory::Hardware
    } else if has(&["process", "procedure", "runbook", "human error"]) {
        CauseCategory::Process
    } else if has(&["bug", "software", "code", "regression"]) {
        CauseCategory::Software
    } else {
        CauseCategory::Unknown
    }
}

/// The kind a timed line most likely records, from its wording (default: action). A dead
/// end is told first (a wrong lead may mention an alert); an alert that pages someone is
/// the detection, a person paging a team an escalation.
pub(super) fn entry_kind_of(text: &str) -> EntryKind {
    let t = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&[
        "wrong lead",
        "red herring",
        "dead end",
        "false lead",
        "turned out not",
        "ruled out",
        "changed nothing",
        "was not the cause",
        "not the cause",
        "misleading",
    ]) {
        EntryKind::Misleading
    } else if has(&[
        "detect",
        "alarm",
        "alert fired",
        "alert indicating",
        "triggered an alert",
        "alerts on",
        "alerted",
        "rate alert",
        "depth alert",
        "noticed",
        "check failed",
        "reported by",
    ]) {
        EntryKind::Detection
    } else if has(&["escalat", "paged"]) {
        EntryKind::Escalation
    } else if has(&[
        "resolved",
        "restored",
        "back to normal",
        "back to baseline",
        "recovered",
        "fully operational",
        "outage ends",
    ]) {
        EntryKind::Resolution
    } else if has(&[
        "mitigat",
        "rolled back",
        "rollback",
        "reverted",
        "disabled",
        "workaround",
        "failed over",
        "pointed back",
        "switched back",
    ]) {
        EntryKind::Mitigation
    } else if has(&[
        "status page",
        "customers were informed",
        "announced",
        "notified",
    ]) {
        EntryKind::Communication
    } else {
        EntryKind::Action
    }
}

/// Strips list markers and task checkboxes; `Some(true)` when checked.
pub(super) fn list_item(line: &str) -> (&str, Option<bool>) {
    let re = regex(&LIST, r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[([ xX])\]\s+)?");
    match re.captures(line) {
        Some(c) => (
            &line[c.get(0).map(|m| m.end()).unwrap_or(0)..],
            c.get(1).map(|m| m.as_str() != " "),
        ),
        None => (line, None),
    }
}

/// `Label: rest` with a short label (at most six words, no sentence punctuation).
pub(super) fn labelled(line: &str) -> Option<(&str, &str)> {
    let re = regex(
        &LABEL,
        r"^\s*(?:\*\*|__)?([A-Za-z][A-Za-z /&\-'()]{0,60}?)(?::\*\*|:__|\*\*:|__:|:)(?:\s+|$)(.*)$",
    );
    let c = re.captures(line)?;
    let label = c.get(1)?.as_str();
    if label.split_whitespace().count() > 6 {
        return None;
    }
    Some((label, c.get(2).map(|m| m.as_str()).unwrap_or("")))
}
