//! `/status.json` (close to Statuspage's summary: page, status, components, incidents,
//! scheduled maintenances) and `/status/feed.atom` (Atom 1.0, one entry per public update).

use serde_json::{json, Value};

use super::{ComponentState, Snapshot};
use crate::time::rfc3339;

/// Statuspage's overall indicator for a state.
fn indicator(s: ComponentState) -> &'static str {
    match s {
        ComponentState::Operational => "none",
        ComponentState::Maintenance => "maintenance",
        ComponentState::Degraded => "minor",
        ComponentState::PartialOutage => "major",
        ComponentState::MajorOutage => "critical",
    }
}

pub fn json(s: &Snapshot, base_url: &str) -> Value {
    let incident = |i: &super::PublicIncident| {
        json!({
            "key": i.key.to_string(),
            "name": i.title,
            "status": i.status.as_str(),
            "started_at": rfc3339(i.started_at),
            "resolved_at": i.resolved_at.map(rfc3339),
            "components": i.components,
            "shortlink": format!("{base_url}/status#{}", i.key),
            "updates": i.updates.iter().map(|u| json!({
                "id": u.id,
                "status": u.state.as_str(),
                "impact": u.impact,
                "actions": u.actions,
                "next_update_at": u.next_update_at.map(rfc3339),
                "created_at": rfc3339(u.created_at),
            })).collect::<Vec<_>>(),
            "postmortem": i.postmortem,
        })
    };
    json!({
        "page": {"name": s.settings.title, "url": format!("{base_url}/status"), "updated_at": rfc3339(s.settings.updated_at)},
        "status": {"indicator": indicator(s.overall), "description": s.overall.label()},
        "components": s.components.iter().map(|c| json!({
            "name": c.name, "description": c.description, "status": c.state.as_str(),
        })).collect::<Vec<_>>(),
        "incidents": s.active.iter().map(incident).collect::<Vec<_>>(),
        "past_incidents": s.past.iter().map(incident).collect::<Vec<_>>(),
        "scheduled_maintenances": s.maintenances.iter().map(|m| json!({
            "id": m.id,
            "name": m.title,
            "status": m.state_at(s.at).as_str(),
            "body": m.body,
            "scheduled_for": rfc3339(m.starts_at),
            "scheduled_until": rfc3339(m.ends_at),
            "components": m.components,
        })).collect::<Vec<_>>(),
    })
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The Atom document: newest update first; `updated` is the newest update's time (else
/// the page's).
pub fn atom(s: &Snapshot, base_url: &str) -> String {
    let mut entries: Vec<(&super::PublicIncident, &super::PublicUpdate)> = s
        .active
        .iter()
        .chain(s.past.iter())
        .flat_map(|i| i.updates.iter().map(move |u| (i, u)))
        .collect();
    entries.sort_by(|a, b| {
        b.1.created_at
            .cmp(&a.1.created_at)
            .then(b.1.id.cmp(&a.1.id))
    });
    // Each step a maintenance window has taken: (id, title, text, time).
    let mut steps: Vec<(String, String, String, chrono::NaiveDateTime)> = s
        .maintenances
        .iter()
        .flat_map(|m| {
            m.steps_until(s.at).into_iter().map(move |(state, t)| {
                (
                    format!("maintenance-{}-{}", m.id, state.as_str()),
                    format!("{} (maintenance {})", m.title, state.label().to_lowercase()),
                    format!(
                        "{} – {} UTC. {}",
                        crate::time::in_words(m.starts_at),
                        crate::time::hhmm(m.ends_at),
                        m.body
                    ),
                    t,
                )
            })
        })
        .collect();
    steps.sort_by_key(|st| std::cmp::Reverse(st.3));
    let updated = entries
        .first()
        .map(|e| e.1.created_at)
        .into_iter()
        .chain(steps.first().map(|st| st.3))
        .chain(std::iter::once(s.settings.updated_at))
        .max()
        .unwrap_or(s.settings.updated_at);
    let page = format!("{base_url}/status");
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <title>{}</title>\n  <id>{}</id>\n  <link href=\"{}\"/>\n  <link rel=\"self\" href=\"{}/feed.atom\"/>\n  <updated>{}</updated>\n  <author><name>{}</name></author>\n",
        xml(&s.settings.title),
        xml(&page),
        xml(&page),
        xml(&page),
        rfc3339(updated),
        xml(&s.settings.title),
    );
    for (i, u) in entries {
        let mut text = format!("{}: {}", u.state.as_str(), u.impact);
        if !u.actions.is_empty() {
            text.push_str(&format!("\n{}", u.actions));
        }
        out.push_str(&format!(
            "  <entry>\n    <id>{}</id>\n    <title>{}</title>\n    <link href=\"{}\"/>\n    <updated>{}</updated>\n    <content type=\"text\">{}</content>\n  </entry>\n",
            xml(&format!("{page}#update-{}", u.id)),
            xml(&format!("{} ({})", i.title, u.state.as_str())),
            xml(&format!("{page}#{}", i.key)),
            rfc3339(u.created_at),
            xml(&text),
        ));
    }
    for (id, title, text, t) in steps {
        out.push_str(&format!(
            "  <entry>\n    <id>{}</id>\n    <title>{}</title>\n    <link href=\"{}\"/>\n    <updated>{}</updated>\n    <content type=\"text\">{}</content>\n  </entry>\n",
            xml(&format!("{page}#{id}")),
            xml(&title),
            xml(&format!("{page}#maintenance")),
            rfc3339(t),
            xml(&text),
        ));
    }
    out.push_str("</feed>\n");
    out
}
