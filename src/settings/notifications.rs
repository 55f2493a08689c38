//! `/settings/notifications`: your e-mail address and, per kind of notification, whether it
//! reaches your inbox, your e-mail, both, or neither.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::SessionForm;
use crate::auth::{users, CurrentUser};
use crate::error::AppError;
use crate::notifications::prefs::{self, Channel};
use crate::notifications::NotificationKind;
use crate::state::AppState;
use crate::web::{render_status, see_other, FormError, Layout};

pub struct KindRow {
    pub kind: &'static str,
    pub label: &'static str,
    pub current: Channel,
    pub offered: Vec<Channel>,
}

#[derive(Template)]
#[template(path = "settings/notifications.html")]
struct PrefsPage {
    layout: Layout,
    email: String,
    rows: Vec<KindRow>,
    mail_on: bool,
    saved: bool,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    saved: bool,
    error: Option<AppError>,
) -> Result<HttpResponse, AppError> {
    let id = user.user.id;
    let (me, choices) = state
        .db
        .read(move |conn| Ok((users::find(conn, id)?, prefs::of_user(conn, id)?)))
        .await?;
    let error = FormError::from(error);
    let view = PrefsPage {
        layout: Layout::new(user, "notifications", "Notification settings"),
        email: me.email.unwrap_or_default(),
        rows: choices
            .into_iter()
            .map(|(kind, current)| KindRow {
                kind: kind.as_str(),
                label: kind.label(),
                current,
                offered: Channel::offered(kind),
            })
            .collect(),
        mail_on: state.config.mail.is_some(),
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

/// `GET /settings/notifications`
pub async fn prefs_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    page(&state, &user, query.saved.is_some(), None).await
}

/// Reads `{kind: channel}` pairs, naming the first unknown kind or channel.
pub fn parse_choices(
    raw: &HashMap<String, String>,
) -> Result<Vec<(NotificationKind, Channel)>, AppError> {
    let mut out = Vec::new();
    for (key, value) in raw {
        let Ok(kind) = key.parse::<NotificationKind>() else {
            continue;
        };
        let channel = value.parse::<Channel>().map_err(|_| {
            AppError::invalid(
                key,
                format!(
                    "`{value}` is not a channel; use one of {}.",
                    Channel::expected()
                ),
            )
        })?;
        out.push((kind, channel));
    }
    Ok(out)
}

/// `POST /settings/notifications`: the address and one `<kind>=<channel>` per kind.
pub async fn save_prefs(
    state: web::Data<AppState>,
    form: SessionForm<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let id = user.user.id;
    let result = async {
        let choices = parse_choices(&data)?;
        let email = data.get("email").cloned().unwrap_or_default();
        state
            .db
            .write(move |conn| {
                users::set_email(conn, id, &email, &actor)?;
                prefs::set(conn, id, &choices)
            })
            .await
    }
    .await;
    match result {
        Ok(()) => Ok(see_other("/settings/notifications?saved=1")),
        Err(e) => page(&state, &user, false, Some(e.shown_on_form()?)).await,
    }
}
