//! The "chat" hook format: what Slack and Mattermost incoming webhooks read. One line of
//! `text` (both show it; it is also the notification preview) and a `blocks` section with
//! the same words and a link (Slack renders blocks; Mattermost shows the text). Links use
//! `<url|label>`, which both understand; `&`, `<` and `>` in user text are escaped as both
//! require.

use serde_json::{json, Value};

/// Escapes text for Slack/Mattermost message formatting.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn field<'a>(data: &'a Value, name: &str) -> &'a str {
    data.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The chat message for a hindsight event payload (`{"event", "occurred_at", "data"}`).
pub fn message(payload: &str, base_url: &str) -> String {
    let (text, link, incident) = parts(payload, base_url);
    json!({
        "text": format!("{text} <{link}|Open in hindsight>"),
        "blocks": [{
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!("*{text}*\n<{link}|Open {}>", if incident.is_empty() { "hindsight" } else { &incident })}
        }]
    })
    .to_string()
}

/// The one line a chat channel gets for an event payload, with its link.
pub fn text(payload: &str, base_url: &str) -> String {
    let (text, link, _) = parts(payload, base_url);
    format!("{text} <{link}|Open in hindsight>")
}

/// An event's sentence, its link, and its incident's key ("" for none).
fn parts(payload: &str, base_url: &str) -> (String, String, String) {
    let parsed: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let event = field(&parsed, "event");
    let data = parsed.get("data").cloned().unwrap_or(Value::Null);
    let incident = match event {
        "incident.created" | "incident.status_changed" => field(&data, "key"),
        _ => field(&data, "incident"),
    };
    let title = esc(field(&data, "title"));
    let text = match event {
        "incident.created" => format!(
            "{} declared: {} {title} ({})",
            incident,
            field(&data, "severity"),
            field(&data, "status")
        ),
        "incident.status_changed" => format!(
            "{incident} {title}: {} → {}",
            field(&data, "previous_status"),
            field(&data, "status")
        ),
        "escalation.created" => {
            let reason = esc(field(&data, "reason"));
            let mut t = format!("{incident} escalated to {}", esc(field(&data, "target")));
            if !reason.is_empty() {
                t = format!("{t}: {reason}");
            }
            t
        }
        "escalation.acknowledged" => format!(
            "{} acknowledged the escalation on {incident}",
            esc(field(&data, "target"))
        ),
        "task.overdue" => format!(
            "Task overdue since {}: {title} ({incident})",
            field(&data, "due_on")
        ),
        "postmortem.published" => format!(
            "Postmortem of {incident} published by {}",
            esc(field(&data, "published_by"))
        ),
        "incident.update_posted" => format!(
            "{incident} update ({}): {}",
            esc(field(&data, "state")),
            esc(field(&data, "impact"))
        ),
        other => format!("{other} on {incident}"),
    };
    let link = if incident.is_empty() {
        base_url.to_string()
    } else if event == "postmortem.published" {
        format!("{base_url}/incidents/{incident}/postmortem")
    } else {
        format!("{base_url}/incidents/{incident}")
    };
    (text, link, incident.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_change_reads_as_a_sentence_with_a_link() {
        let payload = json!({"event": "incident.status_changed", "occurred_at": "x", "data": {"key": "INC-7", "title": "Checkout <500s> & more", "status": "resolved", "previous_status": "monitoring"}}).to_string();
        let m: Value = serde_json::from_str(&message(&payload, "https://hs.example")).unwrap();
        assert_eq!(
            m["text"],
            "INC-7 Checkout &lt;500s&gt; &amp; more: monitoring → resolved <https://hs.example/incidents/INC-7|Open in hindsight>"
        );
        assert_eq!(m["blocks"][0]["text"]["type"], "mrkdwn");
        assert!(m["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("<https://hs.example/incidents/INC-7|Open INC-7>"));
    }

    #[test]
    fn escalation_names_target_and_reason() {
        let payload = json!({"event": "escalation.created", "data": {"incident": "INC-2", "target": "DBA team", "reason": "replica lag"}}).to_string();
        let m: Value = serde_json::from_str(&message(&payload, "http://h")).unwrap();
        assert!(m["text"]
            .as_str()
            .unwrap()
            .starts_with("INC-2 escalated to DBA team: replica lag"));
    }
}
