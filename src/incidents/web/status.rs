//! The one-click status change on the incident page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::show::{incident_page, Draft};
use crate::auth::csrf::SessionForm;
use crate::error::AppError;
use crate::incidents::model::{IncidentKey, Status};
use crate::incidents::service::{self as service, IncidentFields};
use crate::state::AppState;
use crate::web::see_other;

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    version: String,
}

/// `POST /incidents/{key}/status`: the one-click status change on the incident page.
pub async fn change_status(
    state: web::Data<AppState>,
    key: IncidentKey,
    form: SessionForm<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.0;
    let status = Status::parse_field(&data.status)?;
    let version: i32 = data
        .version
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("version", "Reload the page and try again."))?;
    let result = state
        .db
        .write(move |conn| {
            let current = service::get(conn, id)?;
            let fields = IncidentFields {
                status,
                ..IncidentFields::of(&current)
            };
            service::update(conn, id, version, fields, &actor)
        })
        .await;
    match result {
        Ok(incident) => Ok(see_other(&format!(
            "/incidents/{}#timeline",
            incident.key()
        ))),
        Err(e @ (AppError::Conflict(_) | AppError::Invalid { .. })) => {
            let status = if matches!(e, AppError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let draft = Draft {
                error: Some(e.public_message()),
                ..Default::default()
            };
            incident_page(&state, &user, id, draft, status).await
        }
        Err(e) => Err(e),
    }
}
