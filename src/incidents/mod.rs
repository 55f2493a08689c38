//! Incidents: the record of one outage, its severity, status lifecycle, milestone times and
//! services. `model` holds the types, `service` the rules and transactions (with
//! `transitions` for status changes, `changes` for the entries edits leave, `revisions` and
//! `merge` for edits that lost a race), `search` the filtered list, `web` and `api` the
//! HTML and JSON handlers.

pub mod api;
pub mod changes;
pub mod fields;
pub mod links;
pub mod merge;
pub mod model;
pub mod recurrence;
pub mod revisions;
pub mod roles;
pub mod search;
pub mod service;
pub mod similar;
pub mod transitions;
pub mod updates;
pub mod web;

pub use model::{Incident, IncidentKey, Severity, Status};
pub use transitions::StatusChange;
