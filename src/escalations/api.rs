//! `/api/v1/incidents/{key}/escalations` and `/api/v1/escalations/{id}`.

use crate::access::visible::{Escalation, Record, Visible};
use crate::ids::EscalationId;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{EscalationState, EscalationView};
use crate::api::{optional_time, ApiJson, PageParams};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::http_error::ApiError;
use crate::state::AppState;
use crate::time::{now, rfc3339};

#[derive(Serialize, utoipa::ToSchema)]
pub struct EscalationJson {
    pub id: EscalationId,
    pub target: String,
    pub reason: String,
    pub state: EscalationState,
    pub escalated_at: String,
    pub acknowledged_at: Option<String>,
    pub responded_at: Option<String>,
    pub escalated_by: Option<String>,
    pub responded_by: Option<String>,
    /// Who acknowledged or declined it (the target, or whoever answered on their behalf);
    /// null while pending and for a cancelled one.
    pub answered_by: Option<String>,
    pub version: i32,
}

impl From<EscalationView> for EscalationJson {
    fn from(v: EscalationView) -> Self {
        let e = v.escalation;
        EscalationJson {
            id: e.id,
            target: e.target,
            reason: e.reason,
            state: e.state,
            escalated_at: rfc3339(e.escalated_at),
            acknowledged_at: e.acknowledged_at.map(rfc3339),
            responded_at: e.responded_at.map(rfc3339),
            escalated_by: v.escalated_by,
            answered_by: v.responded_by.clone().filter(|_| e.state.is_answer()),
            responded_by: v.responded_by,
            version: e.version,
        }
    }
}

/// `GET /api/v1/incidents/{key}/escalations`
#[utoipa::path(get, path = "/api/v1/incidents/{key}/escalations", tag = "escalations", params(("key" = String, Path, description = "Incident key: INC-7 or 7"), ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query, description = "at most 1000")), responses((status = 200, body = crate::api::ListEnvelope<EscalationJson>), (status = 401, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn list_escalations(
    state: web::Data<AppState>,
    _user: ApiUser,
    key: Visible,
    paging: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    crate::api::incident_list(&state, key, &paging, super::list, EscalationJson::from).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEscalation {
    target: Option<String>,
    /// Several targets at once.
    targets: Option<Vec<String>>,
    reason: Option<String>,
    escalated_at: Option<String>,
}

/// `POST /api/v1/incidents/{key}/escalations` → 201 with the escalation (or, with
/// `targets`, `{"items": [...]}`).
#[utoipa::path(post, path = "/api/v1/incidents/{key}/escalations", tag = "escalations", params(("key" = String, Path, description = "Incident key: INC-7 or 7")), request_body = CreateEscalation, responses((status = 201, body = EscalationJson, description = "one escalation, or {\"items\": [...]} when `targets` was sent"), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn create_escalation(
    state: web::Data<AppState>,
    user: ApiUser,
    key: Visible,
    body: ApiJson<CreateEscalation>,
) -> Result<HttpResponse, ApiError> {
    let id = key.id();
    let b = body.0;
    let several = b.targets.is_some();
    let raw = match (b.target, b.targets) {
        (Some(t), None) => t.replace([',', '\n', ';'], " "),
        (None, Some(list)) => list.join("\n"),
        (Some(_), Some(_)) => {
            return Err(
                AppError::invalid("targets", "Send either target or targets, not both.").into(),
            )
        }
        (None, None) => return Err(AppError::invalid("target", "target is required").into()),
    };
    let targets = super::split_targets(&raw)?;
    let at = optional_time(b.escalated_at.as_deref(), "escalated_at")?.unwrap_or_else(now);
    let actor = user.actor();
    let reason = b.reason.unwrap_or_default();
    let views = state
        .db
        .write(move |conn| {
            let created = super::create(conn, id, &targets, &reason, at, &actor)?;
            let ids: Vec<EscalationId> = created.iter().map(|e| e.id).collect();
            Ok(super::list(conn, id)?
                .into_iter()
                .filter(|v| ids.contains(&v.escalation.id))
                .collect::<Vec<_>>())
        })
        .await?;
    let items: Vec<EscalationJson> = views.into_iter().map(EscalationJson::from).collect();
    if several {
        Ok(HttpResponse::Created().json(serde_json::json!({ "items": items })))
    } else {
        Ok(HttpResponse::Created().json(&items[0]))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEscalation {
    state: Option<String>,
    acknowledged_at: Option<String>,
    version: Option<i32>,
}

/// `PATCH /api/v1/escalations/{id}`: `{"state": "acknowledged"}` (or declined/cancelled).
#[utoipa::path(patch, path = "/api/v1/escalations/{id}", tag = "escalations", params(("id" = i32, Path)), request_body = PatchEscalation, responses((status = 200, body = EscalationJson), (status = 401, body = crate::api::ErrorDoc), (status = 403, body = crate::api::ErrorDoc), (status = 404, body = crate::api::ErrorDoc), (status = 409, body = crate::api::ErrorDoc), (status = 413, body = crate::api::ErrorDoc), (status = 415, body = crate::api::ErrorDoc), (status = 422, body = crate::api::ErrorDoc)))]
pub async fn update_escalation(
    state: web::Data<AppState>,
    user: ApiUser,
    record: Record<Escalation>,
    body: ApiJson<PatchEscalation>,
) -> Result<HttpResponse, ApiError> {
    let id = record.id();
    let b = body.0;
    let new_state: EscalationState = b
        .state
        .ok_or_else(|| AppError::invalid("state", "state is required"))?
        .parse()
        .map_err(|e| AppError::invalid("state", format!("state {e}")))?;
    let at = optional_time(b.acknowledged_at.as_deref(), "acknowledged_at")?;
    let actor = user.actor();
    let view = state
        .db
        .write(move |conn| {
            let e = super::answer::answer(conn, id, new_state, at, b.version, &actor)?;
            super::list(conn, e.incident_id)?
                .into_iter()
                .find(|v| v.escalation.id == id)
                .ok_or_else(|| AppError::NotFound("escalation".into()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(EscalationJson::from(view)))
}
