//! One id type per table that handlers reach, so that two ids cannot be passed in each
//! other's place: `timeline::service::edit(conn, entry, incident)` does not compile.
//! Each is an `i32` in the database and in JSON.
//!
//! In the right order it compiles:
//! ```no_run
//! # use hindsight::ids::{EntryId, IncidentId};
//! # fn read(conn: &mut hindsight::db::DbConnection) {
//! let _ = hindsight::timeline::service::get(conn, IncidentId(2), EntryId(41));
//! # }
//! ```
//! Swapped, it does not:
//! ```compile_fail
//! # use hindsight::ids::{EntryId, IncidentId};
//! # fn read(conn: &mut hindsight::db::DbConnection) {
//! let _ = hindsight::timeline::service::get(conn, EntryId(41), IncidentId(2));
//! # }
//! ```

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Integer;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            Default,
            diesel::AsExpression,
            diesel::FromSqlRow,
            serde::Serialize,
            serde::Deserialize,
            utoipa::ToSchema,
        )]
        #[diesel(sql_type = Integer)]
        #[serde(transparent)]
        pub struct $name(pub i32);

        impl<DB> ToSql<Integer, DB> for $name
        where
            DB: Backend,
            i32: ToSql<Integer, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.0.to_sql(out)
            }
        }

        impl<DB> FromSql<Integer, DB> for $name
        where
            DB: Backend,
            i32: FromSql<Integer, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                i32::from_sql(bytes).map($name)
            }
        }

        impl From<i32> for $name {
            fn from(id: i32) -> Self {
                $name(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An incident's row id (its key is `INC-{id}`).
    IncidentId
);
id_type!(
    /// A timeline entry.
    EntryId
);
id_type!(
    /// A follow-up task.
    TaskId
);
id_type!(
    /// An escalation.
    EscalationId
);
id_type!(
    /// A root cause.
    RootCauseId
);
id_type!(
    /// A link between two incidents.
    LinkId
);
id_type!(
    /// A file attached to an incident.
    AttachmentId
);
id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// A team.
    TeamId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_numbers_in_json() {
        assert_eq!(serde_json::to_string(&EntryId(41)).unwrap(), "41");
        assert_eq!(serde_json::from_str::<TaskId>("7").unwrap(), TaskId(7));
        assert_eq!(IncidentId(3).to_string(), "3");
    }
}
