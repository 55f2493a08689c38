//! The only way a handler reaches an incident from a URL. [`Visible`] (an incident) and
//! [`Record`] (a task, escalation, root cause or timeline entry of one) are request
//! extractors that parse the *decoded* path segment, find the incident, identify the asker
//! (the session on pages, the bearer token under `/api/`) and decide whether they may see
//! it, in that order, before anything else about the request is read. Their fields are
//! private to this module: a handler that wants an incident id has to go through the check,
//! and one that forgets to ask for it has no id to use.
//!
//! A restricted incident that the asker may not see answers exactly as a missing one (the
//! same 404, the same body, from the same branch); an admin's look at it is audited.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use diesel::prelude::*;
use tokio::sync::watch;

use super::{can_see, note_admin_look, Reader, Seen};
use crate::audit::Actor;
use crate::auth::users::User;
use crate::auth::{ApiUser, CurrentUser};
use crate::db::schema::{
    attachments, escalations, incident_links, root_causes, tasks, timeline_entries,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::extract::reject;
use crate::ids::{AttachmentId, EntryId, EscalationId, IncidentId, LinkId, RootCauseId, TaskId};
use crate::incidents::IncidentKey;
use crate::state::AppState;

/// An incident the asker may see. Only this module makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visible {
    id: IncidentId,
}

impl Visible {
    /// The incident's id.
    pub fn id(self) -> IncidentId {
        self.id
    }

    pub fn key(self) -> IncidentKey {
        IncidentKey(self.id)
    }
}

/// A record of some kind `K` ([`Task`], [`Escalation`], [`Cause`], [`Entry`]) whose incident
/// the asker may see. Only this module makes one.
#[derive(Debug)]
pub struct Record<K: Kind> {
    id: K::Id,
    incident: Visible,
    kind: PhantomData<K>,
}

impl<K: Kind> Clone for Record<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: Kind> Copy for Record<K> {}

impl<K: Kind> Record<K> {
    /// The record's own id, of its own type.
    pub fn id(self) -> K::Id {
        self.id
    }

    /// The incident it belongs to.
    pub fn incident(self) -> Visible {
        self.incident
    }
}

/// A kind of record that belongs to an incident and is reached by its id in a URL.
pub trait Kind: 'static {
    /// As named in a 404 ("task 7").
    const NAME: &'static str;
    /// Its id type.
    type Id: Copy + std::fmt::Debug + From<i32>;
    /// The record's incident, `None` when there is no such record.
    fn incident_of(conn: &mut DbConnection, id: i32) -> QueryResult<Option<i32>>;
}

pub enum Task {}
pub enum Escalation {}
pub enum Cause {}
/// A link between incidents, reached from the incident that made it.
pub enum Link {}
/// A timeline entry, reached as `/incidents/{key}/timeline/{id}`: it must belong to the
/// incident the key names.
pub enum Entry {}
/// A file attached to an incident, reached as `/attachments/{id}`.
pub enum Attachment {}

macro_rules! kind {
    ($kind:ty, $id:ty, $name:literal, $table:ident) => {
        impl Kind for $kind {
            const NAME: &'static str = $name;
            type Id = $id;
            fn incident_of(conn: &mut DbConnection, id: i32) -> QueryResult<Option<i32>> {
                $table::table
                    .find(id)
                    .select($table::incident_id)
                    .first(conn)
                    .optional()
            }
        }
    };
}
kind!(Task, TaskId, "task", tasks);
kind!(Escalation, EscalationId, "escalation", escalations);
kind!(Cause, RootCauseId, "root cause", root_causes);
kind!(Entry, EntryId, "timeline entry", timeline_entries);
kind!(Link, LinkId, "link", incident_links);
kind!(Attachment, AttachmentId, "attachment", attachments);

/// Whoever asks: the session's user on pages, the token's under `/api/` (looked up once
/// per request, shared with the handler's own `CurrentUser` / `ApiUser`).
async fn asker(req: &HttpRequest) -> Result<User, AppError> {
    if is_api(req) {
        Ok(ApiUser::load(req).await?.user)
    } else {
        CurrentUser::load(req)
            .await?
            .map(|c| c.user)
            .ok_or_else(|| AppError::LoginRequired {
                next: crate::auth::extract::next_for(req),
            })
    }
}

fn is_api(req: &HttpRequest) -> bool {
    req.path().starts_with("/api/")
}

/// The 404 of a hidden or missing incident: one message whichever it is.
fn no_incident(raw: &str) -> AppError {
    AppError::NotFound(format!("incident “{raw}”"))
}

/// A record named by id in a URL, and how to find its incident.
#[derive(Clone, Copy)]
struct Named {
    name: &'static str,
    id: i32,
    incident_of: fn(&mut DbConnection, i32) -> QueryResult<Option<i32>>,
}

/// The incident `raw_key` (a decoded `{key}` segment) or `record` names, if the asker may
/// see it; an admin's look at a restricted one is audited. Hidden and missing answer the
/// same 404.
async fn resolve(
    req: &HttpRequest,
    raw_key: Option<&str>,
    record: Option<Named>,
) -> Result<Visible, AppError> {
    let user = asker(req).await?;
    let wanted = match raw_key {
        Some(raw) => Some(raw.parse::<IncidentKey>().map_err(|_| no_incident(raw))?.0),
        None => None,
    };
    let missing = || match (record, raw_key) {
        (Some(r), _) => AppError::NotFound(format!("{} {}", r.name, r.id)),
        (None, Some(raw)) => no_incident(raw),
        (None, None) => AppError::NotFound("incident".into()),
    };
    let state = AppState::of(req)?;
    let reader = Reader::of(&user);
    let found = state
        .db
        .read(move |conn| {
            let id = match record {
                Some(r) => match (r.incident_of)(conn, r.id)? {
                    // An entry named under another incident's key is not there.
                    Some(i) if wanted.is_none_or(|w| w.0 == i) => IncidentId(i),
                    _ => return Ok(None),
                },
                None => wanted.unwrap_or(IncidentId(0)),
            };
            Ok(Some((id, can_see(conn, reader, id)?)))
        })
        .await?;
    let Some((id, seen)) = found else {
        return Err(missing());
    };
    match seen {
        Seen::Open | Seen::Member => {}
        Seen::AdminOnly => note_look(req, &state, &user, id).await?,
        Seen::No => return Err(missing()),
    }
    Ok(Visible { id })
}

/// The incident `id` for `user` where no URL names it (a chat command names it in its
/// text, or its channel is linked to it): the same check as a request's, the same answer
/// for a missing incident and one they may not see, an admin's look audited (`what`).
pub fn for_user(
    conn: &mut DbConnection,
    user: &User,
    id: IncidentId,
    actor: &Actor,
    what: &str,
) -> Result<Visible, AppError> {
    match can_see(conn, Reader::of(user), id)? {
        Seen::Open | Seen::Member => Ok(Visible { id }),
        Seen::AdminOnly => {
            note_admin_look(conn, actor, id, what)?;
            Ok(Visible { id })
        }
        Seen::No => Err(no_incident(&IncidentKey(id).to_string())),
    }
}

/// Audits an admin's look at a restricted incident, once per request.
async fn note_look(
    req: &HttpRequest,
    state: &AppState,
    user: &User,
    id: IncidentId,
) -> Result<(), AppError> {
    struct Noted;
    if req.extensions().get::<Noted>().is_some() {
        return Ok(());
    }
    req.extensions_mut().insert(Noted);
    let actor = Actor::user(user, &crate::auth::extract::client_ip(req));
    let what = format!("{} {}", req.method(), req.path());
    state
        .db
        .write(move |conn| note_admin_look(conn, &actor, id, &what))
        .await
}

type Resolving<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

/// Runs `check` as the request's access check: the body extractors wait for it
/// ([`settled`]), so whoever may not see the incident learns nothing from the body's errors.
fn checked<T: 'static>(
    req: &HttpRequest,
    check: impl Future<Output = Result<T, AppError>> + 'static,
) -> Resolving<T> {
    let (done, gate) = watch::channel(false);
    req.extensions_mut().insert(Gate(gate));
    let req = req.clone();
    Box::pin(async move {
        let out = check.await.map_err(|e| reject(&req, e));
        done.send_replace(true);
        out
    })
}

#[derive(Clone)]
struct Gate(watch::Receiver<bool>);

/// Waits until this request's access check (if it has one) has answered. Body extractors
/// call it first, so that the order of checks is the same for every incident: who asks,
/// whether they may see it, then what they sent.
pub async fn settled(req: &HttpRequest) {
    let gate = req.extensions().get::<Gate>().cloned();
    if let Some(Gate(mut rx)) = gate {
        // An error means the check was dropped: the request is over anyway.
        let _ = rx.wait_for(|done| *done).await;
    }
}

impl FromRequest for Visible {
    type Error = actix_web::Error;
    type Future = Resolving<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let r = req.clone();
        checked(req, async move {
            let raw = r.match_info().get("key").unwrap_or_default().to_string();
            resolve(&r, Some(&raw), None).await
        })
    }
}

impl<K: Kind> FromRequest for Record<K> {
    type Error = actix_web::Error;
    type Future = Resolving<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let r = req.clone();
        checked(req, async move {
            let raw = r.match_info().get("id").unwrap_or_default();
            let id = raw
                .parse::<i32>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| AppError::NotFound(format!("{} “{raw}”", K::NAME)))?;
            let key = r.match_info().get("key").map(str::to_string);
            let named = Named {
                name: K::NAME,
                id,
                incident_of: K::incident_of,
            };
            let incident = resolve(&r, key.as_deref(), Some(named)).await?;
            Ok(Record {
                id: K::Id::from(id),
                incident,
                kind: PhantomData,
            })
        })
    }
}

/// `INC-7`, as in URLs and text.
impl std::fmt::Display for Visible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.key().fmt(f)
    }
}

/// What a request proved who it was with, kept by a live stream to check its reader again.
#[derive(Clone)]
pub enum Credential {
    /// The session cookie's token.
    Session(String),
    /// The API token's secret.
    Token(String),
}

impl Credential {
    /// The credential of a request, as [`Visible`] read it.
    pub fn of(req: &HttpRequest) -> Option<Credential> {
        if is_api(req) {
            crate::auth::extract::bearer(req).map(|s| Credential::Token(s.to_string()))
        } else {
            req.cookie(crate::auth::session::COOKIE)
                .map(|c| Credential::Session(c.value().to_string()))
        }
    }

    /// Whether whoever holds this credential may still see incident `id`: the session or
    /// token is live, its user enabled, and the incident visible to them as they are now
    /// (role and memberships read afresh).
    pub fn may_see(&self, conn: &mut DbConnection, id: IncidentId) -> Result<bool, AppError> {
        let user = match self {
            Credential::Session(token) => match crate::auth::session::lookup(conn, token)? {
                crate::auth::session::Lookup::Live { user, .. } => Some(user.user),
                _ => None,
            },
            Credential::Token(secret) => {
                crate::auth::tokens::lookup(conn, secret)?.map(|found| found.user)
            }
        };
        Ok(match user {
            Some(user) => can_see(conn, Reader::of(&user), id)? != Seen::No,
            None => false,
        })
    }
}
