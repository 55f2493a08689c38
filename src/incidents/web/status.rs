//! The one-click status change on the incident page.

use crate::access::visible::Visible;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::show::{incident_page, Draft};
use crate::auth::csrf::SessionForm;
use crate::error::AppError;
use crate::incidents::model::Status;
use crate::incidents::service::{self as service, IncidentFields};
use crate::incidents::StatusChange;
use crate::state::AppState;
use crate::time::now;
use crate::web::{back_to_incident, typed_time};

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    version: String,
    /// When the status changed (blank = now).
    #[serde(default)]
    status_at: String,
    /// A checkbox: resolving cancels the pending escalations.
    #[serde(default)]
    cancel_pending_escalations: Option<String>,
}

/// `POST /incidents/{key}/status`: the one-click status change on the incident page.
pub async fn change_status(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.id();
    let status = Status::parse_field(&data.status)?;
    let version = crate::web::form_version(&data.version)?;
    let cancel_pending_escalations = data.cancel_pending_escalations.is_some();
    let zone = user.user.zone();
    let result = async {
        let at = typed_time(&data.status_at, "status_at", zone)?;
        let change = StatusChange {
            at,
            cancel_pending_escalations,
        };
        state
            .db
            .write(move |conn| {
                let current = service::get(conn, id)?;
                let fields = IncidentFields {
                    status,
                    ..IncidentFields::of(&current)
                };
                let incident = service::update(conn, id, version, fields, &change, &actor)?;
                Ok((incident, change.at.unwrap_or_else(now)))
            })
            .await
    }
    .await;
    match result {
        Ok((incident, at)) => Ok(back_to_incident(&incident.key(), at, "timeline", zone)),
        Err(
            e @ (AppError::Conflict(_) | AppError::EditConflict { .. } | AppError::Invalid { .. }),
        ) => {
            let status = if matches!(e, AppError::Invalid { .. }) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            // Beside the control that caused it, in the reader's zone, with what was typed.
            let draft = Draft {
                status_error: Some(crate::web::in_zone(&e.public_message(), zone)),
                status: data.status.clone(),
                status_at: data.status_at.clone(),
                ..Default::default()
            };
            incident_page(&state, &user, id, draft, status).await
        }
        Err(e) => Err(e),
    }
}
