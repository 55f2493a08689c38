//! Single sign-on with OpenID Connect: the authorization code flow with PKCE through the
//! `openidconnect` crate. The provider is discovered on first use (its issuer must match
//! `HINDSIGHT_OIDC_ISSUER` exactly); its keys are fetched again when an ID token is signed
//! with one not known yet (key rotation). [`flow`] has the two routes, [`accounts`] turns a
//! verified identity into a local user.

pub mod accounts;
pub mod flow;
pub mod logout;

use openidconnect::core::CoreProviderMetadata;
use openidconnect::{IssuerUrl, JsonWebKeySet};
use tokio::sync::RwLock;

use crate::auth::Role;

/// `HINDSIGHT_OIDC_*`.
#[derive(Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    client_secret: String,
    pub scopes: Vec<String>,
    pub default_role: Role,
    /// A claim holding group names (a list or one string), mapped to roles by `role_map`.
    pub role_claim: Option<String>,
    pub role_map: Vec<(String, Role)>,
    /// What the login page calls the provider.
    pub name: String,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"(hidden)")
            .finish()
    }
}

impl OidcConfig {
    /// From the environment (`var` reads one, blank as unset); `None` without an issuer.
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<OidcConfig>, String> {
        let Some(issuer) = var("HINDSIGHT_OIDC_ISSUER") else {
            return Ok(None);
        };
        IssuerUrl::new(issuer.clone())
            .map_err(|e| format!("HINDSIGHT_OIDC_ISSUER `{issuer}` is not a URL ({e})"))?;
        let client_id = var("HINDSIGHT_OIDC_CLIENT_ID")
            .ok_or("HINDSIGHT_OIDC_CLIENT_ID is required with HINDSIGHT_OIDC_ISSUER")?;
        let client_secret = var("HINDSIGHT_OIDC_CLIENT_SECRET")
            .ok_or("HINDSIGHT_OIDC_CLIENT_SECRET is required with HINDSIGHT_OIDC_ISSUER")?;
        let role = |raw: &str, name: &str| {
            raw.trim()
                .parse::<Role>()
                .map_err(|e| format!("{name}: role {e}"))
        };
        let default_role = match var("HINDSIGHT_OIDC_DEFAULT_ROLE") {
            Some(r) => role(&r, "HINDSIGHT_OIDC_DEFAULT_ROLE")?,
            None => Role::Viewer,
        };
        let role_map = var("HINDSIGHT_OIDC_ROLE_MAP")
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|pair| {
                let (group, r) = pair.split_once('=').ok_or_else(|| {
                    format!("HINDSIGHT_OIDC_ROLE_MAP: `{pair}` is not GROUP=ROLE")
                })?;
                Ok((
                    group.trim().to_string(),
                    role(r, "HINDSIGHT_OIDC_ROLE_MAP")?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let scopes = var("HINDSIGHT_OIDC_SCOPES")
            .unwrap_or_else(|| "openid profile email".into())
            .split([' ', ','])
            .filter(|s| !s.is_empty() && *s != "openid")
            .map(str::to_string)
            .collect();
        let name = var("HINDSIGHT_OIDC_NAME").unwrap_or_else(|| {
            url::Url::parse(&issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "single sign-on".into())
        });
        Ok(Some(OidcConfig {
            issuer,
            client_id,
            client_secret,
            scopes,
            default_role,
            role_claim: var("HINDSIGHT_OIDC_ROLE_CLAIM"),
            role_map,
            name,
        }))
    }

    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }
}

/// What discovery found.
#[derive(Clone)]
pub struct Provider {
    pub metadata: CoreProviderMetadata,
    /// Where the provider ends its own session (RP-initiated logout), when it says.
    pub end_session: Option<String>,
}

/// The provider as this server knows it, discovered once and kept.
pub struct Oidc {
    pub config: OidcConfig,
    pub http: openidconnect::reqwest::Client,
    provider: RwLock<Option<Provider>>,
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Result<Oidc, String> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would let a provider response send us elsewhere (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Oidc {
            config,
            http,
            provider: RwLock::new(None),
        })
    }

    /// The provider, discovered now if it was not yet.
    pub async fn provider(&self) -> Result<Provider, String> {
        if let Some(p) = self.provider.read().await.clone() {
            return Ok(p);
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| e.to_string())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| format!("cannot use the provider's discovery document: {e}"))?;
        let end_session = self.end_session_endpoint().await;
        let provider = Provider {
            metadata,
            end_session,
        };
        *self.provider.write().await = Some(provider.clone());
        Ok(provider)
    }

    /// `end_session_endpoint` is not part of core discovery: read it from the document.
    async fn end_session_endpoint(&self) -> Option<String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let body = self.http.get(url).send().await.ok()?.bytes().await.ok()?;
        let doc: serde_json::Value = serde_json::from_slice(&body).ok()?;
        doc.get("end_session_endpoint")?
            .as_str()
            .map(str::to_string)
    }

    /// Fetches the provider's keys again (an ID token named a key we did not have).
    pub async fn refresh_keys(&self) -> Result<Provider, String> {
        let mut provider = self.provider().await?;
        let keys = JsonWebKeySet::fetch_async(provider.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| format!("cannot fetch the provider's keys: {e}"))?;
        provider.metadata = provider.metadata.set_jwks(keys);
        *self.provider.write().await = Some(provider.clone());
        Ok(provider)
    }
}
