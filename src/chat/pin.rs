//! A chat message onto the timeline ("Add to incident timeline", or the pin reaction): the
//! entry keeps the message's own time and its author (the mapped hindsight user, else the
//! chat name as text, like an imported document's authors) and links back to it. The same
//! message pinned twice (shortcut and reaction, or a retried event) is one entry.

use chrono::{DateTime, NaiveDateTime};

use super::commands;
use super::{people, Invocation, Platform};
use crate::access::visible;
use crate::auth::users::User;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::timeline::{EntryKind, NewEntry};

/// A message to pin, as the platform described it.
#[derive(Clone, Debug)]
pub struct Message {
    pub platform: Platform,
    pub channel_id: String,
    /// The platform's id of the message (Slack's `ts`).
    pub id: String,
    pub at: NaiveDateTime,
    pub text: String,
    pub author_id: String,
    pub author_name: String,
    pub permalink: Option<String>,
}

/// Slack's `ts` (`1531420618.000200`: seconds and microseconds) as a time.
pub fn slack_time(ts: &str) -> Option<NaiveDateTime> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: i64 = secs.parse().ok()?;
    let micros: u32 = format!("{micros:0<6}").get(..6)?.parse().ok()?;
    DateTime::from_timestamp(secs, micros * 1000).map(|t| t.naive_utc())
}

/// Adds `m` to the timeline of the incident its channel is linked to, as `user` (who
/// pinned it): the answer's text.
pub fn add(
    conn: &mut DbConnection,
    m: &Message,
    user: &User,
    base_url: &str,
) -> Result<String, AppError> {
    let inv = Invocation {
        platform: m.platform,
        user_id: String::new(),
        user_name: user.username.clone(),
        channel_id: m.channel_id.clone(),
        text: "add to timeline".into(),
    };
    let actor = commands::actor(user, &inv);
    crate::db::transaction(conn, |conn| {
        let id = super::linked(conn, m.platform, &m.channel_id)?.ok_or_else(|| {
            AppError::NotFound(
                "No incident here: link this channel with `/incident link INC-7` first.".into(),
            )
        })?;
        let seen = visible::for_user(conn, user, id, &actor, "chat pin")?;
        let author = people::known(conn, m.platform, &m.author_id)?;
        let mut body = m.text.trim().to_string();
        if body.is_empty() {
            body = "(a message without text)".into();
        }
        if let Some(link) = &m.permalink {
            body.push_str(&format!("\n\n[View in {}]({link})", m.platform.label()));
        }
        let entry = crate::timeline::service::add(
            conn,
            seen.id(),
            NewEntry {
                imported_author: author
                    .is_none()
                    .then(|| format!("{} on {}", m.author_name, m.platform.label())),
                dedupe_key: Some(format!(
                    "chat:{}:{}:{}",
                    m.platform.as_str(),
                    m.channel_id,
                    m.id
                )),
                // Context from before the declaration is the point of pinning it.
                before_start: true,
                ..NewEntry::written(m.at, EntryKind::Note, body, author.map(|a| a.id), true)
            },
            &actor,
        )?;
        let key = IncidentKey(id);
        Ok(format!(
            "Added to the {key} timeline at {}: {base_url}/incidents/{key}#e{}",
            user.zone().hhmm(entry.occurred_at),
            entry.id
        ))
    })
}
