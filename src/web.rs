//! Shared pieces of the HTML side: the layout every page extends, rendering, redirects,
//! the error page, pagination and static assets.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::{CurrentUser, Permission};
use crate::error::AppError;
pub use crate::layout::url_encode;
pub use crate::layout::{error_page, Layout, NavUser};
use crate::time::Zone;

impl Layout {
    /// The layout for a signed-in user's page.
    pub fn new(user: &CurrentUser, nav: &'static str, title: impl Into<String>) -> Self {
        let (zone, t) = (user.user.zone(), crate::time::now());
        Layout {
            title: title.into(),
            nav,
            user: Some(NavUser {
                username: user.user.username.clone(),
                unread: user.unread,
                role: user.user.role.to_string(),
                can_write: user.user.role.allows(Permission::Write),
                is_admin: user.user.role.allows(Permission::Administer),
            }),
            csrf: user.csrf_token.clone(),
            zone: zone.abbreviation(t),
            zone_offset: (zone.local(t) - t).num_minutes() as i32,
            zone_name: zone.name(),
        }
    }
}

/// Renders a page as `text/html`.
pub fn render<T: Template>(page: &T) -> Result<HttpResponse, AppError> {
    render_status(StatusCode::OK, page)
}

pub fn render_status<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, AppError> {
    render_sized(status, page, 16 * 1024)
}

/// Renders into a buffer of `capacity` bytes up front (a long timeline is half a megabyte;
/// growing the buffer by doubling copied it over and over).
pub fn render_sized<T: Template>(
    status: StatusCode,
    page: &T,
    capacity: usize,
) -> Result<HttpResponse, AppError> {
    let mut body = String::with_capacity(capacity);
    page.render_into(&mut body)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // Never kept (pages carry per-user content and CSRF tokens): Back after signing
        // out must not show an incident from the browser's cache.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// How a form page shows an error: the message, the field to mark, and the status (409 for
/// a stale version, 403 for a refusal, else 422; 200 without an error).
pub struct FormError {
    pub message: Option<String>,
    pub field: String,
    pub status: StatusCode,
}

impl From<Option<AppError>> for FormError {
    fn from(error: Option<AppError>) -> Self {
        let status = match &error {
            None => StatusCode::OK,
            Some(AppError::Conflict(_) | AppError::EditConflict { .. }) => StatusCode::CONFLICT,
            Some(AppError::Forbidden(_)) => StatusCode::FORBIDDEN,
            Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        FormError {
            field: error
                .as_ref()
                .and_then(|e| e.field())
                .unwrap_or("")
                .to_string(),
            message: error.map(|e| e.public_message()),
            status,
        }
    }
}

/// A message's times (written `2026-12-06 02:47 UTC` by the layers below the web) in the
/// reader's zone: `2026-12-06 03:47 CET`.
pub fn in_zone(message: &str, zone: Zone) -> String {
    use std::sync::OnceLock;
    static TIME: OnceLock<regex::Regex> = OnceLock::new();
    let re = TIME.get_or_init(|| {
        regex::Regex::new(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC").expect("a valid pattern")
    });
    re.replace_all(
        message,
        |c: &regex::Captures| match chrono::NaiveDateTime::parse_from_str(&c[1], "%Y-%m-%d %H:%M") {
            Ok(t) => zone.in_words(t),
            Err(_) => c[0].to_string(),
        },
    )
    .into_owned()
}

/// The version a form was based on (its hidden `version` field): one parse and one message
/// for every form that edits at a version.
pub fn form_version(raw: &str) -> Result<i32, AppError> {
    raw.trim().parse().map_err(|_| {
        AppError::invalid(
            "version",
            "The form lacks the version it was based on. Reload the page and try again.",
        )
    })
}

/// POST → 303 → GET.
/// A time typed into a form field (see `time::parse_user_time`): blank or "now" is `None`;
/// unreadable, or further ahead than clock drift explains, is a 422 naming the field.
pub fn typed_time(
    raw: &str,
    field: &str,
    zone: Zone,
) -> Result<Option<chrono::NaiveDateTime>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.eq_ignore_ascii_case("now") {
        return Ok(None);
    }
    let t = crate::time::now();
    let at = crate::time::parse_user_time_in(raw, t, zone).ok_or_else(|| {
        AppError::invalid(
            field,
            "Use HH:MM or YYYY-MM-DD HH:MM, or leave blank for now.",
        )
    })?;
    if crate::time::too_far_ahead(at, t) {
        return Err(AppError::invalid(
            field,
            format!("{} is in the future.", zone.in_words(at)),
        ));
    }
    Ok(Some(at))
}

/// Back to an incident page after recording something at `at`: when that is not today
/// (an `HH:MM` that meant yesterday), the page says which date it used.
pub fn back_to_incident(
    key: &str,
    at: chrono::NaiveDateTime,
    anchor: &str,
    zone: Zone,
) -> HttpResponse {
    let today = zone.local(crate::time::now()).date();
    let note = if zone.local(at).date() == today {
        String::new()
    } else {
        format!("?recorded={}", crate::time::rfc3339(at))
    };
    see_other(&format!("/incidents/{key}{note}#{anchor}"))
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

/// Page numbers and links for a paginated list.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `base_query` is the list's query string without `page`.
    pub fn new(path: &str, base_query: &str, page: i64, per_page: i64, total: i64) -> Self {
        let pages = ((total + per_page - 1) / per_page).max(1);
        let link = |p: i64| {
            let sep = if base_query.is_empty() { "" } else { "&" };
            format!("{path}?{base_query}{sep}page={p}")
        };
        Pager {
            page,
            pages,
            total,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

/// Parses a `page` query value (default 1).
pub fn page_number(raw: Option<&str>) -> Result<i64, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(1),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| AppError::invalid("page", "Page must be a whole number from 1.")),
    }
}

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

/// Embedded static assets; only these names exist, so no path can reach the disk.
pub async fn static_file(name: web::Path<String>) -> HttpResponse {
    let (body, content_type) = match name.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return error_page(StatusCode::NOT_FOUND, "No such file."),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}
