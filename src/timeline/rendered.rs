//! An incident's timeline rendered once per timeline revision and kept in memory: as the
//! page's HTML, and as the API's JSON array. A long incident is mostly its timeline;
//! loading and rendering a thousand entries on every view was the main cost of both. The key is the incident's
//! `timeline_rev`, which every add, edit and delete bumps in the same transaction, so a kept
//! copy is never stale, also with several servers on one database.

use crate::ids::IncidentId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use askama::Template;

use super::service;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::time::{hhmm, human_duration, Zone};
use chrono::Duration;

/// Gaps longer than this are shown between entries.
const GAP_SHOWN: Duration = Duration::minutes(30);

/// One timeline entry as the incident page shows it.
pub struct EntryRow {
    pub id: i32,
    /// `HH:MM` in the reader's zone; the date is the last `day`'s.
    pub time: String,
    pub time_known: bool,
    /// The date (`YYYY-MM-DD`, and as shown), when it differs from the previous entry's.
    pub day: Option<(String, String)>,
    /// The quiet time since the previous entry, when long.
    pub gap: Option<String>,
    /// The kind's name; the stylesheet shows its label.
    pub kind: &'static str,
    pub body_html: String,
    pub author: String,
    pub edited: bool,
    pub recorded_late: Option<String>,
    /// "★", "★ diagnosis", "repair": a key moment's badge.
    pub moment: Option<String>,
}

/// A key moment's badge on the page, or none.
fn moment_badge(starred: bool, marker: Option<super::Marker>) -> Option<String> {
    let star = starred.then_some("★");
    match (star, marker) {
        (None, None) => None,
        (Some(s), None) => Some(s.to_string()),
        (None, Some(m)) => Some(m.as_str().to_string()),
        (Some(s), Some(m)) => Some(format!("{s} {}", m.as_str())),
    }
}

/// Turns entries into rows with day changes and gaps marked (taking their HTML, not copying).
pub fn timeline_rows(
    entries: Vec<(service::PageEntry, Option<String>)>,
    revisions: &HashMap<i32, i64>,
    zone: Zone,
) -> Vec<EntryRow> {
    let mut rows = Vec::with_capacity(entries.len());
    let mut previous: Option<chrono::NaiveDateTime> = None;
    for (e, author) in entries {
        // Days change at the reader's midnight.
        let local = zone.local(e.occurred_at);
        let day = match previous {
            Some(p) if zone.local(p).date() == local.date() => None,
            _ => Some((
                local.format("%Y-%m-%d").to_string(),
                local.format("%a %Y-%m-%d").to_string(),
            )),
        };
        let gap = previous
            .map(|p| e.occurred_at - p)
            .filter(|g| *g >= GAP_SHOWN && e.time_known)
            .map(human_duration);
        // Backdated by more than 10 minutes: say when it was written down.
        let recorded_late = (e.recorded_at - e.occurred_at > Duration::minutes(10) && e.time_known)
            .then(|| zone.date_hhmm(e.recorded_at));
        rows.push(EntryRow {
            id: e.id,
            time: hhmm(local),
            time_known: e.time_known,
            day,
            gap,
            kind: e.kind.as_str(),
            body_html: trimmed(e.body_html),
            author: super::author_label(author, e.imported_author.as_deref()),
            edited: revisions.get(&e.id).copied().unwrap_or(0) > 0,
            recorded_late,
            moment: moment_badge(e.starred, e.marker),
        });
        previous = Some(e.occurred_at);
    }
    rows
}

/// `html` without the line break the Markdown renderer ends it with.
fn trimmed(mut html: String) -> String {
    html.truncate(html.trim_end().len());
    html
}

/// The rendered timeline of one incident (HTML, or JSON for the API).
#[derive(Clone)]
pub struct Rendered {
    pub html: Arc<str>,
    /// Live entries in it.
    pub count: usize,
}

#[derive(Template)]
#[template(path = "timeline/entries.html")]
struct Entries {
    key: String,
    can_write: bool,
    entries: Vec<EntryRow>,
    /// How many entries were deleted (they stay readable, with their history).
    deleted: i64,
}

/// Rendered timelines by (incident, with edit links), within a byte budget; the least
/// recently used go first.
pub struct TimelineCache {
    budget: usize,
    inner: Mutex<Inner>,
}

/// Incident and view: the page (whether the reader can edit, the zone its times are shown
/// in) or the API's JSON.
type Key = (IncidentId, View);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum View {
    Page { can_write: bool, zone: Zone },
    Json,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<Key, Slot>,
    bytes: usize,
    clock: u64,
}

struct Slot {
    rev: i32,
    rendered: Rendered,
    used: u64,
}

impl TimelineCache {
    pub fn new(budget: usize) -> Self {
        TimelineCache {
            budget,
            inner: Mutex::default(),
        }
    }

    fn get(&self, key: Key, rev: i32) -> Option<Rendered> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let clock = inner.clock;
        let slot = inner.slots.get_mut(&key).filter(|s| s.rev == rev)?;
        slot.used = clock;
        Some(slot.rendered.clone())
    }

    fn put(&self, key: Key, rev: i32, rendered: Rendered) {
        let size = rendered.html.len();
        if size > self.budget / 2 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let used = inner.clock;
        if let Some(old) = inner.slots.remove(&key) {
            inner.bytes -= old.rendered.html.len();
        }
        while inner.bytes + size > self.budget {
            let Some(oldest) = inner
                .slots
                .iter()
                .min_by_key(|(_, s)| s.used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(gone) = inner.slots.remove(&oldest) {
                inner.bytes -= gone.rendered.html.len();
            }
        }
        inner.bytes += size;
        inner.slots.insert(
            key,
            Slot {
                rev,
                rendered,
                used,
            },
        );
    }

    /// The timeline of `incident_id` at revision `rev` (read with the incident), from the
    /// cache or rendered now. A fresh render is kept only when the revision did not move
    /// while the entries were read (each statement may see a newer commit).
    pub fn timeline(
        &self,
        conn: &mut DbConnection,
        incident_id: IncidentId,
        rev: i32,
        can_write: bool,
        zone: Zone,
    ) -> Result<Rendered, AppError> {
        let key = (incident_id, View::Page { can_write, zone });
        if let Some(hit) = self.get(key, rev) {
            return Ok(hit);
        }
        let entries = service::list_for_page(conn, incident_id)?;
        let revisions = super::history::revision_counts(conn, incident_id)?;
        let capacity = entries
            .iter()
            .map(|(e, _)| e.body_html.len() + 600)
            .sum::<usize>()
            + 256;
        let page = Entries {
            key: IncidentKey(incident_id).to_string(),
            can_write,
            entries: timeline_rows(entries, &revisions, zone),
            deleted: super::history::deleted_count(conn, incident_id)?,
        };
        let mut html = String::with_capacity(capacity);
        page.render_into(&mut html)?;
        let rendered = Rendered {
            html: html.into(),
            count: page.entries.len(),
        };
        self.keep(conn, key, rev, &rendered)?;
        Ok(rendered)
    }

    /// The timeline of `incident_id` at revision `rev` as the API's JSON array (each entry as
    /// `GET …/timeline` returns it), from the cache or serialised now.
    pub fn timeline_json(
        &self,
        conn: &mut DbConnection,
        incident_id: IncidentId,
        rev: i32,
    ) -> Result<Arc<str>, AppError> {
        let key = (incident_id, View::Json);
        if let Some(hit) = self.get(key, rev) {
            return Ok(hit.html);
        }
        let entries: Vec<super::json::EntryJson> = service::list(conn, incident_id)?
            .into_iter()
            .map(Into::into)
            .collect();
        let json = serde_json::to_string(&entries).map_err(AppError::unexpected)?;
        let rendered = Rendered {
            html: json.into(),
            count: entries.len(),
        };
        self.keep(conn, key, rev, &rendered)?;
        Ok(rendered.html)
    }

    /// Keeps a fresh render only when the revision did not move while the entries were
    /// read (each statement may see a newer commit).
    fn keep(
        &self,
        conn: &mut DbConnection,
        key: Key,
        rev: i32,
        rendered: &Rendered,
    ) -> Result<(), AppError> {
        if service::timeline_rev(conn, key.0)? == rev {
            self.put(key, rev, rendered.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::EntryKind;

    /// The page draws each kind's label from the stylesheet: it must be the kind's label.
    #[test]
    fn the_stylesheet_labels_every_kind_as_the_code_does() {
        let css = include_str!("../../static/app.css");
        for kind in EntryKind::ALL {
            let rule = format!(
                ".k-{}::before {{ content: \"{}\";",
                kind.as_str(),
                kind.label()
            );
            assert!(css.contains(&rule), "app.css lacks `{rule}`");
        }
    }

    fn rendered(bytes: usize) -> Rendered {
        Rendered {
            html: "x".repeat(bytes).into(),
            count: 1,
        }
    }

    #[test]
    fn a_new_revision_misses_and_the_budget_evicts_the_least_recently_used() {
        const UTC: Zone = Zone::UTC;
        let page =
            |id, can_write, zone| (crate::ids::IncidentId(id), View::Page { can_write, zone });
        let cache = TimelineCache::new(100);
        cache.put(page(1, true, UTC), 1, rendered(40));
        assert!(cache.get(page(1, true, UTC), 1).is_some());
        assert!(cache.get(page(1, true, UTC), 2).is_none(), "stale revision");
        assert!(cache.get(page(1, false, UTC), 1).is_none(), "other variant");
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        assert!(cache.get(page(1, true, berlin), 1).is_none(), "other zone");
        assert!(
            cache
                .get((crate::ids::IncidentId(1), View::Json), 1)
                .is_none(),
            "other view"
        );
        cache.put(page(2, true, UTC), 1, rendered(40));
        cache.get(page(1, true, UTC), 1); // 1 is now the most recently used
        cache.put(page(3, true, UTC), 1, rendered(40));
        assert!(
            cache.get(page(2, true, UTC), 1).is_none(),
            "least recently used evicted"
        );
        assert!(cache.get(page(1, true, UTC), 1).is_some());
        assert!(cache.get(page(3, true, UTC), 1).is_some());
        cache.put(page(4, true, UTC), 1, rendered(60));
        assert!(
            cache.get(page(4, true, UTC), 1).is_none(),
            "larger than half the budget"
        );
        let bytes = cache.inner.lock().unwrap().bytes;
        assert_eq!(bytes, 80);
    }
}
