//! Slack: requests signed with the app's signing secret (`X-Slack-Signature` is `v0=` and
//! the HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}`), slash commands as
//! forms, and `users.info` for the e-mail Slack has confirmed.

use actix_web::http::header::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::config::SlackConfig;
use super::{ChatPlatform, Invocation, Platform, Refused, FRESH_FOR};
use crate::error::AppError;

pub struct Slack<'a>(pub &'a SlackConfig);

/// Checks a Slack signature over `body` at `now` (Unix seconds).
pub fn check_signature(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Refused::Unsigned);
    };
    let sent: i64 = timestamp.trim().parse().map_err(|_| Refused::Unsigned)?;
    if (now - sent).abs() > FRESH_FOR.num_seconds() {
        return Err(Refused::Stale);
    }
    let given = signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(Refused::BadSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| Refused::BadSignature)?;
    mac.update(b"v0:");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b":");
    mac.update(body);
    // Constant time.
    mac.verify_slice(&given).map_err(|_| Refused::BadSignature)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The fields of a form body.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub fn field(form: &[(String, String)], name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

impl Slack<'_> {
    /// A Web API method called with the bot token: its answer when `ok`.
    pub async fn call(
        &self,
        client: &awc::Client,
        method: &str,
        params: &[(&str, &str)],
    ) -> Result<serde_json::Value, String> {
        let token = self.0.bot_token.as_deref().ok_or("no bot token")?;
        let mut url =
            url::Url::parse(&format!("{}/{method}", self.0.api_url)).map_err(|e| e.to_string())?;
        url.query_pairs_mut().extend_pairs(params);
        let mut res = client
            .get(url.as_str())
            .bearer_auth(token)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
        if body["ok"] != true {
            return Err(format!("{method}: {}", body["error"]));
        }
        Ok(body)
    }

    /// A message's permalink (`chat.getPermalink`), if Slack gives one.
    pub async fn permalink(&self, client: &awc::Client, channel: &str, ts: &str) -> Option<String> {
        self.call(
            client,
            "chat.getPermalink",
            &[("channel", channel), ("message_ts", ts)],
        )
        .await
        .ok()?["permalink"]
            .as_str()
            .map(str::to_string)
    }

    /// A reacted-to message (`reactions.get`, which `reactions:read` allows): its text and
    /// author's id.
    pub async fn reacted_message(
        &self,
        client: &awc::Client,
        channel: &str,
        ts: &str,
    ) -> Result<(String, String), String> {
        let body = self
            .call(
                client,
                "reactions.get",
                &[("channel", channel), ("timestamp", ts), ("full", "true")],
            )
            .await?;
        let m = &body["message"];
        Ok((
            m["text"].as_str().unwrap_or("").to_string(),
            m["user"].as_str().unwrap_or("").to_string(),
        ))
    }

    /// A user's display name (`users.info`), else their id.
    pub async fn name_of(&self, client: &awc::Client, user: &str) -> String {
        match self.call(client, "users.info", &[("user", user)]).await {
            Ok(body) => body["user"]["name"].as_str().unwrap_or(user).to_string(),
            Err(_) => user.to_string(),
        }
    }
}

impl ChatPlatform for Slack<'_> {
    const PLATFORM: Platform = Platform::Slack;

    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Option<String>, Refused> {
        let signature = header(headers, "X-Slack-Signature");
        check_signature(
            &self.0.signing_secret,
            header(headers, "X-Slack-Request-Timestamp"),
            signature,
            body,
            now,
        )?;
        // The signature covers the timestamp and the body: the same request again has it too.
        Ok(signature.map(|s| format!("slack:{s}")))
    }

    fn command(&self, body: &[u8]) -> Result<Invocation, AppError> {
        let f = form(body);
        Ok(Invocation {
            platform: Platform::Slack,
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
        let body = self
            .call(client, "users.info", &[("user", user_id)])
            .await?;
        let user = &body["user"];
        Ok((user["is_email_confirmed"] == true)
            .then(|| user["profile"]["email"].as_str().map(str::to_string))
            .flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example in Slack's "Verifying requests from Slack".
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_own_example_verifies() {
        let at = 1531420618 + 60;
        let check = |secret, ts, sig, body: &str, now| {
            check_signature(secret, ts, sig, body.as_bytes(), now)
        };
        assert_eq!(
            check(SECRET, Some(TIMESTAMP), Some(SIGNATURE), BODY, at),
            Ok(())
        );
        let tampered = BODY.replace("roadrunner", "coyote");
        assert_eq!(
            check(SECRET, Some(TIMESTAMP), Some(SIGNATURE), &tampered, at),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            check("another secret", Some(TIMESTAMP), Some(SIGNATURE), BODY, at),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            check(SECRET, Some(TIMESTAMP), Some(SIGNATURE), BODY, at + 10 * 60),
            Err(Refused::Stale)
        );
        assert_eq!(
            check(SECRET, Some(TIMESTAMP), None, BODY, at),
            Err(Refused::Unsigned)
        );
        assert_eq!(
            check(SECRET, Some(TIMESTAMP), Some("v0=zz"), BODY, at),
            Err(Refused::BadSignature)
        );
    }
}
