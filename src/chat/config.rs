//! Chat settings, from the environment like the rest (one workspace or team per
//! deployment). The secrets never show in logs or on `/admin/chat`.

/// `HINDSIGHT_SLACK_*`
#[derive(Clone)]
pub struct SlackConfig {
    pub signing_secret: String,
    pub bot_token: Option<String>,
    /// `https://slack.com/api` unless told (tests point it at a stand-in).
    pub api_url: String,
    /// The reaction that pins a message to the timeline (`pushpin`).
    pub pin_emoji: String,
}

/// `HINDSIGHT_MATTERMOST_*`
#[derive(Clone)]
pub struct MattermostConfig {
    /// The server, `https://chat.example.com`.
    pub url: String,
    pub command_token: String,
    pub bot_token: Option<String>,
}

#[derive(Clone, Default)]
pub struct ChatConfig {
    pub slack: Option<SlackConfig>,
    pub mattermost: Option<MattermostConfig>,
}

impl std::fmt::Debug for ChatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatConfig")
            .field("slack", &self.slack.as_ref().map(|s| &s.api_url))
            .field("mattermost", &self.mattermost.as_ref().map(|m| &m.url))
            .finish()
    }
}

impl ChatConfig {
    /// From the variables `var` reads (set and non-blank). Slack needs its signing secret,
    /// Mattermost its URL and command token; a bot token without them is a mistake.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<ChatConfig, String> {
        let slack = match (
            var("HINDSIGHT_SLACK_SIGNING_SECRET"),
            var("HINDSIGHT_SLACK_BOT_TOKEN"),
        ) {
            (Some(signing_secret), bot_token) => Some(SlackConfig {
                signing_secret,
                bot_token,
                api_url: var("HINDSIGHT_SLACK_API_URL")
                    .unwrap_or_else(|| "https://slack.com/api".into())
                    .trim_end_matches('/')
                    .to_string(),
                pin_emoji: var("HINDSIGHT_SLACK_PIN_EMOJI")
                    .unwrap_or_else(|| "pushpin".into())
                    .trim_matches(':')
                    .to_string(),
            }),
            (None, Some(_)) => {
                return Err(
                    "HINDSIGHT_SLACK_BOT_TOKEN is set without HINDSIGHT_SLACK_SIGNING_SECRET"
                        .into(),
                )
            }
            (None, None) => None,
        };
        let mattermost = match (
            var("HINDSIGHT_MATTERMOST_URL"),
            var("HINDSIGHT_MATTERMOST_COMMAND_TOKEN"),
        ) {
            (Some(url), Some(command_token)) => {
                url::Url::parse(&url)
                    .map_err(|e| format!("HINDSIGHT_MATTERMOST_URL is not a URL ({e})"))?;
                Some(MattermostConfig {
                    url: url.trim_end_matches('/').to_string(),
                    command_token,
                    bot_token: var("HINDSIGHT_MATTERMOST_BOT_TOKEN"),
                })
            }
            (None, None) => None,
            _ => {
                return Err(
                    "Mattermost needs both HINDSIGHT_MATTERMOST_URL and HINDSIGHT_MATTERMOST_COMMAND_TOKEN"
                        .into(),
                )
            }
        };
        Ok(ChatConfig { slack, mattermost })
    }
}
