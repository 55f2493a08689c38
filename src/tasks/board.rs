//! The action-item board (`/tasks`, `/tasks.csv`, `GET /api/v1/tasks`): every task across
//! incidents, filtered, sorted, grouped with counts, paginated. Every page is a fixed
//! number of queries whatever its length (count, page, incidents, owners, group counts).

use crate::ids::{IncidentId, TaskId, UserId};
use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde::Deserialize;

use super::{Task, TaskStatus, TaskView};
use crate::access::Hidden;
use crate::auth::users;
use crate::db::functions::lower;
use crate::db::schema::{incidents, tasks};
use crate::db::{DbConnection, MultiBackend};
use crate::error::AppError;
use crate::incidents::{IncidentKey, Severity};
use crate::time::{now, parse_date};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskSort {
    #[default]
    Due,
    Priority,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupBy {
    #[default]
    None,
    Owner,
    Team,
}

/// Board filters; `owner: Some(None)` means unassigned.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub statuses: Vec<TaskStatus>,
    pub owner: Option<Option<UserId>>,
    pub team: Option<String>,
    pub incident_id: Option<IncidentId>,
    pub severity: Option<Severity>,
    pub overdue: bool,
    pub no_link: bool,
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
    pub sort: TaskSort,
    /// Rows come grouped by owner or team first (then in `sort` order within a group).
    pub group: GroupBy,
}

/// The board's query string, shared by the page, the CSV and the API.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct BoardQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub incident: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub overdue: String,
    #[serde(default)]
    pub no_link: String,
    #[serde(default)]
    pub due_from: String,
    #[serde(default)]
    pub due_to: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub group: String,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// A filter's name as the board's form labels it.
fn label(field: &str) -> &str {
    match field {
        "overdue" => "Overdue",
        "no_link" => "No ticket link",
        "due_from" => "Due from",
        "due_to" => "Due to",
        other => other,
    }
}

fn flag(raw: &str, field: &str) -> Result<bool, AppError> {
    match raw.trim() {
        "" | "false" | "0" | "no" => Ok(false),
        "true" | "1" | "yes" | "on" => Ok(true),
        _ => Err(AppError::invalid(
            field,
            format!("{} must be ticked or not (true or false).", label(field)),
        )),
    }
}

impl BoardQuery {
    /// Parses into a filter for `current_user` (`me` as owner; what they may see).
    pub fn filter(
        &self,
        conn: &mut DbConnection,
        current_user: &crate::auth::users::User,
    ) -> Result<TaskFilter, AppError> {
        let statuses = match self.status.trim() {
            "" => vec![],
            "open" => TaskStatus::OPEN.to_vec(),
            raw => vec![raw
                .parse()
                .map_err(|e| AppError::invalid("status", format!("status {e} (or open)")))?],
        };
        let owner = match self.owner.trim() {
            "" => None,
            "none" => Some(None),
            "me" => Some(users::resolve(conn, Some(&current_user.username), "owner")?),
            name => Some(users::resolve(conn, Some(name), "owner")?),
        };
        let incident_id = match self.incident.trim() {
            "" => None,
            raw => Some(
                raw.parse::<IncidentKey>()
                    .map_err(|_| {
                        AppError::invalid("incident", "Incident must be a key like INC-7.")
                    })?
                    .0,
            ),
        };
        let severity = match self.severity.trim() {
            "" => None,
            raw => Some(
                raw.to_uppercase()
                    .parse()
                    .map_err(|e| AppError::invalid("severity", format!("severity {e}")))?,
            ),
        };
        let date = |raw: &str, field: &str| match raw.trim() {
            "" => Ok(None),
            raw => parse_date(raw).map(Some).ok_or_else(|| {
                AppError::invalid(
                    field,
                    format!("{} must be a date like 2023-07-01.", label(field)),
                )
            }),
        };
        Ok(TaskFilter {
            statuses,
            owner,
            team: Some(self.team.trim().to_string()).filter(|t| !t.is_empty()),
            incident_id,
            severity,
            overdue: flag(&self.overdue, "overdue")?,
            no_link: flag(&self.no_link, "no_link")?,
            due_from: date(&self.due_from, "due_from")?,
            due_to: date(&self.due_to, "due_to")?,
            sort: match self.sort.trim() {
                "" | "due" => TaskSort::Due,
                "priority" => TaskSort::Priority,
                _ => {
                    return Err(AppError::invalid(
                        "sort",
                        "Sort must be due date or priority.",
                    ))
                }
            },
            group: self.group_by(),
        })
    }

    pub fn group_by(&self) -> GroupBy {
        match self.group.trim() {
            "owner" => GroupBy::Owner,
            "team" => GroupBy::Team,
            _ => GroupBy::None,
        }
    }

    /// The query string without `page`, for pagination and CSV links.
    pub fn base_query(&self) -> String {
        let pairs = [
            ("status", &self.status),
            ("owner", &self.owner),
            ("team", &self.team),
            ("incident", &self.incident),
            ("severity", &self.severity),
            ("overdue", &self.overdue),
            ("no_link", &self.no_link),
            ("due_from", &self.due_from),
            ("due_to", &self.due_to),
            ("sort", &self.sort),
            ("group", &self.group),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", crate::web::url_encode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// The filter as a query on `tasks` (incident conditions as subqueries, so the page query
/// stays on one table and the joins happen in two follow-up lookups).
fn filtered(
    f: &TaskFilter,
    hidden: &Hidden,
    today: NaiveDate,
    with_status: bool,
) -> tasks::BoxedQuery<'static, MultiBackend> {
    let mut q = tasks::table.into_boxed();
    if !hidden.ids().is_empty() {
        q = q.filter(tasks::incident_id.ne_all(hidden.ids().to_vec()));
    }
    if with_status && !f.statuses.is_empty() {
        q = q.filter(tasks::status.eq_any(f.statuses.clone()));
    }
    if with_status && f.overdue {
        q = q
            .filter(tasks::status.eq_any(TaskStatus::OPEN.to_vec()))
            .filter(tasks::due_on.lt(today));
    }
    match f.owner {
        Some(Some(id)) => q = q.filter(tasks::owner_id.eq(id)),
        Some(None) => q = q.filter(tasks::owner_id.is_null()),
        None => {}
    }
    if let Some(team) = &f.team {
        q = q.filter(crate::db::functions::lower(tasks::team).eq(team.to_lowercase()));
    }
    if let Some(id) = f.incident_id {
        q = q.filter(tasks::incident_id.eq(id));
    }

    if let Some(severity) = f.severity {
        q = q.filter(
            tasks::incident_id.eq_any(
                incidents::table
                    .filter(incidents::severity.eq(severity))
                    .select(incidents::id),
            ),
        );
    }
    if f.no_link {
        q = q.filter(tasks::external_url.eq(""));
    }
    if let Some(from) = f.due_from {
        q = q.filter(tasks::due_on.ge(from));
    }
    if let Some(to) = f.due_to {
        q = q.filter(tasks::due_on.le(to));
    }
    q
}

/// Incidents' titles and severities and owners' names already read: a CSV's batches
/// (in due order, each naming about as many incidents as rows) look up only those not
/// seen in an earlier batch.
#[derive(Default)]
struct Known {
    incidents: HashMap<IncidentId, (String, Severity)>,
    owners: HashMap<UserId, String>,
}

/// Attaches owners and incidents to tasks in two queries.
fn views(conn: &mut DbConnection, rows: Vec<Task>) -> Result<Vec<TaskView>, AppError> {
    views_with(conn, rows, &mut Known::default())
}

fn views_with(
    conn: &mut DbConnection,
    rows: Vec<Task>,
    known: &mut Known,
) -> Result<Vec<TaskView>, AppError> {
    let mut incident_ids: Vec<IncidentId> = rows
        .iter()
        .map(|t| t.incident_id)
        .filter(|id| !known.incidents.contains_key(id))
        .collect();
    incident_ids.sort_unstable();
    incident_ids.dedup();
    if !incident_ids.is_empty() {
        let found = incidents::table
            .filter(incidents::id.eq_any(&incident_ids))
            .select((incidents::id, incidents::title, incidents::severity))
            .load::<(IncidentId, String, Severity)>(conn)?;
        known
            .incidents
            .extend(found.into_iter().map(|(id, title, sev)| (id, (title, sev))));
    }
    let mut owner_ids: Vec<UserId> = rows
        .iter()
        .filter_map(|t| t.owner_id)
        .filter(|id| !known.owners.contains_key(id))
        .collect();
    owner_ids.sort_unstable();
    owner_ids.dedup();
    known.owners.extend(users::usernames(conn, &owner_ids)?);
    Ok(rows
        .into_iter()
        .map(|task| {
            let (incident_title, severity) = known
                .incidents
                .get(&task.incident_id)
                .cloned()
                .unwrap_or((String::new(), Severity::Sev4));
            TaskView {
                owner: task.owner_id.and_then(|o| known.owners.get(&o).cloned()),
                incident_title,
                severity,
                task,
            }
        })
        .collect())
}

/// One page of the board and the total that match. `per_page = None` returns every match
/// (the CSV export).
pub fn page(
    conn: &mut DbConnection,
    hidden: &Hidden,
    f: &TaskFilter,
    page: i64,
    per_page: Option<i64>,
) -> Result<(Vec<TaskView>, i64), AppError> {
    let today = now().date();
    let total: i64 = filtered(f, hidden, today, true).count().get_result(conn)?;
    if let (TaskSort::Due, GroupBy::None, Some(n)) = (f.sort, f.group, per_page) {
        let rows = due_first(conn, hidden, f, today, (page - 1) * n, n)?;
        return Ok((views(conn, rows)?, total));
    }
    let q = match per_page {
        Some(n) => ordered(f, hidden, today).limit(n).offset((page - 1) * n),
        None => ordered(f, hidden, today),
    };
    let rows: Vec<Task> = q.select(Task::as_select()).load(conn)?;
    Ok((views(conn, rows)?, total))
}

/// The filtered tasks in the board's order.
fn ordered(
    f: &TaskFilter,
    hidden: &Hidden,
    today: NaiveDate,
) -> tasks::BoxedQuery<'static, MultiBackend> {
    let q = filtered(f, hidden, today, true);
    // Grouped: all of one owner's (or team's) rows together, in the summary's order (by
    // name, case aside), nobody's last.
    let q = match f.group {
        GroupBy::Owner => {
            let owner_name = crate::db::schema::users::table
                .filter(crate::db::schema::users::id.nullable().eq(tasks::owner_id))
                .select(crate::db::schema::users::username)
                .single_value();
            q.order((
                tasks::owner_id.is_null().asc(),
                owner_name.asc(),
                tasks::owner_id.asc(),
            ))
        }
        GroupBy::Team => q.order((
            tasks::team.eq("").asc(),
            lower(tasks::team).asc(),
            tasks::team.asc(),
        )),
        GroupBy::None => q,
    };
    match f.sort {
        // Undated tasks last.
        TaskSort::Due => q.then_order_by((
            tasks::due_on.is_null().asc(),
            tasks::due_on.asc(),
            tasks::priority_rank.asc(),
            tasks::id.asc(),
        )),
        TaskSort::Priority => q.then_order_by((
            tasks::priority_rank.asc(),
            tasks::due_on.is_null().asc(),
            tasks::due_on.asc(),
            tasks::id.asc(),
        )),
    }
}

/// The first `n` matches in due order and how many there are, counted only up to
/// `cap + 1` (a page says "1,000+" beyond `cap`): the count reads at most that many index
/// entries, where an exact one read every overdue task's (19 ms at 100,000 tasks).
pub fn first_capped(
    conn: &mut DbConnection,
    hidden: &Hidden,
    f: &TaskFilter,
    n: i64,
    cap: i64,
) -> Result<(Vec<TaskView>, i64), AppError> {
    let today = now().date();
    // Counted from the latest due date back: old follow-ups are mostly done, so the open
    // ones a cap stops at are found near the recent end of the due-order index (1 ms at
    // 100,000 tasks, where reading from the oldest took 3).
    let counted: Vec<TaskId> = filtered(f, hidden, today, true)
        .order(tasks::due_on.desc())
        .select(tasks::id)
        .limit(cap + 1)
        .load(conn)?;
    let rows = due_first(conn, hidden, f, today, 0, n)?;
    Ok((views(conn, rows)?, counted.len() as i64))
}

/// `limit` matches from `offset` in due order, undated ones last, as two queries: the dated
/// tasks in due order (a walk of the `tasks_due_order` index that stops at the page), then,
/// when the page reaches past them, the undated. One query ordering by `due_on IS NULL`
/// first sorted every match.
fn due_first(
    conn: &mut DbConnection,
    hidden: &Hidden,
    f: &TaskFilter,
    today: NaiveDate,
    offset: i64,
    limit: i64,
) -> Result<Vec<Task>, AppError> {
    let mut rows: Vec<Task> = filtered(f, hidden, today, true)
        .filter(tasks::due_on.is_not_null())
        .order((
            tasks::due_on.asc(),
            tasks::priority_rank.asc(),
            tasks::id.asc(),
        ))
        .limit(limit)
        .offset(offset)
        .select(Task::as_select())
        .load(conn)?;
    let short = limit - rows.len() as i64;
    if short > 0 {
        let dated = if rows.is_empty() {
            filtered(f, hidden, today, true)
                .filter(tasks::due_on.is_not_null())
                .count()
                .get_result(conn)?
        } else {
            offset + rows.len() as i64
        };
        let undated: Vec<Task> = filtered(f, hidden, today, true)
            .filter(tasks::due_on.is_null())
            .order((tasks::priority_rank.asc(), tasks::id.asc()))
            .limit(short)
            .offset((offset - dated).max(0))
            .select(Task::as_select())
            .load(conn)?;
        rows.extend(undated);
    }
    Ok(rows)
}

/// Counts for one owner or team.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct GroupCounts {
    pub name: String,
    pub open: i64,
    pub overdue: i64,
    pub done_30d: i64,
}

/// Open, overdue and recently done counts per owner or team over the filter (its status
/// and overdue conditions aside, so the counts stay meaningful). One query of five narrow
/// columns, counted here: boxed diesel queries cannot be grouped portably.
pub fn groups(
    conn: &mut DbConnection,
    hidden: &Hidden,
    f: &TaskFilter,
    by: GroupBy,
) -> Result<Vec<GroupCounts>, AppError> {
    if by == GroupBy::None {
        return Ok(vec![]);
    }
    let today = now().date();
    let since = now() - Duration::days(30);
    type Slim = (
        Option<UserId>,
        String,
        TaskStatus,
        Option<NaiveDate>,
        Option<chrono::NaiveDateTime>,
    );
    let rows: Vec<Slim> = filtered(f, hidden, today, false)
        .select((
            tasks::owner_id,
            tasks::team,
            tasks::status,
            tasks::due_on,
            tasks::completed_at,
        ))
        .load(conn)?;
    let ids: Vec<UserId> = rows.iter().filter_map(|r| r.0).collect();
    let names = if by == GroupBy::Owner {
        users::usernames(conn, &ids)?
    } else {
        HashMap::new()
    };
    let mut by_key: HashMap<String, GroupCounts> = HashMap::new();
    for (owner, team, status, due, completed) in rows {
        let key = match by {
            GroupBy::Owner => owner
                .and_then(|o| names.get(&o).cloned())
                .unwrap_or_else(|| NOBODY.into()),
            _ if team.is_empty() => NO_TEAM.into(),
            _ => team,
        };
        let entry = by_key.entry(key.clone()).or_insert_with(|| GroupCounts {
            name: key,
            ..Default::default()
        });
        if status.is_open() {
            entry.open += 1;
            if due.is_some_and(|d| d < today) {
                entry.overdue += 1;
            }
        } else if status == TaskStatus::Done && completed.is_some_and(|c| c >= since) {
            entry.done_30d += 1;
        }
    }
    let mut all: Vec<GroupCounts> = by_key.into_values().collect();
    // The order of the groups below the summary: by name, those without anyone last.
    let nobody = |g: &GroupCounts| g.name == NOBODY || g.name == NO_TEAM;
    all.sort_by(|a, b| {
        nobody(a)
            .cmp(&nobody(b))
            .then(a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then(a.name.cmp(&b.name))
    });
    Ok(all)
}

/// The group of tasks without an owner, or without a team: one name in the summary and
/// the headings alike.
pub const NOBODY: &str = "Nobody";
pub const NO_TEAM: &str = "No team";

/// Prefixes cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR)
/// with `'`, as OWASP advises against CSV injection.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Rows the CSV reads at a time.
const CSV_BATCH: i64 = 1000;

/// A task as the CSV shows it, and its priority rank (where the next batch starts).
type CsvRow = (TaskView, i32);

/// The rows of `q` with their incidents and owners (looked up once per export, not per
/// row or per batch: either cost more than the rows).
fn csv_rows(
    conn: &mut DbConnection,
    q: tasks::BoxedQuery<'static, MultiBackend>,
    known: &mut Known,
) -> Result<Vec<CsvRow>, AppError> {
    let rows: Vec<(Task, i32)> = q
        .select((Task::as_select(), tasks::priority_rank))
        .load(conn)?;
    let ranks: Vec<i32> = rows.iter().map(|r| r.1).collect();
    let views = views_with(conn, rows.into_iter().map(|r| r.0).collect(), known)?;
    Ok(views.into_iter().zip(ranks).collect())
}

/// The CSV export of exactly the filtered tasks, in the board's order, written to `out`
/// as it is read, all of it from one snapshot. In the default order (by due date) the rows
/// come in batches that each start where the last ended, along the due-order index, so the
/// first rows leave at once whatever the total; another order or grouping sorts everything
/// first, in one query.
pub fn write_csv(
    conn: &mut DbConnection,
    hidden: &Hidden,
    f: &TaskFilter,
    out: impl std::io::Write,
) -> Result<(), AppError> {
    let today = now().date();
    let mut out = csv::Writer::from_writer(out);
    out.write_record(CSV_HEADER).map_err(AppError::unexpected)?;
    let mut known = Known::default();
    crate::db::snapshot(conn, |conn| {
        if !matches!((f.sort, f.group), (TaskSort::Due, GroupBy::None)) {
            let rows = csv_rows(conn, ordered(f, hidden, today), &mut known)?;
            return write_rows(&mut out, &rows, today);
        }
        // Dated tasks by (due date, priority, id), then undated ones by (priority, id).
        let mut after: Option<(NaiveDate, i32, TaskId)> = None;
        loop {
            let mut q = filtered(f, hidden, today, true).filter(tasks::due_on.is_not_null());
            // The `>=` bound lets the index seek to the batch's start; the rest breaks ties.
            if let Some((due, rank, id)) = after {
                q = q.filter(tasks::due_on.ge(due)).filter(
                    tasks::due_on.gt(due).or(tasks::due_on.eq(due).and(
                        tasks::priority_rank
                            .gt(rank)
                            .or(tasks::priority_rank.eq(rank).and(tasks::id.gt(id))),
                    )),
                );
            }
            let q = q
                .order((
                    tasks::due_on.asc(),
                    tasks::priority_rank.asc(),
                    tasks::id.asc(),
                ))
                .limit(CSV_BATCH);
            let rows = csv_rows(conn, q, &mut known)?;
            write_rows(&mut out, &rows, today)?;
            match rows.last() {
                Some((v, rank)) if rows.len() as i64 == CSV_BATCH => {
                    after = v.task.due_on.map(|due| (due, *rank, v.task.id));
                }
                _ => break,
            }
        }
        let mut after: Option<(i32, TaskId)> = None;
        loop {
            let mut q = filtered(f, hidden, today, true).filter(tasks::due_on.is_null());
            if let Some((rank, id)) = after {
                q = q.filter(tasks::priority_rank.ge(rank)).filter(
                    tasks::priority_rank
                        .gt(rank)
                        .or(tasks::priority_rank.eq(rank).and(tasks::id.gt(id))),
                );
            }
            let q = q
                .order((tasks::priority_rank.asc(), tasks::id.asc()))
                .limit(CSV_BATCH);
            let rows = csv_rows(conn, q, &mut known)?;
            write_rows(&mut out, &rows, today)?;
            match rows.last() {
                Some((v, rank)) if rows.len() as i64 == CSV_BATCH => {
                    after = Some((*rank, v.task.id))
                }
                _ => break,
            }
        }
        Ok(())
    })?;
    out.flush().map_err(AppError::unexpected)
}

const CSV_HEADER: [&str; 15] = [
    "incident",
    "incident_title",
    "severity",
    "task_id",
    "title",
    "kind",
    "priority",
    "status",
    "owner",
    "team",
    "due_on",
    "overdue",
    "external_url",
    "completed_at",
    "description",
];

fn write_rows<W: std::io::Write>(
    out: &mut csv::Writer<W>,
    rows: &[CsvRow],
    today: NaiveDate,
) -> Result<(), AppError> {
    for (v, _) in rows {
        let t = &v.task;
        let cells: [&str; 15] = [
            &IncidentKey(t.incident_id).to_string(),
            &v.incident_title,
            v.severity.as_str(),
            &t.id.to_string(),
            &t.title,
            t.kind.as_str(),
            t.priority.as_str(),
            t.status.as_str(),
            v.owner.as_deref().unwrap_or(""),
            &t.team,
            &t.due_on.map(|d| d.to_string()).unwrap_or_default(),
            if t.is_overdue(today) { "true" } else { "false" },
            &t.external_url,
            &t.completed_at.map(crate::time::rfc3339).unwrap_or_default(),
            &t.description,
        ];
        for cell in cells {
            out.write_field(neutralise(cell).as_bytes())
                .map_err(AppError::unexpected)?;
        }
        // An empty record ends the one the fields began.
        out.write_record(std::iter::empty::<&[u8]>())
            .map_err(AppError::unexpected)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn neutralises_formulas() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("-1+2"), "'-1+2");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("plain"), "plain");
    }
}
