//! The slash command's subcommands, the same on every platform. The incident is the one
//! named first (`INC-7 log …`) or the one the channel is linked to; the caller acts as
//! their hindsight user, with that user's role and access (a restricted incident they may
//! not see answers as a missing one). Times are read in the caller's zone with the pages'
//! rules. Each command is one transaction with its audit record.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Invocation;
use crate::access::visible::{self, Visible};
use crate::audit::{self, Actor};
use crate::auth::users::User;
use crate::db::schema::{team_members, teams};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::service::{self as incidents, CreateOptions, IncidentFields};
use crate::incidents::updates::{Cadence, UpdateInput};
use crate::incidents::{IncidentKey, Severity, Status, StatusChange};
use crate::timeline::{EntryKind, NewEntry};

/// What `help` says.
pub const HELP: &str = "*hindsight* — `/incident …`
• `declare SEV1 Checkout errors` — declare an incident (and link this channel to it)
• `link INC-7` / `unlink` — link this channel to an incident; then the key is not needed
• `log [kind] [HH:MM] what happened` — add to the timeline (kinds: detection, action, investigation, misleading, mitigation, resolution, communication, note)
• `status identified [HH:MM]` — investigating, identified, monitoring, resolved
• `escalate @user|team why` — ask someone for help
• `ack` — acknowledge what was escalated to you
• `task @owner title` — a follow-up task
• `update what people need to know` — an internal stakeholder update
Elsewhere, name the incident first: `/incident INC-7 log restarted gw-3`.";

/// A command as typed.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Help,
    Declare {
        severity: Severity,
        title: String,
    },
    Link(IncidentKey),
    Unlink,
    Log {
        kind: EntryKind,
        time: String,
        text: String,
    },
    Status {
        status: Status,
        time: String,
    },
    Escalate {
        targets: Vec<String>,
        reason: String,
    },
    Ack,
    Task {
        owner: String,
        title: String,
    },
    Update(String),
}

fn is_clock(word: &str) -> bool {
    let Some((h, m)) = word.split_once(':') else {
        return false;
    };
    (1..=2).contains(&h.len())
        && m.len() == 2
        && h.chars().chain(m.chars()).all(|c| c.is_ascii_digit())
}

/// The first word and the rest.
fn split(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.split_once(char::is_whitespace) {
        Some((a, b)) => (a, b.trim()),
        None => (text, ""),
    }
}

/// Reads what followed `/incident`: the incident named first, if any, and the command. An
/// error says what to type instead.
pub fn parse(text: &str) -> Result<(Option<IncidentKey>, Command), String> {
    let (first, rest) = split(text);
    if let Ok(key) = first.parse::<IncidentKey>() {
        if first.to_uppercase().starts_with("INC-") {
            let (_, command) = parse(rest)?;
            return Ok((Some(key), command));
        }
    }
    let command = match first.to_lowercase().as_str() {
        "" | "help" => Command::Help,
        "declare" => {
            let (word, after) = split(rest);
            let (severity, title) = match Severity::parse_field(&word.to_uppercase()) {
                Ok(s) => (s, after),
                Err(_) => (Severity::Sev3, rest),
            };
            if title.is_empty() {
                return Err("Say what is happening: `declare SEV2 Checkout errors`.".into());
            }
            Command::Declare {
                severity,
                title: title.to_string(),
            }
        }
        "link" => {
            Command::Link(rest.parse().map_err(|_| {
                "Name the incident to link this channel to: `link INC-7`.".to_string()
            })?)
        }
        "unlink" => Command::Unlink,
        "log" => {
            let (word, after) = split(rest);
            let (kind, rest) = match word.to_lowercase().parse::<EntryKind>() {
                Ok(k) if !k.is_generated() => (k, after),
                _ => (EntryKind::Note, rest),
            };
            let (word, after) = split(rest);
            let (time, text) = if is_clock(word) {
                (word.to_string(), after)
            } else {
                (String::new(), rest)
            };
            if text.is_empty() {
                return Err("Say what happened: `log action 14:02 restarted gw-3`.".into());
            }
            Command::Log {
                kind,
                time,
                text: text.to_string(),
            }
        }
        "status" => {
            let (word, after) = split(rest);
            let status = Status::parse_field(&word.to_lowercase()).map_err(|_| {
                "Say the new status: `status identified` (investigating, identified, monitoring, resolved)."
                    .to_string()
            })?;
            let (time, extra) = split(after);
            if !extra.is_empty() || !(time.is_empty() || is_clock(time)) {
                return Err(
                    "After the status only a time may follow: `status resolved 14:30`.".into(),
                );
            }
            Command::Status {
                status,
                time: time.to_string(),
            }
        }
        "escalate" => {
            let mut targets = Vec::new();
            let mut rest = rest;
            loop {
                let (word, after) = split(rest);
                match word.strip_prefix('@') {
                    Some(name) if !name.is_empty() => {
                        targets.push(name.trim_end_matches(',').to_string());
                        rest = after;
                    }
                    _ => break,
                }
            }
            if targets.is_empty() {
                return Err("Say whom to escalate to: `escalate @dba why you need them`.".into());
            }
            Command::Escalate {
                targets,
                reason: rest.to_string(),
            }
        }
        "ack" => Command::Ack,
        "task" => {
            let (word, after) = split(rest);
            let (owner, title) = match word.strip_prefix('@') {
                Some(name) => (name.to_string(), after),
                None => (String::new(), rest),
            };
            if title.is_empty() {
                return Err("Say what is to be done: `task @dana Add a lag alert`.".into());
            }
            Command::Task {
                owner,
                title: title.to_string(),
            }
        }
        "update" => {
            if rest.is_empty() {
                return Err(
                    "Say what people need to know: `update Payments fail in the EU; failing over`."
                        .into(),
                );
            }
            Command::Update(rest.to_string())
        }
        other => {
            return Err(format!(
                "`{other}` is not a command here. Try `/incident help`."
            ))
        }
    };
    Ok((None, command))
}

/// Who acts: the hindsight user, noted as coming from chat in the audit log.
pub fn actor(user: &User, inv: &Invocation) -> Actor {
    Actor::user(user, &format!("{}:{}", inv.platform.as_str(), inv.user_id))
}

/// Where a command's answer links to.
pub struct Links<'a> {
    pub base_url: &'a str,
    pub cadence: &'a Cadence,
}

const NO_INCIDENT: &str =
    "No incident here: link this channel with `/incident link INC-7`, or name it: `/incident INC-7 log …`.";

/// The incident a command is about, checked for `user`.
fn incident(
    conn: &mut DbConnection,
    inv: &Invocation,
    named: Option<IncidentKey>,
    user: &User,
    actor: &Actor,
) -> Result<Visible, AppError> {
    let id = match named {
        Some(k) => k.0,
        None => super::linked(conn, inv.platform, &inv.channel_id)?
            .ok_or_else(|| AppError::NotFound(NO_INCIDENT.into()))?,
    };
    visible::for_user(conn, user, id, actor, "chat command").map_err(|e| match (e, named) {
        // A linked incident the caller may not see answers as no link at all.
        (AppError::NotFound(_), None) => AppError::NotFound(NO_INCIDENT.into()),
        (e, _) => e,
    })
}

fn time(raw: &str, user: &User) -> Result<Option<NaiveDateTime>, AppError> {
    crate::web::typed_time(raw, "time", user.zone())
}

/// Runs `command` for `user`: the answer's text.
pub fn run(
    conn: &mut DbConnection,
    inv: &Invocation,
    user: &User,
    named: Option<IncidentKey>,
    command: Command,
    links: &Links<'_>,
) -> Result<String, AppError> {
    let actor = actor(user, inv);
    let base = links.base_url;
    crate::db::transaction(conn, |conn| {
        let (key, answer) = match command {
            Command::Help => return Ok(HELP.to_string()),
            Command::Declare { severity, title } => {
                let t = crate::time::now();
                let fields = IncidentFields {
                    title,
                    severity,
                    status: Status::Investigating,
                    impact: String::new(),
                    users_affected_pct: None,
                    services: Vec::new(),
                    commander_id: Some(user.id),
                    comms_lead_id: None,
                    scribe_id: None,
                    ops_lead_id: None,
                    started_at: t,
                    detected_at: None,
                    acknowledged_at: None,
                    mitigated_at: None,
                    resolved_at: None,
                };
                let options = CreateOptions {
                    declared_entry: true,
                    ..Default::default()
                };
                let created = incidents::create(conn, fields, &actor, &options)?;
                let key = IncidentKey(created.id);
                let linked = super::linked(conn, inv.platform, &inv.channel_id)?.is_none();
                if linked {
                    super::link(conn, inv.platform, &inv.channel_id, created.id, user.id)?;
                }
                let also = if linked {
                    " This channel is linked to it."
                } else {
                    ""
                };
                (
                    key,
                    format!("Declared {key} ({severity}), you are its commander: {base}/incidents/{key}.{also}"),
                )
            }
            Command::Link(key) => {
                actor.require(crate::auth::Permission::Write)?;
                let seen = incident(conn, inv, Some(key), user, &actor)?;
                // A restricted incident is linked only by its members (not by an admin's look).
                if crate::access::is_restricted(conn, seen.id())?
                    && !crate::access::is_member(conn, user.id, seen.id())?
                {
                    return Err(AppError::NotFound(format!("incident “{key}”")));
                }
                super::link(conn, inv.platform, &inv.channel_id, seen.id(), user.id)?;
                (
                    key,
                    format!("This channel is now linked to {key}: commands here need no key. {base}/incidents/{key}"),
                )
            }
            Command::Unlink => {
                let seen = incident(conn, inv, None, user, &actor)?;
                actor.require(crate::auth::Permission::Write)?;
                super::unlink(conn, inv.platform, &inv.channel_id)?;
                (
                    seen.key(),
                    format!("This channel is no longer linked to {}.", seen.key()),
                )
            }
            Command::Log {
                kind,
                time: at,
                text,
            } => {
                let seen = incident(conn, inv, named, user, &actor)?;
                let at = time(&at, user)?.unwrap_or_else(crate::time::now);
                let entry = crate::timeline::service::add(
                    conn,
                    seen.id(),
                    NewEntry::written(at, kind, text, Some(user.id), false),
                    &actor,
                )?;
                let key = seen.key();
                (
                    key,
                    format!(
                        "Logged on {key} at {} ({}): {base}/incidents/{key}#e{}",
                        user.zone().hhmm(entry.occurred_at),
                        kind.label(),
                        entry.id
                    ),
                )
            }
            Command::Status { status, time: at } => {
                let seen = incident(conn, inv, named, user, &actor)?;
                let change = StatusChange {
                    at: time(&at, user)?,
                    cancel_pending_escalations: false,
                };
                let current = incidents::get(conn, seen.id())?;
                let fields = IncidentFields {
                    status,
                    ..IncidentFields::of(&current)
                };
                incidents::update(
                    conn,
                    seen.id(),
                    current.incident.version,
                    fields,
                    &change,
                    &actor,
                )?;
                let key = seen.key();
                (
                    key,
                    format!("{key} is now {status}: {base}/incidents/{key}"),
                )
            }
            Command::Escalate { targets, reason } => {
                let seen = incident(conn, inv, named, user, &actor)?;
                let made = crate::escalations::create(
                    conn,
                    seen.id(),
                    &targets,
                    &reason,
                    crate::time::now(),
                    &actor,
                )?;
                let names: Vec<&str> = made.iter().map(|e| e.target.as_str()).collect();
                let key = seen.key();
                (
                    key,
                    format!(
                        "Escalated {key} to {}: {base}/incidents/{key}#escalations",
                        names.join(", ")
                    ),
                )
            }
            Command::Ack => {
                let seen = incident(conn, inv, named, user, &actor)?;
                let mut mine = vec![user.username.to_lowercase()];
                mine.extend(
                    teams::table
                        .inner_join(team_members::table)
                        .filter(team_members::user_id.eq(user.id))
                        .select(teams::name)
                        .load::<String>(conn)?
                        .into_iter()
                        .map(|t| t.to_lowercase()),
                );
                let waiting: Vec<_> = crate::escalations::pending(conn, seen.id())?
                    .into_iter()
                    .filter(|e| mine.contains(&e.target.to_lowercase()))
                    .collect();
                let key = seen.key();
                if waiting.is_empty() {
                    return Err(AppError::invalid(
                        "ack",
                        format!("Nothing on {key} is waiting for you or your teams."),
                    ));
                }
                for e in &waiting {
                    crate::escalations::respond(
                        conn,
                        e.id,
                        crate::escalations::EscalationState::Acknowledged,
                        None,
                        None,
                        &actor,
                    )?;
                }
                let names: Vec<&str> = waiting.iter().map(|e| e.target.as_str()).collect();
                (
                    key,
                    format!(
                        "Acknowledged on {key} (to {}): {base}/incidents/{key}#escalations",
                        names.join(", ")
                    ),
                )
            }
            Command::Task { owner, title } => {
                let seen = incident(conn, inv, named, user, &actor)?;
                let fields = crate::tasks::service::TaskInput {
                    title,
                    owner,
                    ..Default::default()
                }
                .parse(conn)?;
                let task = crate::tasks::service::create(conn, seen.id(), &fields, &actor)?;
                let key = seen.key();
                (
                    key,
                    format!("Task #{} on {key}: {base}/incidents/{key}#tasks", task.id),
                )
            }
            Command::Update(text) => {
                let seen = incident(conn, inv, named, user, &actor)?;
                let input = UpdateInput {
                    audience: "internal".into(),
                    impact: text,
                    ..Default::default()
                };
                crate::incidents::updates::post(conn, seen.id(), input, links.cadence, &actor)?;
                let key = seen.key();
                (
                    key,
                    format!("Internal update posted on {key}: {base}/incidents/{key}#updates"),
                )
            }
        };
        audit::record(
            conn,
            &actor,
            audit::Action::ChatCommand,
            "incident",
            &key.to_string(),
            &format!(
                "{} user {} ({}): /incident {}",
                inv.platform.label(),
                inv.user_id,
                inv.user_name,
                inv.text.chars().take(200).collect::<String>()
            ),
        )?;
        Ok(answer)
    })
}

/// What a refused command tells the caller, in place of the error page the web shows.
pub fn explain(e: &AppError) -> String {
    match e {
        AppError::Forbidden(_) => {
            "Your hindsight role may read but not change incidents. Ask an admin for the responder role."
                .into()
        }
        AppError::NotFound(what) if what.starts_with("No incident here") => what.clone(),
        AppError::NotFound(what) => format!("There is no {what} you can see."),
        AppError::Invalid { field, message } => format!("{message} ({field})"),
        other => other.public_message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_as_typed() {
        let key = |n| Some(IncidentKey(crate::ids::IncidentId(n)));
        assert_eq!(parse("").unwrap(), (None, Command::Help));
        assert_eq!(
            parse("INC-7 log action 14:02 restarted gw-3").unwrap(),
            (
                key(7),
                Command::Log {
                    kind: EntryKind::Action,
                    time: "14:02".into(),
                    text: "restarted gw-3".into()
                }
            )
        );
        assert_eq!(
            parse("log 9:05 error rate down").unwrap().1,
            Command::Log {
                kind: EntryKind::Note,
                time: "9:05".into(),
                text: "error rate down".into()
            }
        );
        // A generated kind is just a word of the text.
        assert_eq!(
            parse("log change of plan").unwrap().1,
            Command::Log {
                kind: EntryKind::Note,
                time: String::new(),
                text: "change of plan".into()
            }
        );
        assert_eq!(
            parse("declare sev1 Checkout errors").unwrap().1,
            Command::Declare {
                severity: Severity::Sev1,
                title: "Checkout errors".into()
            }
        );
        assert_eq!(
            parse("escalate @dba @ann, replica lag").unwrap().1,
            Command::Escalate {
                targets: vec!["dba".into(), "ann".into()],
                reason: "replica lag".into()
            }
        );
        assert_eq!(
            parse("status resolved 14:30").unwrap().1,
            Command::Status {
                status: Status::Resolved,
                time: "14:30".into()
            }
        );
        for bad in [
            "log",
            "status sideways",
            "status resolved soon",
            "escalate nobody",
            "task",
            "link nowhere",
            "dance",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
