//! The status page is what everyone reloads during an outage: its three answers are made
//! once per revision and served from memory until something public changes. The revision
//! is a few small reads (the page's settings, the newest public update, each incident with
//! a public update, the components, the maintenance windows) and the minute,
//! so that maintenance moving on and the day's bar rolling over are never more than a
//! minute late. The revision itself is looked at most once a second per server
//! (`Config::status_recheck`): between looks a reload is served from memory without
//! touching the database (answers may be cached for 15 s by anyone anyway), so an
//! outage's reloads cost the database one read a second, not one per visitor.

use std::sync::{Arc, Mutex};

use chrono::{NaiveDateTime, Timelike};
use diesel::dsl::max;
use diesel::prelude::*;

use crate::db::schema::{
    incident_updates, incidents, postmortems, services, status_maintenances, status_page,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::updates::Audience;

/// The page, the JSON and the feed of one revision.
pub struct Rendered {
    pub enabled: bool,
    pub html: Body,
    pub json: Body,
    pub atom: Body,
}

/// One answer and its `ETag` (a hash of the bytes, made once per revision).
pub struct Body {
    pub bytes: actix_web::web::Bytes,
    pub etag: String,
}

impl Body {
    pub fn new(bytes: Vec<u8>) -> Body {
        use sha2::{Digest, Sha256};
        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32]);
        Body {
            bytes: bytes.into(),
            etag,
        }
    }
}

#[derive(Default)]
pub struct StatusCache {
    kept: Mutex<Option<(String, Arc<Rendered>)>>,
    /// When the kept answers' revision was last confirmed current.
    checked: Mutex<Option<std::time::Instant>>,
}

impl StatusCache {
    /// The kept answers when their revision was confirmed less than `recheck` ago.
    pub fn recent(&self, recheck: std::time::Duration) -> Option<Arc<Rendered>> {
        let checked = *self.checked.lock().ok()?;
        if checked.is_none_or(|t| t.elapsed() >= recheck) {
            return None;
        }
        let kept = self.kept.lock().ok()?;
        kept.as_ref().map(|(_, page)| Arc::clone(page))
    }

    /// Notes that the kept answers were just confirmed current.
    pub fn confirmed(&self) {
        if let Ok(mut c) = self.checked.lock() {
            *c = Some(std::time::Instant::now());
        }
    }

    /// The rendering of `revision`, if it is the one kept.
    pub fn get(&self, revision: &str) -> Option<Arc<Rendered>> {
        let kept = self.kept.lock().ok()?;
        kept.as_ref()
            .filter(|(r, _)| r == revision)
            .map(|(_, page)| Arc::clone(page))
    }

    pub fn put(&self, revision: String, page: Arc<Rendered>) {
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Some((revision, page));
        }
    }
}

/// What the public page depends on, as of `at`.
pub fn revision(conn: &mut DbConnection, at: NaiveDateTime) -> Result<String, AppError> {
    let page: NaiveDateTime = status_page::table
        .find(1)
        .select(status_page::updated_at)
        .first(conn)?;
    let newest_update: Option<i32> = incident_updates::table
        .filter(incident_updates::audience.eq(Audience::Public))
        .select(max(incident_updates::id))
        .first(conn)?;
    // Every incident with a public update, as far as the page shows it: its title, state,
    // severity and times, and whether it may be shown (a move to restricted must take it
    // off the page at once). Timeline entries, which touch the incident but are never
    // public, leave the revision alone.
    type Shown = (
        i32,
        String,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        bool,
        Option<i32>,
    );
    let incidents_now: Vec<Shown> = incidents::table
        .filter(
            incidents::id.eq_any(
                incident_updates::table
                    .filter(incident_updates::audience.eq(Audience::Public))
                    .select(incident_updates::incident_id),
            ),
        )
        .order(incidents::id.asc())
        .select((
            incidents::id,
            incidents::title,
            incidents::status,
            incidents::severity,
            incidents::started_at,
            incidents::resolved_at,
            incidents::restricted,
            incidents::duplicate_of,
        ))
        .load(conn)?;
    let components: Vec<(i32, String, String, Option<String>)> = services::table
        .filter(services::public.eq(true))
        .select((
            services::id,
            services::name,
            services::description,
            services::status_override,
        ))
        .load(conn)?;
    let postmortems: Vec<(i32, NaiveDateTime)> = postmortems::table
        .filter(postmortems::public.eq(true))
        .filter(postmortems::published_at.is_not_null())
        .order(postmortems::incident_id.asc())
        .select((postmortems::incident_id, postmortems::updated_at))
        .load(conn)?;
    let windows: Option<i32> = status_maintenances::table
        .select(max(status_maintenances::id))
        .first(conn)?;
    let minute = at
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(at);
    Ok(format!(
        "{page}|{newest_update:?}|{incidents_now:?}|{components:?}|{postmortems:?}|{windows:?}|{minute}"
    ))
}
