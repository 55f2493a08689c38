//! `GET /incidents/{key}/events` (session) and `GET /api/v1/incidents/{key}/events` (token):
//! an incident's changes as server-sent events. Each event has `id:` (the incident's event
//! number), `event:` (its kind) and `data:` (the subject in the API's shape); `presence`
//! events (no id) say who has the incident open. A client that reconnects with
//! `Last-Event-ID` (or `?after=N`) first gets every event after N from the database, then
//! the live ones, each exactly once.
//!
//! A stream is a task, not a thread: it forwards what the hub hands out, checks the
//! database itself whenever the numbers jump (a missed or lagging message) and every 15 s,
//! sends a comment as a heartbeat (every 5 s by default), and ends after the configured idle
//! time without events, when its client is gone, when the server stops, or as soon as its
//! reader may no longer see the incident (restricted, removed from it or its team, role
//! changed, token revoked, signed out: checked at each such change and every 15 s).

use crate::access::visible::Visible;
use crate::ids::IncidentId;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};

use super::hub::{Hub, Message, Sent, Subscription, Viewer, BATCH};
use crate::access::visible::Credential;
use crate::auth::users::User;
use crate::auth::{ApiUser, CurrentUser};
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::state::AppState;

/// How often a stream reads the database itself, in case a signal was lost.
const RECHECK: Duration = Duration::from_secs(15);
/// A client that reads nothing for this long is dropped (its buffers would only grow).
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
pub struct After {
    after: Option<i32>,
}

pub async fn page_events(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: Visible,
    req: HttpRequest,
    query: web::Query<After>,
) -> Result<HttpResponse, AppError> {
    open(&state, &user.user, key, &req, query.after).await
}

#[utoipa::path(get, path = "/api/v1/incidents/{key}/events", tag = "live",
    params(("key" = String, Path, description = "INC-7 or 7"), ("after" = Option<i32>, Query, description = "send the events after this number (like Last-Event-ID)")),
    responses((status = 200, description = "text/event-stream of the incident's changes"), (status = 404, body = crate::api::ErrorDoc), (status = 429, body = crate::api::ErrorDoc)))]
pub async fn api_events(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    req: HttpRequest,
    query: web::Query<After>,
) -> Result<HttpResponse, ApiError> {
    Ok(open(&state, &user.user, key, &req, query.after).await?)
}

async fn open(
    state: &AppState,
    user: &User,
    key: Visible,
    req: &HttpRequest,
    after: Option<i32>,
) -> Result<HttpResponse, AppError> {
    let id = key.id();
    let current = state
        .db
        .read(move |conn| super::log::last_seq(conn, id))
        .await?;
    let resume = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i32>().ok())
        .or(after)
        .unwrap_or(current)
        .clamp(0, current);
    let credential = Credential::of(req)
        .ok_or_else(|| AppError::Unauthorized("No credential on the request.".into()))?;
    let hub = Arc::clone(&state.live);
    let sub = hub
        .subscribe(
            id,
            Viewer {
                username: user.username.clone(),
                display_name: user.display_name.clone(),
                user_id: user.id,
            },
        )
        .await?;
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    actix_web::rt::spawn(pump(hub, sub, credential, resume, tx));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        // Compression would hold events back until its buffer fills.
        .insert_header(("Content-Encoding", "identity"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

fn frame(e: &Sent) -> Bytes {
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        e.seq, e.kind, e.data
    ))
}

/// The client is gone or stopped reading.
struct Gone;

async fn send(tx: &mpsc::Sender<Bytes>, bytes: Bytes) -> Result<(), Gone> {
    match tokio::time::timeout(SEND_TIMEOUT, tx.send(bytes)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(Gone),
    }
}

/// Sends everything after `last` from the database.
async fn catch_up(
    hub: &Hub,
    incident_id: IncidentId,
    last: &mut i32,
    tx: &mpsc::Sender<Bytes>,
) -> Result<(), Gone> {
    loop {
        let events = hub.read_events(incident_id, *last).await.map_err(|e| {
            tracing::warn!(incident = incident_id.0, error = %e, "live: cannot read events");
            Gone
        })?;
        let n = events.len() as i64;
        for e in events {
            send(tx, frame(&e)).await?;
            *last = e.seq;
        }
        if n < BATCH {
            return Ok(());
        }
    }
}

async fn pump(
    hub: Arc<Hub>,
    mut sub: Subscription,
    credential: Credential,
    mut last: i32,
    tx: mpsc::Sender<Bytes>,
) {
    let incident_id = sub.incident_id();
    let _ = run(&hub, &mut sub, &credential, incident_id, &mut last, &tx).await;
}

/// Whether the stream's reader may still see the incident (a failed read counts as no:
/// the client reconnects, which checks everything again).
async fn still_allowed(
    hub: &Hub,
    credential: &Credential,
    incident_id: IncidentId,
) -> Result<(), Gone> {
    let credential = credential.clone();
    match hub
        .db
        .read(move |conn| credential.may_see(conn, incident_id))
        .await
    {
        Ok(true) => Ok(()),
        _ => Err(Gone),
    }
}

async fn run(
    hub: &Hub,
    sub: &mut Subscription,
    credential: &Credential,
    incident_id: IncidentId,
    last: &mut i32,
    tx: &mpsc::Sender<Bytes>,
) -> Result<(), Gone> {
    send(tx, Bytes::from_static(b"retry: 3000\n\n")).await?;
    catch_up(hub, incident_id, last, tx).await?;
    let mut closing = hub.closed();
    let mut access = hub.access_changes();
    let beat = hub.limits.heartbeat;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
    let idle = tokio::time::sleep(hub.limits.idle);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            // Access first: a change that takes it away arrives with its own events (a
            // restriction is also a timeline entry), which its former reader must not get.
            biased;
            _ = access.changed() => still_allowed(hub, credential, incident_id).await?,
            m = sub.rx.recv() => match m {
                Ok(Message::Event(e)) if e.seq <= *last => {}
                Ok(Message::Event(e)) if e.seq == *last + 1 => {
                    send(tx, frame(&e)).await?;
                    *last = e.seq;
                    idle.as_mut().reset(tokio::time::Instant::now() + hub.limits.idle);
                }
                // A number skipped (this stream joined mid-way) or messages lost to lag:
                // the database has them all.
                Ok(Message::Event(_)) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    catch_up(hub, incident_id, last, tx).await?;
                    idle.as_mut().reset(tokio::time::Instant::now() + hub.limits.idle);
                }
                Ok(Message::Presence(p)) => {
                    send(tx, Bytes::from(format!("event: presence\ndata: {p}\n\n"))).await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            // actix notices a closed connection only when it writes to it (actix-web
            // issue 1313): the heartbeat is what ends a stream whose client went away.
            _ = heartbeat.tick() => send(tx, Bytes::from_static(b":\n\n")).await?,
            // Also at every recheck, in case an access signal was lost.
            _ = recheck.tick() => {
                still_allowed(hub, credential, incident_id).await?;
                catch_up(hub, incident_id, last, tx).await?;
            }
            _ = &mut idle => return Ok(()),
            _ = closing.changed() => return Ok(()),
            // The client went away (the response body, our receiver, was dropped).
            _ = tx.closed() => return Err(Gone),
        }
    }
}
