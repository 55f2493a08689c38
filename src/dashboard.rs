//! `/`: open incidents by severity, recently resolved ones, and how to start.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::app::AppState;
use crate::auth::{CurrentUser, Permission};
use crate::db;
use crate::error::AppError;
use crate::incidents::service::{self, IncidentFilter, Sort};
use crate::incidents::web::IncidentRow;
use crate::incidents::Status;
use crate::time::now;
use crate::web::{render, Layout};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    open: Vec<IncidentRow>,
    open_total: i64,
    resolved: Vec<IncidentRow>,
    can_write: bool,
    any_incident: bool,
}

/// `GET /`
pub async fn show_dashboard(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let (open, open_total, resolved, resolved_total) = db::run(&state.pool, |conn| {
        let open_filter = IncidentFilter {
            statuses: Status::ALL
                .iter()
                .copied()
                .filter(|s| s.is_open())
                .collect(),
            sort: Sort::Severity,
            ..Default::default()
        };
        let (open, open_total) = service::list(conn, &open_filter, 1, 50)?;
        let resolved_filter = IncidentFilter {
            statuses: vec![Status::Resolved, Status::Closed],
            sort: Sort::Updated,
            ..Default::default()
        };
        let (resolved, resolved_total) = service::list(conn, &resolved_filter, 1, 10)?;
        Ok((open, open_total, resolved, resolved_total))
    })
    .await?;
    let t = now();
    let page = DashboardPage {
        layout: Layout::new(&user, "dashboard", "Dashboard"),
        open: open.iter().map(|d| IncidentRow::of(d, t)).collect(),
        open_total,
        resolved: resolved.iter().map(|d| IncidentRow::of(d, t)).collect(),
        can_write: user.user.role.allows(Permission::Write),
        any_incident: open_total + resolved_total > 0,
    };
    render(&page)
}
