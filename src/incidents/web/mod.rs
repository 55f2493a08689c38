//! Incident pages: the list, declare, the incident page (timeline first), edit with
//! conflict display, and the quick status change.

mod form;
pub mod list;
mod show;
mod status;

pub use form::{create_incident, edit_incident, new_incident, update_incident, IncidentForm};
pub use list::{list_incidents, IncidentRow};
pub use show::{incident_page, incident_stamp, show_incident, Draft};
pub use status::change_status;

/// A form value with surrounding whitespace trimmed, or `None` when blank.
fn opt(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}
