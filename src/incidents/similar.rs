//! "Similar incidents" on a new or imported incident's page, to link with one click: first
//! those sharing a service and a root-cause category with it, then those whose title and
//! impact share its distinctive words (the search index, best match first).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::{IncidentKey, Status};
use crate::access::Hidden;
use crate::db::schema::incidents;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::IncidentId;

/// How many the page offers.
pub const SHOWN: usize = 5;

/// Words too common in incident titles to say two incidents are alike.
const COMMON: &[&str] = &[
    "the", "and", "for", "with", "from", "into", "after", "during", "when", "not", "are", "was",
    "were", "has", "have", "had", "all", "some", "our", "out", "via", "incident", "issue",
    "issues", "problem", "problems", "error", "errors", "failure", "failures", "down", "outage",
    "degraded", "high", "slow",
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

#[derive(QueryableByName)]
struct DocRow {
    #[diesel(sql_type = BigInt)]
    doc: i64,
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

/// The distinctive words of a title and impact, for an any-of search.
fn words(title: &str, impact: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in crate::search::query::words_of(&format!("{title} {impact}")) {
        let distinctive = w.chars().count() >= 3
            && !w.chars().all(|c| c.is_ascii_digit())
            && !COMMON.contains(&w.as_str());
        if distinctive && !out.contains(&w) && out.len() < 12 {
            out.push(w);
        }
    }
    out
}

/// Up to [`SHOWN`] incidents like `id` that the reader may see (the page asks while `id`
/// has no links, so none is linked already).
pub fn suggest(
    conn: &mut DbConnection,
    id: IncidentId,
    title: &str,
    impact: &str,
    hidden: &Hidden,
) -> Result<Vec<Similar>, AppError> {
    let mut picked: Vec<(IncidentId, &'static str)> = Vec::new();
    let mut offer = |other: IncidentId, reason| {
        if other != id && !hidden.ids().contains(&other) && !picked.iter().any(|(p, _)| *p == other)
        {
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
    let words = words(title, impact);
    if !words.is_empty() {
        // Titles and impacts (codes 1 and 2) only, best match first.
        let docs: Vec<DocRow> = match conn {
            DbConnection::Sqlite(c) => {
                let any: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                diesel::sql_query(
                    "SELECT rowid AS doc FROM search_docs WHERE search_docs MATCH ?1 \
                     AND (rowid & 15) IN (1, 2) ORDER BY rank LIMIT 30",
                )
                .bind::<Text, _>(any.join(" OR "))
                .load(c)?
            }
            DbConnection::Postgres(c) => {
                let any: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
                diesel::sql_query(
                    "SELECT id AS doc FROM search_docs \
                     WHERE tsv @@ to_tsquery('english', $1) AND (id & 15) IN (1, 2) \
                     ORDER BY ts_rank(tsv, to_tsquery('english', $1)) DESC, id DESC LIMIT 30",
                )
                .bind::<Text, _>(any.join(" | "))
                .load(c)?
            }
        };
        for d in docs {
            offer(IncidentId((d.doc >> 32) as i32), "similar words");
        }
    }
    picked.truncate(SHOWN * 2);
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
            ["payment", "gateway", "card", "payments", "failing", "failed"]
        );
        assert!(words("Outage", "").is_empty());
    }
}
