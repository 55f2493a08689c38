//! The incident page's "Linked incidents" card: link to another incident, remove a link.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::api::other_of;
use super::LinkKind;
use crate::access::visible::{Link, Record, Visible};
use crate::access::Reader;
use crate::auth::csrf::{NoFields, SessionForm};
use crate::error::AppError;
use crate::incidents::web::{incident_page, Draft};
use crate::state::AppState;
use crate::web::see_other;

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    other: String,
}

/// `POST /incidents/{key}/links`
pub async fn create_link(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<LinkForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.id();
    let reader = Reader::of(&user.user);
    let result = async {
        let kind = LinkKind::parse_field(&data.kind)?;
        let other = other_of(Some(&data.other))?;
        state
            .db
            .write(move |conn| super::create(conn, id, other, kind, reader, &actor))
            .await
    }
    .await;
    match result.map_err(AppError::shown_on_form) {
        Ok(_) => Ok(see_other(&format!("/incidents/{key}#links"))),
        Err(Ok(e)) => {
            let draft = Draft {
                link_error: Some(e.public_message()),
                link_other: data.other,
                ..Draft::default()
            };
            incident_page(&state, &user, id, draft, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(Err(e)) => Err(e),
    }
}

/// `POST /incidents/{key}/links/{id}/delete`
pub async fn delete_link(
    state: web::Data<AppState>,
    link: Record<Link>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (key, link_id) = (link.incident(), link.id());
    let (id, actor) = (key.id(), form.actor);
    state
        .db
        .write(move |conn| super::delete(conn, id, link_id, &actor))
        .await?;
    Ok(see_other(&format!("/incidents/{key}#links")))
}
