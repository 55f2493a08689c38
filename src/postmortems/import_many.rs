//! Several postmortems uploaded at once on `/import`: each file read and stored in its
//! own transaction, and a report of what became of each (its incident, or why it was
//! refused, with the line).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template as Askama;

use super::import::{self, Again};
use crate::audit::Actor;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{render_status, Layout};

/// What became of one file.
pub struct FileReport {
    pub name: String,
    /// The incident it made.
    pub key: Option<String>,
    pub error: Option<String>,
}

#[derive(Askama)]
#[template(path = "postmortems/import_report.html")]
struct ReportPage {
    layout: Layout,
    files: Vec<FileReport>,
    imported: usize,
}

/// Imports each of `files`, then shows the report (200 when all were imported, else 422).
pub async fn import_files(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    actor: Actor,
    files: Vec<(String, Vec<u8>)>,
    again: Again,
) -> Result<HttpResponse, AppError> {
    let mut reports = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let outcome = import_file(state, actor.clone(), bytes, again).await;
        reports.push(match outcome {
            Ok(key) => FileReport {
                name,
                key: Some(key),
                error: None,
            },
            Err(e @ (AppError::Invalid { .. } | AppError::Duplicate { .. })) => FileReport {
                name,
                key: None,
                error: Some(e.public_message()),
            },
            Err(e) => return Err(e),
        });
    }
    let imported = reports.iter().filter(|r| r.key.is_some()).count();
    let status = if imported == reports.len() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        status,
        &ReportPage {
            layout: Layout::new(user, "import", "Imported postmortems"),
            files: reports,
            imported,
        },
    )
}

async fn import_file(
    state: &web::Data<AppState>,
    actor: Actor,
    bytes: Vec<u8>,
    again: Again,
) -> Result<String, AppError> {
    let text = String::from_utf8(bytes)
        .map_err(|_| AppError::invalid("file", "The file is not UTF-8 text."))?;
    let prepared = web::block(move || import::prepare(&text)).await??;
    let incident = state
        .db
        .write(move |conn| import::store(conn, prepared, again, &actor))
        .await?;
    Ok(incident.key())
}
