//! Incidents: the record of one outage, its severity, status lifecycle, milestone times and
//! services. `model` holds the types, `service` the rules and transactions, `search` the
//! filtered list, `web` and `api` the HTML and JSON handlers.

pub mod api;
pub mod model;
pub mod search;
pub mod service;
pub mod web;

pub use model::{Incident, IncidentKey, Severity, Status};
