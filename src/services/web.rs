//! `/services` (the catalog) and `/services/{name}` (one service's history). Everyone
//! reads them; admins add, change and remove services from the same pages.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::page::{self, History};
use super::{Changes, Service, ServiceView};
use crate::access::Reader;
use crate::auth::csrf::{NoFields, SessionForm};
use crate::auth::{ensure, CurrentUser, Permission};
use crate::error::AppError;
use crate::state::AppState;
use crate::time::now;
use crate::web::{render_status, see_other, url_encode, Layout};

/// The catalog form's fields (a full replacement when changing a service).
#[derive(Deserialize, Default, Clone)]
pub struct ServiceForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    runbook_url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    public: Option<String>,
}

impl ServiceForm {
    fn of(s: &Service, team: Option<String>) -> Self {
        ServiceForm {
            name: s.name.clone(),
            team: team.unwrap_or_default(),
            tier: s.tier.map(|t| t.to_string()).unwrap_or_default(),
            runbook_url: s.runbook_url.clone(),
            description: s.description.clone(),
            public: s.public.then(|| "on".into()),
        }
    }

    fn changes(&self) -> Result<Changes, AppError> {
        let tier = match self.tier.trim() {
            "" => None,
            raw => Some(raw.parse::<i32>().map_err(|_| {
                AppError::invalid("tier", "tier must be a number from 1 to 4, or empty.")
            })?),
        };
        let team = Some(self.team.trim()).filter(|t| !t.is_empty());
        Ok(Changes {
            name: Some(self.name.clone()),
            team: Some(team.map(str::to_string)),
            tier: Some(tier),
            runbook_url: Some(self.runbook_url.clone()),
            description: Some(self.description.clone()),
            public: Some(self.public.is_some()),
        })
    }
}

fn path_of(name: &str) -> String {
    format!("/services/{}", url_encode(name))
}

#[derive(Template)]
#[template(path = "services/list.html")]
struct ListPage {
    layout: Layout,
    services: Vec<ServiceView>,
    teams: Vec<String>,
    admin: bool,
    error: Option<String>,
    form: ServiceForm,
}

async fn list_page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<AppError>,
    form: ServiceForm,
) -> Result<HttpResponse, AppError> {
    let reader = Reader::of(&user.user);
    let (services, teams) = state
        .db
        .read(move |conn| Ok((super::list(conn, reader)?, crate::teams::names(conn)?)))
        .await?;
    let status = match &error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    render_status(
        status,
        &ListPage {
            layout: Layout::new(user, "services", "Services"),
            services,
            teams,
            admin: user.user.role.allows(Permission::Administer),
            error: error.map(|e| e.to_string()),
            form,
        },
    )
}

/// `GET /services`
pub async fn list_services(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    list_page(&state, &user, None, ServiceForm::default()).await
}

/// `POST /services` (admins)
pub async fn create_service(
    state: web::Data<AppState>,
    form: SessionForm<ServiceForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Administer)?;
    let changes = match data.changes() {
        Ok(c) => c,
        Err(e) => return list_page(&state, &user, Some(e), data).await,
    };
    match state
        .db
        .write(move |conn| super::create(conn, changes, &actor))
        .await
    {
        Ok(s) => Ok(see_other(&path_of(&s.name))),
        Err(e) => list_page(&state, &user, Some(e.shown_on_form()?), data).await,
    }
}

#[derive(Template)]
#[template(path = "services/show.html")]
struct ShowPage {
    layout: Layout,
    service: Service,
    team: Option<String>,
    history: History,
    teams: Vec<String>,
    admin: bool,
    error: Option<String>,
    form: ServiceForm,
    rows: Vec<crate::insights::web::MonthRow>,
    overall: [String; 3],
    zone: crate::time::Zone,
}

async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    name: String,
    error: Option<AppError>,
    form: Option<ServiceForm>,
) -> Result<HttpResponse, AppError> {
    let reader = Reader::of(&user.user);
    let today = now().date();
    let (service, team, history, teams) = state
        .db
        .read(move |conn| {
            let service = super::named(conn, &name)?;
            let team = super::team_name(conn, &service)?;
            let history = page::history(conn, &service, reader, today)?;
            Ok((service, team, history, crate::teams::names(conn)?))
        })
        .await?;
    let status = match &error {
        Some(AppError::Conflict(_)) => StatusCode::CONFLICT,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let rows = crate::insights::web::month_rows(&history.months);
    render_status(
        status,
        &ShowPage {
            layout: Layout::new(user, "services", service.name.clone()),
            form: form.unwrap_or_else(|| ServiceForm::of(&service, team.clone())),
            overall: history.overall.map(crate::insights::web::show),
            rows,
            zone: user.user.zone(),
            service,
            team,
            history,
            teams,
            admin: user.user.role.allows(Permission::Administer),
            error: error.map(|e| e.to_string()),
        },
    )
}

/// `GET /services/{name}`
pub async fn show_service(
    state: web::Data<AppState>,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    show_page(&state, &user, name.into_inner(), None, None).await
}

/// `POST /services/{name}` (admins): every field as the form sends it.
pub async fn update_service(
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: SessionForm<ServiceForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    ensure(&user.user, Permission::Administer)?;
    let name = name.into_inner();
    let changes = match data.changes() {
        Ok(c) => c,
        Err(e) => return show_page(&state, &user, name, Some(e), Some(data)).await,
    };
    let looked_up = name.clone();
    match state
        .db
        .write(move |conn| {
            let id = super::named(conn, &looked_up)?.id;
            super::update(conn, id, changes, &actor)
        })
        .await
    {
        Ok(s) => Ok(see_other(&path_of(&s.name))),
        Err(e) => show_page(&state, &user, name, Some(e.shown_on_form()?), Some(data)).await,
    }
}

/// `POST /services/{name}/delete` (admins)
pub async fn delete_service(
    state: web::Data<AppState>,
    name: web::Path<String>,
    form: SessionForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, actor, .. } = form;
    ensure(&user.user, Permission::Administer)?;
    let name = name.into_inner();
    let looked_up = name.clone();
    match state
        .db
        .write(move |conn| {
            let id = super::named(conn, &looked_up)?.id;
            super::delete(conn, id, &actor)
        })
        .await
    {
        Ok(()) => Ok(see_other("/services")),
        // Still named by incidents: said on the service's page, which lists them.
        Err(e @ AppError::Conflict(_)) => show_page(&state, &user, name, Some(e), None).await,
        Err(e) => Err(e),
    }
}
