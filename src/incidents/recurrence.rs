//! Did the fix hold? An incident "recurred" when an earlier incident had a root cause of the
//! same category on a service they share, every follow-up addressing that cause was done,
//! and all of them were done before the later incident started. Both incidents show it;
//! nothing is stored: it is read from causes, services and tasks when asked, so it follows
//! every edit of them.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use super::IncidentKey;
use crate::access::Hidden;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::{IncidentId, TaskId};
use crate::tasks::TaskStatus;

/// The same kind of failure on the same service, back after its follow-ups were done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recurrence {
    pub earlier: IncidentKey,
    pub later: IncidentKey,
    /// The cause category and the service both incidents share ("software", "payments").
    pub category: String,
    pub service: String,
    /// The earlier incident's follow-ups for that cause, all done before `later` started.
    pub tasks: Vec<TaskId>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Integer)]
    earlier: i32,
    #[diesel(sql_type = Integer)]
    later: i32,
    #[diesel(sql_type = Integer)]
    cause: i32,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Text)]
    service: String,
    #[diesel(sql_type = Integer)]
    task: i32,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    completed_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Timestamp)]
    later_start: NaiveDateTime,
}

/// Every earlier cause of the same category on a shared service, with its tasks, for the
/// pairs `{FILTER}` picks. Duplicates are neither end. `{FROM}` is one of the join orders
/// below, each starting from what its scope names.
const PAIRS: &str = "\
SELECT e.id AS earlier, n.id AS later, rc_old.id AS cause, rc_old.category AS category, \
       s.name AS service, t.id AS task, t.status AS status, t.completed_at AS completed_at, \
       n.started_at AS later_start \
FROM {FROM} \
WHERE {FILTER} AND n.duplicate_of IS NULL AND e.duplicate_of IS NULL";

/// From the later incident (`Later`, `Since`).
const FROM_LATER: &str = "incidents n \
JOIN root_causes rc_new ON rc_new.incident_id = n.id \
JOIN incident_services sn ON sn.incident_id = n.id \
JOIN services s ON s.id = sn.service_id \
JOIN incident_services se ON se.service_id = sn.service_id AND se.incident_id <> n.id \
JOIN incidents e ON e.id = se.incident_id AND e.started_at < n.started_at \
JOIN root_causes rc_old ON rc_old.incident_id = e.id AND rc_old.category = rc_new.category \
JOIN tasks t ON t.root_cause_id = rc_old.id";

/// From the earlier incident's cause (`Earlier`, `Tasks`).
const FROM_EARLIER: &str = "root_causes rc_old \
JOIN incidents e ON e.id = rc_old.incident_id \
JOIN tasks t ON t.root_cause_id = rc_old.id \
JOIN incident_services se ON se.incident_id = e.id \
JOIN incident_services sn ON sn.service_id = se.service_id AND sn.incident_id <> e.id \
JOIN services s ON s.id = sn.service_id \
JOIN incidents n ON n.id = sn.incident_id AND e.started_at < n.started_at \
JOIN root_causes rc_new ON rc_new.incident_id = n.id AND rc_new.category = rc_old.category";

/// From the service (`Service`).
const FROM_SERVICE: &str = "incident_services sn \
JOIN services s ON s.id = sn.service_id \
JOIN incidents n ON n.id = sn.incident_id \
JOIN root_causes rc_new ON rc_new.incident_id = n.id \
JOIN incident_services se ON se.service_id = sn.service_id AND se.incident_id <> n.id \
JOIN incidents e ON e.id = se.incident_id AND e.started_at < n.started_at \
JOIN root_causes rc_old ON rc_old.incident_id = e.id AND rc_old.category = rc_new.category \
JOIN tasks t ON t.root_cause_id = rc_old.id";

/// Which recurrences to find.
#[derive(Clone, Debug)]
pub enum Scope {
    /// Those an incident is the later end of.
    Later(IncidentId),
    /// Those an incident is the earlier end of.
    Earlier(IncidentId),
    /// Those on one service (by id).
    Service(i32),
    /// Those whose later incident started at or after a time.
    Since(NaiveDateTime),
    /// Those these follow-up tasks did not prevent.
    Tasks(Vec<TaskId>),
}

/// Whether `scope` can hold a recurrence at all: a follow-up must name a cause (and, for
/// one incident, that incident must have the cause or the task). One indexed lookup that
/// spares the eight-way join on the pages where nothing can recur.
fn worth_looking(conn: &mut DbConnection, scope: &Scope) -> Result<bool, AppError> {
    use crate::db::schema::{root_causes, tasks};
    use diesel::dsl::{exists, select};
    let naming = || tasks::table.filter(tasks::root_cause_id.is_not_null());
    Ok(match scope {
        Scope::Later(id) => {
            select(exists(
                root_causes::table.filter(root_causes::incident_id.eq(*id)),
            ))
            .get_result(conn)?
                && select(exists(naming())).get_result(conn)?
        }
        Scope::Earlier(id) => {
            // The causes first: a subquery would hide from PostgreSQL that only tasks
            // naming a cause are asked for, and it would read every task.
            let causes: Vec<Option<i32>> = root_causes::table
                .filter(root_causes::incident_id.eq(*id))
                .select(root_causes::id.nullable())
                .load(conn)?;
            !causes.is_empty()
                && select(exists(naming().filter(tasks::root_cause_id.eq_any(causes))))
                    .get_result(conn)?
        }
        Scope::Tasks(ids) => {
            select(exists(naming().filter(tasks::id.eq_any(ids)))).get_result(conn)?
        }
        Scope::Since(_) | Scope::Service(_) => select(exists(naming())).get_result(conn)?,
    })
}

fn load_rows(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<Row>, AppError> {
    if matches!(scope, Scope::Tasks(ids) if ids.is_empty()) || !worth_looking(conn, scope)? {
        return Ok(vec![]);
    }
    let pg = matches!(conn, DbConnection::Postgres(_));
    let p = |i: usize| if pg { format!("${i}") } else { format!("?{i}") };
    let filter = match scope {
        // One end each: an `OR` of the two would read every incident.
        Scope::Later(_) => format!("n.id = {}", p(1)),
        Scope::Earlier(_) => format!("e.id = {}", p(1)),
        Scope::Service(_) => format!("sn.service_id = {}", p(1)),
        Scope::Since(_) => format!("n.started_at >= {}", p(1)),
        Scope::Tasks(ids) => {
            let list: Vec<String> = (1..=ids.len()).map(p).collect();
            // Every task of those tasks' causes, so that a group is judged whole.
            format!(
                "rc_old.id IN (SELECT root_cause_id FROM tasks WHERE id IN ({}))",
                list.join(", ")
            )
        }
    };
    let from = match scope {
        Scope::Later(_) | Scope::Since(_) => FROM_LATER,
        Scope::Earlier(_) | Scope::Tasks(_) => FROM_EARLIER,
        Scope::Service(_) => FROM_SERVICE,
    };
    let sql = PAIRS.replace("{FROM}", from).replace("{FILTER}", &filter);
    macro_rules! run {
        ($c:expr, $backend:ty) => {{
            let q = diesel::sql_query(sql).into_boxed::<$backend>();
            let q = match scope {
                Scope::Later(id) | Scope::Earlier(id) => q.bind::<Integer, _>(*id),
                Scope::Service(id) => q.bind::<Integer, _>(*id),
                Scope::Since(t) => q.bind::<Timestamp, _>(*t),
                Scope::Tasks(ids) => ids.iter().fold(q, |q, id| q.bind::<Integer, _>(*id)),
            };
            q.load::<Row>($c)?
        }};
    }
    Ok(match conn {
        DbConnection::Sqlite(c) => run!(c, diesel::sqlite::Sqlite),
        // PostgreSQL would spend ~6 ms searching orders for eight joins on every call (a
        // raw query is planned each time): the order as written, which starts from what
        // the scope names, is the one it would pick.
        DbConnection::Postgres(c) => c.transaction(|c| {
            diesel::sql_query("SET LOCAL join_collapse_limit = 1").execute(c)?;
            let rows = run!(c, diesel::pg::Pg);
            diesel::sql_query("SET LOCAL join_collapse_limit TO DEFAULT").execute(c)?;
            Ok::<_, AppError>(rows)
        })?,
    })
}

/// The recurrences incident `id` is part of, as earlier or later incident, leaving out
/// those whose other incident is `hidden` from the reader.
pub fn of(
    conn: &mut DbConnection,
    id: IncidentId,
    hidden: &Hidden,
) -> Result<Vec<Recurrence>, AppError> {
    let mut found = find(conn, &Scope::Earlier(id), hidden)?;
    found.extend(find(conn, &Scope::Later(id), hidden)?);
    Ok(found)
}

/// The recurrences `scope` picks, leaving out those either of whose incidents is `hidden`.
pub fn find(
    conn: &mut DbConnection,
    scope: &Scope,
    hidden: &Hidden,
) -> Result<Vec<Recurrence>, AppError> {
    let rows = load_rows(conn, scope)?;
    // One group per (earlier, later, earlier cause, service): it counts when every task
    // in it was done before the later incident started.
    let mut groups: BTreeMap<(i32, i32, i32, String), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        groups
            .entry((r.earlier, r.later, r.cause, r.service.clone()))
            .or_default()
            .push(r);
    }
    let mut found: BTreeMap<(i32, i32), Recurrence> = BTreeMap::new();
    for ((earlier, later, _, service), tasks) in groups {
        let held_until_then = tasks.iter().all(|t| {
            t.status == TaskStatus::Done.as_str()
                && t.completed_at.is_some_and(|done| done < t.later_start)
        });
        let seen = |id: i32| !hidden.ids().contains(&IncidentId(id));
        if !held_until_then || !seen(earlier) || !seen(later) {
            continue;
        }
        let r = found.entry((earlier, later)).or_insert_with(|| Recurrence {
            earlier: IncidentKey(IncidentId(earlier)),
            later: IncidentKey(IncidentId(later)),
            category: tasks[0].category.clone(),
            service,
            tasks: vec![],
        });
        r.tasks.extend(tasks.iter().map(|t| TaskId(t.task)));
        r.tasks.sort();
        r.tasks.dedup();
    }
    Ok(found.into_values().collect())
}

/// For each task of the recurrences' earlier incidents, the later incidents it did not
/// prevent ("did not prevent INC-9" on the incident page and the task board). A task's
/// entry is found by its own id, so whoever asks reads only its own tasks.
pub fn by_task(recurrences: &[Recurrence]) -> BTreeMap<TaskId, Vec<IncidentKey>> {
    let mut out: BTreeMap<TaskId, Vec<IncidentKey>> = BTreeMap::new();
    for r in recurrences {
        for t in &r.tasks {
            out.entry(*t).or_default().push(r.later);
        }
    }
    out
}

/// [`by_task`] for the recurrences `tasks` did not prevent.
pub fn not_prevented(
    conn: &mut DbConnection,
    tasks: Vec<TaskId>,
    hidden: &Hidden,
) -> Result<BTreeMap<TaskId, Vec<IncidentKey>>, AppError> {
    Ok(by_task(&find(conn, &Scope::Tasks(tasks), hidden)?))
}
