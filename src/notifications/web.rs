//! `/notifications`: the inbox page; opening one marks it read, "Mark all read" clears.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::csrf::{NoFields, SessionForm};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::time::rfc3339;
use crate::web::{render, see_other, Layout};

pub struct Row {
    pub id: i32,
    pub message: String,
    pub unread: bool,
    pub iso: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct InboxPage {
    layout: Layout,
    rows: Vec<Row>,
    unread: i64,
}

/// `GET /notifications`
pub async fn inbox(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let reader = crate::access::Reader::of(&user.user);
    let (items, unread) = state
        .db
        .read(move |conn| super::inbox(conn, reader, 200))
        .await?;
    let zone = user.user.zone();
    let page = InboxPage {
        layout: Layout::new(&user, "notifications", "Notifications"),
        rows: items
            .into_iter()
            .map(|n| Row {
                id: n.id,
                message: n.message,
                unread: n.read_at.is_none(),
                iso: rfc3339(n.created_at),
                at: zone.date_hhmm(n.created_at),
            })
            .collect(),
        unread,
    };
    render(&page)
}

/// `POST /notifications/{id}/open`: marks it read and goes where it points.
pub async fn open(
    state: web::Data<AppState>,
    id: web::Path<i32>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (user_id, id) = (form.user.user.id, id.into_inner());
    let link = state
        .db
        .write(move |conn| super::mark_read(conn, user_id, Some(id)))
        .await?;
    // Links are written by this app (site paths); anything else goes to the inbox.
    let to = link
        .filter(|l| l.starts_with('/') && !l.starts_with("//"))
        .unwrap_or_else(|| "/notifications".into());
    Ok(see_other(&to))
}

/// `POST /notifications/read`: marks all read.
pub async fn read_all(
    state: web::Data<AppState>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let user_id = form.user.user.id;
    state
        .db
        .write(move |conn| super::mark_read(conn, user_id, None))
        .await?;
    Ok(see_other("/notifications"))
}
