//! The incident page's "Update stakeholders" card: post a structured update.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::UpdateInput;
use crate::access::visible::Visible;
use crate::auth::csrf::SessionForm;
use crate::error::AppError;
use crate::incidents::web::{incident_page, Draft};
use crate::state::AppState;
use crate::web::see_other;

/// The form as posted; kept to refill it after a refusal.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct UpdateForm {
    #[serde(default)]
    pub audience: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub impact: String,
    #[serde(default)]
    pub actions: String,
    /// The reader's wall clock (`14:30`, `2026-12-06 14:30`), or empty.
    #[serde(default)]
    pub next_update_at: String,
}

/// `POST /incidents/{key}/updates`
pub async fn post_update(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<UpdateForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.id();
    let cadence = state.config.update_cadence;
    let zone = user.user.zone();
    let posted = data.clone();
    let db = state.db.clone();
    let result = async move {
        let next_update_at = match posted.next_update_at.trim() {
            "" => None,
            raw => Some(
                crate::time::parse_promised_time_in(raw, crate::time::now(), zone).ok_or_else(
                    || {
                        AppError::invalid(
                            "next_update_at",
                            format!("“{raw}” is not a time such as 14:30 or 2026-12-06 14:30."),
                        )
                    },
                )?,
            ),
        };
        let input = UpdateInput {
            audience: posted.audience,
            state: posted.state,
            impact: posted.impact,
            actions: posted.actions,
            next_update_at,
        };
        db.write(move |conn| super::post(conn, id, input, &cadence, &actor))
            .await
    }
    .await;
    match result.map_err(AppError::shown_on_form) {
        Ok(_) => Ok(see_other(&format!("/incidents/{key}#update"))),
        Err(Ok(e)) => {
            let draft = Draft {
                update_error: Some(e.public_message()),
                update: data,
                ..Draft::default()
            };
            incident_page(&state, &user, id, draft, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(Err(e)) => Err(e),
    }
}
