//! Who wants what, how: a channel per user and kind of notification. Without a row the
//! kind's default applies (in the inbox; SEV1/SEV2 declarations are opt-in).

use std::collections::HashMap;

use diesel::prelude::*;

use super::NotificationKind;
use crate::db::schema::{notification_prefs, users};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;

crate::text_enum!(
    /// Where a kind of notification reaches someone (`digest`: in the inbox, plus one
    /// e-mail a day listing overdue tasks; offered for overdue tasks only).
    Channel {
        InApp => "in_app",
        Email => "email",
        Both => "both",
        Digest => "digest",
        Off => "none",
    }
);

impl Channel {
    pub fn in_app(self) -> bool {
        matches!(self, Channel::InApp | Channel::Both | Channel::Digest)
    }

    pub fn email(self) -> bool {
        matches!(self, Channel::Email | Channel::Both)
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::InApp => "Inbox",
            Channel::Email => "E-mail",
            Channel::Both => "Inbox and e-mail",
            Channel::Digest => "Inbox, and a daily e-mail digest",
            Channel::Off => "Off",
        }
    }

    /// The channels a kind offers (the digest is for overdue tasks only).
    pub fn offered(kind: NotificationKind) -> Vec<Channel> {
        Channel::ALL
            .iter()
            .copied()
            .filter(|c| *c != Channel::Digest || kind == NotificationKind::TaskOverdue)
            .collect()
    }
}

pub fn default_for(kind: NotificationKind) -> Channel {
    match kind {
        NotificationKind::SevereDeclared => Channel::Off,
        _ => Channel::InApp,
    }
}

/// A recipient as `notify` needs them.
pub struct Route {
    pub user_id: UserId,
    pub channel: Channel,
    pub email: Option<String>,
}

/// How each of `ids` (active users only) wants `kind`.
pub fn routes(
    conn: &mut DbConnection,
    ids: &[UserId],
    kind: NotificationKind,
) -> Result<Vec<Route>, AppError> {
    let rows: Vec<(UserId, Option<String>, Option<Channel>)> = users::table
        .left_join(
            notification_prefs::table.on(notification_prefs::user_id
                .eq(users::id)
                .and(notification_prefs::kind.eq(kind.as_str()))),
        )
        .filter(users::id.eq_any(ids))
        .filter(users::disabled.eq(false))
        .select((
            users::id,
            users::email,
            notification_prefs::channel.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, email, channel)| Route {
            user_id,
            channel: channel.unwrap_or_else(|| default_for(kind)),
            email,
        })
        .collect())
}

/// Users who turned an opt-in kind on.
pub fn subscribers(
    conn: &mut DbConnection,
    kind: NotificationKind,
) -> Result<Vec<UserId>, AppError> {
    Ok(notification_prefs::table
        .filter(notification_prefs::kind.eq(kind.as_str()))
        .filter(notification_prefs::channel.ne(Channel::Off.as_str()))
        .select(notification_prefs::user_id)
        .load(conn)?)
}

/// A user's channel for every kind.
pub fn of_user(
    conn: &mut DbConnection,
    user_id: UserId,
) -> Result<Vec<(NotificationKind, Channel)>, AppError> {
    let set: HashMap<NotificationKind, Channel> = notification_prefs::table
        .filter(notification_prefs::user_id.eq(user_id))
        .select((notification_prefs::kind, notification_prefs::channel))
        .load::<(NotificationKind, Channel)>(conn)?
        .into_iter()
        .collect();
    Ok(NotificationKind::ALL
        .iter()
        .map(|k| (*k, set.get(k).copied().unwrap_or_else(|| default_for(*k))))
        .collect())
}

/// Sets a user's channels (kinds not given keep theirs).
pub fn set(
    conn: &mut DbConnection,
    user_id: UserId,
    choices: &[(NotificationKind, Channel)],
) -> Result<(), AppError> {
    crate::db::transaction(conn, |conn| {
        for (kind, channel) in choices {
            if !Channel::offered(*kind).contains(channel) {
                return Err(AppError::invalid(
                    kind.as_str(),
                    format!("`{channel}` is not offered for {kind}."),
                ));
            }
            diesel::delete(
                notification_prefs::table
                    .filter(notification_prefs::user_id.eq(user_id))
                    .filter(notification_prefs::kind.eq(kind.as_str())),
            )
            .execute(conn)?;
            diesel::insert_into(notification_prefs::table)
                .values((
                    notification_prefs::user_id.eq(user_id),
                    notification_prefs::kind.eq(kind.as_str()),
                    notification_prefs::channel.eq(channel.as_str()),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}
