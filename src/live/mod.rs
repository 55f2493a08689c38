//! Live updates: an incident's changes pushed to the browsers and API clients that have it
//! open, across servers, with presence.
//!
//! - [`log`]: the event log, written by every change in its own transaction.
//! - [`hub`]: per server, hands new events to the streams watching each incident.
//! - [`listen`]: on PostgreSQL, hears changes made through other servers.
//! - [`stream`]: the server-sent-event endpoints.
//! - [`data`]: an event's subject in the API's shape.

pub mod data;
pub mod hub;
pub mod listen;
pub mod log;
pub mod stream;
