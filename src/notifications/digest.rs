//! The daily e-mail digest of overdue tasks, for those who chose it: one message a day
//! listing the open, overdue tasks they own or their teams have. A conditional update of
//! `users.digest_sent_on` is the claim, so with several servers each digest goes once.

use crate::ids::{IncidentId, UserId};
use diesel::prelude::*;

use super::prefs::Channel;
use super::NotificationKind;
use crate::db::schema::{incidents, notification_prefs, tasks, team_members, teams, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::tasks::TaskStatus;
use crate::time::now;

/// Queues today's digests not yet queued.
pub fn queue_due(conn: &mut DbConnection) -> Result<(), AppError> {
    let today = now().date();
    let due: Vec<(UserId, String, crate::auth::Role)> = users::table
        .inner_join(notification_prefs::table)
        .filter(notification_prefs::kind.eq(NotificationKind::TaskOverdue.as_str()))
        .filter(notification_prefs::channel.eq(Channel::Digest.as_str()))
        .filter(users::disabled.eq(false))
        .filter(
            users::digest_sent_on
                .is_null()
                .or(users::digest_sent_on.lt(today)),
        )
        .filter(users::email.is_not_null())
        .select((users::id, users::email.assume_not_null(), users::role))
        .load(conn)?;
    for (user_id, email, role) in due {
        let reader = crate::access::Reader {
            user_id,
            admin: role == crate::auth::Role::Admin,
        };
        let claimed = diesel::update(
            users::table.find(user_id).filter(
                users::digest_sent_on
                    .is_null()
                    .or(users::digest_sent_on.lt(today)),
            ),
        )
        .set(users::digest_sent_on.eq(Some(today)))
        .execute(conn)?;
        if claimed == 0 {
            continue;
        }
        let team_names: Vec<String> = team_members::table
            .inner_join(teams::table)
            .filter(team_members::user_id.eq(user_id))
            .select(teams::name)
            .load(conn)?;
        let overdue: Vec<(i32, String, Option<chrono::NaiveDate>, String)> = tasks::table
            .inner_join(incidents::table)
            .filter(tasks::status.eq_any(TaskStatus::OPEN.to_vec()))
            .filter(tasks::due_on.lt(today))
            .filter(
                tasks::owner_id
                    .eq(user_id)
                    .or(tasks::team.eq_any(&team_names)),
            )
            .filter(crate::visible_incidents!(reader))
            .order(tasks::due_on.asc())
            .select((
                tasks::incident_id,
                tasks::title,
                tasks::due_on,
                incidents::title,
            ))
            .load(conn)?;
        if overdue.is_empty() {
            continue;
        }
        let lines: Vec<String> = overdue
            .iter()
            .map(|(incident, title, due, incident_title)| {
                let due = due.map(|d| d.to_string()).unwrap_or_default();
                format!(
                    "- {title} (due {due}), {} {incident_title}",
                    IncidentKey(IncidentId(*incident))
                )
            })
            .collect();
        let subject = match overdue.len() {
            1 => "1 overdue task".to_string(),
            n => format!("{n} overdue tasks"),
        };
        let body = format!(
            "Overdue tasks for you or your teams:\n\n{}",
            lines.join("\n")
        );
        crate::mail::queue(
            conn,
            Some(user_id),
            &email,
            &subject,
            &body,
            "/tasks?owner=me&overdue=true",
        )?;
    }
    Ok(())
}
