//! Escalations: asking a team or person for help. Each moves `pending → acknowledged |
//! declined | cancelled`, recording who and when; creating one adds an `escalation`
//! timeline entry.

pub mod answer;
pub mod api;
pub mod web;

use crate::ids::{EscalationId, IncidentId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::schema::{escalations, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::time::{human_duration, now};
use crate::timeline::{self, EntryKind, NewEntry};

crate::text_enum!(
    /// Where an escalation stands. `unknown`: read from an imported document that says it
    /// happened but not how it was answered (it blocks nothing).
    EscalationState {
        Pending => "pending",
        Acknowledged => "acknowledged",
        Declined => "declined",
        Cancelled => "cancelled",
        Unknown => "unknown",
    }
);

impl EscalationState {
    /// The audit log's name for answering with this state.
    pub fn audit_action(self) -> audit::Action {
        match self {
            EscalationState::Pending => audit::Action::EscalationPending,
            EscalationState::Acknowledged => audit::Action::EscalationAcknowledged,
            EscalationState::Declined => audit::Action::EscalationDeclined,
            EscalationState::Cancelled => audit::Action::EscalationCancelled,
            EscalationState::Unknown => audit::Action::EscalationUnknown,
        }
    }
}

impl EscalationState {
    /// An answer from (or for) the target, as opposed to waiting, cancelled or unknown.
    pub fn is_answer(self) -> bool {
        matches!(
            self,
            EscalationState::Acknowledged | EscalationState::Declined
        )
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = escalations)]
pub struct Escalation {
    pub id: EscalationId,
    pub incident_id: IncidentId,
    pub target: String,
    pub reason: String,
    pub state: EscalationState,
    pub escalated_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub responded_at: Option<NaiveDateTime>,
    pub responded_by: Option<UserId>,
    pub escalated_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Escalation {
    /// Time from escalation to acknowledgement, once acknowledged.
    pub fn time_to_acknowledge(&self) -> Option<String> {
        self.acknowledged_at
            .map(|a| human_duration(a - self.escalated_at))
    }
}

/// An escalation as a record from elsewhere states it (an imported document).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEscalation {
    pub target: String,
    pub reason: String,
    pub state: EscalationState,
    pub escalated_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub responded_at: Option<NaiveDateTime>,
}

/// Inserts recorded escalations as they are (no timeline entries, no audit entry each: the
/// caller records the import as a whole).
pub fn insert_many(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    recorded: &[RecordedEscalation],
    escalated_by: Option<UserId>,
) -> Result<usize, AppError> {
    let t = now();
    let rows: Vec<_> = recorded
        .iter()
        .map(|e| {
            (
                escalations::incident_id.eq(incident_id),
                escalations::target.eq(e.target.clone()),
                escalations::reason.eq(e.reason.clone()),
                escalations::state.eq(e.state),
                escalations::escalated_at.eq(e.escalated_at),
                escalations::acknowledged_at.eq(e.acknowledged_at),
                escalations::responded_at.eq(e.responded_at),
                escalations::escalated_by.eq(escalated_by),
                escalations::created_at.eq(t),
                escalations::updated_at.eq(t),
                escalations::version.eq(1),
            )
        })
        .collect();
    Ok(crate::batch_insert!(&mut *conn, escalations::table, rows))
}

/// An escalation with the usernames of who escalated and who answered.
#[derive(Clone, Debug)]
pub struct EscalationView {
    pub escalation: Escalation,
    pub escalated_by: Option<String>,
    pub responded_by: Option<String>,
}

pub const TARGET_MAX: usize = 200;
pub const REASON_MAX: usize = 5000;

/// Splits "DBA team, network engineering" (commas or new lines) into targets.
pub fn split_targets(raw: &str) -> Result<Vec<String>, AppError> {
    let targets: Vec<String> = raw
        .split([',', '\n', ';'])
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if targets.is_empty() {
        return Err(AppError::invalid(
            "target",
            "Name the team or person to escalate to.",
        ));
    }
    if targets.iter().any(|t| t.chars().count() > TARGET_MAX) {
        return Err(AppError::invalid(
            "target",
            format!("A target must be at most {TARGET_MAX} characters."),
        ));
    }
    if targets.len() > 20 {
        return Err(AppError::invalid("target", "At most 20 targets at once."));
    }
    Ok(targets)
}

/// Escalates to one or more targets at once (one row each, one timeline entry for all).
pub fn create(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    targets: &[String],
    reason: &str,
    escalated_at: NaiveDateTime,
    actor: &Actor,
) -> Result<Vec<Escalation>, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    let reason = reason.trim();
    if reason.chars().count() > REASON_MAX {
        return Err(AppError::invalid(
            "reason",
            format!("The reason must be at most {REASON_MAX} characters."),
        ));
    }
    crate::db::transaction(conn, |conn| {
        for target in targets {
            if let Some(person) = crate::auth::users::find_by_username(conn, target)? {
                crate::access::ensure_sees(conn, incident_id, person.id, target, "target")?;
            } else if let Some(team) = crate::teams::find(conn, target)? {
                crate::access::ensure_team_sees(conn, incident_id, team.team.id, target, "target")?;
            }
        }
        let t = now();
        let mut created = Vec::with_capacity(targets.len());
        let mut label: Option<String> = None;
        for target in targets {
            let row: Escalation = diesel::insert_into(escalations::table)
                .values((
                    escalations::incident_id.eq(incident_id),
                    escalations::target.eq(target),
                    escalations::reason.eq(reason),
                    escalations::state.eq(EscalationState::Pending),
                    escalations::escalated_at.eq(escalated_at),
                    escalations::escalated_by.eq(actor.user_id),
                    escalations::created_at.eq(t),
                    escalations::updated_at.eq(t),
                    escalations::version.eq(1),
                ))
                .returning(escalations::all_columns)
                .get_result(conn)?;
            audit::record(
                conn,
                actor,
                audit::Action::EscalationCreate,
                "escalation",
                &row.id.to_string(),
                &format!("{} → {target}", IncidentKey(incident_id)),
            )?;
            // A person by username, or the members of a team by its name.
            let person = crate::auth::users::find_by_username(conn, target)?;
            let (people, whom) = match person {
                Some(p) => (vec![p.id], "you".to_string()),
                None => (
                    crate::teams::member_ids(conn, target)?,
                    format!("your team {target}"),
                ),
            };
            if !people.is_empty() {
                use crate::notifications::{incident_label, notify, NotificationKind};
                // Read once, for the first target who is someone here.
                if label.is_none() {
                    label = Some(incident_label(conn, incident_id)?);
                }
                let label = label.as_deref().unwrap_or_default();
                notify(
                    conn,
                    &people,
                    NotificationKind::Escalated,
                    &format!("{} escalated {label} to {whom}.", actor.name),
                    &format!("/incidents/{}#escalations", IncidentKey(incident_id)),
                    actor,
                )?;
            }
            crate::webhooks::enqueue(
                conn,
                "escalation.created",
                serde_json::json!({"id": row.id, "incident": IncidentKey(incident_id).to_string(), "target": target, "reason": reason}),
            )?;
            crate::live::log::record(
                conn,
                incident_id,
                crate::live::log::EventKind::EscalationUpdated,
                Some(row.id.0),
            )?;
            created.push(row);
        }
        // Targets and reason are plain text here, whatever Markdown they look like.
        let named: Vec<String> = targets.iter().map(|t| crate::markdown::escape(t)).collect();
        let mut body = format!("Escalated to {}.", named.join(", "));
        if !reason.is_empty() {
            body = format!("{body} {}", crate::markdown::escape(reason));
        }
        let entry = NewEntry {
            occurred_at: escalated_at,
            ..NewEntry::now(EntryKind::Escalation, body, actor.user_id)
        };
        timeline::service::add(conn, incident_id, entry, actor)?;
        Ok(created)
    })
}

/// The escalations of an incident, oldest first, with usernames (one query).
pub fn list(
    conn: &mut DbConnection,
    incident_id: IncidentId,
) -> Result<Vec<EscalationView>, AppError> {
    let (escalator, responder) = diesel::alias!(users as escalator, users as responder);
    let rows: Vec<(Escalation, Option<String>, Option<String>)> = escalations::table
        .left_join(
            escalator.on(escalations::escalated_by.eq(escalator.field(users::id).nullable())),
        )
        .left_join(
            responder.on(escalations::responded_by.eq(responder.field(users::id).nullable())),
        )
        .filter(escalations::incident_id.eq(incident_id))
        .order((escalations::escalated_at.asc(), escalations::id.asc()))
        .select((
            Escalation::as_select(),
            escalator.field(users::username).nullable(),
            responder.field(users::username).nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(escalation, escalated_by, responded_by)| EscalationView {
            escalation,
            escalated_by,
            responded_by,
        })
        .collect())
}

pub fn get(conn: &mut DbConnection, id: EscalationId) -> Result<Escalation, AppError> {
    escalations::table
        .find(id)
        .select(Escalation::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("escalation {id}")))
}

/// Records the answer to a pending escalation; `at` defaults to now. Only pending ones can
/// change state, and a stale `expected_version` is a conflict.
pub fn respond(
    conn: &mut DbConnection,
    id: EscalationId,
    state: EscalationState,
    at: Option<NaiveDateTime>,
    expected_version: Option<i32>,
    actor: &Actor,
) -> Result<Escalation, AppError> {
    actor.require(crate::auth::Permission::Write)?;
    crate::db::transaction(conn, |conn| {
        let current = get(conn, id)?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(AppError::Conflict(format!(
                "This escalation changed since you loaded it (now {}). Reload and try again.",
                current.state
            )));
        }
        if state == EscalationState::Pending {
            return Err(AppError::invalid(
                "state",
                "An escalation cannot go back to pending.",
            ));
        }
        if current.state != EscalationState::Pending {
            return Err(AppError::Conflict(format!(
                "This escalation is already {}.",
                current.state
            )));
        }
        let answering = matches!(
            state,
            EscalationState::Acknowledged | EscalationState::Declined
        );
        let how = if answering {
            answered_for(conn, &current, actor)?
        } else {
            Answer::Themselves
        };
        let t = now();
        let at = at.unwrap_or(t);
        if at < current.escalated_at {
            return Err(AppError::invalid(
                "acknowledged_at",
                format!(
                    "The answer cannot come before the escalation ({}).",
                    crate::time::rfc3339(current.escalated_at)
                ),
            ));
        }
        if crate::time::too_far_ahead(at, t) {
            return Err(AppError::invalid(
                "acknowledged_at",
                "The answer's time is in the future.",
            ));
        }
        diesel::update(
            escalations::table
                .find(id)
                .filter(escalations::version.eq(current.version)),
        )
        .set((
            escalations::state.eq(state),
            escalations::acknowledged_at.eq((state == EscalationState::Acknowledged).then_some(at)),
            escalations::responded_at.eq(Some(at)),
            escalations::responded_by.eq(actor.user_id),
            escalations::updated_at.eq(t),
            escalations::version.eq(current.version + 1),
        ))
        .execute(conn)?;
        audit::record(
            conn,
            actor,
            state.audit_action(),
            "escalation",
            &id.to_string(),
            &current.target,
        )?;
        let entry = NewEntry {
            occurred_at: at,
            ..NewEntry::now(
                EntryKind::Escalation,
                answer_text(&current.target, state, how, &actor.name),
                actor.user_id,
            )
        };
        crate::live::log::record(
            conn,
            current.incident_id,
            crate::live::log::EventKind::EscalationUpdated,
            Some(id.0),
        )?;
        timeline::service::add(conn, current.incident_id, entry, actor)?;
        if state == EscalationState::Acknowledged {
            crate::webhooks::enqueue(
                conn,
                "escalation.acknowledged",
                serde_json::json!({"id": id, "incident": IncidentKey(current.incident_id).to_string(), "target": current.target, "acknowledged_at": crate::time::rfc3339(at)}),
            )?;
        }
        get(conn, id)
    })
}

/// How an answer was given, for its timeline entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// By the target: the user it names, or a member of the team it names.
    Themselves,
    /// By the incident's commander or an admin, for a user or team of this hindsight.
    OnBehalf,
    /// For a target outside hindsight ("network engineering"), by whoever heard back.
    Recorded,
}

/// Who may answer an escalation: its target as themselves; for a user or team of this
/// hindsight, the incident's commander or an admin on their behalf; for a target outside
/// it, any responder records the answer. Anyone else gets 403: an acknowledgement is a fact
/// about a person, and the incident's acknowledged time comes from it.
fn answered_for(
    conn: &mut DbConnection,
    escalation: &Escalation,
    actor: &Actor,
) -> Result<Answer, AppError> {
    let target = escalation.target.trim();
    let person = crate::auth::users::find_by_username(conn, target)?;
    let team = crate::teams::member_ids(conn, target)?;
    let known = person.is_some() || crate::teams::find(conn, target)?.is_some();
    let Some(me) = actor.user_id else {
        return Ok(Answer::Recorded); // the system (imports, the CLI)
    };
    if person.is_some_and(|p| p.id == me) || team.contains(&me) {
        return Ok(Answer::Themselves);
    }
    if !known {
        return Ok(Answer::Recorded);
    }
    let commander: Option<UserId> = crate::db::schema::incidents::table
        .find(escalation.incident_id)
        .select(crate::db::schema::incidents::commander_id)
        .first(conn)?;
    if actor.role == Some(crate::auth::Role::Admin) || commander == Some(me) {
        return Ok(Answer::OnBehalf);
    }
    Err(AppError::Forbidden(format!(
        "Only {target} can answer this escalation, or the incident's commander or an admin on their behalf."
    )))
}

/// The timeline entry for an answer by `by`; names are user text, so escaped.
fn answer_text(target: &str, state: EscalationState, how: Answer, by: &str) -> String {
    let target = crate::markdown::escape(target);
    let by = crate::markdown::escape(by);
    let verb = match state {
        EscalationState::Acknowledged => "acknowledged",
        EscalationState::Declined => "declined",
        _ => return format!("Escalation to {target} cancelled."),
    };
    match how {
        Answer::Themselves if by.eq_ignore_ascii_case(&target) => {
            format!("{target} {verb} the escalation.")
        }
        Answer::Themselves => format!("{by} {verb} the escalation to {target}."),
        Answer::OnBehalf => format!("{by} {verb} the escalation for {target}."),
        Answer::Recorded => format!("{target} {verb} the escalation (recorded by {by})."),
    }
}

/// The escalations of an incident still waiting for an answer.
pub fn pending(
    conn: &mut DbConnection,
    incident_id: IncidentId,
) -> Result<Vec<Escalation>, AppError> {
    Ok(escalations::table
        .filter(escalations::incident_id.eq(incident_id))
        .filter(escalations::state.eq(EscalationState::Pending))
        .order(escalations::escalated_at.asc())
        .select(Escalation::as_select())
        .load(conn)?)
}

/// Resolving with escalations still pending: a conflict naming them, or, when the
/// responder chose to, each is cancelled as of the resolution.
pub fn settle_before_resolving(
    conn: &mut DbConnection,
    incident_id: IncidentId,
    at: NaiveDateTime,
    cancel: bool,
    actor: &Actor,
) -> Result<(), AppError> {
    let waiting = pending(conn, incident_id)?;
    if waiting.is_empty() {
        return Ok(());
    }
    if !cancel {
        let names: Vec<&str> = waiting.iter().map(|e| e.target.as_str()).collect();
        return Err(AppError::Conflict(format!(
            "{} still has pending escalations to {}: cancel them to resolve.",
            IncidentKey(incident_id),
            names.join(", ")
        )));
    }
    for e in waiting {
        let at = at.max(e.escalated_at);
        respond(
            conn,
            e.id,
            EscalationState::Cancelled,
            Some(at),
            None,
            actor,
        )?;
    }
    Ok(())
}

/// Teams, past targets and active usernames, for the target field's suggestions.
pub fn target_suggestions(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let teams = crate::teams::names(conn)?;
    let users = crate::auth::users::active_usernames(conn, false)?;
    target_suggestions_with(conn, &teams, &users)
}

/// [`target_suggestions`] from teams and active users the caller has read already.
pub fn target_suggestions_with(
    conn: &mut DbConnection,
    teams: &[String],
    users: &[String],
) -> Result<Vec<String>, AppError> {
    let mut all = teams.to_vec();
    for past in past_targets(conn)? {
        if !all.iter().any(|t| t.eq_ignore_ascii_case(&past)) {
            all.push(past);
        }
    }
    for name in users {
        if !all.contains(name) {
            all.push(name.clone());
        }
    }
    Ok(all)
}

/// Distinct earlier targets, for suggestions.
pub fn past_targets(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    Ok(escalations::table
        .select(escalations::target)
        .distinct()
        .order(escalations::target.asc())
        .limit(200)
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::split_targets;

    #[test]
    fn splits_targets() {
        assert_eq!(
            split_targets("DBA team, network engineering\n").unwrap(),
            vec!["DBA team", "network engineering"]
        );
        assert!(split_targets(" , ").is_err());
    }
}
