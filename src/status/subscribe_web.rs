//! The subscriber pages, outside sign-in: subscribe (`/status/subscribe`), confirm the
//! link a mail carried (`/status/confirm`), choose components (`/status/manage`) and
//! unsubscribe (`/status/unsubscribe`, also the RFC 8058 one-click target). The cached
//! status page links here: these pages carry a CSRF token, so they are never cached.
//! A subscription's token (from its mails) is what proves the reader may change it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::subscribers::{self, Subscription};
use crate::auth::csrf::{pre_session_token, PublicForm};
use crate::auth::extract::client_ip;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    Subscribe,
    Sent,
    Confirm,
    Confirmed,
    Manage,
    Unsubscribe,
    Unsubscribed,
    Invalid,
}

#[derive(Template)]
#[template(path = "status/subscription.html")]
struct View {
    page_title: String,
    step: Step,
    csrf: String,
    token: String,
    email: String,
    /// Every component, and whether it is chosen.
    components: Vec<(String, bool)>,
    error: Option<String>,
    notice: Option<String>,
}

impl View {
    fn is(&self, step: Step) -> bool {
        self.step == step
    }

    /// The chosen components, as a list to read ("" for the whole page).
    fn chosen(&self) -> String {
        let names: Vec<&str> = self
            .components
            .iter()
            .filter(|c| c.1)
            .map(|c| c.0.as_str())
            .collect();
        names.join(", ")
    }
}

/// The page's title and component names; 404 while the page is off.
async fn page(state: &AppState) -> Result<(String, Vec<String>), AppError> {
    state
        .db
        .read(|conn| {
            let settings = super::settings(conn)?;
            if !settings.enabled {
                return Err(AppError::NotFound("status page".into()));
            }
            use crate::db::schema::services;
            use diesel::prelude::*;
            let names = services::table
                .filter(services::public.eq(true))
                .order(services::name.asc())
                .select(services::name)
                .load::<String>(conn)?;
            Ok((settings.title, names))
        })
        .await
}

/// What a page shows beside its step.
#[derive(Default)]
struct Shown<'a> {
    token: &'a str,
    subscription: Option<&'a Subscription>,
    /// Components ticked when there is no subscription yet (a form shown again).
    chosen: &'a [String],
    email: &'a str,
    error: Option<AppError>,
    notice: Option<&'static str>,
}

async fn show(
    req: &HttpRequest,
    state: &AppState,
    step: Step,
    shown: Shown<'_>,
) -> Result<HttpResponse, AppError> {
    let (page_title, names) = page(state).await?;
    let (csrf, cookie) = pre_session_token(req, state.config.secure_cookies);
    let chosen: &[String] = shown
        .subscription
        .map(|s| s.components.as_slice())
        .unwrap_or(shown.chosen);
    let status = match (&shown.error, step) {
        (Some(_), _) => StatusCode::UNPROCESSABLE_ENTITY,
        (None, Step::Invalid) => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    let view = View {
        page_title,
        step,
        csrf,
        token: shown.token.to_string(),
        email: shown
            .subscription
            .map(|s| s.subscriber.email.as_str())
            .unwrap_or(shown.email)
            .to_string(),
        components: names
            .into_iter()
            .map(|n| {
                let on = chosen.iter().any(|c| c.eq_ignore_ascii_case(&n));
                (n, on)
            })
            .collect(),
        error: shown.error.map(|e| e.public_message()),
        notice: shown.notice.map(str::to_string),
    };
    let mut res = crate::web::render_status(status, &view)?;
    if let Some(c) = cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

/// `email` and the repeated `components` of a form.
fn fields(form: &[(String, String)]) -> (String, Vec<String>, String) {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let components = form
        .iter()
        .filter(|(n, _)| n == "components")
        .map(|(_, v)| v.clone())
        .collect();
    (get("email"), components, get("token"))
}

/// `GET /status/subscribe`
pub async fn subscribe_page(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    show(&req, &state, Step::Subscribe, Shown::default()).await
}

/// `POST /status/subscribe`: the same answer whatever the address.
pub async fn subscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PublicForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (email, components, _) = fields(&form.0);
    let (title, _) = page(&state).await?;
    let ip = client_ip(&req);
    let asked = {
        let (email, components) = (email.clone(), components.clone());
        state
            .db
            .write(move |conn| subscribers::request(conn, &email, &components, &ip, &title))
            .await
    };
    match asked {
        Ok(()) => show(&req, &state, Step::Sent, Shown::default()).await,
        Err(e) => {
            let shown = Shown {
                chosen: &components,
                email: &email,
                error: Some(e.shown_on_form()?),
                ..Shown::default()
            };
            show(&req, &state, Step::Subscribe, shown).await
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn subscription_of(state: &AppState, token: &str) -> Result<Option<Subscription>, AppError> {
    let token = token.to_string();
    state
        .db
        .read(move |conn| subscribers::subscription(conn, &token))
        .await
}

async fn invalid(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, AppError> {
    show(req, state, Step::Invalid, Shown::default()).await
}

/// The page for `step` about the subscription `token` names.
async fn about(
    req: &HttpRequest,
    state: &AppState,
    step: Step,
    token: &str,
    s: &Subscription,
    notice: Option<&'static str>,
) -> Result<HttpResponse, AppError> {
    let shown = Shown {
        token,
        subscription: Some(s),
        notice,
        ..Shown::default()
    };
    show(req, state, step, shown).await
}

/// `GET /status/confirm?token=`: a button, not the confirmation itself (mail scanners
/// open links; a person presses the button).
pub async fn confirm_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    match subscription_of(&state, &query.token).await? {
        None => invalid(&req, &state).await,
        Some(s) => {
            let step = if s.subscriber.confirmed_at.is_some() {
                Step::Confirmed
            } else {
                Step::Confirm
            };
            about(&req, &state, step, &query.token, &s, None).await
        }
    }
}

/// `POST /status/confirm`
pub async fn confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PublicForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (_, _, token) = fields(&form.0);
    let t = token.clone();
    let done = state
        .db
        .write(move |conn| subscribers::confirm(conn, &t))
        .await?;
    match (done, subscription_of(&state, &token).await?) {
        (Some(_), Some(s)) => about(&req, &state, Step::Confirmed, &token, &s, None).await,
        _ => invalid(&req, &state).await,
    }
}

/// `GET /status/manage?token=`
pub async fn manage_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    match subscription_of(&state, &query.token).await? {
        None => invalid(&req, &state).await,
        Some(s) => about(&req, &state, Step::Manage, &query.token, &s, None).await,
    }
}

/// `POST /status/manage`: the components chosen (none = the whole page).
pub async fn manage(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PublicForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (_, components, token) = fields(&form.0);
    let (t, c) = (token.clone(), components.clone());
    let chosen = state
        .db
        .write(move |conn| subscribers::choose(conn, &t, &c))
        .await;
    match chosen {
        Ok(None) => invalid(&req, &state).await,
        Ok(Some(s)) => about(&req, &state, Step::Manage, &token, &s, Some("Saved.")).await,
        Err(e) => {
            let error = Some(e.shown_on_form()?);
            let s = subscription_of(&state, &token).await?;
            let shown = Shown {
                token: &token,
                subscription: s.as_ref(),
                error,
                ..Shown::default()
            };
            show(&req, &state, Step::Manage, shown).await
        }
    }
}

/// `GET /status/unsubscribe?token=`: the button (the mail's own link lands here).
pub async fn unsubscribe_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    match subscription_of(&state, &query.token).await? {
        Some(s) => about(&req, &state, Step::Unsubscribe, &query.token, &s, None).await,
        None => show(&req, &state, Step::Unsubscribed, Shown::default()).await,
    }
}

/// `POST /status/unsubscribe?token=`: the RFC 8058 one-click unsubscribe, which mail
/// clients send without cookies — so no CSRF token: the unguessable token in the URL is
/// what authorizes it, and a forged request could only unsubscribe a subscription whose
/// token the forger already holds. Unsubscribed or never subscribed: the same answer.
pub async fn unsubscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.token.clone();
    state
        .db
        .write(move |conn| subscribers::unsubscribe(conn, &token))
        .await?;
    show(&req, &state, Step::Unsubscribed, Shown::default()).await
}
