//! `/settings/time-zone`: the zone pages show your times in and read typed times in (UTC
//! until you pick one). The API, exports and the audit log stay UTC.

use actix_web::{web, HttpResponse};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;

use crate::audit::{self, Actor};
use crate::auth::csrf::SessionForm;
use crate::auth::CurrentUser;
use crate::db::schema::users;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::ids::UserId;
use crate::state::AppState;
use crate::time::{now, Zone};
use crate::web::{render_status, see_other, FormError, Layout};

#[derive(Template)]
#[template(path = "settings/time_zone.html")]
struct TimeZonePage {
    layout: Layout,
    current: String,
    zones: Vec<&'static str>,
    /// The time now in the current zone, to check the choice by.
    now_local: String,
    saved: bool,
    error: Option<String>,
}

fn page(
    user: &CurrentUser,
    saved: bool,
    error: Option<AppError>,
) -> Result<HttpResponse, AppError> {
    let error = FormError::from(error);
    let zone = user.user.zone();
    let t = now();
    let view = TimeZonePage {
        layout: Layout::new(user, "time-zone", "Your time zone"),
        current: zone.name().to_string(),
        zones: Zone::all().collect(),
        now_local: zone.in_words(t),
        saved,
        error: error.message,
    };
    render_status(error.status, &view)
}

#[derive(Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /settings/time-zone`
pub async fn time_zone_page(
    user: CurrentUser,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    page(&user, query.saved.is_some(), None)
}

#[derive(Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

/// `POST /settings/time-zone`
pub async fn set_time_zone(
    state: web::Data<AppState>,
    form: SessionForm<TimeZoneForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let Some(zone) = Zone::parse(&data.time_zone) else {
        let e = AppError::invalid(
            "time_zone",
            format!(
                "“{}” is not a time zone; pick one from the list.",
                data.time_zone.trim()
            ),
        );
        return page(&user, false, Some(e));
    };
    let id = user.user.id;
    state
        .db
        .write(move |conn| save(conn, id, zone, &actor))
        .await?;
    Ok(see_other("/settings/time-zone?saved=1"))
}

fn save(conn: &mut DbConnection, id: UserId, zone: Zone, actor: &Actor) -> Result<(), AppError> {
    crate::db::transaction(conn, |conn| {
        diesel::update(users::table.find(id))
            .set((
                users::time_zone.eq(zone.name()),
                users::updated_at.eq(now()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            audit::Action::UserTimeZone,
            "user",
            &id.to_string(),
            zone.name(),
        )
    })
}
