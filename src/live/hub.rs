//! The hub: one per server. It keeps a channel per incident that someone is watching,
//! hears which incidents changed (from this server's writer after each commit, and from
//! PostgreSQL `NOTIFY` for changes made through other servers), reads the new events once
//! per incident and hands them to every stream on it. It also knows who is watching what,
//! for presence, and enforces the stream limits.
//!
//! Presence across servers (PostgreSQL): each hub announces who watches each incident on it
//! (`NOTIFY hindsight_presence`, at each change and every 30 s) and merges what the others
//! announce; another server's list is forgotten 75 s after its last announcement, so a
//! server that died drops out.

use crate::ids::{IncidentId, UserId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, watch};

use super::log::{self, Event, EventKind};
use crate::config::LiveLimits;
use crate::db::{Change, Db, DbConnection};
use crate::error::AppError;

/// Turns an event into its data: the subject in the API's shape, as JSON. Given by the app
/// (the API's shapes live above this module).
pub type Describe = fn(&mut DbConnection, &Event) -> Result<String, AppError>;

/// Every watched incident is read again this often even without a signal, in case one was
/// lost (a dropped `LISTEN` connection, a write from the CLI).
const SWEEP: Duration = Duration::from_secs(5);
/// How often a page without a stream checks for changes instead (static/app.js): when a
/// refused stream is worth asking for again.
const FALLBACK_POLL_SECS: u32 = 20;
/// Events read per query.
pub const BATCH: i64 = 200;
/// Messages a slow stream may fall behind before it reads from the database instead.
const BACKLOG: usize = 256;
/// How often a server repeats who watches what on it, and when others forget it.
const PRESENCE_REFRESH: Duration = Duration::from_secs(30);
const PRESENCE_EXPIRY: Duration = Duration::from_secs(75);
/// Viewers one announcement names at most (a NOTIFY payload is limited to 8,000 bytes).
const PRESENCE_MAX: usize = 40;

/// What the hub is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poke {
    /// A committed write changed this incident (or, with [`Change::Access`], who may see
    /// what: every stream checks its reader again).
    Changed(Change),
    /// Notifications may have been lost (the listener reconnected): read every watched
    /// incident again.
    Everything,
}

/// An event ready to send.
#[derive(Debug)]
pub struct Sent {
    pub seq: i32,
    pub kind: EventKind,
    pub data: String,
}

#[derive(Clone, Debug)]
pub enum Message {
    Event(Arc<Sent>),
    /// Who has the incident open now (JSON).
    Presence(Arc<str>),
}

/// Someone with the incident open.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Viewer {
    pub username: String,
    pub display_name: String,
    #[serde(skip)]
    pub user_id: UserId,
}

/// What one server says about one incident (the `hindsight_presence` payload).
#[derive(Serialize, serde::Deserialize)]
struct Announcement {
    server: String,
    incident: IncidentId,
    viewers: Vec<Viewer>,
}

struct Channel {
    tx: broadcast::Sender<Message>,
    /// The last event handed out (every stream checks it follows on from what it sent).
    last_seq: i32,
    viewers: BTreeMap<u64, Viewer>,
    /// Viewers on other servers, by server, as of their last announcement.
    remote: HashMap<String, (Vec<Viewer>, Instant)>,
}

#[derive(Default)]
struct Streams {
    channels: HashMap<IncidentId, Channel>,
    per_user: HashMap<UserId, usize>,
    open: usize,
}

pub struct Hub {
    pub db: Db,
    pub describe: Describe,
    pub limits: LiveLimits,
    streams: Mutex<Streams>,
    next_id: AtomicU64,
    pokes: mpsc::UnboundedSender<Poke>,
    closing: watch::Sender<bool>,
    /// Bumped whenever who may see what changed: every stream then checks its reader.
    access: watch::Sender<u64>,
    /// This server, in presence announcements.
    server: String,
    /// Incidents whose local viewers changed, to announce (PostgreSQL only).
    announce: Option<mpsc::UnboundedSender<IncidentId>>,
}

/// A stream's hold on an incident's channel; dropping it leaves.
pub struct Subscription {
    hub: Arc<Hub>,
    incident_id: IncidentId,
    id: u64,
    user_id: UserId,
    pub rx: broadcast::Receiver<Message>,
}

impl Subscription {
    pub fn incident_id(&self) -> IncidentId {
        self.incident_id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut s = self.hub.lock();
        s.open -= 1;
        if let Some(n) = s.per_user.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                s.per_user.remove(&self.user_id);
            }
        }
        let empty = match s.channels.get_mut(&self.incident_id) {
            Some(ch) => {
                ch.viewers.remove(&self.id);
                ch.viewers.is_empty()
            }
            None => false,
        };
        if empty {
            s.channels.remove(&self.incident_id);
        } else {
            Hub::show_presence(&mut s, self.incident_id);
        }
        drop(s);
        self.hub.local_presence_changed(self.incident_id);
    }
}

impl Hub {
    /// A hub and the sender the writer (and the PostgreSQL listener) tell changes to; call
    /// [`Hub::run`] to start it.
    /// `announce` (PostgreSQL) takes the incidents whose local viewers changed, for
    /// [`Hub::run`] to tell the other servers.
    pub fn new(
        db: Db,
        describe: Describe,
        limits: LiveLimits,
        pokes: mpsc::UnboundedSender<Poke>,
        announce: Option<mpsc::UnboundedSender<IncidentId>>,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            db,
            describe,
            limits,
            streams: Mutex::new(Streams::default()),
            next_id: AtomicU64::new(1),
            pokes,
            closing: watch::channel(false).0,
            access: watch::channel(0).0,
            server: crate::auth::random_token(8),
            announce,
        })
    }

    fn local_presence_changed(&self, incident_id: IncidentId) {
        if let Some(tx) = &self.announce {
            let _ = tx.send(incident_id);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends every stream (the server is stopping; browsers reconnect to another one).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves when [`Hub::close`] is called.
    pub fn closed(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Changes whenever who may see what changed (see [`Poke::Access`]).
    pub fn access_changes(&self) -> watch::Receiver<u64> {
        self.access.subscribe()
    }

    /// Streams open on this server.
    pub fn open_streams(&self) -> usize {
        self.lock().open
    }

    /// Joins `incident_id`'s channel as `viewer`, within the limits.
    pub async fn subscribe(
        self: &Arc<Self>,
        incident_id: IncidentId,
        viewer: Viewer,
    ) -> Result<Subscription, AppError> {
        {
            let s = self.lock();
            if s.open >= self.limits.max_streams {
                return Err(AppError::TooManyRequests {
                    message: format!(
                        "This server has {} live streams open, its limit; the page falls back to checking every 20 seconds.",
                        s.open
                    ),
                    retry_after: FALLBACK_POLL_SECS,
                });
            }
            if s.per_user.get(&viewer.user_id).copied().unwrap_or(0) >= self.limits.max_per_user {
                return Err(AppError::TooManyRequests {
                    message: format!(
                        "You have {} live streams open, the limit per person; close some incident tabs.",
                        self.limits.max_per_user
                    ),
                    retry_after: FALLBACK_POLL_SECS,
                });
            }
        }
        // The channel starts from the last number committed before any stream on it reads
        // its backlog, so everything after it is handed out by `deliver`.
        let known = self.lock().channels.contains_key(&incident_id);
        let start = if known {
            None
        } else {
            Some(
                self.db
                    .read(move |conn| log::last_seq(conn, incident_id))
                    .await?,
            )
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let user_id = viewer.user_id;
        let mut s = self.lock();
        s.open += 1;
        *s.per_user.entry(user_id).or_default() += 1;
        let ch = s.channels.entry(incident_id).or_insert_with(|| Channel {
            tx: broadcast::channel(BACKLOG).0,
            last_seq: start.unwrap_or(0),
            viewers: BTreeMap::new(),
            remote: HashMap::new(),
        });
        ch.viewers.insert(id, viewer);
        let rx = ch.tx.subscribe();
        Hub::show_presence(&mut s, incident_id);
        drop(s);
        self.local_presence_changed(incident_id);
        Ok(Subscription {
            hub: Arc::clone(self),
            incident_id,
            id,
            user_id,
            rx,
        })
    }

    /// Tells the incident's streams who watches it, here and on other servers.
    fn show_presence(s: &mut Streams, incident_id: IncidentId) {
        let Some(ch) = s.channels.get_mut(&incident_id) else {
            return;
        };
        ch.remote
            .retain(|_, (_, at)| at.elapsed() < PRESENCE_EXPIRY);
        let mut viewers: BTreeSet<(&str, &str)> = ch
            .viewers
            .values()
            .map(|v| (v.username.as_str(), v.display_name.as_str()))
            .collect();
        for (remote, _) in ch.remote.values() {
            viewers.extend(
                remote
                    .iter()
                    .map(|v| (v.username.as_str(), v.display_name.as_str())),
            );
        }
        let list: Vec<serde_json::Value> = viewers
            .into_iter()
            .map(|(u, d)| serde_json::json!({"username": u, "display_name": d}))
            .collect();
        let data = serde_json::json!({ "viewers": list }).to_string();
        let _ = ch.tx.send(Message::Presence(data.into()));
    }

    /// This server's viewers of an incident, as an announcement payload.
    fn announcement(&self, incident_id: IncidentId) -> String {
        let s = self.lock();
        let mut viewers: Vec<Viewer> = s
            .channels
            .get(&incident_id)
            .map(|ch| ch.viewers.values().cloned().collect())
            .unwrap_or_default();
        viewers.sort();
        viewers.dedup_by(|a, b| a.username == b.username);
        viewers.truncate(PRESENCE_MAX);
        serde_json::to_string(&Announcement {
            server: self.server.clone(),
            incident: incident_id,
            viewers,
        })
        .unwrap_or_default()
    }

    /// Another server's announcement: merged, and answered with ours when that server is
    /// new to the incident here (so both sides know each other at once).
    fn heard(&self, payload: &str) {
        let Ok(a) = serde_json::from_str::<Announcement>(payload) else {
            return;
        };
        if a.server == self.server {
            return;
        }
        let mut s = self.lock();
        let Some(ch) = s.channels.get_mut(&a.incident) else {
            return;
        };
        let new = if a.viewers.is_empty() {
            ch.remote.remove(&a.server);
            false
        } else {
            ch.remote
                .insert(a.server, (a.viewers, Instant::now()))
                .is_none()
        };
        Hub::show_presence(&mut s, a.incident);
        drop(s);
        if new {
            self.local_presence_changed(a.incident);
        }
    }

    async fn announce(&self, incidents: BTreeSet<IncidentId>) {
        let payloads: Vec<String> = incidents
            .into_iter()
            .map(|i| self.announcement(i))
            .collect();
        let sent = self
            .db
            .write(move |conn| {
                use diesel::RunQueryDsl;
                if let DbConnection::Postgres(pg) = conn {
                    for p in &payloads {
                        diesel::sql_query("SELECT pg_notify('hindsight_presence', $1)")
                            .bind::<diesel::sql_types::Text, _>(p)
                            .execute(pg)?;
                    }
                }
                Ok(())
            })
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "live: cannot announce presence");
        }
    }

    /// Reads up to [`BATCH`] events after `after` with their data.
    pub async fn read_events(
        &self,
        incident_id: IncidentId,
        after: i32,
    ) -> Result<Vec<Arc<Sent>>, AppError> {
        let describe = self.describe;
        self.db
            .read(move |conn| {
                log::since(conn, incident_id, after, BATCH)?
                    .into_iter()
                    .map(|e| {
                        Ok(Arc::new(Sent {
                            seq: e.seq,
                            kind: e.kind,
                            data: describe(conn, &e)?,
                        }))
                    })
                    .collect()
            })
            .await
    }

    /// Hands out what is new on the incidents told of (or, on the sweep, on all watched);
    /// on PostgreSQL also announces and hears presence (see the module).
    pub async fn run(
        self: Arc<Self>,
        mut pokes: mpsc::UnboundedReceiver<Poke>,
        mut changed_presence: mpsc::UnboundedReceiver<IncidentId>,
        mut heard: mpsc::UnboundedReceiver<String>,
    ) {
        let mut sweep = tokio::time::interval(SWEEP);
        let mut refresh = tokio::time::interval(PRESENCE_REFRESH);
        let mut closing = self.closed();
        loop {
            let mut ids = BTreeSet::new();
            tokio::select! {
                Some(id) = changed_presence.recv() => {
                    let mut changed = BTreeSet::from([id]);
                    while let Ok(id) = changed_presence.try_recv() {
                        changed.insert(id);
                    }
                    self.announce(changed).await;
                    continue;
                }
                Some(payload) = heard.recv() => {
                    self.heard(&payload);
                    continue;
                }
                _ = refresh.tick(), if self.announce.is_some() => {
                    let watched: BTreeSet<IncidentId> = self.lock().channels.keys().copied().collect();
                    if !watched.is_empty() {
                        self.announce(watched).await;
                    }
                    // Forgotten servers leave the lists.
                    let mut s = self.lock();
                    let all: Vec<IncidentId> = s.channels.keys().copied().collect();
                    for id in all {
                        let stale = s.channels.get(&id).is_some_and(|ch| {
                            ch.remote.values().any(|(_, at)| at.elapsed() >= PRESENCE_EXPIRY)
                        });
                        if stale {
                            Hub::show_presence(&mut s, id);
                        }
                    }
                    continue;
                }
                poke = pokes.recv() => {
                    let Some(first) = poke else { return };
                    let mut all = vec![first];
                    while let Ok(more) = pokes.try_recv() {
                        all.push(more);
                    }
                    for poke in all {
                        match poke {
                            Poke::Changed(Change::Incident(id)) => {
                                ids.insert(id);
                            }
                            Poke::Changed(Change::Access) => {
                                self.access.send_modify(|n| *n += 1);
                            }
                            Poke::Everything => {
                                ids.extend(self.lock().channels.keys().copied());
                                // Access changes may have been missed too.
                                self.access.send_modify(|n| *n += 1);
                            }
                        }
                    }
                }
                _ = sweep.tick() => ids.extend(self.lock().channels.keys().copied()),
                _ = closing.changed() => return,
            }
            for id in ids {
                if let Err(e) = self.deliver(id).await {
                    tracing::warn!(incident = id.0, error = %e, "live: cannot read new events");
                }
            }
        }
    }

    async fn deliver(&self, incident_id: IncidentId) -> Result<(), AppError> {
        let Some(after) = self.lock().channels.get(&incident_id).map(|c| c.last_seq) else {
            return Ok(());
        };
        let events = self.read_events(incident_id, after).await?;
        let full = events.len() as i64 == BATCH;
        let mut s = self.lock();
        if let Some(ch) = s.channels.get_mut(&incident_id) {
            for e in events {
                if e.seq > ch.last_seq {
                    ch.last_seq = e.seq;
                    let _ = ch.tx.send(Message::Event(e));
                }
            }
        }
        drop(s);
        if full {
            let _ = self
                .pokes
                .send(Poke::Changed(Change::Incident(incident_id)));
        }
        Ok(())
    }
}
