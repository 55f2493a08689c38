//! Whom a plain postmortem's "Escalation:" paragraph escalated to: "The incident was
//! escalated to the database administration team and the network engineering team for
//! further assistance." names two targets, each becoming an escalation record.

use std::sync::OnceLock;

use regex::Regex;

use super::times::regex;

static ESCALATED_TO: OnceLock<Regex> = OnceLock::new();

/// The teams or people named after "escalated to" / "paged" / "escalation to", up to the
/// end of the clause; none when the paragraph names nobody that way.
pub(super) fn targets(body: &str) -> Vec<String> {
    let Some(c) = regex(
        &ESCALATED_TO,
        r"(?i)\b(?:escalated\s+(?:it\s+)?to|escalation\s+to|paged|called\s+in)\s+(.+?)(?:\s+(?:for|to|because|as|who|after|at)\b|[.;:(]|$)",
    )
    .captures(body) else {
        return vec![];
    };
    c[1].split(',')
        .flat_map(|part| part.split(" and "))
        .map(|t| {
            let t = t.trim();
            let t = t.strip_prefix("and ").unwrap_or(t).trim();
            t.strip_prefix("the ").unwrap_or(t).trim().to_string()
        })
        .filter(|t| !t.is_empty() && t.chars().count() <= crate::escalations::TARGET_MAX)
        .take(20)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::targets;

    #[test]
    fn names_the_targets() {
        assert_eq!(
            targets("The incident was escalated to the database administration team and the network engineering team for further assistance."),
            vec!["database administration team", "network engineering team"]
        );
        assert_eq!(
            targets("Paged the DBA on call, SRE lead and CTO."),
            vec!["DBA on call", "SRE lead", "CTO"]
        );
        assert!(targets("We discussed escalation policies.").is_empty());
    }
}
