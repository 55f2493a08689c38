//! The page layout every page extends (`base.html`), the standalone error page, and the
//! encoding of query values in links. It sits below everything that renders HTML, errors
//! included, so it knows nothing of sessions: `web.rs` builds a [`Layout`] from the
//! signed-in user.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

/// What `base.html` needs: who is signed in, their CSRF token, which nav item is active.
pub struct Layout {
    pub title: String,
    pub nav: &'static str,
    pub user: Option<NavUser>,
    pub csrf: String,
    /// The reader's time zone as labels name it now (`UTC`, `CET`).
    pub zone: String,
    /// Its offset from UTC now, in minutes (for the page script's clock).
    pub zone_offset: i32,
    /// Its IANA name (the page script places timeline times, which carry no date, with it).
    pub zone_name: &'static str,
}

pub struct NavUser {
    pub username: String,
    /// Unread notifications.
    pub unread: i64,
    pub role: String,
    pub can_write: bool,
    pub is_admin: bool,
}

impl Layout {
    pub fn anonymous(title: impl Into<String>, csrf: String) -> Self {
        Layout {
            title: title.into(),
            nav: "",
            user: None,
            csrf,
            zone: "UTC".into(),
            zone_offset: 0,
            zone_name: "UTC",
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// The message of an error page, kept on its response so that the page can be drawn again
/// with the signed-in reader's header (`ops::error_pages`).
#[derive(Clone)]
pub struct ErrorText(pub String);

/// A standalone error page (no session lookup: errors render without the database).
pub fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    let mut res = error_page_with(status, message, None);
    res.extensions_mut().insert(ErrorText(message.to_string()));
    res
}

/// An error page under `layout` (a signed-in reader's header), or anonymous.
pub fn error_page_with(status: StatusCode, message: &str, layout: Option<Layout>) -> HttpResponse {
    let reason = status.canonical_reason().unwrap_or("Error");
    let page = ErrorPage {
        layout: Layout {
            nav: "error",
            ..layout.unwrap_or_else(|| Layout::anonymous(reason, String::new()))
        },
        status: status.as_u16(),
        reason,
        message,
    };
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(_) => HttpResponse::build(status).body(message.to_string()),
    }
}

/// Percent-encodes a query value.
pub fn url_encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_string())
        .unwrap_or_default()
}
