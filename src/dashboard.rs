//! `/`: open incidents by severity with their age, recently resolved ones, overdue action
//! items, the signed-in user's own tasks, and (on a new install) how to start.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::{CurrentUser, Permission};
use crate::error::AppError;
use crate::incidents::search::{self, IncidentFilter, Sort};
use crate::incidents::web::IncidentRow;
use crate::incidents::IncidentKey;
use crate::incidents::Status;
use crate::state::AppState;
use crate::tasks::board::{self, TaskFilter};
use crate::tasks::web::TaskRow;
use crate::tasks::TaskStatus;
use crate::time::now;
use crate::time::rfc3339;
use crate::web::{render, Layout};

/// Overdue action items are counted up to this many (the page says "1,000+" beyond).
const OVERDUE_CAP: i64 = 1_000;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    open: Vec<IncidentRow>,
    open_total: i64,
    resolved: Vec<IncidentRow>,
    can_write: bool,
    any_incident: bool,
    overdue: Vec<TaskRow>,
    overdue_total: i64,
    /// The overdue count as shown: exact up to [`OVERDUE_CAP`], then "1,000+".
    overdue_count: String,
    mine: Vec<TaskRow>,
    mine_total: i64,
    /// Resolved over 5 days ago without a published postmortem: (key, title, resolved
    /// as shown, resolved RFC 3339).
    reminders: Vec<(String, String, String, String)>,
    /// Postmortems waiting for this user's review: (key, title).
    reviews: Vec<(String, String)>,
}

/// `GET /`
pub async fn show_dashboard(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let my_id = user.user.id;
    let me = crate::access::Reader::of(&user.user);
    let zone = user.user.zone();
    let (open, open_total, resolved, overdue, mine, reminders, reviews) = state
        .db
        .read(move |conn| {
            let open_filter = IncidentFilter {
                statuses: Status::ALL
                    .iter()
                    .copied()
                    .filter(|s| s.is_open())
                    .collect(),
                sort: Sort::Severity,
                ..Default::default()
            };
            let hidden = crate::access::Hidden::from_reader(conn, me)?;
            let (open, open_total) = search::list(conn, &hidden, &open_filter, 1, 50)?;
            let resolved_filter = IncidentFilter {
                statuses: vec![Status::Resolved, Status::Closed],
                sort: Sort::Resolved,
                ..Default::default()
            };
            // Only whether there are any: not a count of every resolved incident.
            let resolved = search::page_of(conn, &hidden, &resolved_filter, 1, 10)?;
            let overdue_filter = TaskFilter {
                overdue: true,
                ..Default::default()
            };
            let overdue = board::first_capped(conn, &hidden, &overdue_filter, 10, OVERDUE_CAP)?;
            let mine_filter = TaskFilter {
                owner: Some(Some(my_id)),
                statuses: TaskStatus::OPEN.to_vec(),
                ..Default::default()
            };
            let mine = board::page(conn, &hidden, &mine_filter, 1, Some(10))?;
            // Resolved more than 5 days ago and still without a published postmortem.
            let reminders =
                crate::postmortems::overdue(conn, now() - chrono::Duration::days(5), me)?
                    .into_iter()
                    .map(|(id, title, resolved)| {
                        let key = IncidentKey(id).to_string();
                        (key, title, zone.date_hhmm(resolved), rfc3339(resolved))
                    })
                    .collect();
            let reviews = crate::postmortems::review::waiting_for(conn, me)?
                .into_iter()
                .map(|(id, title)| (IncidentKey(id).to_string(), title))
                .collect();
            Ok((
                open, open_total, resolved, overdue, mine, reminders, reviews,
            ))
        })
        .await?;
    let t = now();
    let page = DashboardPage {
        layout: Layout::new(&user, "dashboard", "Dashboard"),
        open: open.iter().map(|d| IncidentRow::of(d, t, zone)).collect(),
        open_total,
        resolved: resolved
            .iter()
            .map(|d| IncidentRow::of(d, t, zone))
            .collect(),
        can_write: user.user.role.allows(Permission::Write),
        any_incident: open_total > 0 || !resolved.is_empty(),
        overdue: overdue
            .0
            .iter()
            .map(|v| TaskRow::of(v, t.date(), zone))
            .collect(),
        overdue_total: overdue.1,
        overdue_count: if overdue.1 > OVERDUE_CAP {
            "1,000+".to_string()
        } else {
            overdue.1.to_string()
        },
        mine: mine
            .0
            .iter()
            .map(|v| TaskRow::of(v, t.date(), zone))
            .collect(),
        mine_total: mine.1,
        reminders,
        reviews,
    };
    render(&page)
}
