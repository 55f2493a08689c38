//! `/import`: paste or upload a postmortem, see what it will become (title, severity,
//! milestones, every entry with its time, and whether the same document was imported
//! before), set what the document leaves out, then create the incident.
//!
//! One form posts every step (`step=preview`, the default, or `step=create`); the document
//! travels in the form, so nothing is kept on the server between the two.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template as Askama;
use futures_util::StreamExt;

use super::import::{self, Again, Imported, Prepared};
use crate::audit::Actor;
use crate::auth::extract::client_ip;
use crate::auth::{ensure, secrets_match, CurrentUser, Permission};
use crate::error::AppError;
use crate::incidents::{IncidentKey, Severity};
use crate::state::AppState;
use crate::time::Zone;
use crate::web::{render_status, see_other, Layout};

/// How much of an entry's text the preview shows.
const EXCERPT_CHARS: usize = 160;

#[derive(Askama)]
#[template(path = "postmortems/import.html")]
struct ImportPage {
    layout: Layout,
    text: String,
    error: Option<String>,
}

impl ImportPage {
    /// The size limit, as the form states it.
    fn limit(&self) -> String {
        crate::limits::describe(import::MAX_BYTES)
    }
}

/// One timeline entry as the preview lists it.
struct EntryRow {
    time: String,
    kind: &'static str,
    excerpt: String,
}

#[derive(Askama)]
#[template(path = "postmortems/import_preview.html")]
struct PreviewPage {
    layout: Layout,
    text: String,
    title: String,
    title_stated: bool,
    severity: String,
    severity_stated: bool,
    facts: Vec<(&'static str, String)>,
    counts: String,
    entries: Vec<EntryRow>,
    /// The incident the same document made before.
    existing: Option<String>,
    /// Ticked on the form that was posted (kept when previewing again).
    duplicate: bool,
    error: Option<String>,
}

impl PreviewPage {
    fn severities(&self) -> Vec<&'static str> {
        Severity::ALL.iter().map(|s| s.as_str()).collect()
    }
}

/// What the form posted.
#[derive(Default)]
struct Posted {
    csrf: String,
    text: String,
    file: Vec<u8>,
    title: String,
    severity: String,
    duplicate: bool,
    create: bool,
}

/// `GET /import`
pub async fn import_page(user: CurrentUser) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    render_status(
        StatusCode::OK,
        &ImportPage {
            layout: Layout::new(&user, "import", "Import a postmortem"),
            text: String::new(),
            error: None,
        },
    )
}

/// A multipart error as the app's: 408 past the body deadline, else 400.
fn upload_error(e: actix_multipart::MultipartError) -> AppError {
    if e.to_string().contains(crate::ops::BODY_DEADLINE_PASSED) {
        AppError::Timeout("The upload did not arrive in time.".into())
    } else {
        AppError::BadRequest(format!("Could not read the upload: {e}"))
    }
}

/// Reads the multipart form, every part counted against the import limit together.
async fn read_form(mut payload: Multipart) -> Result<Posted, AppError> {
    let mut posted = Posted::default();
    let mut received = 0;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(upload_error)?;
        let name = field.name().unwrap_or("").to_string();
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(upload_error)?;
            received += chunk.len();
            import::check_size(received)?;
            value.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8_lossy(&value).into_owned();
        match name.as_str() {
            "csrf_token" => posted.csrf = text(),
            "text" => posted.text = text(),
            "file" => posted.file = value,
            "duplicate" => posted.duplicate = true,
            "title" => posted.title = text().trim().to_string(),
            "severity" => posted.severity = text().trim().to_string(),
            "step" => posted.create = text() == "create",
            _ => {}
        }
    }
    Ok(posted)
}

/// `POST /import` (multipart: `csrf_token`, `text` and/or `file`, `title`, `severity`,
/// `duplicate`, `step`): previews unless `step=create`.
pub async fn import_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let mut posted = read_form(payload).await?;
    if !secrets_match(&posted.csrf, &user.csrf_token) {
        return Err(AppError::Forbidden("The form's security token is missing or out of date. Go back, reload the page and try again.".into()));
    }
    ensure(&user.user, Permission::Write)?;
    if !posted.file.is_empty() {
        posted.text = String::from_utf8(std::mem::take(&mut posted.file))
            .map_err(|_| AppError::invalid("file", "The file is not UTF-8 text."))?;
    }
    let actor = Actor::user(&user.user, &client_ip(&req));
    let again = if posted.duplicate {
        Again::Allow
    } else {
        Again::Refuse
    };
    let prepared = match prepare_posted(&posted).await {
        Ok(p) => p,
        Err(e) => return refused(&user, posted.text, e),
    };
    if !posted.create {
        return preview(&state, &user, actor, prepared, posted, None).await;
    }
    let created = state
        .db
        .write(move |conn| import::store(conn, prepared, again, &actor))
        .await;
    match created {
        Ok(incident) => Ok(see_other(&format!("/incidents/{}", incident.key()))),
        Err(AppError::Duplicate { message, .. }) => {
            // Imported before and not confirmed (or by someone else since the preview):
            // the preview again, saying so.
            let prepared = prepare_posted(&posted).await?;
            let actor = Actor::user(&user.user, &client_ip(&req));
            preview(&state, &user, actor, prepared, posted, Some(message)).await
        }
        Err(e @ AppError::Invalid { .. }) => refused(&user, posted.text, e),
        Err(e) => Err(e),
    }
}

/// The posted document parsed and rendered (the slow part: on the blocking pool, before
/// any write), with the importer's title and severity over the document's.
async fn prepare_posted(posted: &Posted) -> Result<Prepared, AppError> {
    let severity = match posted.severity.as_str() {
        "" => None,
        s => Some(Severity::parse_field(s)?),
    };
    let title = Some(posted.title.clone());
    let text = posted.text.clone();
    Ok(web::block(move || import::prepare(&text))
        .await??
        .with_overrides(title, severity))
}

/// The first form again, with what was typed and what was wrong with it.
fn refused(user: &CurrentUser, text: String, e: AppError) -> Result<HttpResponse, AppError> {
    let status = match e {
        AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        other => return Err(other),
    };
    render_status(
        status,
        &ImportPage {
            layout: Layout::new(user, "import", "Import a postmortem"),
            text,
            error: Some(e.public_message()),
        },
    )
}

/// The preview: what the document will become, and the choices it leaves open.
async fn preview(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    actor: Actor,
    prepared: Prepared,
    posted: Posted,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let hash = prepared.hash().to_string();
    let existing = state
        .db
        .read(move |conn| import::imported_before(conn, &hash, &actor))
        .await?
        .map(|id| IncidentKey(id).to_string());
    let imported = prepared.imported();
    let zone = user.user.zone();
    let (stated, f) = (imported.stated, &imported.fields);
    // A create refused as a duplicate is a 409; a preview that warns of one is not.
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let page = PreviewPage {
        layout: Layout::new(user, "import", "Check the import"),
        title: f.title.clone(),
        title_stated: stated.title || !posted.title.is_empty(),
        severity: f.severity.as_str().to_string(),
        severity_stated: stated.severity || !posted.severity.is_empty(),
        facts: facts(imported, zone),
        counts: counts(imported),
        entries: entry_rows(imported, zone),
        existing,
        duplicate: posted.duplicate,
        error,
        text: posted.text,
    };
    render_status(status, &page)
}

/// Start, end, duration and status, in the reader's zone.
fn facts(imported: &Imported, zone: Zone) -> Vec<(&'static str, String)> {
    let f = &imported.fields;
    let mut facts = vec![("Started", zone.in_words(f.started_at))];
    for (label, t) in [
        ("Detected", f.detected_at),
        ("Acknowledged", f.acknowledged_at),
        ("Mitigated", f.mitigated_at),
    ] {
        if let Some(t) = t {
            facts.push((label, zone.in_words(t)));
        }
    }
    match f.resolved_at {
        Some(end) => {
            facts.push(("Resolved", zone.in_words(end)));
            facts.push(("Duration", crate::time::human_duration(end - f.started_at)));
        }
        None => facts.push(("Resolved", "not in the document: stays open".into())),
    }
    facts.push(("Status", f.status.as_str().to_string()));
    if let Some(pct) = f.users_affected_pct {
        facts.push(("Users affected", format!("{pct}%")));
    }
    facts
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "35 timeline entries (5 without a time) · 2 root causes · 7 tasks · 1 escalation".
fn counts(imported: &Imported) -> String {
    let untimed = imported.entries.iter().filter(|e| !e.time_known).count();
    let mut entries = plural(imported.entries.len(), "timeline entry", "timeline entries");
    if untimed > 0 {
        entries.push_str(&format!(" ({untimed} without a time)"));
    }
    [
        entries,
        plural(imported.causes.len(), "root cause", "root causes"),
        plural(imported.tasks.len(), "task", "tasks"),
        plural(imported.escalations.len(), "escalation", "escalations"),
    ]
    .join(" · ")
}

fn entry_rows(imported: &Imported, zone: Zone) -> Vec<EntryRow> {
    imported
        .entries
        .iter()
        .map(|e| {
            let body = e.body.trim();
            let mut excerpt: String = body.chars().take(EXCERPT_CHARS).collect();
            if body.chars().count() > EXCERPT_CHARS {
                excerpt.push('…');
            }
            EntryRow {
                time: if e.time_known {
                    zone.date_hhmm(e.occurred_at)
                } else {
                    "no time given".into()
                },
                kind: e.kind.label(),
                excerpt,
            }
        })
        .collect()
}
