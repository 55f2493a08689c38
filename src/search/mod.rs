//! Search across everything written about incidents: titles and impact, timeline entries,
//! root causes, tasks, escalations and postmortem sections, grouped by incident, each hit
//! with a marked snippet and a link to where it is.
//!
//! The index is one table the database keeps in the writing transaction (migration
//! `search`: FTS5 on SQLite, `tsvector` + GIN on PostgreSQL). A document id says whose a
//! text is: `incident_id << 32 | ref_id << 4 | code`, so finding incidents reads only ids.
//! A search runs in three steps, each one query whatever the number of hits: the page of
//! incidents (the list's filters and the reader's hidden incidents applied, ranked title
//! hits, then phrase hits, then recency), the matching documents of those incidents, and
//! snippets for the few shown.

pub mod api;
pub mod query;
pub mod web;

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use crate::access::{can_see, Hidden, Reader, Seen};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::IncidentId;
use crate::incidents::search::{ranked, IncidentFilter};
use crate::incidents::service::IncidentDetail;
use crate::incidents::IncidentKey;
use query::{Kind, Match, Query};

/// Hits shown per incident; the rest are counted.
pub const HITS_SHOWN: usize = 3;

/// A document of the index, taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Doc {
    pub incident: IncidentId,
    pub ref_id: i32,
    pub code: i64,
}

impl Doc {
    pub fn of(id: i64) -> Doc {
        Doc {
            incident: IncidentId((id >> 32) as i32),
            ref_id: ((id & 0xffff_ffff) >> 4) as i32,
            code: id & 15,
        }
    }

    /// Where a hit is listed within its incident: title, impact, postmortem sections in
    /// page order, then entries, causes, tasks and escalations, each oldest first.
    fn place(self) -> (i64, i32) {
        match self.code {
            3..=6 => (self.code + 20, self.ref_id),
            code => (code, 0),
        }
    }

    fn kind(self) -> Kind {
        Kind::of_code(self.code).unwrap_or(Kind::Incident)
    }

    /// The postmortem section a code 8..14 stands for (the column's name, the page's
    /// anchor).
    fn section(self) -> Option<&'static str> {
        const SECTIONS: [&str; 7] = [
            "summary",
            "resolution",
            "improvements",
            "lessons_went_well",
            "lessons_went_wrong",
            "lessons_lucky",
            "conclusion",
        ];
        (8..=14)
            .contains(&self.code)
            .then(|| SECTIONS[(self.code - 8) as usize])
    }

    /// Where the text is: the entry, record or section on its page.
    fn url(self, key: &str) -> String {
        match self.kind() {
            Kind::Incident if self.code == 2 => format!("/incidents/{key}#impact"),
            Kind::Incident => format!("/incidents/{key}"),
            Kind::Entry => format!("/incidents/{key}#e{}", self.ref_id),
            Kind::RootCause => format!("/incidents/{key}#c{}", self.ref_id),
            Kind::Task => format!("/incidents/{key}#t{}", self.ref_id),
            Kind::Escalation => format!("/incidents/{key}#x{}", self.ref_id),
            Kind::Postmortem => format!(
                "/incidents/{key}/postmortem#{}",
                self.section().unwrap_or("summary")
            ),
        }
    }

    /// What the page calls the place: "Title", "Timeline", "Postmortem: Resolution", ….
    fn label(self) -> String {
        match self.kind() {
            Kind::Incident if self.code == 2 => "Impact".into(),
            Kind::Incident => "Title".into(),
            Kind::Entry => "Timeline".into(),
            Kind::RootCause => "Root cause".into(),
            Kind::Task => "Follow-up task".into(),
            Kind::Escalation => "Escalation".into(),
            Kind::Postmortem => format!(
                "Postmortem: {}",
                crate::postmortems::section_label(self.section().unwrap_or("summary"))
            ),
        }
    }
}

/// One place a search's words were found.
#[derive(Clone, Debug)]
pub struct Hit {
    pub kind: Kind,
    /// The entry, cause, task or escalation; the incident for its own fields and the
    /// postmortem.
    pub id: i32,
    pub section: Option<&'static str>,
    pub label: String,
    /// Escaped text with the found words in `<mark>`.
    pub snippet_html: String,
    pub url: String,
}

/// An incident with its hits.
pub struct Found {
    pub incident: IncidentDetail,
    pub hits: Vec<Hit>,
    /// Hits beyond those shown.
    pub more: usize,
}

/// A page of results and how many incidents match in all.
pub struct Results {
    pub found: Vec<Found>,
    pub total: i64,
}

/// The incident a search names by key (`INC-2`, `inc 2`, `2`) when `reader` may see it.
/// A hidden one is `None`, as a missing one is: the search then goes on as text.
pub fn jump(
    conn: &mut DbConnection,
    reader: Reader,
    q: &Query,
) -> Result<Option<IncidentKey>, AppError> {
    let Some(id) = q.key else {
        return Ok(None);
    };
    Ok((!matches!(can_see(conn, reader, id)?, Seen::No)).then_some(IncidentKey(id)))
}

/// Turns the search's filters into the list's, naming the search box in any error.
fn filter_of(q: &Query) -> Result<IncidentFilter, AppError> {
    if let Some(u) = q.unknown.first() {
        return Err(AppError::invalid(
            "q",
            format!(
                "“{u}” is not a filter this search knows (kind: takes {}).",
                Kind::ALL.map(Kind::as_str).join(", ")
            ),
        ));
    }
    let f = &q.filters;
    let mut filter = IncidentFilter::parse(
        f.status.as_deref(),
        f.severity.as_deref(),
        f.service.as_deref(),
        None,
        f.after.as_deref(),
        f.before.as_deref(),
        None,
    )
    .map_err(|e| match e {
        AppError::Invalid { message, .. } => AppError::invalid(
            "q",
            message
                .replace("From must", "after: must")
                .replace("To must", "before: must"),
        ),
        other => other,
    })?;
    filter.words = q.matcher();
    Ok(filter)
}

/// A page of incidents whose record matches `q`, with their hits. `q` must have words
/// ([`Query::has_words`]).
pub fn search(
    conn: &mut DbConnection,
    hidden: &Hidden,
    q: &Query,
    page: i64,
    per_page: i64,
) -> Result<Results, AppError> {
    let filter = filter_of(q)?;
    let Some(words) = filter.words.clone() else {
        return Ok(Results {
            found: vec![],
            total: 0,
        });
    };
    let boosts: Vec<Match> = std::iter::once(words.titles_only())
        .chain(q.as_phrase())
        .collect();
    let (incidents, total) = ranked(conn, hidden, &filter, &boosts, page, per_page)?;
    let ids: Vec<i32> = incidents.iter().map(|d| d.incident.id.0).collect();
    let docs = matching_docs(conn, &words, &ids)?;
    let mut by_incident: HashMap<IncidentId, Vec<i64>> = HashMap::new();
    for id in docs {
        by_incident
            .entry(Doc::of(id).incident)
            .or_default()
            .push(id);
    }
    for docs in by_incident.values_mut() {
        docs.sort_by_key(|&id| Doc::of(id).place());
    }
    let shown: Vec<i64> = by_incident
        .values()
        .flat_map(|docs| docs.iter().take(HITS_SHOWN).copied())
        .collect();
    let snippets = snippets(conn, &words, &shown)?;
    let found = incidents
        .into_iter()
        .map(|incident| {
            let docs = by_incident
                .remove(&incident.incident.id)
                .unwrap_or_default();
            let key = incident.incident.key();
            let hits = docs
                .iter()
                .take(HITS_SHOWN)
                .map(|&id| hit(Doc::of(id), &key, snippets.get(&id)))
                .collect();
            Found {
                incident,
                more: docs.len().saturating_sub(HITS_SHOWN),
                hits,
            }
        })
        .collect();
    Ok(Results { found, total })
}

fn hit(doc: Doc, key: &str, snippet: Option<&String>) -> Hit {
    let is_incident = matches!(doc.kind(), Kind::Incident | Kind::Postmortem);
    Hit {
        kind: doc.kind(),
        id: if is_incident {
            doc.incident.0
        } else {
            doc.ref_id
        },
        section: doc.section(),
        label: doc.label(),
        snippet_html: marked(snippet.map_or("", String::as_str)),
        url: doc.url(key),
    }
}

/// Start and end of a found word in the databases' snippets: C0 controls, which stored
/// text never holds (`text` refuses them), so the markers cannot be forged.
const MARK_START: char = '\u{2}';
const MARK_END: char = '\u{3}';

/// A snippet as HTML: escaped first, then the markers become `<mark>`; runs of white space
/// (line breaks of Markdown source) become one space.
pub fn marked(snippet: &str) -> String {
    let flat = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
    let escaped = askama::filters::escape(&flat, askama::filters::Html)
        .map(|e| e.to_string())
        .unwrap_or_default();
    let mut out = String::with_capacity(escaped.len() + 16);
    let mut open = false;
    for c in escaped.chars() {
        match c {
            MARK_START if !open => {
                out.push_str("<mark>");
                open = true;
            }
            MARK_END if open => {
                out.push_str("</mark>");
                open = false;
            }
            MARK_START | MARK_END => {}
            c => out.push(c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

#[derive(QueryableByName)]
struct DocRow {
    #[diesel(sql_type = BigInt)]
    doc: i64,
}

#[derive(QueryableByName)]
struct SnippetRow {
    #[diesel(sql_type = BigInt)]
    doc: i64,
    #[diesel(sql_type = Text)]
    snippet: String,
}

/// The ids of the documents of `incidents` that match. Each incident is a range of ids,
/// read as its own part of one UNION ALL: both databases then read only those ranges of
/// their index (a join let SQLite walk every match of a common word once per incident).
fn matching_docs(
    conn: &mut DbConnection,
    m: &Match,
    incidents: &[i32],
) -> Result<Vec<i64>, AppError> {
    // SQLite takes at most 500 parts in one compound SELECT (an API page may hold 1,000).
    let mut docs = Vec::new();
    for chunk in incidents.chunks(200) {
        docs.extend(matching_docs_of(conn, m, chunk)?);
    }
    Ok(docs)
}

fn matching_docs_of(
    conn: &mut DbConnection,
    m: &Match,
    incidents: &[i32],
) -> Result<Vec<i64>, AppError> {
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let part = |n: usize| {
        let (lo, hi) = (2 + 2 * n, 3 + 2 * n);
        if sqlite {
            format!(
                "SELECT rowid AS doc FROM search_docs WHERE search_docs MATCH ?1 \
                 AND rowid >= ?{lo} AND rowid < ?{hi}{}",
                m.kind_clause("rowid")
            )
        } else {
            format!(
                "SELECT id AS doc FROM search_docs WHERE id >= ${lo} AND id < ${hi} \
                 AND tsv @@ to_tsquery('english', $1){}",
                m.kind_clause("id")
            )
        }
    };
    let sql: Vec<String> = (0..incidents.len()).map(part).collect();
    let words = if sqlite { &m.fts5 } else { &m.tsquery };
    let ranges = incidents.iter().flat_map(|&i| {
        let lo = i64::from(i) << 32;
        [lo, lo + (1 << 32)]
    });
    let rows: Vec<DocRow> = match conn {
        DbConnection::Sqlite(c) => {
            let mut q = diesel::sql_query(sql.join(" UNION ALL "))
                .into_boxed::<diesel::sqlite::Sqlite>()
                .bind::<Text, _>(words.clone());
            for r in ranges {
                q = q.bind::<BigInt, _>(r);
            }
            q.load(c)?
        }
        DbConnection::Postgres(c) => {
            let mut q = diesel::sql_query(sql.join(" UNION ALL "))
                .into_boxed::<diesel::pg::Pg>()
                .bind::<Text, _>(words.clone());
            for r in ranges {
                q = q.bind::<BigInt, _>(r);
            }
            q.load(c)?
        }
    };
    Ok(rows.into_iter().map(|r| r.doc).collect())
}

/// Snippets of documents `docs`, the words found between [`MARK_START`] and [`MARK_END`].
fn snippets(
    conn: &mut DbConnection,
    m: &Match,
    docs: &[i64],
) -> Result<HashMap<i64, String>, AppError> {
    if docs.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<SnippetRow> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT rowid AS doc, \
             snippet(search_docs, 0, char(2), char(3), '…', 24) AS snippet \
             FROM search_docs WHERE search_docs MATCH ? \
             AND rowid IN (SELECT value FROM json_each(?))",
        )
        .bind::<Text, _>(&m.fts5)
        .bind::<Text, _>(json_ids(docs))
        .load(c)?,
        DbConnection::Postgres(c) => diesel::sql_query(
            "SELECT id AS doc, ts_headline('english', body, to_tsquery('english', $1), \
             'StartSel=' || chr(2) || ', StopSel=' || chr(3) || \
             ', MaxWords=30, MinWords=12, ShortWord=2') \
             AS snippet FROM search_docs WHERE id = ANY($2)",
        )
        .bind::<Text, _>(&m.tsquery)
        .bind::<Array<BigInt>, _>(docs)
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| (r.doc, r.snippet)).collect())
}

/// `[1,2,3]`, for SQLite's `json_each`: a list of numbers in one bound parameter.
fn json_ids<T: ToString>(ids: &[T]) -> String {
    let parts: Vec<String> = ids.iter().map(T::to_string).collect();
    format!("[{}]", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_escaped_then_marked() {
        assert_eq!(
            marked("<b>\u{2}acquirer\u{3}</b>\n  timed   out"),
            "&#60;b&#62;<mark>acquirer</mark>&#60;/b&#62; timed out"
        );
        // A marker left open is closed; a stray end is dropped.
        assert_eq!(marked("\u{3}a \u{2}b"), "a <mark>b</mark>");
    }

    #[test]
    fn document_ids_come_apart() {
        let id = (7_i64 << 32) + 41 * 16 + 3;
        let d = Doc::of(id);
        assert_eq!((d.incident, d.ref_id, d.code), (IncidentId(7), 41, 3));
        assert_eq!(d.url("INC-7"), "/incidents/INC-7#e41");
        let pm = Doc::of((7_i64 << 32) + 9);
        assert_eq!(pm.url("INC-7"), "/incidents/INC-7/postmortem#resolution");
        assert_eq!(pm.label(), "Postmortem: Resolution");
    }
}
