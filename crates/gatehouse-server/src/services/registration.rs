//! Apps that register themselves (RFC 7591) and manage their own registration (RFC 7592). A
//! registered app is an ordinary app, made and changed through the same checks as the S2S API's
//! (`services::apps`), within the operator's policy: `client_registration` says who may register,
//! `client_registration_scopes` what they may hold; only the code flow (and refresh) is offered.

use std::time::Duration;

use gatehouse_core::grant::AppType;
use gatehouse_core::scope::offered_scopes;
use gatehouse_store::{App, AppChanges, AppStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::apps::{self, ClientSecurityInput, LogoutChannelsInput, NewAppInput};
use super::user_tokens::{CLIENT_SECRET_JWT, PRIVATE_KEY_JWT};
use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::state::AppState;

pub const REGISTER_PATH: &str = "/oauth2/v1/register";

/// Why a registration was refused (RFC 7591 §3.2.2).
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("Client registration is off on this server")]
    Off,
    #[error("A valid initial access token is required to register (Authorization: Bearer)")]
    InitialTokenRequired,
    #[error("The registration access token is not valid for this client")]
    InvalidRegistrationToken,
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidMetadata(String),
}

impl RegistrationError {
    pub fn class(&self) -> gatehouse_core::ErrorClass {
        use gatehouse_core::ErrorClass;
        match self {
            Self::Off => ErrorClass::NotFound,
            Self::InitialTokenRequired | Self::InvalidRegistrationToken => {
                ErrorClass::Unauthenticated
            }
            Self::InvalidRedirectUri(_) | Self::InvalidMetadata(_) => ErrorClass::Invalid,
        }
    }

    /// The `error` code of RFC 7591 §3.2.2 (RFC 6750's for tokens).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Off => "not_found",
            Self::InitialTokenRequired | Self::InvalidRegistrationToken => "invalid_token",
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidMetadata(_) => "invalid_client_metadata",
        }
    }
}

/// Client metadata (RFC 7591 §2) as sent; what this server does not use is ignored.
#[derive(Debug, Default, Deserialize)]
pub struct ClientMetadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub client_name: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub scope: Option<String>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub dpop_bound_access_tokens: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
    pub request_object_signing_alg: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
    pub frontchannel_logout_uri: Option<String>,
    pub frontchannel_logout_session_required: Option<bool>,
    /// RFC 7592 §2.2: an update names the client it is for.
    pub client_id: Option<String>,
}

/// A registration as answered (RFC 7591 §3.2.1, RFC 7592 §3).
#[derive(Debug, Serialize)]
pub struct Registration {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    pub client_id_issued_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    pub registration_client_uri: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<&'static str>,
    pub response_types: [&'static str; 1],
    pub token_endpoint_auth_method: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    pub dpop_bound_access_tokens: bool,
    pub require_pushed_authorization_requests: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
    pub frontchannel_logout_session_required: bool,
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::Registration(RegistrationError::InvalidMetadata(message.into()))
}

/// What the metadata asks for, checked against the policy: the app's type, its scopes (the
/// allowed ones it asks for; all of them when it asks for none) and its key settings.
fn shape(state: &AppState, m: &ClientMetadata) -> Result<(AppType, Vec<String>), ServiceError> {
    let grants = m
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if let Some(other) = grants
        .iter()
        .find(|g| *g != "authorization_code" && *g != "refresh_token")
    {
        return Err(invalid(format!(
            "grant_types: {other} is not offered to registered clients (authorization_code, refresh_token)"
        )));
    }
    if m.response_types
        .as_ref()
        .is_some_and(|r| r.iter().any(|t| t != "code"))
    {
        return Err(invalid("response_types: only code is offered"));
    }
    if m.redirect_uris.is_empty() {
        let err = "redirect_uris: at least one is required for the authorization code flow";
        return Err(ServiceError::Registration(
            RegistrationError::InvalidRedirectUri(err.into()),
        ));
    }
    let app_type = match m
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic")
    {
        "none" => AppType::Spa,
        "client_secret_basic" | "client_secret_post" | CLIENT_SECRET_JWT | PRIVATE_KEY_JWT => {
            AppType::Web
        }
        other => {
            return Err(invalid(format!(
                "token_endpoint_auth_method: {other} is not supported (none, client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt)"
            )))
        }
    };
    let allowed = &state.config.client_registration_scopes;
    Ok((app_type, offered_scopes(m.scope.as_deref(), allowed)))
}

fn security_input(m: &ClientMetadata) -> ClientSecurityInput {
    ClientSecurityInput {
        require_pushed_authorization_requests: m.require_pushed_authorization_requests,
        token_endpoint_auth_method: m
            .token_endpoint_auth_method
            .clone()
            .filter(|method| method != "none"),
        jwks: m.jwks.clone(),
        jwks_uri: m.jwks_uri.clone(),
        dpop_bound_access_tokens: m.dpop_bound_access_tokens,
        request_object_signing_alg: m.request_object_signing_alg.clone(),
        fapi2_security_profile: None,
    }
}

/// The logout channels asked for; on a replacement (RFC 7592 §2.2) what is left out goes.
fn logout_input(m: &ClientMetadata, replace: bool) -> LogoutChannelsInput {
    let uri = |u: &Option<String>| match (u, replace) {
        (None, true) => Some(String::new()),
        (other, _) => other.clone(),
    };
    let switch = |on: Option<bool>| {
        if replace {
            Some(on.unwrap_or(false))
        } else {
            on
        }
    };
    LogoutChannelsInput {
        backchannel_logout_uri: uri(&m.backchannel_logout_uri),
        backchannel_logout_session_required: switch(m.backchannel_logout_session_required),
        frontchannel_logout_uri: uri(&m.frontchannel_logout_uri),
        frontchannel_logout_session_required: switch(m.frontchannel_logout_session_required),
    }
}

/// Management rules' refusals in RFC 7591's terms.
fn as_registration_error(err: ServiceError) -> ServiceError {
    match err {
        ServiceError::Rule(rule) => {
            let message = rule.to_string();
            if matches!(
                rule,
                gatehouse_core::admin::AdminRuleError::RedirectUri { .. }
            ) {
                ServiceError::Registration(RegistrationError::InvalidRedirectUri(message))
            } else {
                ServiceError::Registration(RegistrationError::InvalidMetadata(message))
            }
        }
        other => other,
    }
}

fn initial_token_key(token: &str) -> String {
    format!("IAT-{}", sha256_hex(token.as_bytes()))
}

/// An initial access token (RFC 7591 §1.2) for one registration, made by a `root` caller.
pub async fn issue_initial_token(state: &AppState) -> Result<(String, u64), ServiceError> {
    let token = random_token::<32>();
    let lifetime = state.config.client_registration_token_expires_in;
    let ttl = Duration::from_secs(lifetime);
    state
        .cache
        .set(&initial_token_key(&token), "1", ttl)
        .await?;
    Ok((token, lifetime))
}

/// Registers an app (RFC 7591 §3): open, or with an initial access token (used up here, once
/// the metadata passed the policy).
pub async fn register(
    state: &AppState,
    initial_token: Option<&str>,
    metadata: ClientMetadata,
) -> Result<Registration, ServiceError> {
    let token_key = match state.config.client_registration.as_str() {
        "open" => None,
        "token" => {
            let token = initial_token.ok_or(RegistrationError::InitialTokenRequired)?;
            let key = initial_token_key(token);
            if state.cache.get(&key).await?.is_none() {
                return Err(RegistrationError::InitialTokenRequired.into());
            }
            Some(key)
        }
        _ => return Err(RegistrationError::Off.into()),
    };
    let (app_type, scopes) = shape(state, &metadata)?;
    // Used up only by metadata the policy takes: a mistake there does not cost the token.
    if let Some(key) = token_key {
        if state.cache.take(&key).await?.is_none() {
            return Err(RegistrationError::InitialTokenRequired.into());
        }
    }
    let name = metadata
        .client_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Registered app".into());
    let input = NewAppInput {
        name,
        app_type: app_type.as_str().to_owned(),
        scopes,
        redirect_uris: metadata.redirect_uris.clone(),
        // Self-registered clients follow RFC 9700 whatever the default for managed apps.
        rotate_refresh_tokens: Some(true),
        allow_device_flow: None,
        id_token_signed_response_alg: metadata.id_token_signed_response_alg.clone(),
        standard_claims: Some(true),
        security: security_input(&metadata),
        logout: logout_input(&metadata, false),
    };
    let (app, secret) = apps::create(state, &[], input)
        .await
        .map_err(as_registration_error)?;
    let registration_token = random_token::<32>();
    state
        .store
        .set_app_registration_token_hash(app.id, &sha256_hex(registration_token.as_bytes()))
        .await?;
    // A public client has no secret, and one on private_key_jwt could not use it.
    let method = app.security.token_endpoint_auth_method.as_deref();
    let uses_secret = app_type != AppType::Spa && method != Some(PRIVATE_KEY_JWT);
    let secret = uses_secret.then_some(secret);
    Ok(describe(state, &app, secret, Some(registration_token)))
}

/// The app a registration access token manages (RFC 7592 §3): its own, compared in constant time.
pub async fn managed_app(
    state: &AppState,
    client_id: &str,
    token: Option<&str>,
) -> Result<App, ServiceError> {
    let token = token.ok_or(RegistrationError::InvalidRegistrationToken)?;
    let app = state
        .store
        .app_by_client_id(client_id)
        .await?
        .ok_or(RegistrationError::InvalidRegistrationToken)?;
    let presented = sha256_hex(token.as_bytes());
    let matches = app
        .security
        .registration_token_hash
        .as_deref()
        .is_some_and(|stored| constant_time_eq(stored.as_bytes(), presented.as_bytes()));
    if !matches {
        return Err(RegistrationError::InvalidRegistrationToken.into());
    }
    Ok(app)
}

/// Replaces a registration's metadata (RFC 7592 §2.2): the same rules as registering; the app's
/// type (public or confidential) cannot change.
pub async fn update(
    state: &AppState,
    app: &App,
    metadata: ClientMetadata,
) -> Result<Registration, ServiceError> {
    if metadata.client_id.as_deref() != Some(app.client_id.as_str()) {
        return Err(invalid("client_id must be the client's own"));
    }
    let (app_type, scopes) = shape(state, &metadata)?;
    if app_type != app.app_type {
        return Err(invalid(
            "token_endpoint_auth_method cannot turn a public client into a confidential one or back: register a new client",
        ));
    }
    let changes = AppChanges {
        name: metadata
            .client_name
            .clone()
            .filter(|n| !n.trim().is_empty()),
        redirect_uris: Some(metadata.redirect_uris.clone()),
        scopes: Some(scopes),
        id_token_signed_response_alg: Some(
            metadata
                .id_token_signed_response_alg
                .clone()
                .unwrap_or_default(),
        ),
        ..AppChanges::default()
    };
    // A replacement (RFC 7592 §2.2): what the client leaves out goes back to its default.
    let mut security = security_input(&metadata);
    if app_type == AppType::Web && security.token_endpoint_auth_method.is_none() {
        security.token_endpoint_auth_method = Some("client_secret_basic".into());
    }
    let keyless = serde_json::json!({ "keys": [] });
    security.jwks = Some(security.jwks.unwrap_or(keyless));
    security.jwks_uri = Some(security.jwks_uri.unwrap_or_default());
    security.request_object_signing_alg =
        Some(security.request_object_signing_alg.unwrap_or_default());
    security.dpop_bound_access_tokens = Some(security.dpop_bound_access_tokens.unwrap_or(false));
    security.require_pushed_authorization_requests = Some(
        security
            .require_pushed_authorization_requests
            .unwrap_or(false),
    );
    let edit = (changes, security, logout_input(&metadata, true));
    let updated = apps::update(state, &["root".to_owned()], app.id, edit)
        .await
        .map_err(as_registration_error)?;
    Ok(describe(state, &updated, None, None))
}

/// Deletes a registration (RFC 7592 §2.3).
pub async fn delete(state: &AppState, app: &App) -> Result<(), ServiceError> {
    apps::delete(state, app.id).await
}

/// The registration of `app` as RFC 7591 describes it.
pub fn describe(
    state: &AppState,
    app: &App,
    secret: Option<String>,
    registration_access_token: Option<String>,
) -> Registration {
    Registration {
        client_id: app.client_id.clone(),
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_secret: secret,
        client_id_issued_at: app.created_at.and_utc().timestamp(),
        registration_access_token,
        registration_client_uri: format!(
            "{}{REGISTER_PATH}/{}",
            state.config.issuer, app.client_id
        ),
        client_name: app.name.clone(),
        redirect_uris: app.redirect_uris.clone(),
        grant_types: vec!["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: apps::token_endpoint_auth_method(app).to_owned(),
        scope: app.scopes.join(" "),
        jwks: app
            .security
            .jwks
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok()),
        jwks_uri: app.security.jwks_uri.clone(),
        id_token_signed_response_alg: app.id_token_signed_response_alg.clone(),
        dpop_bound_access_tokens: app.security.dpop_bound_access_tokens,
        require_pushed_authorization_requests: app.security.require_pushed_authorization_requests,
        backchannel_logout_uri: app.logout.backchannel_logout_uri.clone(),
        backchannel_logout_session_required: app.logout.backchannel_logout_session_required,
        frontchannel_logout_uri: app.logout.frontchannel_logout_uri.clone(),
        frontchannel_logout_session_required: app.logout.frontchannel_logout_session_required,
    }
}
