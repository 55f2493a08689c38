//! Root cause forms: add from the incident page, edit, delete (admins).

use crate::access::visible::{Cause, Record, Visible};
use crate::ids::{IncidentId, RootCauseId};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{CauseCategory, CauseChanges, CauseFields, CauseKind};
use crate::auth::csrf::{NoFields, SessionForm};
use crate::auth::{ensure, CurrentUser, Permission};
use crate::error::AppError;
use crate::incidents::IncidentKey;
use crate::state::AppState;
use crate::web::{render_status, see_other, FormError, Layout};

#[derive(Deserialize, Default, Clone)]
pub struct CauseForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Template)]
#[template(path = "root_causes/form.html")]
struct CausePage {
    layout: Layout,
    key: String,
    /// Set when editing.
    cause_id: Option<RootCauseId>,
    form: CauseForm,
    error: Option<String>,
    error_field: String,
    kinds: &'static [CauseKind],
    categories: &'static [CauseCategory],
    can_delete: bool,
}

fn cause_page(
    user: &CurrentUser,
    incident_id: IncidentId,
    cause_id: Option<RootCauseId>,
    form: CauseForm,
    error: Option<AppError>,
) -> Result<HttpResponse, AppError> {
    let error = FormError::from(error);
    let page = CausePage {
        layout: Layout::new(
            user,
            "incidents",
            if cause_id.is_some() {
                "Edit root cause"
            } else {
                "Add root cause"
            },
        ),
        key: IncidentKey(incident_id).to_string(),
        cause_id,
        form,
        error_field: error.field,
        error: error.message,
        kinds: CauseKind::ALL,
        categories: CauseCategory::ALL,
        can_delete: user.user.role.allows(Permission::Delete),
    };
    render_status(error.status, &page)
}

/// `GET /incidents/{key}/root-causes/new`
pub async fn new_cause(user: CurrentUser, key: Visible) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let id = key.id();
    let form = CauseForm {
        kind: "primary".into(),
        category: "unknown".into(),
        description: String::new(),
    };
    cause_page(&user, id, None, form, None)
}

/// `POST /incidents/{key}/root-causes`
pub async fn add_cause(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<CauseForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.id();
    let result = async {
        let cause = CauseFields::parse(&data.kind, &data.category, &data.description)?.rendered();
        state
            .db
            .write(move |conn| super::create(conn, id, &cause, &actor))
            .await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/incidents/{}#root-causes",
            IncidentKey(id)
        ))),
        Err(e) => cause_page(&user, id, None, data, Some(e.shown_on_form()?)),
    }
}

/// `GET /root-causes/{id}/edit`
pub async fn edit_cause_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    record: Record<Cause>,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let id = record.id();
    let cause = state.db.read(move |conn| super::get(conn, id)).await?;
    let form = CauseForm {
        kind: cause.kind.to_string(),
        category: cause.category.to_string(),
        description: cause.description,
    };
    cause_page(&user, cause.incident_id, Some(id), form, None)
}

/// `POST /root-causes/{id}/edit`
pub async fn edit_cause(
    state: web::Data<AppState>,
    record: Record<Cause>,
    form: SessionForm<CauseForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = record.id();
    let result = async {
        let cause = CauseFields::parse(&data.kind, &data.category, &data.description)?.rendered();
        let changes = CauseChanges::all(cause);
        state
            .db
            .write(move |conn| super::update(conn, id, &changes, &actor))
            .await
    }
    .await;
    match result {
        Ok(cause) => Ok(see_other(&format!(
            "/incidents/{}#root-causes",
            IncidentKey(cause.incident_id)
        ))),
        Err(e) => {
            let e = e.shown_on_form()?;
            let incident_id = state
                .db
                .read(move |conn| super::get(conn, id))
                .await?
                .incident_id;
            cause_page(&user, incident_id, Some(id), data, Some(e))
        }
    }
}

/// `POST /root-causes/{id}/delete` (admins)
pub async fn delete_cause(
    state: web::Data<AppState>,
    record: Record<Cause>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = record.id();
    let actor = form.actor;
    let cause = state
        .db
        .write(move |conn| super::delete(conn, id, &actor))
        .await?;
    Ok(see_other(&format!(
        "/incidents/{}#root-causes",
        IncidentKey(cause.incident_id)
    )))
}
