//! Stakeholder updates: a structured word to the people waiting — the state, the impact,
//! what is being done, when the next word comes — for an internal or a public audience.
//! Each is also a `communication` entry on the timeline. The incident keeps when the next
//! update is due: the time the last update promised, else the last update (or the
//! declaration) plus its severity's cadence ([`Cadence`]); [`nudge`] reminds the
//! communications lead (else the commander) when it passes.

pub mod api;
pub mod nudge;
pub mod web;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{Incident, IncidentKey, Severity, Status};
use crate::audit::Actor;
use crate::db::schema::{incident_updates, incidents, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::{EntryId, IncidentId, UserId};
use crate::time::now;
use crate::timeline::{EntryKind, NewEntry};

/// The longest impact or "what we are doing" text.
pub const TEXT_MAX: usize = 4000;

crate::text_enum!(
    /// Who an update is for: the responders' organisation, or everyone (the status page).
    Audience {
        Internal => "internal",
        Public => "public",
    }
);

/// How often each severity owes an update (`HINDSIGHT_UPDATE_CADENCE=SEV1=30m,SEV2=60m`);
/// a severity without one owes none unless an update promised the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence(pub [Option<Duration>; 4]);

impl Default for Cadence {
    fn default() -> Self {
        Cadence([
            Some(Duration::minutes(30)),
            Some(Duration::minutes(60)),
            None,
            None,
        ])
    }
}

impl Cadence {
    pub fn of(&self, severity: Severity) -> Option<Duration> {
        self.0[severity_index(severity)]
    }

    /// `SEV1=30m,SEV2=1h,SEV3=none`: the severities named take the given interval (`m`,
    /// `h`, or `none`); the others keep the default.
    pub fn parse(raw: &str) -> Result<Cadence, String> {
        let mut out = Cadence::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad =
                || format!("HINDSIGHT_UPDATE_CADENCE: expected SEV1=30m,SEV2=1h, not `{part}`");
            let (sev, every) = part.split_once('=').ok_or_else(bad)?;
            let severity: Severity = sev.trim().to_uppercase().parse().map_err(|_| bad())?;
            let every = every.trim().to_lowercase();
            let interval = if every == "none" || every == "0" {
                None
            } else if let Some(m) = every.strip_suffix('m') {
                Some(Duration::minutes(m.parse().map_err(|_| bad())?))
            } else if let Some(h) = every.strip_suffix('h') {
                Some(Duration::hours(h.parse().map_err(|_| bad())?))
            } else {
                return Err(bad());
            };
            if interval.is_some_and(|d| d <= Duration::zero()) {
                return Err(bad());
            }
            out.0[severity_index(severity)] = interval;
        }
        Ok(out)
    }
}

fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Sev1 => 0,
        Severity::Sev2 => 1,
        Severity::Sev3 => 2,
        Severity::Sev4 => 3,
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = incident_updates)]
pub struct Update {
    pub id: i32,
    pub incident_id: IncidentId,
    pub audience: Audience,
    pub state: Status,
    pub impact: String,
    pub actions: String,
    pub next_update_at: Option<NaiveDateTime>,
    pub entry_id: Option<EntryId>,
    pub author_id: Option<UserId>,
    pub created_at: NaiveDateTime,
}

/// An update as written, before it is checked.
#[derive(Clone, Debug, Default)]
pub struct UpdateInput {
    pub audience: String,
    pub state: String,
    pub impact: String,
    pub actions: String,
    pub next_update_at: Option<NaiveDateTime>,
}

/// When the next update is owed, from the incident, its last update and the cadence.
pub fn due(incident: &Incident, last: Option<&Update>, cadence: &Cadence) -> Option<NaiveDateTime> {
    if !incident.status.is_open() {
        return None;
    }
    match last {
        Some(u) => u
            .next_update_at
            .or_else(|| Some(u.created_at + cadence.of(incident.severity)?)),
        None => Some(incident.created_at + cadence.of(incident.severity)?),
    }
}

fn text(field: &str, raw: &str, required: bool) -> Result<String, AppError> {
    let t = raw.trim();
    if required && t.is_empty() {
        return Err(AppError::invalid(
            field,
            format!("Say the {field} in a sentence."),
        ));
    }
    if t.chars().count() > TEXT_MAX {
        return Err(AppError::invalid(
            field,
            format!("{field} must be at most {TEXT_MAX} characters."),
        ));
    }
    crate::text::check_field(field, t)?;
    Ok(t.to_string())
}

/// The timeline entry an update becomes (Markdown; the texts escaped as written).
fn entry_body(
    audience: Audience,
    state: Status,
    impact: &str,
    actions: &str,
    next: Option<NaiveDateTime>,
) -> String {
    let who = match audience {
        Audience::Internal => "Internal update",
        Audience::Public => "Public update",
    };
    let mut body = format!(
        "**{who}** · {state}\n\n**Impact:** {}",
        crate::markdown::escape(impact)
    );
    if !actions.is_empty() {
        body.push_str(&format!(
            "\n\n**What we are doing:** {}",
            crate::markdown::escape(actions)
        ));
    }
    if let Some(t) = next {
        body.push_str(&format!(
            "\n\n**Next update by:** {}",
            crate::time::in_words(t)
        ));
    }
    body
}

/// Posts an update: checked, stored with its timeline entry, and the incident's next due
/// time set from it; one transaction.
pub fn post(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    input: UpdateInput,
    cadence: &Cadence,
    actor: &Actor,
) -> Result<Update, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    let audience: Audience = input
        .audience
        .trim()
        .parse()
        .map_err(|e| AppError::invalid("audience", format!("audience {e}")))?;
    let state = match input.state.trim() {
        "" => None,
        raw => Some(Status::parse_field(raw).map_err(|_| {
            let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
            AppError::invalid(
                "state",
                format!("state must be one of {}", names.join(", ")),
            )
        })?),
    };
    let impact = text("impact", &input.impact, true)?;
    let actions = text("actions", &input.actions, false)?;
    let t = now();
    if let Some(next) = input.next_update_at {
        if next <= t {
            return Err(AppError::invalid(
                "next_update_at",
                "The next update must be promised for later than now.",
            ));
        }
        if next > t + Duration::days(7) {
            return Err(AppError::invalid(
                "next_update_at",
                "The next update must come within a week.",
            ));
        }
    }
    crate::db::transaction(conn, |conn| {
        let incident = super::service::get(conn, incident_id)?.incident;
        if audience == Audience::Public && incident.restricted {
            return Err(AppError::invalid(
                "audience",
                "A restricted incident is never public: post an internal update.",
            ));
        }
        let state = state.unwrap_or(incident.status);
        let body = entry_body(audience, state, &impact, &actions, input.next_update_at);
        let entry = crate::timeline::service::add(
            conn,
            incident_id,
            NewEntry::now(EntryKind::Communication, body, actor.user_id),
            actor,
        )?;
        let id: i32 = diesel::insert_into(incident_updates::table)
            .values((
                incident_updates::incident_id.eq(incident_id),
                incident_updates::audience.eq(audience),
                incident_updates::state.eq(state),
                incident_updates::impact.eq(&impact),
                incident_updates::actions.eq(&actions),
                incident_updates::next_update_at.eq(input.next_update_at),
                incident_updates::entry_id.eq(Some(entry.id)),
                incident_updates::author_id.eq(actor.user_id),
                incident_updates::created_at.eq(t),
            ))
            .returning(incident_updates::id)
            .get_result(conn)?;
        let update = get(conn, id)?;
        diesel::update(incidents::table.find(incident_id))
            .set(incidents::next_update_due_at.eq(due(&incident, Some(&update), cadence)))
            .execute(conn)?;
        crate::chat::outbox::queue(
            conn,
            "incident.update_posted",
            &serde_json::json!({"incident": IncidentKey(incident_id).to_string(),
                "audience": audience.as_str(), "state": state.as_str(), "impact": impact}),
        )?;
        crate::audit::record(
            conn,
            actor,
            crate::audit::Action::IncidentUpdatePost,
            "incident",
            &IncidentKey(incident_id).to_string(),
            &format!("{audience} update, state {state}"),
        )?;
        Ok(update)
    })
}

fn get(conn: &mut DbConnection, id: i32) -> Result<Update, AppError> {
    Ok(incident_updates::table
        .find(id)
        .select(Update::as_select())
        .first(conn)?)
}

/// An update with its author's username.
pub struct UpdateView {
    pub update: Update,
    pub author: Option<String>,
}

/// An incident's updates, newest first.
pub fn list(conn: &mut DbConnection, incident_id: IncidentId) -> Result<Vec<UpdateView>, AppError> {
    let rows: Vec<(Update, Option<String>)> = incident_updates::table
        .left_join(users::table.on(users::id.nullable().eq(incident_updates::author_id)))
        .filter(incident_updates::incident_id.eq(incident_id))
        .order((
            incident_updates::created_at.desc(),
            incident_updates::id.desc(),
        ))
        .select((Update::as_select(), users::username.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(update, author)| UpdateView { update, author })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_reads_the_setting() {
        let c = Cadence::parse("SEV1=15m, sev3=2h").unwrap();
        assert_eq!(c.of(Severity::Sev1), Some(Duration::minutes(15)));
        assert_eq!(
            c.of(Severity::Sev2),
            Some(Duration::minutes(60)),
            "default kept"
        );
        assert_eq!(c.of(Severity::Sev3), Some(Duration::hours(2)));
        assert_eq!(
            Cadence::parse("SEV2=none").unwrap().of(Severity::Sev2),
            None
        );
        for bad in ["SEV1", "SEV9=10m", "SEV1=10x", "SEV1=-5m"] {
            assert!(Cadence::parse(bad).is_err(), "{bad}");
        }
    }
}
