//! Declare and edit an incident; an edit that lost a race shows both versions.

use crate::access::visible::Visible;
use crate::ids::{IncidentId, UserId};
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::opt;
use crate::auth::csrf::SessionForm;
use crate::auth::{ensure, users, CurrentUser, Permission};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::incidents::merge;
use crate::incidents::model::{IncidentKey, Severity, Status};
use crate::incidents::roles::{IncidentRole, Roles};
use crate::incidents::service::{self as service, CreateOptions, IncidentDetail, IncidentFields};
use crate::incidents::StatusChange;
use crate::state::AppState;
use crate::time::{now, parse_user_time_in, Zone};
use crate::web::{render_status, see_other, FormError, Layout};

/// One role's select on the form.
pub struct RoleField {
    pub name: &'static str,
    pub label: &'static str,
    /// The username chosen, or empty.
    pub value: String,
    pub invalid: bool,
}

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
    pub communications_lead: String,
    #[serde(default)]
    pub scribe: String,
    #[serde(default)]
    pub operations_lead: String,
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
    /// A checkbox: if this edit resolves the incident, cancel its pending escalations.
    #[serde(default)]
    pub cancel_pending_escalations: Option<String>,
    /// A checkbox when declaring: restricted from the start.
    #[serde(default)]
    pub restricted: Option<String>,
    /// After a conflict: `pick_<field>` is `theirs` or `mine` for each field both changed
    /// (and the CSRF token, which the extractor checks).
    #[serde(flatten)]
    pub picks: std::collections::HashMap<String, String>,
}

fn show_time(t: Option<NaiveDateTime>, zone: Zone) -> String {
    t.map(|t| zone.date_hhmm(t)).unwrap_or_default()
}

impl IncidentForm {
    fn of(d: &IncidentDetail, zone: Zone) -> Self {
        Self::of_fields(
            &IncidentFields::of(d),
            d.commander.clone(),
            d.roles.clone(),
            d.incident.version,
            zone,
        )
    }

    fn of_fields(
        f: &IncidentFields,
        commander: Option<String>,
        roles: Roles<String>,
        version: i32,
        zone: Zone,
    ) -> Self {
        let Roles {
            communications_lead,
            scribe,
            operations_lead,
        } = roles;
        let [communications_lead, scribe, operations_lead] =
            [communications_lead, scribe, operations_lead].map(Option::unwrap_or_default);
        IncidentForm {
            communications_lead,
            scribe,
            operations_lead,
            title: f.title.clone(),
            severity: f.severity.to_string(),
            status: f.status.to_string(),
            impact: f.impact.clone(),
            users_affected_pct: f
                .users_affected_pct
                .map(|p| p.to_string())
                .unwrap_or_default(),
            services: f.services.join(", "),
            commander: commander.unwrap_or_default(),
            started_at: zone.date_hhmm(f.started_at),
            detected_at: show_time(f.detected_at, zone),
            acknowledged_at: show_time(f.acknowledged_at, zone),
            mitigated_at: show_time(f.mitigated_at, zone),
            resolved_at: show_time(f.resolved_at, zone),
            version: version.to_string(),
            ..Default::default()
        }
    }

    /// A field's value as the form shows it, by the name `merge` uses.
    fn value(&self, field: &str) -> &str {
        match field {
            "title" => &self.title,
            "severity" => &self.severity,
            "status" => &self.status,
            "impact" => &self.impact,
            "users_affected_pct" => &self.users_affected_pct,
            "services" => &self.services,
            "commander" => &self.commander,
            "communications_lead" => &self.communications_lead,
            "scribe" => &self.scribe,
            "operations_lead" => &self.operations_lead,
            "started_at" => &self.started_at,
            "detected_at" => &self.detected_at,
            "acknowledged_at" => &self.acknowledged_at,
            "mitigated_at" => &self.mitigated_at,
            _ => &self.resolved_at,
        }
    }

    /// What the form holds for `role`.
    fn typed(&self, role: IncidentRole) -> &String {
        match role {
            IncidentRole::CommunicationsLead => &self.communications_lead,
            IncidentRole::Scribe => &self.scribe,
            IncidentRole::OperationsLead => &self.operations_lead,
        }
    }

    /// The account typed for `role` (nobody when blank; 422 naming the role when unknown).
    fn resolve_role(
        &self,
        conn: &mut DbConnection,
        role: IncidentRole,
    ) -> Result<Option<UserId>, AppError> {
        users::resolve(conn, opt(self.typed(role)), role.name())
    }

    /// The roles beside the commander, as the form shows them.
    pub fn roles(&self, error_field: &str) -> Vec<RoleField> {
        IncidentRole::ALL
            .iter()
            .map(|role| RoleField {
                name: role.name(),
                label: role.label(),
                value: self.typed(*role).clone(),
                invalid: error_field == role.name(),
            })
            .collect()
    }

    /// Fields for which the user chose the saved value after a conflict.
    fn taking_theirs(&self) -> Vec<&str> {
        self.picks
            .iter()
            .filter(|(k, v)| k.starts_with("pick_") && v.as_str() == "theirs")
            .map(|(k, _)| &k["pick_".len()..])
            .collect()
    }

    /// Parses into fields, times read in `zone`; blank start means now. The form shows times
    /// to the minute, so a time still showing the `shown` version's value keeps its seconds.
    fn parse(
        &self,
        conn: &mut DbConnection,
        at: NaiveDateTime,
        shown: Option<&IncidentFields>,
        zone: Zone,
    ) -> Result<IncidentFields, AppError> {
        let time = |raw: &str,
                    field: &str,
                    was: Option<Option<NaiveDateTime>>|
         -> Result<Option<NaiveDateTime>, AppError> {
            match opt(raw) {
                None => Ok(None),
                Some(r) if show_time(was.flatten(), zone) == r => Ok(was.flatten()),
                Some(r) => parse_user_time_in(r, at, zone).map(Some).ok_or_else(|| {
                    AppError::invalid(field, "Use YYYY-MM-DD HH:MM, or HH:MM for today.")
                }),
            }
        };
        let started_at = time(
            &self.started_at,
            "started_at",
            shown.map(|f| Some(f.started_at)),
        )?
        .unwrap_or(at);
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
            comms_lead_id: self.resolve_role(conn, IncidentRole::CommunicationsLead)?,
            scribe_id: self.resolve_role(conn, IncidentRole::Scribe)?,
            ops_lead_id: self.resolve_role(conn, IncidentRole::OperationsLead)?,
            started_at,
            detected_at: time(
                &self.detected_at,
                "detected_at",
                shown.map(|s| s.detected_at),
            )?,
            acknowledged_at: time(
                &self.acknowledged_at,
                "acknowledged_at",
                shown.map(|s| s.acknowledged_at),
            )?,
            mitigated_at: time(
                &self.mitigated_at,
                "mitigated_at",
                shown.map(|s| s.mitigated_at),
            )?,
            resolved_at: time(
                &self.resolved_at,
                "resolved_at",
                shown.map(|s| s.resolved_at),
            )?,
        })
    }
}

/// A field both the user and someone else changed: both values, to choose from.
pub struct ConflictRow {
    pub field: &'static str,
    pub theirs: String,
    pub mine: String,
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
    /// Whom the incident's pending escalations wait for (edit only).
    pending_targets: String,
    statuses: &'static [Status],
    severities: &'static [Severity],
}

async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    id: Option<IncidentId>,
    form: IncidentForm,
    error: Option<AppError>,
    conflict: Vec<ConflictRow>,
) -> Result<HttpResponse, AppError> {
    let reader = crate::access::Reader::of(&user.user);
    let (users, services, pending) = state
        .db
        .read(move |conn| {
            let users = users::active_usernames(conn, false)?;
            let pending = match id {
                Some(id) => crate::escalations::pending(conn, id)?,
                None => vec![],
            };
            let hidden = crate::access::Hidden::from_reader(conn, reader)?;
            Ok((
                users,
                crate::incidents::search::service_names(conn, &hidden)?,
                pending,
            ))
        })
        .await?;
    let key = id.map(|id| IncidentKey(id).to_string());
    let pending_targets = pending
        .iter()
        .map(|e| e.target.as_str())
        .collect::<Vec<_>>()
        .join(", ");
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
        pending_targets,
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
    let zone = user.user.zone();
    let submitted = data.clone();
    let result = state
        .db
        .write(move |conn| {
            let t = now();
            let mut fields = submitted.parse(conn, t, None, zone)?;
            if fields.detected_at.is_none() && opt(&submitted.started_at).is_none() {
                fields.detected_at = Some(fields.started_at);
            }
            let options = CreateOptions {
                declared_entry: true,
                restricted: submitted.restricted.is_some(),
                ..Default::default()
            };
            service::create(conn, fields, &actor, &options)
        })
        .await;
    match result {
        Ok(incident) => Ok(see_other(&format!("/incidents/{}", incident.key()))),
        Err(e) => {
            let e = e.shown_on_form()?;
            form_page(&state, &user, None, data, Some(e), vec![]).await
        }
    }
}

/// `GET /incidents/{key}/edit`
pub async fn edit_incident(
    state: web::Data<AppState>,
    user: CurrentUser,
    key: Visible,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Write)?;
    let id = key.id();
    let detail = state.db.read(move |conn| service::get(conn, id)).await?;
    form_page(
        &state,
        &user,
        Some(id),
        IncidentForm::of(&detail, user.user.zone()),
        None,
        vec![],
    )
    .await
}

/// `POST /incidents/{key}/edit`: a stale version shows what changed and keeps the input.
pub async fn update_incident(
    state: web::Data<AppState>,
    key: Visible,
    form: SessionForm<IncidentForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Write)?;
    let zone = user.user.zone();
    let id = key.id();
    let version = crate::web::form_version(&data.version)?;
    let submitted = data.clone();
    let change = StatusChange {
        at: None,
        cancel_pending_escalations: data.cancel_pending_escalations.is_some(),
    };
    let result = state
        .db
        .write(move |conn| {
            if opt(&submitted.started_at).is_none() {
                return Err(AppError::invalid(
                    "started_at",
                    "When the incident started is required.",
                ));
            }
            let current = service::get(conn, id)?;
            let shown = service::fields_at(conn, &current, version)?;
            let mut fields = submitted.parse(conn, now(), shown.as_ref(), zone)?;
            let saved = IncidentFields::of(&current);
            for field in submitted.taking_theirs() {
                merge::take(field, &saved, &mut fields);
            }
            service::update(conn, id, version, fields, &change, &actor)
        })
        .await;
    match result {
        Ok(incident) => Ok(see_other(&format!("/incidents/{}", incident.key()))),
        Err(e @ AppError::EditConflict { .. }) => {
            let submitted = data.clone();
            let (form, rows) = state
                .db
                .read(move |conn| merged_form(conn, id, version, &submitted, zone))
                .await?;
            form_page(&state, &user, Some(id), form, Some(e), rows).await
        }
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            form_page(&state, &user, Some(id), data, Some(e), vec![]).await
        }
        Err(e) => Err(e),
    }
}

/// The form after a lost race: your edit merged onto the saved version (so saving it
/// again undoes nothing of theirs), at the saved version, with the fields both changed.
fn merged_form(
    conn: &mut DbConnection,
    id: IncidentId,
    base_version: i32,
    submitted: &IncidentForm,
    zone: Zone,
) -> Result<(IncidentForm, Vec<ConflictRow>), AppError> {
    let current = service::get(conn, id)?;
    let theirs = IncidentForm::of(&current, zone);
    let shown = service::fields_at(conn, &current, base_version)?;
    let Ok(mine) = submitted.parse(conn, now(), shown.as_ref(), zone) else {
        // Unparseable input cannot be merged: keep it as typed, on the saved version.
        let form = IncidentForm {
            version: current.incident.version.to_string(),
            ..submitted.clone()
        };
        return Ok((form, vec![]));
    };
    let merged = service::merge_onto(conn, &current, base_version, &mine)?;
    let commander = if merged.fields.commander_id == current.incident.commander_id {
        current.commander.clone()
    } else {
        opt(&submitted.commander).map(str::to_string)
    };
    let (kept, now) = (merged.fields.roles(), current.incident.roles());
    let roles = Roles::from_fn(|r| {
        if kept.get(r) == now.get(r) {
            current.roles.get(r).cloned()
        } else {
            opt(submitted.typed(r)).map(str::to_string)
        }
    });
    let mut form = IncidentForm::of_fields(
        &merged.fields,
        commander,
        roles,
        current.incident.version,
        zone,
    );
    // Conflicting fields keep exactly what was typed.
    for field in &merged.conflicts {
        copy_typed(field, submitted, &mut form);
    }
    let rows = merged
        .conflicts
        .iter()
        .map(|field| ConflictRow {
            field,
            theirs: theirs.value(field).to_string(),
            mine: submitted.value(field).to_string(),
        })
        .collect();
    Ok((form, rows))
}

fn copy_typed(field: &str, from: &IncidentForm, to: &mut IncidentForm) {
    let value = from.value(field).to_string();
    match field {
        "title" => to.title = value,
        "severity" => to.severity = value,
        "status" => to.status = value,
        "impact" => to.impact = value,
        "users_affected_pct" => to.users_affected_pct = value,
        "services" => to.services = value,
        "commander" => to.commander = value,
        "communications_lead" => to.communications_lead = value,
        "scribe" => to.scribe = value,
        "operations_lead" => to.operations_lead = value,
        "started_at" => to.started_at = value,
        "detected_at" => to.detected_at = value,
        "acknowledged_at" => to.acknowledged_at = value,
        "mitigated_at" => to.mitigated_at = value,
        _ => to.resolved_at = value,
    }
}
