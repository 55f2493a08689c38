//! The time zone a document writes its times in, when it names one ("All times PDT",
//! `16:20 CEST`, "Europe/Berlin"): its times are read as that zone's wall clock and stored
//! in UTC. A document naming no zone, UTC, or several zones is read as UTC.

use std::sync::OnceLock;

use regex::Regex;

use super::times::regex;
use super::Imported;
use crate::time::Zone;

static NAMED: OnceLock<Regex> = OnceLock::new();

/// Common abbreviations and the zone each stands for in postmortems.
const ABBREVIATIONS: [(&str, &str); 14] = [
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("MST", "America/Denver"),
    ("MDT", "America/Denver"),
    ("CST", "America/Chicago"),
    ("CDT", "America/Chicago"),
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("CET", "Europe/Berlin"),
    ("CEST", "Europe/Berlin"),
    ("BST", "Europe/London"),
    ("JST", "Asia/Tokyo"),
    ("AEST", "Australia/Sydney"),
    ("AEDT", "Australia/Sydney"),
];

/// The one zone other than UTC that `text` names, if exactly one.
pub(super) fn named(text: &str) -> Option<Zone> {
    let re = regex(
        &NAMED,
        r"\b((?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific)/[A-Za-z_]+(?:/[A-Za-z_]+)?|[A-Z]{3,4})\b",
    );
    let mut found: Vec<&'static str> = Vec::new();
    for c in re.captures_iter(text) {
        let token = &c[1];
        let zone = if token.contains('/') {
            Zone::parse(token).map(|z| z.name())
        } else {
            ABBREVIATIONS
                .iter()
                .find(|(a, _)| *a == token)
                .map(|(_, z)| *z)
        };
        if let Some(z) = zone {
            if !found.contains(&z) {
                found.push(z);
            }
        }
    }
    match found.as_slice() {
        [one] => Zone::parse(one),
        _ => None,
    }
}

/// Moves every time `imported` holds from `zone`'s wall clock to UTC.
pub(super) fn to_utc(imported: &mut Imported, zone: Zone) {
    let f = &mut imported.fields;
    f.started_at = zone.to_utc(f.started_at);
    for t in [
        &mut f.detected_at,
        &mut f.acknowledged_at,
        &mut f.mitigated_at,
        &mut f.resolved_at,
    ]
    .into_iter()
    .flatten()
    {
        *t = zone.to_utc(*t);
    }
    for e in &mut imported.entries {
        e.occurred_at = zone.to_utc(e.occurred_at);
    }
    for e in &mut imported.escalations {
        e.escalated_at = zone.to_utc(e.escalated_at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_one_zone_or_none() {
        assert_eq!(
            named("All times PDT. 16:20 PDT - deploy").map(|z| z.name()),
            Some("America/Los_Angeles")
        );
        assert_eq!(
            named("(times in Europe/Berlin)").map(|z| z.name()),
            Some("Europe/Berlin")
        );
        assert!(named("14:02 UTC: alert; SEV2 on the API").is_none());
        assert!(
            named("10:00 PST, later 19:00 CET").is_none(),
            "two zones: not guessed"
        );
    }
}
