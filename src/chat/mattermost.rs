//! Mattermost: slash commands carry the command's token (compared in constant time), and
//! `GET /api/v4/users/{id}` with the bot's token gives the user's verified e-mail.

use actix_web::http::header::HeaderMap;

use super::config::MattermostConfig;
use super::slack::{field, form};
use super::{ChatPlatform, Invocation, Platform, Refused};
use crate::error::AppError;

pub struct Mattermost<'a>(pub &'a MattermostConfig);

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
        let Some(token) = &self.0.bot_token else {
            return Ok(None);
        };
        let mut url = url::Url::parse(&self.0.url).map_err(|e| e.to_string())?;
        url.path_segments_mut()
            .map_err(|_| "the Mattermost URL cannot have a path".to_string())?
            .pop_if_empty()
            .extend(["api", "v4", "users", user_id]);
        let mut res = client
            .get(url.as_str())
            .bearer_auth(token)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("users/{user_id}: HTTP {}", res.status()));
        }
        let user: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
        Ok((user["email_verified"] == true)
            .then(|| user["email"].as_str().map(str::to_string))
            .flatten())
    }
}
