//! `POST /incidents/{key}/access`: restrict an incident (or open it again) and set its
//! members, from the incident page (commander or admin).

use crate::access::visible::Visible;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::Access;
use crate::auth::csrf::SessionForm;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::see_other;

#[derive(Deserialize)]
pub struct AccessForm {
    /// A checkbox: present when ticked.
    restricted: Option<String>,
    #[serde(default)]
    members: String,
    #[serde(default)]
    teams: String,
}

/// Splits "ann, rex" into names.
pub fn names(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

pub async fn set_access(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<AccessForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { data, actor, .. } = form;
    let wanted = Access {
        restricted: data.restricted.is_some(),
        users: names(&data.members),
        teams: names(&data.teams),
    };
    let id = key.id();
    state
        .db
        .write(move |conn| super::set(conn, id, &wanted, &actor))
        .await?;
    Ok(see_other(&format!("/incidents/{key}#access")))
}
