//! Mattermost: slash commands carry the command's token (compared in constant time), and
//! `GET /api/v4/users/{id}` with the bot's token gives the user's verified e-mail.

use actix_web::http::header::HeaderMap;

use super::config::MattermostConfig;
use super::slack::{field, form};
use super::{ChatPlatform, Invocation, Platform, Refused};
use crate::error::AppError;

pub struct Mattermost<'a>(pub &'a MattermostConfig);

impl Mattermost<'_> {
    /// `GET /api/v4/{path…}` with the bot token.
    async fn get(&self, client: &awc::Client, path: &[&str]) -> Result<serde_json::Value, String> {
        let token = self.0.bot_token.as_deref().ok_or("no bot token")?;
        let mut url = url::Url::parse(&self.0.url).map_err(|e| e.to_string())?;
        url.path_segments_mut()
            .map_err(|_| "the Mattermost URL cannot have a path".to_string())?
            .pop_if_empty()
            .extend(["api", "v4"])
            .extend(path);
        let mut res = client
            .get(url.as_str())
            .bearer_auth(token)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("{}: HTTP {}", path.join("/"), res.status()));
        }
        res.json().await.map_err(|e| e.to_string())
    }

    /// A post: its text, author id and time (`create_at`, milliseconds).
    pub async fn post(
        &self,
        client: &awc::Client,
        post_id: &str,
    ) -> Result<(String, String, i64), String> {
        let p = self.get(client, &["posts", post_id]).await?;
        Ok((
            p["message"].as_str().unwrap_or("").to_string(),
            p["user_id"].as_str().unwrap_or("").to_string(),
            p["create_at"].as_i64().ok_or("the post has no create_at")?,
        ))
    }

    /// A user's username, else their id.
    pub async fn name_of(&self, client: &awc::Client, user: &str) -> String {
        match self.get(client, &["users", user]).await {
            Ok(u) => u["username"].as_str().unwrap_or(user).to_string(),
            Err(_) => user.to_string(),
        }
    }

    /// A post's permalink (the server resolves the team).
    pub fn permalink(&self, post_id: &str) -> String {
        format!("{}/_redirect/pl/{post_id}", self.0.url)
    }
}

impl ChatPlatform for Mattermost<'_> {
    const PLATFORM: Platform = Platform::Mattermost;

    /// The token comes in the form (`token`) and, from newer servers, as
    /// `Authorization: Token …`; either must match. Mattermost signs nothing else, so there
    /// is no replay key.
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        _now: i64,
    ) -> Result<Option<String>, Refused> {
        let from_header = headers
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Token "))
            .map(str::to_string);
        let token = from_header.unwrap_or_else(|| field(&form(body), "token"));
        if token.is_empty() {
            return Err(Refused::Unsigned);
        }
        if crate::auth::secrets_match(&token, &self.0.command_token) {
            Ok(None)
        } else {
            Err(Refused::BadSignature)
        }
    }

    fn command(&self, body: &[u8]) -> Result<Invocation, AppError> {
        let f = form(body);
        Ok(Invocation {
            platform: Platform::Mattermost,
            user_id: field(&f, "user_id"),
            user_name: field(&f, "user_name"),
            channel_id: field(&f, "channel_id"),
            text: field(&f, "text"),
        })
    }

    async fn verified_email(
        &self,
        client: &awc::Client,
        user_id: &str,
    ) -> Result<Option<String>, String> {
        if self.0.bot_token.is_none() {
            return Ok(None);
        }
        let user = self.get(client, &["users", user_id]).await?;
        Ok((user["email_verified"] == true)
            .then(|| user["email"].as_str().map(str::to_string))
            .flatten())
    }
}
