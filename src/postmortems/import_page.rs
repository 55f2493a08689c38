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
    facts: Vec<Fact>,
    /// Lines no fact was read from (kept as text): (line, text).
    not_understood: Vec<(usize, String)>,
    title_source: Option<String>,
    severity_source: Option<String>,
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
    /// Uploaded files: (name, bytes). Several are imported at once, without a preview.
    files: Vec<(String, Vec<u8>)>,
    title: String,
    severity: String,
    /// The preview's fact fields, when the form had them (absent on the first post).
    facts: std::collections::HashMap<&'static str, String>,
    duplicate: bool,
    create: bool,
}

/// The facts the preview lets the importer set, by form field.
const FACT_FIELDS: [&str; 5] = [
    "started_at",
    "detected_at",
    "mitigated_at",
    "resolved_at",
    "services",
];

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

/// Reads the multipart form, every part counted against the import limit together.
async fn read_form(mut payload: Multipart) -> Result<Posted, AppError> {
    let mut posted = Posted::default();
    let mut received = 0;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(crate::ops::multipart_error)?;
        let name = field.name().unwrap_or("").to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or("upload")
            .to_string();
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(crate::ops::multipart_error)?;
            received += chunk.len();
            import::check_size(received)?;
            value.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8_lossy(&value).into_owned();
        match name.as_str() {
            "csrf_token" => posted.csrf = text(),
            "text" => posted.text = text(),
            "file" if !value.is_empty() => posted.files.push((filename, value)),
            "duplicate" => posted.duplicate = true,
            "title" => posted.title = text().trim().to_string(),
            "severity" => posted.severity = text().trim().to_string(),
            "step" => posted.create = text() == "create",
            other => {
                if let Some(f) = FACT_FIELDS.iter().find(|f| **f == other) {
                    posted.facts.insert(f, text().trim().to_string());
                }
            }
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
    let actor = Actor::user(&user.user, &client_ip(&req));
    let again = if posted.duplicate {
        Again::Allow
    } else {
        Again::Refuse
    };
    if posted.files.len() > 1 {
        let files = std::mem::take(&mut posted.files);
        return super::import_many::import_files(&state, &user, actor, files, again).await;
    }
    if let Some((_, bytes)) = posted.files.pop() {
        posted.text = String::from_utf8(bytes)
            .map_err(|_| AppError::invalid("file", "The file is not UTF-8 text."))?;
    }
    let zone = user.user.zone();
    let prepared = match prepare_posted(&posted, zone).await {
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
            let prepared = prepare_posted(&posted, zone).await?;
            let actor = Actor::user(&user.user, &client_ip(&req));
            preview(&state, &user, actor, prepared, posted, Some(message)).await
        }
        Err(e @ AppError::Invalid { .. }) => refused(&user, posted.text, e),
        Err(e) => Err(e),
    }
}

/// The posted document parsed and rendered (the slow part: on the blocking pool, before
/// any write), with the importer's title and severity over the document's.
async fn prepare_posted(posted: &Posted, zone: Zone) -> Result<Prepared, AppError> {
    let severity = match posted.severity.as_str() {
        "" => None,
        s => Some(Severity::parse_field(s)?),
    };
    let title = Some(posted.title.clone());
    let facts = fact_overrides(&posted.facts, zone)?;
    let text = posted.text.clone();
    Ok(web::block(move || import::prepare(&text))
        .await??
        .with_overrides(title, severity)
        .with_facts(facts))
}

/// The preview's times (the reader's wall clock) and services, as posted.
fn fact_overrides(
    posted: &std::collections::HashMap<&'static str, String>,
    zone: Zone,
) -> Result<import::FactOverrides, AppError> {
    let now = crate::time::now();
    let time = |name: &'static str| -> Result<Option<Option<chrono::NaiveDateTime>>, AppError> {
        match posted.get(name).map(String::as_str) {
            None => Ok(None),
            Some("") => Ok(Some(None)),
            Some(raw) => crate::time::parse_user_time_in(raw, now, zone)
                .map(|t| Some(Some(t)))
                .ok_or_else(|| {
                    AppError::invalid(
                        name,
                        format!("{name}: “{raw}” is not a time such as 2025-02-11 14:02."),
                    )
                }),
        }
    };
    let started_at = match time("started_at")? {
        Some(None) => {
            return Err(AppError::invalid(
                "started_at",
                "An incident needs its start time.",
            ))
        }
        t => t.flatten(),
    };
    Ok(import::FactOverrides {
        started_at,
        detected_at: time("detected_at")?,
        mitigated_at: time("mitigated_at")?,
        resolved_at: time("resolved_at")?,
        services: posted.get("services").map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        }),
    })
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
        not_understood: imported.not_understood.clone(),
        title_source: line_of(imported, "title"),
        severity_source: line_of(imported, "severity"),
        counts: counts(imported),
        entries: entry_rows(imported, zone),
        existing,
        duplicate: posted.duplicate,
        error,
        text: posted.text,
    };
    render_status(status, &page)
}

/// One fact of the preview: its form field (if it may be set there), what it is, and
/// where it was read.
pub struct Fact {
    label: &'static str,
    field: Option<&'static str>,
    value: String,
    /// "read from line 12", "not in the document", "as you set it"; none for an export.
    source: Option<String>,
}

/// Start, milestones, end, services, impact and users affected, in the reader's zone, each
/// with where it was read.
fn facts(imported: &Imported, zone: Zone) -> Vec<Fact> {
    let f = &imported.fields;
    let source = |name: &str| {
        imported.read_from.as_ref().map(|r| match r.get(name) {
            Some(0) => "as you set it".to_string(),
            Some(line) => format!("read from line {line}"),
            None => "not in the document".to_string(),
        })
    };
    let time = |t: Option<chrono::NaiveDateTime>| t.map(|t| zone.date_hhmm(t)).unwrap_or_default();
    let mut facts = vec![Fact {
        label: "Started",
        field: Some("started_at"),
        value: zone.date_hhmm(f.started_at),
        source: source("started_at"),
    }];
    for (label, field, t) in [
        ("Detected", "detected_at", f.detected_at),
        ("Mitigated", "mitigated_at", f.mitigated_at),
        ("Resolved", "resolved_at", f.resolved_at),
    ] {
        facts.push(Fact {
            label,
            field: Some(field),
            value: time(t),
            source: source(field),
        });
    }
    if let Some(end) = f.resolved_at {
        facts.push(Fact {
            label: "Duration",
            field: None,
            value: crate::time::human_duration(end - f.started_at),
            source: None,
        });
    }
    facts.push(Fact {
        label: "Services",
        field: Some("services"),
        value: f.services.join(", "),
        source: source("services"),
    });
    facts.push(Fact {
        label: "Users affected",
        field: None,
        value: f
            .users_affected_pct
            .map(|p| format!("{p}%"))
            .unwrap_or_else(|| "–".into()),
        source: source("users_affected_pct"),
    });
    // Plain words for the excerpt: the emphasis markers of question labels dropped.
    let impact: String = f
        .impact
        .replace("**", "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(EXCERPT_CHARS)
        .collect();
    facts.push(Fact {
        label: "Impact",
        field: None,
        value: if impact.is_empty() {
            "–".into()
        } else {
            impact
        },
        source: source("impact"),
    });
    facts.push(Fact {
        label: "Status",
        field: None,
        value: f.status.as_str().to_string(),
        source: None,
    });
    facts
}

/// "line 3" where a fact was read, for the title and severity labels.
fn line_of(imported: &Imported, name: &str) -> Option<String> {
    match imported.read_from.as_ref()?.get(name)? {
        0 => None,
        n => Some(format!("read from line {n}")),
    }
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
