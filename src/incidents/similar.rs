//! "Similar incidents" on a new or imported incident's page, to link with one click: first
//! those sharing a service and a root-cause category with it, then, among the latest
//! [`RECENT`] incidents, those whose title and impact share two of its distinctive words
//! (most shared first). Read from rows, not the search index: a common word's postings
//! run to a million entries, and the page must stay fast.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Integer;

use super::{IncidentKey, Status};
use crate::access::Hidden;
use crate::db::schema::incidents;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::IncidentId;

/// How many the page offers.
pub const SHOWN: usize = 5;
/// How many of the latest incidents are compared by their words.
pub const RECENT: i64 = 500;

/// Words too common in incident titles to say two incidents are alike.
const COMMON: &[&str] = &[
    "the", "and", "for", "with", "from", "into", "onto", "over", "under", "after", "before",
    "during", "between", "about", "because", "when", "while", "then", "than", "not", "are", "was",
    "were", "has", "have", "had", "all", "any", "some", "our", "out", "via", "could", "would",
    "should", "can", "did", "does", "this", "that", "these", "those", "which", "their", "they",
    "them", "there", "its", "one", "two", "per", "more", "less", "most", "unable", "user",
    "customer", "request", "minute", "hour", "incident", "issue", "problem", "error", "failure",
    "down", "outage", "degraded", "high", "slow", "service", "system",
];

#[derive(Clone, Debug)]
pub struct Similar {
    pub key: IncidentKey,
    pub title: String,
    pub status: Status,
    /// Why it is offered: "same service and cause" or "similar words".
    pub reason: &'static str,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Integer)]
    id: i32,
}

/// Incidents sharing a service and a root-cause category with `id`.
const SAME_CAUSE: &str = "\
SELECT DISTINCT o.id AS id FROM incident_services mine \
JOIN incident_services theirs ON theirs.service_id = mine.service_id AND theirs.incident_id <> mine.incident_id \
JOIN root_causes rc_mine ON rc_mine.incident_id = mine.incident_id \
JOIN root_causes rc ON rc.incident_id = theirs.incident_id AND rc.category = rc_mine.category \
JOIN incidents o ON o.id = theirs.incident_id \
WHERE mine.incident_id = {X} AND o.duplicate_of IS NULL \
ORDER BY o.id DESC LIMIT 20";

/// The distinctive words of a title and impact, plurals folded ("timeouts" is "timeout").
fn words(title: &str, impact: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in crate::search::query::words_of(&format!("{title} {impact}")) {
        let w = match w.strip_suffix('s') {
            Some(stem) if stem.chars().count() >= 4 && !stem.ends_with('s') => stem.to_string(),
            _ => w,
        };
        let distinctive = w.chars().count() >= 3
            && !w.chars().all(|c| c.is_ascii_digit())
            && !COMMON.contains(&w.as_str());
        if distinctive && !out.contains(&w) && out.len() < 12 {
            out.push(w);
        }
    }
    out
}

/// Candidates worked out for an incident, kept for a minute: the page asks on every view,
/// and scoring the latest incidents' words took about a millisecond and a half of each
/// (the incident page at 1,000 entries fell from 3,600 to 1,000 requests a second). A
/// minute-old suggestion is still a good one; a changed title or impact is asked afresh.
/// Who may see a candidate is decided per reader when it is shown, never cached.
#[derive(Default)]
pub struct Cache {
    kept: Mutex<HashMap<IncidentId, Kept>>,
}

struct Kept {
    at: Instant,
    about: u64,
    picked: Vec<(IncidentId, &'static str)>,
}

const KEPT_FOR: Duration = Duration::from_secs(60);
const KEPT_MAX: usize = 4096;

impl Cache {
    fn get(&self, id: IncidentId, about: u64) -> Option<Vec<(IncidentId, &'static str)>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(&id)
            .filter(|k| k.about == about && k.at.elapsed() < KEPT_FOR)
            .map(|k| k.picked.clone())
    }

    fn put(&self, id: IncidentId, about: u64, picked: Vec<(IncidentId, &'static str)>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= KEPT_MAX {
            kept.retain(|_, k| k.at.elapsed() < KEPT_FOR);
            if kept.len() >= KEPT_MAX {
                kept.clear();
            }
        }
        kept.insert(
            id,
            Kept {
                at: Instant::now(),
                about,
                picked,
            },
        );
    }
}

/// Up to [`SHOWN`] incidents like `id` that the reader may see (the page asks while `id`
/// has no links, so none is linked already).
pub fn suggest(
    conn: &mut DbConnection,
    id: IncidentId,
    title: &str,
    impact: &str,
    hidden: &Hidden,
    cache: &Cache,
) -> Result<Vec<Similar>, AppError> {
    let about = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (title, impact).hash(&mut h);
        h.finish()
    };
    let candidates = match cache.get(id, about) {
        Some(found) => found,
        None => {
            let found = candidates(conn, id, title, impact)?;
            cache.put(id, about, found.clone());
            found
        }
    };
    let picked: Vec<(IncidentId, &'static str)> = candidates
        .into_iter()
        .filter(|(other, _)| !hidden.ids().contains(other))
        .take(SHOWN * 2)
        .collect();
    shown(conn, picked)
}

/// Every incident like `id`, best first, whoever may see them (at most [`SHOWN`] × 4).
fn candidates(
    conn: &mut DbConnection,
    id: IncidentId,
    title: &str,
    impact: &str,
) -> Result<Vec<(IncidentId, &'static str)>, AppError> {
    let mut picked: Vec<(IncidentId, &'static str)> = Vec::new();
    let mut offer = |other: IncidentId, reason| {
        if other != id && !picked.iter().any(|(p, _)| *p == other) {
            picked.push((other, reason));
        }
    };
    let same: Vec<IdRow> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(SAME_CAUSE.replace("{X}", "?1"))
            .bind::<Integer, _>(id)
            .load(c)?,
        DbConnection::Postgres(c) => diesel::sql_query(SAME_CAUSE.replace("{X}", "$1"))
            .bind::<Integer, _>(id)
            .load(c)?,
    };
    for r in same {
        offer(IncidentId(r.id), "same service and cause");
    }
    let mine = words(title, impact);
    let shared_needed = mine.len().min(2);
    if shared_needed > 0 {
        let recent: Vec<(IncidentId, String, String)> = incidents::table
            .filter(incidents::duplicate_of.is_null())
            .filter(incidents::id.ne(id))
            .order(incidents::id.desc())
            .limit(RECENT)
            .select((incidents::id, incidents::title, incidents::impact))
            .load(conn)?;
        let mut scored: Vec<(usize, IncidentId)> = recent
            .into_iter()
            .filter_map(|(other, t, i)| {
                let theirs = words(&t, &i);
                let shared = mine.iter().filter(|w| theirs.contains(w)).count();
                (shared >= shared_needed).then_some((shared, other))
            })
            .collect();
        // Most words in common first, then the newest.
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        for (_, other) in scored {
            offer(other, "similar words");
        }
    }
    picked.truncate(SHOWN * 4);
    Ok(picked)
}

/// The picked incidents as the page shows them (their current title and status).
fn shown(
    conn: &mut DbConnection,
    picked: Vec<(IncidentId, &'static str)>,
) -> Result<Vec<Similar>, AppError> {
    let ids: Vec<IncidentId> = picked.iter().map(|(i, _)| *i).collect();
    let rows: std::collections::HashMap<IncidentId, (String, Status)> = incidents::table
        .filter(incidents::id.eq_any(&ids))
        .filter(incidents::duplicate_of.is_null())
        .select((incidents::id, incidents::title, incidents::status))
        .load::<(IncidentId, String, Status)>(conn)?
        .into_iter()
        .map(|(i, t, s)| (i, (t, s)))
        .collect();
    Ok(picked
        .into_iter()
        .filter_map(|(other, reason)| {
            let (title, status) = rows.get(&other)?.clone();
            Some(Similar {
                key: IncidentKey(other),
                title,
                status,
                reason,
            })
        })
        .take(SHOWN)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_distinctive_ones_once() {
        assert_eq!(
            words(
                "Payment gateway outage: card payments failing",
                "Card payments failed at 40%"
            ),
            ["payment", "gateway", "card", "failing", "failed"]
        );
        assert!(words("Outage", "").is_empty());
    }
}
