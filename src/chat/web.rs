//! The chat endpoints: slash commands from Slack and Mattermost (verified before anything
//! else is read, answered ephemerally: only the caller sees the answer), the page that
//! connects a chat user to a hindsight account, and `/admin/chat`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::json;

use super::commands::{self, Command, Links};
use super::mattermost::Mattermost;
use super::slack::Slack;
use super::{people, ChatPlatform, Invocation, Platform};
use crate::auth::csrf::SessionForm;
use crate::auth::{ensure, CurrentUser, Permission};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{render, render_status, Layout};

/// An answer only the caller sees (Slack and Mattermost read the same shape).
fn ephemeral(text: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({"response_type": "ephemeral", "text": text}))
}

fn refused(why: &super::Refused) -> HttpResponse {
    HttpResponse::Unauthorized()
        .json(json!({"error": {"code": "unauthorized", "message": why.message()}}))
}

/// `POST /integrations/slack/commands`
pub async fn slack_command(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(config) = state.config.chat.slack.clone() else {
        return Err(AppError::NotFound(
            "Slack integration (not configured)".into(),
        ));
    };
    command(&req, &state, &Slack(&config), &body).await
}

/// `POST /integrations/mattermost/commands`
pub async fn mattermost_command(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(config) = state.config.chat.mattermost.clone() else {
        return Err(AppError::NotFound(
            "Mattermost integration (not configured)".into(),
        ));
    };
    command(&req, &state, &Mattermost(&config), &body).await
}

/// Verifies, reads, finds who is asking and runs the command.
async fn command<P: ChatPlatform>(
    req: &HttpRequest,
    state: &AppState,
    platform: &P,
    body: &[u8],
) -> Result<HttpResponse, AppError> {
    let now = chrono::Utc::now().timestamp();
    let replay_key = match platform.verify(req.headers(), body, now) {
        Ok(key) => key,
        Err(why) => return Ok(refused(&why)),
    };
    if let Some(key) = replay_key {
        let t = crate::time::now();
        let first = state
            .db
            .write(move |conn| super::first_sight(conn, &key, t))
            .await?;
        if !first {
            return Ok(refused(&super::Refused::Replayed));
        }
    }
    let inv = platform.command(body)?;
    let (named, command) = match commands::parse(&inv.text) {
        Ok(parsed) => parsed,
        Err(hint) => return Ok(ephemeral(&hint)),
    };
    if command == Command::Help {
        return Ok(ephemeral(commands::HELP));
    }
    let Some(user) = who(state, platform, &inv).await? else {
        let (p, id, name) = (inv.platform, inv.user_id.clone(), inv.user_name.clone());
        let token = state
            .db
            .write(move |conn| people::connect_link(conn, p, &id, &name))
            .await?;
        return Ok(ephemeral(&format!(
            "Connect your {} account to hindsight first: {}/chat/connect?token={token} (sign in there; the link works for {} minutes). Then run the command again.",
            inv.platform.label(),
            state.config.base_url,
            people::LINK_FOR.num_minutes()
        )));
    };
    let base_url = state.config.base_url.clone();
    let cadence = state.config.update_cadence;
    let answer = state
        .db
        .write(move |conn| {
            let links = Links {
                base_url: &base_url,
                cadence: &cadence,
            };
            commands::run(conn, &inv, &user, named, command, &links)
        })
        .await;
    Ok(ephemeral(&match answer {
        Ok(text) => text,
        Err(e) => commands::explain(&e),
    }))
}

/// The hindsight user behind a chat user: known already, or found by the e-mail the
/// platform verified.
async fn who<P: ChatPlatform>(
    state: &AppState,
    platform: &P,
    inv: &Invocation,
) -> Result<Option<crate::auth::users::User>, AppError> {
    let (p, id) = (inv.platform, inv.user_id.clone());
    if inv.user_id.is_empty() {
        return Ok(None);
    }
    if let Some(user) = state
        .db
        .read(move |conn| people::known(conn, p, &id))
        .await?
    {
        return Ok(Some(user));
    }
    let client = awc::Client::builder().disable_redirects().finish();
    let email = match platform.verified_email(&client, &inv.user_id).await {
        Ok(email) => email,
        Err(e) => {
            tracing::info!(platform = %inv.platform, error = %e, "chat: could not look the user up");
            None
        }
    };
    let Some(email) = email else {
        return Ok(None);
    };
    let id = inv.user_id.clone();
    state
        .db
        .write(move |conn| people::by_email(conn, p, &id, &email))
        .await
}

#[derive(Template)]
#[template(path = "chat/connect.html")]
struct ConnectPage {
    layout: Layout,
    username: String,
    token: String,
    /// (platform, chat name) while the link works.
    pending: Option<(&'static str, String)>,
    connected: bool,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /chat/connect?token=`: the signed-in reader confirms the chat account is theirs.
pub async fn connect_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.token.clone();
    let pending = state
        .db
        .read(move |conn| people::pending(conn, &token))
        .await?;
    let status = if pending.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let page = ConnectPage {
        layout: Layout::new(&user, "", "Connect a chat account"),
        username: user.user.username.clone(),
        token: query.token.clone(),
        pending: pending.map(|(p, _, name)| (p.label(), name)),
        connected: false,
    };
    render_status(status, &page)
}

#[derive(Deserialize)]
pub struct ConnectForm {
    token: String,
}

/// `POST /chat/connect`
pub async fn connect(
    state: web::Data<AppState>,
    form: SessionForm<ConnectForm>,
) -> Result<HttpResponse, AppError> {
    let SessionForm { user, data, actor } = form;
    let (token, who) = (data.token.clone(), user.user.clone());
    let done = state
        .db
        .write(move |conn| people::connect(conn, &token, &who, &actor))
        .await?;
    let page = ConnectPage {
        layout: Layout::new(&user, "", "Connect a chat account"),
        username: user.user.username.clone(),
        token: String::new(),
        pending: None,
        connected: done,
    };
    render_status(
        if done {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        },
        &page,
    )
}

/// A configured platform on the admin page: its name, what is set, the endpoints to
/// register with it.
struct Configured {
    name: &'static str,
    settings: Vec<(&'static str, String)>,
    endpoints: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/chat.html")]
struct AdminPage {
    layout: Layout,
    platforms: Vec<Configured>,
    channels: i64,
    people: i64,
}

fn set(v: &Option<String>) -> String {
    if v.is_some() { "set" } else { "not set" }.to_string()
}

/// `GET /admin/chat`: what is configured (never the secrets themselves).
pub async fn admin_page(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    ensure(&user.user, Permission::Administer)?;
    let base = state.config.base_url.clone();
    let mut platforms = Vec::new();
    if let Some(s) = &state.config.chat.slack {
        platforms.push(Configured {
            name: Platform::Slack.label(),
            settings: vec![
                ("Signing secret", "set".to_string()),
                ("Bot token", set(&s.bot_token)),
                ("Web API", s.api_url.clone()),
                ("Pin reaction", format!(":{}:", s.pin_emoji)),
            ],
            endpoints: vec![format!("{base}/integrations/slack/commands")],
        });
    }
    if let Some(m) = &state.config.chat.mattermost {
        platforms.push(Configured {
            name: Platform::Mattermost.label(),
            settings: vec![
                ("Server", m.url.clone()),
                ("Command token", "set".to_string()),
                ("Bot token", set(&m.bot_token)),
            ],
            endpoints: vec![format!("{base}/integrations/mattermost/commands")],
        });
    }
    let (channels, people) = state
        .db
        .read(|conn| {
            use crate::db::schema::{chat_channels, chat_users};
            use diesel::prelude::*;
            Ok((
                chat_channels::table.count().get_result::<i64>(conn)?,
                chat_users::table.count().get_result::<i64>(conn)?,
            ))
        })
        .await?;
    render(&AdminPage {
        layout: Layout::new(&user, "admin", "Chat"),
        platforms,
        channels,
        people,
    })
}
