//! Notifications: a review asked of you, a decision on your postmortem, a task given to you
//! or your team, your task overdue, an escalation to you or your team, a SEV1/SEV2 declared
//! (opt-in). Written in the same transaction as the change that causes it (never for your
//! own actions), to the inbox and/or the e-mail outbox as each person chose ([`prefs`]);
//! read on `/notifications` and over the API, with the unread count in the page header.

pub mod api;
pub mod digest;
pub mod prefs;
pub mod web;

use crate::ids::{IncidentId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::Actor;
use crate::db::schema::notifications;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::time::now;

crate::text_enum!(
    /// What a notification is about.
    NotificationKind {
        ReviewRequested => "review_requested",
        ReviewDecided => "review_decided",
        TaskAssigned => "task_assigned",
        TaskOverdue => "task_overdue",
        Escalated => "escalated",
        SevereDeclared => "severe_declared",
        UpdateDue => "update_due",
        NoCommander => "no_commander",
    }
);

impl NotificationKind {
    /// What the settings page calls it.
    pub fn label(self) -> &'static str {
        match self {
            NotificationKind::ReviewRequested => "A postmortem review is asked of you",
            NotificationKind::ReviewDecided => "A reviewer decides on your postmortem",
            NotificationKind::TaskAssigned => "A task is given to you or your team",
            NotificationKind::TaskOverdue => "A task of yours or your team's is overdue",
            NotificationKind::Escalated => "An incident is escalated to you or your team",
            NotificationKind::SevereDeclared => "A SEV1 or SEV2 incident is declared",
            NotificationKind::UpdateDue => "A stakeholder update you owe is due",
            NotificationKind::NoCommander => "A SEV1 or SEV2 you declared still has no commander",
        }
    }
}

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: i32,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub message: String,
    pub link: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

/// Tells each of `user_ids` (but not the actor, who knows) about something at `link`, in
/// the inbox and/or by e-mail as each chose for `kind`.
pub fn notify(
    conn: &mut DbConnection,
    user_ids: &[UserId],
    kind: NotificationKind,
    message: &str,
    link: &str,
    actor: &Actor,
) -> Result<(), AppError> {
    let t = now();
    let mut ids: Vec<UserId> = user_ids
        .iter()
        .copied()
        .filter(|id| Some(*id) != actor.user_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    // About an incident (every such link starts /incidents/KEY): only those who may see it.
    if let Some(key) = link
        .strip_prefix("/incidents/")
        .and_then(|rest| rest.split(['/', '#', '?']).next())
        .and_then(|k| k.parse::<crate::incidents::IncidentKey>().ok())
    {
        ids = crate::access::who_may_see(conn, key.0, &ids)?;
    }
    if ids.is_empty() {
        return Ok(());
    }
    let routes = prefs::routes(conn, &ids, kind)?;
    for r in routes.iter().filter(|r| r.channel.email()) {
        if let Some(email) = &r.email {
            crate::mail::queue(conn, Some(r.user_id), email, message, message, link)?;
        }
    }
    let rows: Vec<_> = routes
        .into_iter()
        .filter(|r| r.channel.in_app())
        .map(|r| r.user_id)
        .map(|user_id| {
            (
                notifications::user_id.eq(user_id),
                notifications::kind.eq(kind),
                notifications::message.eq(message.to_string()),
                notifications::link.eq(link.to_string()),
                notifications::created_at.eq(t),
            )
        })
        .collect();
    if !rows.is_empty() {
        crate::batch_insert!(&mut *conn, notifications::table, rows);
    }
    Ok(())
}

/// A task's owner and the members of its team.
pub fn task_people(
    conn: &mut DbConnection,
    owner: Option<UserId>,
    team: &str,
) -> Result<Vec<UserId>, AppError> {
    let mut ids = crate::teams::member_ids(conn, team)?;
    ids.extend(owner);
    Ok(ids)
}

/// "INC-7 Payment gateway outage", for messages.
pub fn incident_label(
    conn: &mut DbConnection,
    incident_id: IncidentId,
) -> Result<String, AppError> {
    use crate::db::schema::incidents;
    let title: String = incidents::table
        .find(incident_id)
        .select(incidents::title)
        .first(conn)?;
    Ok(format!(
        "{} {title}",
        crate::incidents::IncidentKey(incident_id)
    ))
}

/// A user's notifications, newest first, and how many are unread.
/// `reader`'s newest notifications and unread count, leaving out those about incidents they
/// may no longer see (restricted after the notice was sent, or they left its team).
pub fn inbox(
    conn: &mut DbConnection,
    reader: crate::access::Reader,
    limit: i64,
) -> Result<(Vec<Notification>, i64), AppError> {
    let hidden = crate::access::Hidden::from_reader(conn, reader)?;
    let mine = || {
        let mut q = notifications::table
            .filter(notifications::user_id.eq(reader.user_id))
            .into_boxed();
        for id in hidden.ids() {
            let link = format!("/incidents/{}", IncidentKey(*id));
            q = q
                .filter(notifications::link.ne(link.clone()))
                .filter(notifications::link.not_like(format!("{link}#%")))
                .filter(notifications::link.not_like(format!("{link}/%")));
        }
        q
    };
    let items = mine()
        .order(notifications::id.desc())
        .limit(limit)
        .select(Notification::as_select())
        .load(conn)?;
    let unread = mine()
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)?;
    Ok((items, unread))
}

pub fn unread(conn: &mut DbConnection, user_id: UserId) -> Result<i64, AppError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Marks one of the user's notifications read (`Some(id)`) or all of them; returns the
/// link of the one read, if any.
pub fn mark_read(
    conn: &mut DbConnection,
    user_id: UserId,
    id: Option<i32>,
) -> Result<Option<String>, AppError> {
    let mine = notifications::table
        .filter(notifications::user_id.eq(user_id))
        .filter(notifications::read_at.is_null());
    match id {
        Some(id) => {
            diesel::update(mine.filter(notifications::id.eq(id)))
                .set(notifications::read_at.eq(now()))
                .execute(conn)?;
            notifications::table
                .filter(notifications::user_id.eq(user_id))
                .filter(notifications::id.eq(id))
                .select(notifications::link)
                .first(conn)
                .optional()?
                .map(Some)
                .ok_or_else(|| AppError::NotFound("notification".into()))
        }
        None => {
            diesel::update(mine)
                .set(notifications::read_at.eq(now()))
                .execute(conn)?;
            Ok(None)
        }
    }
}
