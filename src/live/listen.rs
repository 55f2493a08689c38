//! The PostgreSQL side of live updates: one thread per server holds a connection that
//! `LISTEN`s on [`log::CHANNEL`](super::log::CHANNEL) and tells the hub which incidents
//! changed, whichever server wrote them, and on `hindsight_presence` for who watches what
//! on the other servers, and on `hindsight_access` for changes of who may see what. It reconnects when the database goes away (a
//! restart) and then asks the hub to re-read everything watched, since notifications sent
//! meanwhile are lost.

use std::time::Duration;

use diesel::connection::Connection;
use diesel::pg::PgConnection;
use tokio::sync::{mpsc, watch};

use super::hub::Poke;
use crate::db::{Change, ACCESS_CHANNEL};

/// How often the connection is checked for notifications (no blocking wait in diesel).
const POLL: Duration = Duration::from_millis(50);

/// Starts the listener thread; it ends when the hub closes or goes away.
pub fn spawn(
    url: String,
    pokes: mpsc::UnboundedSender<Poke>,
    presence: mpsc::UnboundedSender<String>,
    closing: watch::Receiver<bool>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("live-listen".into())
        .spawn(move || run(&url, &pokes, &presence, &closing))
        .map(|_| ())
}

fn run(
    url: &str,
    pokes: &mpsc::UnboundedSender<Poke>,
    presence: &mpsc::UnboundedSender<String>,
    closing: &watch::Receiver<bool>,
) {
    let mut wait = Duration::from_millis(200);
    let mut first = true;
    while !*closing.borrow() {
        let mut conn = match PgConnection::establish(url) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "live: cannot reach PostgreSQL to listen; retrying");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let listen = format!(
            "LISTEN {}; LISTEN hindsight_presence; LISTEN {ACCESS_CHANNEL}",
            super::log::CHANNEL
        );
        if let Err(e) = diesel::connection::SimpleConnection::batch_execute(&mut conn, &listen) {
            tracing::warn!(error = %e, "live: LISTEN failed; retrying");
            std::thread::sleep(wait);
            continue;
        }
        wait = Duration::from_millis(200);
        if !first && pokes.send(Poke::Everything).is_err() {
            return;
        }
        first = false;
        'listening: while !*closing.borrow() {
            for note in conn.notifications_iter() {
                match note {
                    Ok(n) if n.channel == "hindsight_presence" => {
                        if presence.send(n.payload).is_err() {
                            return;
                        }
                    }
                    Ok(n) if n.channel == ACCESS_CHANNEL => {
                        if pokes.send(Poke::Changed(Change::Access)).is_err() {
                            return;
                        }
                    }
                    Ok(n) => {
                        if let Ok(id) = n.payload.parse::<i32>() {
                            if pokes
                                .send(Poke::Changed(Change::Incident(crate::ids::IncidentId(id))))
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live: lost the LISTEN connection; reconnecting");
                        break 'listening;
                    }
                }
            }
            std::thread::sleep(POLL);
        }
    }
}
