//! Logout of a single sign-on session: the provider's session ends too, when it offers
//! RP-initiated logout.

use crate::state::AppState;

/// Where logout sends the browser: the provider's end-session endpoint (with the ID token
/// as a hint and back to our sign-in page) when it has one, else our sign-in page.
pub async fn target(state: &AppState, id_token: Option<String>) -> String {
    let (Some(oidc), Some(hint)) = (state.oidc.as_deref(), id_token) else {
        return "/login".into();
    };
    let Ok(provider) = oidc.provider().await else {
        return "/login".into();
    };
    match provider.end_session.and_then(|e| url::Url::parse(&e).ok()) {
        Some(mut url) => {
            url.query_pairs_mut()
                .append_pair("id_token_hint", &hint)
                .append_pair("client_id", &oidc.config.client_id)
                .append_pair(
                    "post_logout_redirect_uri",
                    &format!("{}/login", state.config.base_url),
                );
            url.to_string()
        }
        None => "/login".into(),
    }
}
