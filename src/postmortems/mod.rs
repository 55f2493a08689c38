//! The postmortem: its written sections, the review workflow (draft → in_review →
//! published, approval by someone other than the author), and the Markdown document in
//! both directions (`export`, `import`).

pub mod api;
pub mod export;
pub mod import;
pub mod import_cli;
pub mod import_many;
pub mod import_page;
pub mod record;
pub mod review;
pub mod web;

use crate::ids::{IncidentId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::schema::postmortems;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::time::now;

crate::text_enum!(
    /// Where a postmortem is in its review.
    ReviewState {
        Draft => "draft",
        InReview => "in_review",
        Published => "published",
    }
);

impl ReviewState {
    pub fn label(self) -> &'static str {
        match self {
            ReviewState::Draft => "draft",
            ReviewState::InReview => "in review",
            ReviewState::Published => "published",
        }
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = postmortems)]
pub struct Postmortem {
    pub incident_id: IncidentId,
    pub summary: String,
    pub resolution: String,
    pub improvements: String,
    pub lessons_went_well: String,
    pub lessons_went_wrong: String,
    pub lessons_lucky: String,
    pub conclusion: String,
    pub review_state: ReviewState,
    pub published_at: Option<NaiveDateTime>,
    pub published_by: Option<UserId>,
    pub author_id: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// 0 until the first save.
    pub version: i32,
    /// Its summary shows on the public status page (while published; never restricted).
    pub public: bool,
}

/// The written sections of a postmortem (also the columns a save writes).
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
    AsChangeset,
    Insertable,
)]
#[diesel(table_name = postmortems)]
pub struct Sections {
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub resolution: String,
    #[serde(default)]
    pub improvements: String,
    #[serde(default)]
    pub lessons_went_well: String,
    #[serde(default)]
    pub lessons_went_wrong: String,
    #[serde(default)]
    pub lessons_lucky: String,
    #[serde(default)]
    pub conclusion: String,
}

pub const SECTION_MAX: usize = 100_000;

/// A section's name as pages and messages show it.
pub fn section_label(name: &str) -> &'static str {
    match name {
        "summary" => "Summary",
        "resolution" => "Resolution",
        "improvements" => "Improvements / fixes",
        "lessons_went_well" => "What went well",
        "lessons_went_wrong" => "What went wrong",
        "lessons_lucky" => "Where we got lucky",
        _ => "Conclusion",
    }
}

impl Sections {
    pub fn of(p: &Postmortem) -> Self {
        Sections {
            summary: p.summary.clone(),
            resolution: p.resolution.clone(),
            improvements: p.improvements.clone(),
            lessons_went_well: p.lessons_went_well.clone(),
            lessons_went_wrong: p.lessons_went_wrong.clone(),
            lessons_lucky: p.lessons_lucky.clone(),
            conclusion: p.conclusion.clone(),
        }
    }

    /// Field names with their values, in document order.
    /// Each section's field name and text, in document order.
    pub fn fields(&self) -> [(&'static str, &str); 7] {
        [
            ("summary", &self.summary),
            ("resolution", &self.resolution),
            ("improvements", &self.improvements),
            ("lessons_went_well", &self.lessons_went_well),
            ("lessons_went_wrong", &self.lessons_went_wrong),
            ("lessons_lucky", &self.lessons_lucky),
            ("conclusion", &self.conclusion),
        ]
    }

    /// Trims trailing whitespace (as entries are) and checks sizes.
    pub fn validate(mut self) -> Result<Self, AppError> {
        for field in [
            &mut self.summary,
            &mut self.resolution,
            &mut self.improvements,
            &mut self.lessons_went_well,
            &mut self.lessons_went_wrong,
            &mut self.lessons_lucky,
            &mut self.conclusion,
        ] {
            *field = field.trim_end().to_string();
        }
        for (name, value) in self.fields() {
            if value.chars().count() > SECTION_MAX {
                return Err(AppError::invalid(
                    name,
                    format!(
                        "{} must be at most {SECTION_MAX} characters.",
                        section_label(name)
                    ),
                ));
            }
        }
        Ok(self)
    }
}

/// The stored postmortem, or an empty draft (version 0) when none was written yet.
pub fn get(conn: &mut DbConnection, incident_id: IncidentId) -> Result<Postmortem, AppError> {
    let found = postmortems::table
        .find(incident_id)
        .select(Postmortem::as_select())
        .first(conn)
        .optional()?;
    Ok(found.unwrap_or_else(|| {
        let t = now();
        Postmortem {
            incident_id,
            summary: String::new(),
            resolution: String::new(),
            improvements: String::new(),
            lessons_went_well: String::new(),
            lessons_went_wrong: String::new(),
            lessons_lucky: String::new(),
            conclusion: String::new(),
            review_state: ReviewState::Draft,
            published_at: None,
            published_by: None,
            author_id: None,
            created_at: t,
            updated_at: t,
            version: 0,
            public: false,
        }
    }))
}

/// Shows (or stops showing) a postmortem's summary on the public status page (admins):
/// only a published postmortem of an incident that is not restricted.
pub fn set_public(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    public: bool,
    actor: &Actor,
) -> Result<(), AppError> {
    crate::db::transaction(conn, |conn| {
        let pm = get(conn, incident_id)?;
        if pm.public == public {
            return Ok(());
        }
        actor.require(crate::auth::Permission::Administer)?;
        if public {
            if pm.published_at.is_none() {
                return Err(AppError::invalid(
                    "public",
                    "Publish the postmortem first: only a published postmortem can be public.",
                ));
            }
            if crate::access::is_restricted(conn, incident_id)? {
                return Err(AppError::invalid(
                    "public",
                    "A restricted incident is never public.",
                ));
            }
        }
        diesel::update(postmortems::table.find(incident_id))
            .set(postmortems::public.eq(public))
            .execute(conn)?;
        crate::audit::record(
            conn,
            actor,
            crate::audit::Action::PostmortemPublic,
            "incident",
            &crate::incidents::IncidentKey(incident_id).to_string(),
            if public {
                "summary shown on the status page"
            } else {
                "summary no longer on the status page"
            },
        )
    })
}

/// Saves the sections at `expected_version` (0 for the first save, which makes the actor
/// the author). Published postmortems are read-only until moved back to draft.
pub fn save(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    sections: Sections,
    expected_version: i32,
    actor: &Actor,
) -> Result<Postmortem, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    let s = sections.validate()?;
    crate::db::transaction(conn, |conn| {
        crate::incidents::service::get(conn, incident_id)?;
        let current = get(conn, incident_id)?;
        if current.review_state == ReviewState::Published {
            return Err(AppError::Conflict(
                "This postmortem is published and read-only. Move it back to draft to edit it."
                    .into(),
            ));
        }
        if current.version != expected_version {
            return Err(AppError::Conflict(format!(
                "The postmortem was changed by someone else (you edited version {expected_version}, it is now at version {}). Reload and apply your change again.",
                current.version
            )));
        }
        let t = now();
        if current.version == 0 {
            insert(conn, incident_id, &s, ReviewState::Draft, actor.user_id, t)?;
        } else {
            let updated = diesel::update(
                postmortems::table
                    .find(incident_id)
                    .filter(postmortems::version.eq(expected_version)),
            )
            .set((
                &s,
                postmortems::updated_at.eq(t),
                postmortems::version.eq(expected_version + 1),
            ))
            .execute(conn)?;
            if updated == 0 {
                return Err(AppError::Conflict(
                    "The postmortem was changed by someone else. Reload and try again.".into(),
                ));
            }
        }
        let changed: Vec<&str> = Sections::of(&current)
            .fields()
            .iter()
            .zip(s.fields().iter())
            .filter(|(a, b)| a.1 != b.1)
            .map(|(a, _)| a.0)
            .collect();
        audit::record(
            conn,
            actor,
            audit::Action::PostmortemUpdate,
            "incident",
            &IncidentKey(incident_id).to_string(),
            &changed.join(", "),
        )?;
        get(conn, incident_id)
    })
}

/// Inserts the row (first save or import).
pub fn insert(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    s: &Sections,
    state: ReviewState,
    author: Option<UserId>,
    t: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(postmortems::table)
        .values((
            postmortems::incident_id.eq(incident_id),
            s,
            postmortems::review_state.eq(state),
            postmortems::published_at.eq((state == ReviewState::Published).then_some(t)),
            postmortems::author_id.eq(author),
            postmortems::created_at.eq(t),
            postmortems::updated_at.eq(t),
            postmortems::version.eq(1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Rows of the list page and `(state, label, count)` per state.
pub type Listing = (
    Vec<web::PostmortemRow>,
    Vec<(&'static str, &'static str, i64)>,
);

/// Postmortems for the list page (by state, or `missing`: resolved incidents without
/// one), with counts per state. A fixed number of queries.
pub fn listing(
    conn: &mut DbConnection,
    state: Option<ReviewState>,
    missing: bool,
    zone: crate::time::Zone,
    reader: crate::access::Reader,
) -> Result<Listing, AppError> {
    use crate::db::schema::incidents;
    use diesel::dsl::count_star;
    let counted: Vec<(ReviewState, i64)> = postmortems::table
        .inner_join(incidents::table)
        .filter(crate::visible_incidents!(reader))
        .group_by(postmortems::review_state)
        .select((postmortems::review_state, count_star()))
        .load(conn)?;
    let count = |s: ReviewState| {
        counted
            .iter()
            .find(|(k, _)| *k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let resolved = [
        crate::incidents::Status::Resolved,
        crate::incidents::Status::Closed,
    ];
    let missing_count: i64 = incidents::table
        .filter(crate::visible_incidents!(reader))
        .filter(incidents::status.eq_any(resolved))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            postmortems::table.filter(postmortems::incident_id.eq(incidents::id)),
        )))
        .count()
        .get_result(conn)?;
    let counts = vec![
        ("draft", "Draft", count(ReviewState::Draft)),
        ("in_review", "In review", count(ReviewState::InReview)),
        ("published", "Published", count(ReviewState::Published)),
        ("missing", "Not started", missing_count),
    ];
    let rows = if missing {
        incidents::table
            .filter(crate::visible_incidents!(reader))
            .filter(incidents::status.eq_any(resolved))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                postmortems::table.filter(postmortems::incident_id.eq(incidents::id)),
            )))
            .order(incidents::resolved_at.desc())
            .limit(200)
            .select((
                incidents::id,
                incidents::title,
                incidents::resolved_at,
                incidents::updated_at,
            ))
            .load::<(IncidentId, String, Option<NaiveDateTime>, NaiveDateTime)>(conn)?
            .into_iter()
            .map(|(id, title, resolved, updated)| web::PostmortemRow {
                key: IncidentKey(id).to_string(),
                title,
                reopened: false,
                state: "missing",
                state_label: "not started",
                resolved: resolved.map(|t| zone.date_hhmm(t)).unwrap_or_default(),
                updated_iso: crate::time::rfc3339(updated),
                updated: zone.date_hhmm(updated),
            })
            .collect()
    } else {
        let mut q = postmortems::table
            .inner_join(incidents::table)
            .filter(crate::visible_incidents!(reader))
            .into_boxed();
        if let Some(s) = state {
            q = q.filter(postmortems::review_state.eq(s));
        }
        use crate::db::schema::timeline_entries as entries;
        let reopened_since_published = diesel::dsl::exists(
            entries::table
                .filter(entries::incident_id.eq(incidents::id))
                .filter(entries::kind.eq(crate::timeline::EntryKind::Reopened))
                .filter(entries::deleted_at.is_null())
                .filter(
                    entries::recorded_at
                        .nullable()
                        .gt(postmortems::published_at),
                )
                .filter(postmortems::review_state.eq(ReviewState::Published)),
        );
        q.order(postmortems::updated_at.desc())
            .limit(200)
            .select((
                incidents::id,
                incidents::title,
                postmortems::review_state,
                incidents::resolved_at,
                postmortems::updated_at,
                reopened_since_published,
            ))
            .load::<(
                IncidentId,
                String,
                ReviewState,
                Option<NaiveDateTime>,
                NaiveDateTime,
                bool,
            )>(conn)?
            .into_iter()
            .map(
                |(id, title, state, resolved, updated, reopened)| web::PostmortemRow {
                    key: IncidentKey(id).to_string(),
                    title,
                    reopened,
                    state: state.as_str(),
                    state_label: state.label(),
                    resolved: resolved.map(|t| zone.date_hhmm(t)).unwrap_or_default(),
                    updated_iso: crate::time::rfc3339(updated),
                    updated: zone.date_hhmm(updated),
                },
            )
            .collect()
    };
    Ok((rows, counts))
}

/// Resolved before `cutoff` and not published: `(id, title, resolved_at)`.
pub fn overdue(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    reader: crate::access::Reader,
) -> Result<Vec<(IncidentId, String, NaiveDateTime)>, AppError> {
    use crate::db::schema::incidents;
    let published = postmortems::table
        .filter(postmortems::incident_id.eq(incidents::id))
        .filter(postmortems::review_state.eq(ReviewState::Published));
    let rows: Vec<(IncidentId, String, Option<NaiveDateTime>)> = incidents::table
        .filter(crate::visible_incidents!(reader))
        .filter(incidents::resolved_at.lt(cutoff))
        // An imported incident brings its postmortem as it was written: history, not due.
        .filter(incidents::import_hash.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(published)))
        .order(incidents::resolved_at.asc())
        .limit(20)
        .select((incidents::id, incidents::title, incidents::resolved_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, t, r)| r.map(|r| (id, t, r)))
        .collect())
}
