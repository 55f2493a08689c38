//! Status changes as a record: when they happened (backdated or now), the milestone each
//! sets, milestones kept in order, and reopening (the resolution it undoes is cleared and
//! remembered). Worked out before anything is written.

use chrono::NaiveDateTime;

use super::fields::IncidentFields;
use super::model::Status;
use crate::error::AppError;
use crate::time::too_far_ahead;

/// How a status change was asked for, beside the new status.
#[derive(Clone, Debug, Default)]
pub struct StatusChange {
    /// When the status changed; `None` is now (or a milestone typed in the same edit).
    pub at: Option<NaiveDateTime>,
    /// Resolving cancels escalations still pending instead of refusing.
    pub cancel_pending_escalations: bool,
}

/// A status change, planned.
#[derive(Clone, Debug)]
pub struct Transition {
    pub from: Status,
    pub to: Status,
    pub at: NaiveDateTime,
    /// Set when a resolved or closed incident becomes active again: the milestones that
    /// reopening cleared, with their old values.
    pub reopened: Option<Cleared>,
}

impl Transition {
    /// From an active status to resolved or closed.
    pub fn resolves(&self) -> bool {
        self.from.is_open() && !self.to.is_open()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Cleared {
    pub resolved_at: Option<NaiveDateTime>,
    pub mitigated_at: Option<NaiveDateTime>,
}

/// The milestone field a move to `to` from `from` sets, if any.
fn milestone(from: Status, to: Status) -> Option<&'static str> {
    match to {
        Status::Investigating => None,
        Status::Identified => Some("acknowledged_at"),
        Status::Monitoring => Some("mitigated_at"),
        Status::Resolved => Some("resolved_at"),
        // Closing a resolved incident is paperwork, not a new resolution.
        Status::Closed if from.is_open() => Some("resolved_at"),
        Status::Closed => None,
    }
}

fn value(f: &IncidentFields, name: &str) -> Option<NaiveDateTime> {
    match name {
        "acknowledged_at" => f.acknowledged_at,
        "mitigated_at" => f.mitigated_at,
        _ => f.resolved_at,
    }
}

fn slot<'a>(f: &'a mut IncidentFields, name: &str) -> &'a mut Option<NaiveDateTime> {
    match name {
        "acknowledged_at" => &mut f.acknowledged_at,
        "mitigated_at" => &mut f.mitigated_at,
        _ => &mut f.resolved_at,
    }
}

/// Plans the change from `before` to `fields` (which it updates: the milestone the new
/// status sets, and what reopening clears). `None` when the status stays.
pub fn plan(
    before: &IncidentFields,
    fields: &mut IncidentFields,
    change: &StatusChange,
    now: NaiveDateTime,
) -> Result<Option<Transition>, AppError> {
    let (from, to) = (before.status, fields.status);
    if from == to {
        if change.at.is_some() {
            return Err(AppError::invalid(
                "status_at",
                format!("status_at goes with a status change; the status is already {to}."),
            ));
        }
        return Ok(None);
    }
    if let Some(at) = change.at {
        if too_far_ahead(at, now) {
            return Err(AppError::invalid(
                "status_at",
                format!(
                    "The status time ({}) is in the future.",
                    crate::time::in_words(at)
                ),
            ));
        }
    }
    let reopened = (!from.is_open() && to.is_open()).then(|| {
        // Reopening undoes the resolution, and the mitigation too unless the incident
        // goes back to monitoring; values this same edit typed are left as typed.
        let mut cleared = Cleared::default();
        if fields.resolved_at == before.resolved_at {
            cleared.resolved_at = fields.resolved_at.take();
        }
        if to != Status::Monitoring && fields.mitigated_at == before.mitigated_at {
            cleared.mitigated_at = fields.mitigated_at.take();
        }
        cleared
    });
    let field = milestone(from, to);
    // A milestone typed in the same edit (Edit details) says when the change happened.
    let typed = field
        .filter(|name| value(fields, name) != value(before, name))
        .and_then(|name| value(fields, name))
        .filter(|t| *t <= now);
    let at = change.at.or(typed).unwrap_or(now);
    if at < fields.started_at {
        return Err(AppError::invalid(
            "status_at",
            format!(
                "The status time ({}) is before the incident started ({}).",
                crate::time::in_words(at),
                crate::time::in_words(fields.started_at)
            ),
        ));
    }
    if let Some(name) = field {
        // A status change fills an empty milestone and never moves one already set: moving
        // one is an edit of that field, which leaves its own change entry.
        let value = slot(fields, name);
        let filled = value.is_none();
        if filled {
            *value = Some(at);
        }
        if name == "resolved_at" {
            fields.mitigated_at.get_or_insert(at);
        }
        if filled && change.at.is_some() {
            if let Err((_, message)) = fields.check_order() {
                return Err(AppError::invalid(
                    "status_at",
                    format!("The status time does not fit the milestones: {message}."),
                ));
            }
        }
    }
    Ok(Some(Transition {
        from,
        to,
        at,
        reopened,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::Severity;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn incident(status: Status) -> IncidentFields {
        IncidentFields {
            title: "t".into(),
            severity: Severity::Sev2,
            status,
            impact: String::new(),
            users_affected_pct: None,
            services: vec![],
            commander_id: None,
            comms_lead_id: None,
            scribe_id: None,
            ops_lead_id: None,
            started_at: at("2026-11-29 23:00"),
            detected_at: Some(at("2026-11-29 23:05")),
            acknowledged_at: None,
            mitigated_at: None,
            resolved_at: None,
        }
    }

    #[test]
    fn backdates_and_keeps_milestones_in_order() {
        let now = at("2026-11-29 23:28");
        let before = incident(Status::Investigating);
        let mut fields = IncidentFields {
            status: Status::Identified,
            ..before.clone()
        };
        let change = StatusChange {
            at: Some(at("2026-11-29 23:12")),
            ..Default::default()
        };
        let t = plan(&before, &mut fields, &change, now).unwrap().unwrap();
        assert_eq!(t.at, at("2026-11-29 23:12"));
        assert_eq!(fields.acknowledged_at, Some(at("2026-11-29 23:12")));
        // Before detection: refused, naming status_at.
        let mut early = IncidentFields {
            status: Status::Identified,
            ..before.clone()
        };
        let change = StatusChange {
            at: Some(at("2026-11-29 23:02")),
            ..Default::default()
        };
        let e = plan(&before, &mut early, &change, now).unwrap_err();
        assert_eq!(e.field(), Some("status_at"));
    }

    /// Acknowledged at 03:34 (an escalation answered), then "identified" at 03:40: the
    /// acknowledgement stays 03:34.
    #[test]
    fn a_status_change_never_moves_a_milestone() {
        let mut before = incident(Status::Investigating);
        before.acknowledged_at = Some(at("2026-11-29 23:10"));
        for given in [None, Some(at("2026-11-29 23:20"))] {
            let mut fields = IncidentFields {
                status: Status::Identified,
                ..before.clone()
            };
            let change = StatusChange {
                at: given,
                ..Default::default()
            };
            let t = plan(&before, &mut fields, &change, at("2026-11-29 23:28"))
                .unwrap()
                .unwrap();
            assert_eq!(fields.acknowledged_at, Some(at("2026-11-29 23:10")));
            assert_eq!(t.at, given.unwrap_or(at("2026-11-29 23:28")));
        }
    }

    #[test]
    fn reopening_clears_the_resolution() {
        let mut before = incident(Status::Resolved);
        before.mitigated_at = Some(at("2026-11-29 23:20"));
        before.resolved_at = Some(at("2026-11-29 23:28"));
        let mut fields = IncidentFields {
            status: Status::Investigating,
            ..before.clone()
        };
        let t = plan(
            &before,
            &mut fields,
            &StatusChange::default(),
            at("2026-11-29 23:40"),
        )
        .unwrap()
        .unwrap();
        let cleared = t.reopened.unwrap();
        assert_eq!(cleared.resolved_at, Some(at("2026-11-29 23:28")));
        assert_eq!(cleared.mitigated_at, Some(at("2026-11-29 23:20")));
        assert_eq!((fields.resolved_at, fields.mitigated_at), (None, None));
    }
}
