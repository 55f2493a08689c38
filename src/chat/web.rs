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

/// Checks a request is the platform's and new: `Some(401 answer)` when it is not.
async fn refusal<P: ChatPlatform>(
    req: &HttpRequest,
    state: &AppState,
    platform: &P,
    body: &[u8],
) -> Result<Option<HttpResponse>, AppError> {
    let now = chrono::Utc::now().timestamp();
    let replay_key = match platform.verify(req.headers(), body, now) {
        Ok(key) => key,
        Err(why) => return Ok(Some(refused(&why))),
    };
    if let Some(key) = replay_key {
        let t = crate::time::now();
        let first = state
            .db
            .write(move |conn| super::first_sight(conn, &key, t))
            .await?;
        if !first {
            return Ok(Some(refused(&super::Refused::Replayed)));
        }
    }
    Ok(None)
}

/// The answer to someone not connected yet: the one-time link.
async fn connect_first(state: &AppState, inv: &Invocation) -> Result<String, AppError> {
    let (p, id, name) = (inv.platform, inv.user_id.clone(), inv.user_name.clone());
    let token = state
        .db
        .write(move |conn| people::connect_link(conn, p, &id, &name))
        .await?;
    Ok(format!(
        "Connect your {} account to hindsight first: {}/chat/connect?token={token} (sign in there; the link works for {} minutes). Then run the command again.",
        inv.platform.label(),
        state.config.base_url,
        people::LINK_FOR.num_minutes()
    ))
}

/// Verifies, reads, finds who is asking and runs the command.
async fn command<P: ChatPlatform>(
    req: &HttpRequest,
    state: &AppState,
    platform: &P,
    body: &[u8],
) -> Result<HttpResponse, AppError> {
    if let Some(no) = refusal(req, state, platform, body).await? {
        return Ok(no);
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
        return Ok(ephemeral(&connect_first(state, &inv).await?));
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

/// Pins `message` as the person `by` (mapped first): the answer's text.
async fn pin_as<P: ChatPlatform>(
    state: &AppState,
    platform: &P,
    by: &Invocation,
    message: super::pin::Message,
) -> Result<String, AppError> {
    let Some(user) = who(state, platform, by).await? else {
        return connect_first(state, by).await;
    };
    let base = state.config.base_url.clone();
    let added = state
        .db
        .write(move |conn| super::pin::add(conn, &message, &user, &base))
        .await;
    Ok(match added {
        Ok(text) => text,
        Err(e) => commands::explain(&e),
    })
}

/// `POST /integrations/slack/interactions`: the message shortcut "Add to incident
/// timeline" (`callback_id` `add_to_timeline`). The answer goes to the shortcut's
/// `response_url` (Slack shows it to the caller alone) and is also the response's body.
pub async fn slack_interaction(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(config) = state.config.chat.slack.clone() else {
        return Err(AppError::NotFound(
            "Slack integration (not configured)".into(),
        ));
    };
    let slack = Slack(&config);
    if let Some(no) = refusal(&req, &state, &slack, &body).await? {
        return Ok(no);
    }
    let payload: serde_json::Value =
        serde_json::from_str(&super::slack::field(&super::slack::form(&body), "payload"))
            .map_err(|_| AppError::BadRequest("The interaction has no JSON payload.".into()))?;
    if payload["callback_id"] != "add_to_timeline" {
        return Ok(HttpResponse::Ok().finish());
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let by = Invocation {
        platform: Platform::Slack,
        user_id: text(&payload["user"]["id"]),
        user_name: text(&payload["user"]["name"]),
        channel_id: text(&payload["channel"]["id"]),
        text: String::new(),
    };
    let m = &payload["message"];
    let ts = text(&m["ts"]);
    let at = super::pin::slack_time(&ts)
        .ok_or_else(|| AppError::BadRequest("The message has no time (`ts`).".into()))?;
    let client = awc::Client::builder().disable_redirects().finish();
    let author_id = text(&m["user"]);
    let author_name = match m["user_profile"]["name"].as_str() {
        Some(name) => name.to_string(),
        None => slack.name_of(&client, &author_id).await,
    };
    let message = super::pin::Message {
        platform: Platform::Slack,
        channel_id: by.channel_id.clone(),
        permalink: slack.permalink(&client, &by.channel_id, &ts).await,
        id: ts,
        at,
        text: text(&m["text"]),
        author_id,
        author_name,
    };
    let answer = pin_as(&state, &slack, &by, message).await?;
    if let Some(url) = payload["response_url"].as_str() {
        let sent = client
            .post(url)
            .timeout(std::time::Duration::from_secs(5))
            .send_json(&json!({"response_type": "ephemeral", "text": answer}))
            .await;
        if let Err(e) = sent {
            tracing::info!(error = %e, "chat: could not answer the shortcut");
        }
    }
    Ok(ephemeral(&answer))
}

/// `POST /integrations/slack/events`: the Events API. Answers the `url_verification`
/// challenge; a `reaction_added` with the pin emoji on a message in a linked channel
/// pins that message as whoever reacted. Each event is handled once (Slack retries with
/// `X-Slack-Retry-Num` carry the same `event_id`); the answer is always a quick 200.
pub async fn slack_event(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(config) = state.config.chat.slack.clone() else {
        return Err(AppError::NotFound(
            "Slack integration (not configured)".into(),
        ));
    };
    let slack = Slack(&config);
    let now = chrono::Utc::now().timestamp();
    if let Err(why) = slack.verify(req.headers(), &body, now) {
        return Ok(refused(&why));
    }
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| AppError::BadRequest("The event is not JSON.".into()))?;
    if v["type"] == "url_verification" {
        return Ok(HttpResponse::Ok().json(json!({"challenge": v["challenge"]})));
    }
    let event_id = v["event_id"].as_str().unwrap_or("").to_string();
    let e = &v["event"];
    let wanted = v["type"] == "event_callback"
        && !event_id.is_empty()
        && e["type"] == "reaction_added"
        && e["reaction"].as_str() == Some(config.pin_emoji.as_str())
        && e["item"]["type"] == "message";
    if !wanted {
        return Ok(HttpResponse::Ok().finish());
    }
    let t = crate::time::now();
    let key = format!("slack-event:{event_id}");
    if !state
        .db
        .write(move |conn| super::first_sight(conn, &key, t))
        .await?
    {
        return Ok(HttpResponse::Ok().finish());
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let (channel, ts) = (text(&e["item"]["channel"]), text(&e["item"]["ts"]));
    let Some(at) = super::pin::slack_time(&ts) else {
        return Ok(HttpResponse::Ok().finish());
    };
    let client = awc::Client::builder().disable_redirects().finish();
    let (message_text, author_id) = match slack.reacted_message(&client, &channel, &ts).await {
        Ok(found) => found,
        Err(err) => {
            tracing::info!(error = %err, "chat: could not read the pinned message");
            return Ok(HttpResponse::Ok().finish());
        }
    };
    let by = Invocation {
        platform: Platform::Slack,
        user_id: text(&e["user"]),
        user_name: text(&e["user"]),
        channel_id: channel.clone(),
        text: String::new(),
    };
    let message = super::pin::Message {
        platform: Platform::Slack,
        author_name: slack.name_of(&client, &author_id).await,
        permalink: slack.permalink(&client, &channel, &ts).await,
        channel_id: channel,
        id: ts,
        at,
        text: message_text,
        author_id,
    };
    let answer = pin_as(&state, &slack, &by, message).await?;
    tracing::info!(answer = %answer, "chat: pin reaction");
    Ok(HttpResponse::Ok().finish())
}

/// `POST /integrations/mattermost/actions`: a message action "Add to incident timeline".
/// Mattermost signs nothing here, so the action's `context` carries the command token
/// (compared in constant time); the post itself is read back with the bot token, so its
/// text, author and time come from the server, not from the request.
pub async fn mattermost_action(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let Some(config) = state.config.chat.mattermost.clone() else {
        return Err(AppError::NotFound(
            "Mattermost integration (not configured)".into(),
        ));
    };
    let mm = Mattermost(&config);
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| AppError::BadRequest("The action is not JSON.".into()))?;
    let token = v["context"]["token"].as_str().unwrap_or("");
    if token.is_empty() {
        return Ok(refused(&super::Refused::Unsigned));
    }
    if !crate::auth::secrets_match(token, &config.command_token) {
        return Ok(refused(&super::Refused::BadSignature));
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let by = Invocation {
        platform: Platform::Mattermost,
        user_id: text(&v["user_id"]),
        user_name: text(&v["user_name"]),
        channel_id: text(&v["channel_id"]),
        text: String::new(),
    };
    let post_id = text(&v["post_id"]);
    let client = awc::Client::builder().disable_redirects().finish();
    let (message_text, author_id, millis) = mm
        .post(&client, &post_id)
        .await
        .map_err(|e| AppError::BadRequest(format!("The post could not be read: {e}")))?;
    let at = chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.naive_utc())
        .ok_or_else(|| AppError::BadRequest("The post has no time.".into()))?;
    let message = super::pin::Message {
        platform: Platform::Mattermost,
        channel_id: by.channel_id.clone(),
        author_name: mm.name_of(&client, &author_id).await,
        permalink: Some(mm.permalink(&post_id)),
        id: post_id,
        at,
        text: message_text,
        author_id,
    };
    let answer = pin_as(&state, &mm, &by, message).await?;
    Ok(HttpResponse::Ok().json(json!({"ephemeral_text": answer})))
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
