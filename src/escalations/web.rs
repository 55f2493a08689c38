//! Escalation forms: escalate from the incident page (several targets at once), and answer
//! a pending escalation.

use crate::access::visible::{Escalation, Record, Visible};
use crate::ids::IncidentId;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{split_targets, EscalationState};
use crate::auth::csrf::SessionForm;
use crate::auth::{ensure, CurrentUser, Permission};
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::state::AppState;
use crate::time::now;
use crate::web::{back_to_incident, render_status, see_other, typed_time, FormError, Layout};

#[derive(Deserialize, Default, Clone)]
pub struct EscalateForm {
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub escalated_at: String,
}

#[derive(Template)]
#[template(path = "escalations/new.html")]
struct EscalatePage {
    layout: Layout,
    key: String,
    form: EscalateForm,
    error: Option<String>,
    error_field: String,
    suggestions: Vec<String>,
}

/// `POST /incidents/{key}/escalations`
pub async fn escalate(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<EscalateForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.id();
    let submitted = data.clone();
    let result = async {
        let targets = split_targets(&submitted.target)?;
        let at = typed_time(&submitted.escalated_at, "escalated_at", user.user.zone())?
            .unwrap_or_else(now);
        state
            .db
            .write(move |conn| super::create(conn, id, &targets, &submitted.reason, at, &actor))
            .await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/incidents/{}#escalations",
            IncidentKey(id)
        ))),
        Err(e) => escalate_page(&state, &user, id, data, Some(e.shown_on_form()?)).await,
    }
}

async fn escalate_page(
    state: &AppState,
    user: &CurrentUser,
    id: IncidentId,
    form: EscalateForm,
    error: Option<AppError>,
) -> Result<HttpResponse, AppError> {
    let suggestions = state.db.read(super::target_suggestions).await?;
    let error = FormError::from(error);
    let page = EscalatePage {
        layout: Layout::new(user, "incidents", "Escalate"),
        key: IncidentKey(id).to_string(),
        form,
        error_field: error.field,
        error: error.message,
        suggestions,
    };
    render_status(error.status, &page)
}

/// `GET /incidents/{key}/escalations/new`
pub async fn new_escalation(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: Visible,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let id = key.id();
    state
        .db
        .read(move |conn| crate::incidents::service::get(conn, id))
        .await?;
    escalate_page(&state, &user, id, EscalateForm::default(), None).await
}

#[derive(Deserialize)]
pub struct RespondForm {
    state: String,
    #[serde(default)]
    version: String,
    /// When the answer came (blank = now).
    #[serde(default)]
    acknowledged_at: String,
}

/// `POST /escalations/{id}/state`: acknowledge, decline or cancel.
pub async fn respond(
    state: web::Data<AppState>,
    record: Record<Escalation>,
    form: SessionForm<RespondForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = record.id();
    let new_state: EscalationState = data
        .state
        .parse()
        .map_err(|e| AppError::invalid("state", format!("State {e}.")))?;
    let version = data.version.trim().parse().ok();
    let zone = user.user.zone();
    let result = async {
        let at = typed_time(&data.acknowledged_at, "acknowledged_at", zone)?;
        state
            .db
            .write(move |conn| super::answer::answer(conn, id, new_state, at, version, &actor))
            .await
    }
    .await;
    match result {
        Ok(e) => Ok(back_to_incident(
            &IncidentKey(e.incident_id).to_string(),
            e.responded_at.unwrap_or(e.updated_at),
            "escalations",
            zone,
        )),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            // Back to the incident page with the message, the answer not recorded.
            let incident = state.db.read(move |conn| super::get(conn, id)).await?;
            let status = if matches!(e, AppError::Conflict(_)) {
                actix_web::http::StatusCode::CONFLICT
            } else {
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
            };
            let draft = crate::incidents::web::Draft {
                error: Some(e.public_message()),
                ..Default::default()
            };
            crate::incidents::web::incident_page(&state, &user, incident.incident_id, draft, status)
                .await
        }
        Err(e) => Err(e),
    }
}
