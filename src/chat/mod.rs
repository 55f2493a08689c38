//! Chat: responders log from Slack or Mattermost with a slash command. Each platform is a
//! [`ChatPlatform`]: it checks a request is its own (Slack's signature, Mattermost's
//! token), reads the command from the body, and says which e-mail it has verified for a
//! user. Everything else — who the chat user is in hindsight ([`people`]), which incident a
//! channel is linked to, the commands themselves ([`commands`]) — is shared, so a third
//! platform (Teams, Discord) is one more module.

pub mod commands;
pub mod config;
pub mod mattermost;
pub mod outbox;
pub mod people;
pub mod pin;
pub mod slack;
pub mod web;

use std::future::Future;

use actix_web::http::header::HeaderMap;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{chat_channels, chat_seen};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::{IncidentId, UserId};

crate::text_enum!(
    /// The chat platforms hindsight answers.
    Platform {
        Slack => "slack",
        Mattermost => "mattermost",
    }
);

impl Platform {
    pub fn label(self) -> &'static str {
        match self {
            Platform::Slack => "Slack",
            Platform::Mattermost => "Mattermost",
        }
    }
}

/// A slash command, once its request was verified.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub platform: Platform,
    pub user_id: String,
    pub user_name: String,
    pub channel_id: String,
    /// What followed the command word.
    pub text: String,
}

/// Why a request was refused (401): said in the answer, never with a secret.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Unsigned,
    BadSignature,
    Stale,
    Replayed,
}

impl Refused {
    pub fn message(&self) -> &'static str {
        match self {
            Refused::Unsigned => "The request is not signed.",
            Refused::BadSignature => "The request's signature does not match.",
            Refused::Stale => "The request is more than 5 minutes old.",
            Refused::Replayed => "The request was already received.",
        }
    }
}

/// What hindsight needs from a chat platform.
pub trait ChatPlatform {
    const PLATFORM: Platform;

    /// Checks the request came from the platform; `Ok(Some(key))` names it for the replay
    /// check (a request with the same key again is refused).
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64)
        -> Result<Option<String>, Refused>;

    /// The slash command in a verified form body.
    fn command(&self, body: &[u8]) -> Result<Invocation, AppError>;

    /// The e-mail address the platform has verified for `user_id`, if any.
    fn verified_email(
        &self,
        client: &awc::Client,
        user_id: &str,
    ) -> impl Future<Output = Result<Option<String>, String>>;
}

/// How long a signed request is good for, and so how long its key is kept.
pub const FRESH_FOR: Duration = Duration::minutes(5);

/// Refuses a request seen before (its key kept for twice [`FRESH_FOR`]).
pub fn first_sight(conn: &mut DbConnection, key: &str, t: NaiveDateTime) -> Result<bool, AppError> {
    diesel::delete(chat_seen::table.filter(chat_seen::seen_at.lt(t - FRESH_FOR * 2)))
        .execute(conn)?;
    let inserted = match conn {
        crate::db::DbConnection::Sqlite(c) => diesel::insert_or_ignore_into(chat_seen::table)
            .values((chat_seen::seen_key.eq(key), chat_seen::seen_at.eq(t)))
            .execute(c)?,
        crate::db::DbConnection::Postgres(c) => diesel::insert_into(chat_seen::table)
            .values((chat_seen::seen_key.eq(key), chat_seen::seen_at.eq(t)))
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

/// The incident a channel is linked to.
pub fn linked(
    conn: &mut DbConnection,
    platform: Platform,
    channel: &str,
) -> Result<Option<IncidentId>, AppError> {
    Ok(chat_channels::table
        .find((platform.as_str(), channel))
        .select(chat_channels::incident_id)
        .first::<IncidentId>(conn)
        .optional()?)
}

/// Links a channel to an incident (replacing any link it had).
pub fn link(
    conn: &mut DbConnection,
    platform: Platform,
    channel: &str,
    incident: IncidentId,
    by: UserId,
) -> Result<(), AppError> {
    unlink(conn, platform, channel)?;
    diesel::insert_into(chat_channels::table)
        .values((
            chat_channels::platform.eq(platform.as_str()),
            chat_channels::channel_id.eq(channel),
            chat_channels::incident_id.eq(incident),
            chat_channels::linked_by.eq(Some(by)),
            chat_channels::created_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends a channel's link; whether it had one.
pub fn unlink(
    conn: &mut DbConnection,
    platform: Platform,
    channel: &str,
) -> Result<bool, AppError> {
    Ok(diesel::delete(chat_channels::table.find((platform.as_str(), channel))).execute(conn)? > 0)
}
