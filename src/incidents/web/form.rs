//! Declare and edit an incident; an edit that lost a race shows both versions.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::opt;
use crate::auth::csrf::SessionForm;
use crate::auth::{ensure, users, CurrentUser, Permission};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::model::{IncidentKey, Severity, Status};
use crate::incidents::service::{
    self as service, changed_fields, CreateOptions, IncidentDetail, IncidentFields,
};
use crate::state::AppState;
use crate::time::{date_hhmm, now, parse_user_time};
use crate::web::{render_status, see_other, FormError, Layout};

/// The incident form's raw values: what the user typed, kept on errors.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct IncidentForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub impact: String,
    #[serde(default)]
    pub users_affected_pct: String,
    #[serde(default)]
    pub services: String,
    #[serde(default)]
    pub commander: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub detected_at: String,
    #[serde(default)]
    pub acknowledged_at: String,
    #[serde(default)]
    pub mitigated_at: String,
    #[serde(default)]
    pub resolved_at: String,
    #[serde(default)]
    pub version: String,
}

fn show_time(t: Option<NaiveDateTime>) -> String {
    t.map(date_hhmm).unwrap_or_default()
}

impl IncidentForm {
    fn of(d: &IncidentDetail) -> Self {
        let i = &d.incident;
        IncidentForm {
            title: i.title.clone(),
            severity: i.severity.to_string(),
            status: i.status.to_string(),
            impact: i.impact.clone(),
            users_affected_pct: i
                .users_affected_pct
                .map(|p| p.to_string())
                .unwrap_or_default(),
            services: d.services.join(", "),
            commander: d.commander.clone().unwrap_or_default(),
            started_at: date_hhmm(i.started_at),
            detected_at: show_time(i.detected_at),
            acknowledged_at: show_time(i.acknowledged_at),
            mitigated_at: show_time(i.mitigated_at),
            resolved_at: show_time(i.resolved_at),
            version: i.version.to_string(),
        }
    }

    /// Parses into fields; blank start means now, blank detection means the start.
    fn parse(
        &self,
        conn: &mut DbConnection,
        at: NaiveDateTime,
    ) -> Result<IncidentFields, AppError> {
        let time = |raw: &str, field: &str| -> Result<Option<NaiveDateTime>, AppError> {
            match opt(raw) {
                None => Ok(None),
                Some(r) => parse_user_time(r, at).map(Some).ok_or_else(|| {
                    AppError::invalid(field, "Use YYYY-MM-DD HH:MM (UTC), or HH:MM for today.")
                }),
            }
        };
        let started_at = time(&self.started_at, "started_at")?.unwrap_or(at);
        let pct =
            match opt(&self.users_affected_pct) {
                None => None,
                Some(raw) => Some(raw.trim_end_matches('%').trim().parse::<f64>().map_err(
                    |_| {
                        AppError::invalid(
                            "users_affected_pct",
                            "Percent of users affected must be a number from 0 to 100.",
                        )
                    },
                )?),
            };
        Ok(IncidentFields {
            title: self.title.clone(),
            severity: Severity::parse_field(if self.severity.is_empty() {
                "SEV3"
            } else {
                &self.severity
            })?,
            status: Status::parse_field(if self.status.is_empty() {
                "investigating"
            } else {
                &self.status
            })?,
            impact: self.impact.trim().to_string(),
            users_affected_pct: pct,
            services: self
                .services
                .split(',')
                .map(|s| s.trim().to_string())
                .collect(),
            commander_id: users::resolve(conn, opt(&self.commander), "commander")?,
            started_at,
            detected_at: time(&self.detected_at, "detected_at")?,
            acknowledged_at: time(&self.acknowledged_at, "acknowledged_at")?,
            mitigated_at: time(&self.mitigated_at, "mitigated_at")?,
            resolved_at: time(&self.resolved_at, "resolved_at")?,
        })
    }
}

/// A field someone else changed while the user was editing.
pub struct ConflictRow {
    pub field: &'static str,
    pub theirs: String,
}

#[derive(Template)]
#[template(path = "incidents/form.html")]
struct FormPage {
    layout: Layout,
    key: Option<String>,
    form: IncidentForm,
    error: Option<String>,
    error_field: String,
    conflict: Vec<ConflictRow>,
    users: Vec<String>,
    services: Vec<String>,
    statuses: &'static [Status],
    severities: &'static [Severity],
}

async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    key: Option<String>,
    form: IncidentForm,
    error: Option<AppError>,
    conflict: Vec<ConflictRow>,
) -> Result<HttpResponse, AppError> {
    let (users, services) = state
        .db
        .read(|conn| {
            let users = users::active_usernames(conn, false)?;
            Ok((users, crate::incidents::search::service_names(conn)?))
        })
        .await?;
    let error = FormError::from(error);
    let title = match &key {
        Some(k) => format!("Edit {k}"),
        None => "Declare an incident".into(),
    };
    let page = FormPage {
        layout: Layout::new(user, "incidents", title),
        key,
        error_field: error.field,
        error: error.message,
        form,
        conflict,
        users,
        services,
        statuses: Status::ALL,
        severities: Severity::ALL,
    };
    render_status(error.status, &page)
}

/// `GET /incidents/new`
pub async fn new_incident(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let form = IncidentForm {
        severity: "SEV2".into(),
        status: "investigating".into(),
        commander: user.user.username.clone(),
        ..Default::default()
    };
    form_page(&state, &user, None, form, None, vec![]).await
}

/// `POST /incidents`
pub async fn create_incident(
    state: web::Data<AppState>,
    form: SessionForm<IncidentForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let submitted = data.clone();
    let result = state
        .db
        .write(move |conn| {
            let t = now();
            let mut fields = submitted.parse(conn, t)?;
            if fields.detected_at.is_none() && opt(&submitted.started_at).is_none() {
                fields.detected_at = Some(fields.started_at);
            }
            let options = CreateOptions {
                declared_entry: true,
                ..Default::default()
            };
            service::create(conn, fields, &actor, &options)
        })
        .await;
    match result {
        Ok(incident) => Ok(see_other(&format!("/incidents/{}", incident.key()))),
        Err(e @ AppError::Invalid { .. }) => {
            form_page(&state, &user, None, data, Some(e), vec![]).await
        }
        Err(e) => Err(e),
    }
}

/// `GET /incidents/{key}/edit`
pub async fn edit_incident(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: IncidentKey,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let id = key.0;
    let detail = state.db.read(move |conn| service::get(conn, id)).await?;
    form_page(
        &state,
        &user,
        Some(detail.incident.key()),
        IncidentForm::of(&detail),
        None,
        vec![],
    )
    .await
}

/// `POST /incidents/{key}/edit`: a stale version shows what changed and keeps the input.
pub async fn update_incident(
    state: web::Data<AppState>,
    key: IncidentKey,
    form: SessionForm<IncidentForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = key.0;
    let version: i32 = data.version.trim().parse().map_err(|_| {
        AppError::invalid(
            "version",
            "The form lacks the version it was based on. Reload the page.",
        )
    })?;
    let submitted = data.clone();
    let result = state
        .db
        .write(move |conn| {
            let fields = submitted.parse(conn, now())?;
            service::update(conn, id, version, fields, &actor)
        })
        .await;
    match result {
        Ok(incident) => Ok(see_other(&format!("/incidents/{}", incident.key()))),
        Err(e @ AppError::Invalid { .. }) => {
            form_page(
                &state,
                &user,
                Some(IncidentKey(id).to_string()),
                data,
                Some(e),
                vec![],
            )
            .await
        }
        Err(e @ AppError::Conflict(_)) => {
            let submitted = data.clone();
            let (current, rows) = state
                .db
                .read(move |conn| {
                    let current = service::get(conn, id)?;
                    let rows = conflict_rows(conn, &submitted, &current);
                    Ok((current, rows))
                })
                .await?;
            // Keep the user's input but move it onto the current version, so a deliberate
            // second submit applies it.
            let form = IncidentForm {
                version: current.incident.version.to_string(),
                ..data
            };
            form_page(
                &state,
                &user,
                Some(current.incident.key()),
                form,
                Some(e),
                rows,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

fn conflict_rows(
    conn: &mut DbConnection,
    submitted: &IncidentForm,
    current: &IncidentDetail,
) -> Vec<ConflictRow> {
    let theirs = IncidentFields::of(current);
    let Ok(mine) = submitted.parse(conn, now()) else {
        return vec![];
    };
    let shown = IncidentForm::of(current);
    changed_fields(&mine, &theirs)
        .into_iter()
        .map(|field| ConflictRow {
            field,
            theirs: match field {
                "title" => shown.title.clone(),
                "severity" => shown.severity.clone(),
                "status" => shown.status.clone(),
                "impact" => shown.impact.clone(),
                "users_affected_pct" => shown.users_affected_pct.clone(),
                "services" => shown.services.clone(),
                "commander" => shown.commander.clone(),
                "started_at" => shown.started_at.clone(),
                "detected_at" => shown.detected_at.clone(),
                "acknowledged_at" => shown.acknowledged_at.clone(),
                "mitigated_at" => shown.mitigated_at.clone(),
                _ => shown.resolved_at.clone(),
            },
        })
        .collect()
}
