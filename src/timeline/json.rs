//! An entry as the JSON API shows it: the timeline list, the incident's embedded timeline
//! (serialised once per revision by `rendered`) and events share this one shape.

use crate::ids::EntryId;
use serde::Serialize;

use super::{EntryKind, EntryView};
use crate::time::rfc3339;

#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryJson {
    pub id: EntryId,
    pub occurred_at: String,
    pub time_known: bool,
    pub recorded_at: String,
    pub kind: EntryKind,
    pub body: String,
    pub author: Option<String>,
    /// The author an imported document named: text, not an account.
    pub imported_author: Option<String>,
    pub version: i32,
    /// A key moment.
    pub starred: bool,
    /// `detection`, `diagnosis` or `repair`.
    pub marker: Option<crate::timeline::Marker>,
}

impl From<EntryView> for EntryJson {
    fn from(v: EntryView) -> Self {
        let e = v.entry;
        EntryJson {
            id: e.id,
            occurred_at: rfc3339(e.occurred_at),
            time_known: e.time_known,
            recorded_at: rfc3339(e.recorded_at),
            kind: e.kind,
            body: e.body,
            author: v.author,
            imported_author: e.imported_author,
            starred: e.starred,
            marker: e.marker,
            version: e.version,
        }
    }
}
