//! Status page subscribers by e-mail: double opt-in (nothing but the confirmation link is
//! sent before the address confirms), a token per subscription in every mail for the
//! one-click unsubscribe (RFC 8058) and the page that chooses components, and the same
//! answer to every request so no one can learn who is subscribed. Requests are throttled
//! per address (one mail per [`ADDRESS_WAIT`]) and per client ([`CLIENT_MAX`] an hour).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{
    services, status_subscribe_requests, status_subscriber_components, status_subscribers,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::mail::Recipient;
use crate::time::now;

/// At most one subscribe mail (confirmation or reminder) to an address this often.
pub const ADDRESS_WAIT: Duration = Duration::minutes(10);
/// Subscribe requests a client may make in [`CLIENT_WINDOW`].
pub const CLIENT_MAX: i64 = 10;
pub const CLIENT_WINDOW: Duration = Duration::hours(1);
/// An unconfirmed subscription lapses after this; asking again starts over.
pub const PENDING_FOR: Duration = Duration::days(7);

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = status_subscribers)]
pub struct Subscriber {
    pub id: i32,
    pub email: String,
    pub token: String,
    pub confirmed_at: Option<NaiveDateTime>,
    pub mailed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl Subscriber {
    fn lapsed(&self, t: NaiveDateTime) -> bool {
        self.confirmed_at.is_none() && self.created_at + PENDING_FOR < t
    }
}

/// A subscription as its owner sees it: the address and the chosen component names
/// (none = the whole page).
pub struct Subscription {
    pub subscriber: Subscriber,
    pub components: Vec<String>,
}

/// The public components named, as service ids; 422 on the first that is not one.
fn component_ids(conn: &mut DbConnection, names: &[String]) -> Result<Vec<i32>, AppError> {
    let mut ids = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let id = crate::services::named(conn, name)
            .ok()
            .filter(|s| s.public)
            .map(|s| s.id)
            .ok_or_else(|| {
                AppError::invalid(
                    &format!("components[{i}]"),
                    format!("There is no component `{name}` on this page."),
                )
            })?;
        ids.push(id);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

fn set_components(conn: &mut DbConnection, id: i32, services: &[i32]) -> Result<(), AppError> {
    diesel::delete(
        status_subscriber_components::table
            .filter(status_subscriber_components::subscriber_id.eq(id)),
    )
    .execute(conn)?;
    for service_id in services {
        diesel::insert_into(status_subscriber_components::table)
            .values((
                status_subscriber_components::subscriber_id.eq(id),
                status_subscriber_components::service_id.eq(service_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Refuses a client that asked [`CLIENT_MAX`] times in the last hour; counts this request.
fn throttle_client(conn: &mut DbConnection, ip: &str, t: NaiveDateTime) -> Result<(), AppError> {
    diesel::delete(
        status_subscribe_requests::table
            .filter(status_subscribe_requests::requested_at.lt(t - CLIENT_WINDOW)),
    )
    .execute(conn)?;
    let recent: i64 = status_subscribe_requests::table
        .filter(status_subscribe_requests::ip.eq(ip))
        .count()
        .get_result(conn)?;
    if recent >= CLIENT_MAX {
        return Err(AppError::TooManyRequests {
            message: "Too many subscribe requests from your address. Try again in an hour.".into(),
            retry_after: CLIENT_WINDOW.num_seconds() as u32,
        });
    }
    diesel::insert_into(status_subscribe_requests::table)
        .values((
            status_subscribe_requests::ip.eq(ip),
            status_subscribe_requests::requested_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

fn find(conn: &mut DbConnection, token: &str) -> Result<Option<Subscriber>, AppError> {
    if token.is_empty() {
        return Ok(None);
    }
    Ok(status_subscribers::table
        .filter(status_subscribers::token.eq(token))
        .select(Subscriber::as_select())
        .first(conn)
        .optional()?)
}

/// Someone asks for `email` to receive the page's news (of `components`, or all of it).
/// Whatever the address — new, waiting for confirmation, confirmed — the answer is the
/// same `Ok`; what differs is only the mail, which goes to the address itself: a
/// confirmation link, or to a confirmed subscriber a reminder with the link to change it.
/// A confirmed subscription is never changed here: only its token may change it.
pub fn request(
    conn: &mut DbConnection,
    email: &str,
    components: &[String],
    ip: &str,
    page_title: &str,
) -> Result<(), AppError> {
    let email = crate::mail::validate_address(email)?
        .ok_or_else(|| AppError::invalid("email", "Enter the e-mail address to send news to."))?
        .to_lowercase();
    crate::db::transaction(conn, |conn| {
        let t = now();
        throttle_client(conn, ip, t)?;
        let wanted = component_ids(conn, components)?;
        let found = status_subscribers::table
            .filter(status_subscribers::email.eq(&email))
            .select(Subscriber::as_select())
            .first(conn)
            .optional()?;
        let (subscriber, fresh) = match found {
            Some(s) if !s.lapsed(t) => (s, false),
            stale => {
                if let Some(s) = stale {
                    diesel::delete(status_subscribers::table.find(s.id)).execute(conn)?;
                }
                let token = crate::auth::random_token(32);
                let id: i32 = diesel::insert_into(status_subscribers::table)
                    .values((
                        status_subscribers::email.eq(&email),
                        status_subscribers::token.eq(&token),
                        status_subscribers::mailed_at.eq(t),
                        status_subscribers::created_at.eq(t),
                    ))
                    .returning(status_subscribers::id)
                    .get_result(conn)?;
                let s = status_subscribers::table
                    .find(id)
                    .select(Subscriber::as_select())
                    .first(conn)?;
                (s, true)
            }
        };
        if subscriber.confirmed_at.is_none() {
            // Not active yet: what it covers may follow the latest request.
            set_components(conn, subscriber.id, &wanted)?;
        }
        if !fresh && subscriber.mailed_at + ADDRESS_WAIT > t {
            return Ok(());
        }
        diesel::update(status_subscribers::table.find(subscriber.id))
            .set(status_subscribers::mailed_at.eq(t))
            .execute(conn)?;
        let token = &subscriber.token;
        let (subject, body, link) = match subscriber.confirmed_at {
            None => (
                format!("Confirm your subscription to {page_title}"),
                format!(
                    "Someone, hopefully you, asked for news from {page_title} to be sent to \
                     this address.\nConfirm it here; until you do, nothing else is sent, and if \
                     it was not you, ignore this message."
                ),
                format!("/status/confirm?token={token}"),
            ),
            Some(_) => (
                format!("You are subscribed to {page_title}"),
                format!(
                    "Someone asked for news from {page_title} to be sent to this address, \
                     which already receives it.\nTo choose components or unsubscribe, follow \
                     the link at the end of this message."
                ),
                "/status".to_string(),
            ),
        };
        crate::mail::queue_for(
            conn,
            Recipient::Subscriber(token),
            &email,
            &subject,
            &body,
            &link,
        )
    })
}

/// Confirms the subscription `token` names (again is fine); `None` when it names none
/// (unsubscribed, lapsed, or never).
pub fn confirm(conn: &mut DbConnection, token: &str) -> Result<Option<Subscriber>, AppError> {
    crate::db::transaction(conn, |conn| {
        let t = now();
        let Some(s) = find(conn, token)?.filter(|s| !s.lapsed(t)) else {
            return Ok(None);
        };
        if s.confirmed_at.is_none() {
            diesel::update(status_subscribers::table.find(s.id))
                .set(status_subscribers::confirmed_at.eq(Some(t)))
                .execute(conn)?;
        }
        find(conn, token)
    })
}

/// The subscription `token` names, with its components.
pub fn subscription(
    conn: &mut DbConnection,
    token: &str,
) -> Result<Option<Subscription>, AppError> {
    let t = now();
    let Some(subscriber) = find(conn, token)?.filter(|s| !s.lapsed(t)) else {
        return Ok(None);
    };
    let components = status_subscriber_components::table
        .inner_join(services::table)
        .filter(status_subscriber_components::subscriber_id.eq(subscriber.id))
        .order(services::name.asc())
        .select(services::name)
        .load(conn)?;
    Ok(Some(Subscription {
        subscriber,
        components,
    }))
}

/// Sets what the subscription `token` names covers (none = the whole page).
pub fn choose(
    conn: &mut DbConnection,
    token: &str,
    components: &[String],
) -> Result<Option<Subscription>, AppError> {
    crate::db::transaction(conn, |conn| {
        let Some(s) = find(conn, token)? else {
            return Ok(None);
        };
        let ids = component_ids(conn, components)?;
        set_components(conn, s.id, &ids)?;
        subscription(conn, token)
    })
}

/// Ends the subscription `token` names, and drops its mail not yet sent; `false` when
/// there was none (already gone: the answer is the same).
pub fn unsubscribe(conn: &mut DbConnection, token: &str) -> Result<bool, AppError> {
    crate::db::transaction(conn, |conn| {
        let Some(s) = find(conn, token)? else {
            return Ok(false);
        };
        diesel::delete(status_subscribers::table.find(s.id)).execute(conn)?;
        diesel::delete(
            crate::db::schema::mail_outbox::table
                .filter(crate::db::schema::mail_outbox::subscriber_token.eq(&s.token))
                .filter(crate::db::schema::mail_outbox::status.eq("pending")),
        )
        .execute(conn)?;
        Ok(true)
    })
}

/// The confirmed subscribers who want news of any of `service_ids` (or of everything):
/// (address, token).
pub fn audience(
    conn: &mut DbConnection,
    service_ids: &[i32],
) -> Result<Vec<(String, String)>, AppError> {
    let confirmed: Vec<(i32, String, String)> = status_subscribers::table
        .filter(status_subscribers::confirmed_at.is_not_null())
        .order(status_subscribers::id.asc())
        .select((
            status_subscribers::id,
            status_subscribers::email,
            status_subscribers::token,
        ))
        .load(conn)?;
    let chosen: Vec<(i32, i32)> = status_subscriber_components::table
        .select((
            status_subscriber_components::subscriber_id,
            status_subscriber_components::service_id,
        ))
        .load(conn)?;
    let mut by_subscriber: std::collections::HashMap<i32, Vec<i32>> =
        std::collections::HashMap::new();
    for (subscriber, service) in chosen {
        by_subscriber.entry(subscriber).or_default().push(service);
    }
    Ok(confirmed
        .into_iter()
        .filter(|(id, _, _)| {
            by_subscriber
                .get(id)
                .is_none_or(|mine| mine.iter().any(|s| service_ids.contains(s)))
        })
        .map(|(_, email, token)| (email, token))
        .collect())
}
