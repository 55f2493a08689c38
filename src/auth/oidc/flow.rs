//! `GET /auth/oidc/start` and `GET /auth/oidc/callback`.
//!
//! Start keeps `state`, the nonce and the PKCE verifier in `oidc_logins` with the hash of a
//! random value it puts in a cookie (path `/auth/oidc`, ten minutes), then sends the browser
//! to the provider. The callback takes that row (deleting it: a state works once), checks the
//! cookie (the sign-in must finish in the browser that started it), exchanges the code with
//! the verifier, and has the ID token checked (signature with the provider's keys, issuer,
//! audience, expiry, nonce). Any failure shows the sign-in page with what went wrong and
//! starts no session.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::accounts::{self, Identity};
use super::{Oidc, Provider};
use crate::audit::{self, Actor};
use crate::auth::extract::{self, client_ip, safe_next, user_agent};
use crate::auth::session;
use crate::db::schema::oidc_logins;
use crate::error::AppError;
use crate::state::AppState;
use crate::time::now;

const COOKIE: &str = "hindsight_oidc";
/// How long a sign-in may take at the provider.
const WINDOW: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

fn hash(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

fn client(oidc: &Oidc, provider: &Provider, base_url: &str) -> Result<OidcClient, String> {
    let redirect = RedirectUrl::new(format!("{base_url}/auth/oidc/callback"))
        .map_err(|e| format!("HINDSIGHT_BASE_URL does not make a callback URL: {e}"))?;
    Ok(CoreClient::from_provider_metadata(
        provider.metadata.clone(),
        ClientId::new(oidc.config.client_id.clone()),
        Some(ClientSecret::new(oidc.config.client_secret().to_string())),
    )
    .set_redirect_uri(redirect))
}

type OidcClient = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The sign-in page with `message` and no session.
async fn refused(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    message: String,
) -> Result<HttpResponse, AppError> {
    tracing::info!(%message, "single sign-on refused");
    let mut res = crate::auth::web::login_page_with(req, state, status, Some(message), "/".into())?;
    let _ = res.add_cookie(&forget_browser());
    Ok(res)
}

/// Clears the sign-in's browser cookie (the sign-in is over, one way or the other).
fn forget_browser() -> Cookie<'static> {
    let mut gone = Cookie::build(COOKIE, "").path("/auth/oidc").finish();
    gone.make_removal();
    gone
}

fn oidc(state: &AppState) -> Result<&Oidc, AppError> {
    state
        .oidc
        .as_deref()
        .ok_or_else(|| AppError::NotFound("single sign-on (not configured)".into()))
}

/// `GET /auth/oidc/start?next=/path`
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, AppError> {
    let oidc = oidc(&state)?;
    let provider = match oidc.provider().await {
        Ok(p) => p,
        Err(e) => {
            let message = format!("Sign-in with {} is not available: {e}", oidc.config.name);
            return refused(&req, &state, StatusCode::BAD_GATEWAY, message).await;
        }
    };
    let client = client(oidc, &provider, &state.config.base_url).map_err(AppError::unexpected)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in &oidc.config.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();
    let browser = crate::auth::random_token(32);
    let next = safe_next(query.next.as_deref());
    let row = (
        oidc_logins::state.eq(csrf.secret().clone()),
        oidc_logins::browser_hash.eq(hash(&browser)),
        oidc_logins::nonce.eq(nonce.secret().clone()),
        oidc_logins::pkce_verifier.eq(verifier.secret().clone()),
        oidc_logins::next.eq(next),
        oidc_logins::created_at.eq(now()),
    );
    state
        .db
        .write(move |conn| {
            // Old, unfinished sign-ins go as new ones come.
            diesel::delete(oidc_logins::table.filter(oidc_logins::created_at.lt(now() - WINDOW)))
                .execute(conn)?;
            diesel::insert_into(oidc_logins::table)
                .values(row)
                .execute(conn)?;
            Ok(())
        })
        .await?;
    let cookie = Cookie::build(COOKIE, browser)
        .path("/auth/oidc")
        .http_only(true)
        // The provider sends the browser back with a top-level GET: Lax lets the cookie come.
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies)
        .max_age(CookieDuration::seconds(WINDOW.num_seconds()))
        .finish();
    let mut res = crate::web::see_other(url.as_str());
    let _ = res.add_cookie(&cookie);
    Ok(res)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Queryable)]
struct Pending {
    browser_hash: String,
    nonce: String,
    pkce_verifier: String,
    next: String,
    created_at: NaiveDateTime,
}

/// Why an ID token was refused, in words.
fn describe(e: &ClaimsVerificationError) -> String {
    match e {
        ClaimsVerificationError::Expired(_) => "the provider's ID token has expired".into(),
        ClaimsVerificationError::InvalidAudience(_) => {
            "the ID token is meant for another application (audience)".into()
        }
        ClaimsVerificationError::InvalidIssuer(_) => {
            "the ID token comes from another issuer".into()
        }
        ClaimsVerificationError::InvalidNonce(_) => {
            "the ID token does not belong to this sign-in (nonce)".into()
        }
        ClaimsVerificationError::SignatureVerification(_) => {
            "the ID token's signature does not match the provider's keys".into()
        }
        other => format!("the ID token is not valid ({other})"),
    }
}

/// The value of `claim` in a verified token's payload, as a list of strings.
fn groups_of(token: &CoreIdToken, claim: &str) -> Option<Vec<String>> {
    use base64::Engine;
    let raw = token.to_string();
    let payload = raw.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    match json.get(claim)? {
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        serde_json::Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// Why a callback stopped: the provider's answer is refused (said to the person, nothing
/// signed in), or something failed on our side.
enum Stop {
    Refused(StatusCode, String),
    Failed(AppError),
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        Stop::Failed(e)
    }
}

fn refuse<T>(status: StatusCode, why: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Refused(status, why.into()))
}

/// `GET /auth/oidc/callback`
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    let oidc = oidc(&state)?;
    let fail = |status: StatusCode, why: String| {
        let name = &oidc.config.name;
        let message =
            format!("Sign-in with {name} failed: {why}. Nothing was signed in; start again.");
        refused(&req, &state, status, message)
    };
    let signed_in = async {
        let (code, pending) = pending_login(&req, &state, &query).await?;
        let next = pending.next.clone();
        let (identity, raw_token) = verified_identity(oidc, &state, code, pending).await?;
        let (ip, agent) = (client_ip(&req), user_agent(&req));
        let config = oidc.config.clone();
        let token = state
            .db
            .write(move |conn| {
                let user = accounts::sign_in(conn, &config, &identity, &ip)?;
                let token = session::start_with(conn, user.id, &ip, &agent, Some(&raw_token))?;
                let actor = Actor::user(&user, &ip);
                audit::record(
                    conn,
                    &actor,
                    audit::Action::SessionLogin,
                    "user",
                    &user.username,
                    "single sign-on",
                )?;
                Ok(token)
            })
            .await
            .map_err(|e| match e {
                AppError::Forbidden(m) => Stop::Refused(StatusCode::FORBIDDEN, m),
                other => Stop::Failed(other),
            })?;
        Ok::<_, Stop>((token, next))
    }
    .await;
    match signed_in {
        Ok((token, next)) => {
            let mut res = crate::web::see_other(&next);
            let _ = res.add_cookie(&extract::session_cookie(token, state.config.secure_cookies));
            let _ = res.add_cookie(&forget_browser());
            Ok(res)
        }
        Err(Stop::Refused(status, why)) => fail(status, why).await,
        Err(Stop::Failed(e)) => Err(e),
    }
}

/// The code and the sign-in it answers: the state works once, in the browser that started
/// it, within ten minutes.
async fn pending_login(
    req: &HttpRequest,
    state: &AppState,
    query: &CallbackQuery,
) -> Result<(String, Pending), Stop> {
    if let Some(error) = &query.error {
        let detail = query.error_description.clone().unwrap_or_default();
        return refuse(
            StatusCode::UNAUTHORIZED,
            format!("the provider answered {error} {detail}"),
        );
    }
    let (Some(code), Some(st)) = (query.code.clone(), query.state.clone()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the provider's answer has no code or state",
        );
    };
    // The state works once, whatever happens next.
    let pending: Option<Pending> = state
        .db
        .write(move |conn| {
            let row = oidc_logins::table
                .find(&st)
                .select((
                    oidc_logins::browser_hash,
                    oidc_logins::nonce,
                    oidc_logins::pkce_verifier,
                    oidc_logins::next,
                    oidc_logins::created_at,
                ))
                .first::<Pending>(conn)
                .optional()?;
            diesel::delete(oidc_logins::table.find(&st)).execute(conn)?;
            Ok(row)
        })
        .await?;
    let Some(pending) = pending else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "this sign-in is unknown or was used already (state)",
        );
    };
    let browser = req
        .cookie(COOKIE)
        .map(|c| hash(c.value()))
        .unwrap_or_default();
    let same_browser: bool =
        subtle::ConstantTimeEq::ct_eq(browser.as_bytes(), pending.browser_hash.as_bytes()).into();
    if !same_browser {
        return refuse(StatusCode::BAD_REQUEST, "it was started in another browser");
    }
    if now() - pending.created_at > WINDOW {
        return refuse(StatusCode::BAD_REQUEST, "it took longer than ten minutes");
    }
    Ok((code, pending))
}

/// Trades the code for an ID token and checks it (signature, issuer, audience, nonce; keys
/// fetched again once when the provider has rotated them): who signed in, and the raw token
/// (kept for sign-out at the provider).
async fn verified_identity(
    oidc: &Oidc,
    state: &AppState,
    code: String,
    pending: Pending,
) -> Result<(Identity, String), Stop> {
    let provider = match oidc.provider().await {
        Ok(p) => p,
        Err(e) => return refuse(StatusCode::BAD_GATEWAY, e),
    };
    let c = client(oidc, &provider, &state.config.base_url).map_err(AppError::unexpected)?;
    let exchanged = match c.exchange_code(AuthorizationCode::new(code)) {
        Ok(request) => {
            request
                .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
                .request_async(&oidc.http)
                .await
        }
        Err(e) => return refuse(StatusCode::BAD_GATEWAY, format!("no token endpoint ({e})")),
    };
    let tokens = match exchanged {
        Ok(t) => t,
        Err(e) => {
            let why =
                format!("the provider did not accept the code (used already or expired?): {e}");
            return refuse(StatusCode::UNAUTHORIZED, why);
        }
    };
    let Some(id_token) = tokens.id_token().cloned() else {
        return refuse(StatusCode::UNAUTHORIZED, "the provider sent no ID token");
    };
    let nonce = Nonce::new(pending.nonce);
    let claims = match id_token.claims(&c.id_token_verifier(), &nonce) {
        Ok(claims) => Ok(claims.clone()),
        // A key we do not have yet: the provider may have rotated its keys.
        Err(ClaimsVerificationError::SignatureVerification(_)) => match oidc.refresh_keys().await {
            Ok(fresh) => {
                let c =
                    client(oidc, &fresh, &state.config.base_url).map_err(AppError::unexpected)?;
                let verified = id_token.claims(&c.id_token_verifier(), &nonce).cloned();
                verified
            }
            Err(e) => return refuse(StatusCode::BAD_GATEWAY, e),
        },
        Err(e) => Err(e),
    };
    let claims = match claims {
        Ok(c) => c,
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, describe(&e)),
    };
    let identity = Identity {
        subject: format!("{}|{}", oidc.config.issuer, claims.subject().as_str()),
        preferred_username: claims.preferred_username().map(|u| u.as_str().to_string()),
        // An address the provider has not verified could be anyone's.
        email: claims
            .email()
            .filter(|_| claims.email_verified() == Some(true))
            .map(|e| e.as_str().to_string()),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
        groups: oidc
            .config
            .role_claim
            .as_deref()
            .and_then(|claim| groups_of(&id_token, claim)),
    };
    Ok((identity, id_token.to_string()))
}
