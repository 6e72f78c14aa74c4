//! Managing apps (OAuth clients). The secret is returned once, at creation; only its hash is kept.

use gatehouse_core::admin::{
    bounded_text, may_assign_scopes, public_key_set, redirect_uri, AdminRuleError,
};
use gatehouse_core::grant::AppType;
use gatehouse_store::{
    App, AppChanges, AppStore, ClientSecurity, LogoutChannels, NewApp, ScopeStore,
};

use gatehouse_core::webhooks::{APP_CREATED, APP_DELETED, APP_UPDATED};
use gatehouse_store::changes::{recording, Change};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::config::Config;
use crate::crypto::{random_hex, random_token, sha256_hex};
use crate::error::{conflict_as, ServiceError};
use crate::services::bootstrap::{admin_callback_uri, ADMIN_SPA_APP_NAME};
use crate::services::found;
use crate::services::signing_keys::algorithm_setting;
use crate::services::user_tokens::{CLIENT_SECRET_JWT, PRIVATE_KEY_JWT};
use crate::state::AppState;

const NOT_FOUND: &str = "No app found";

/// The fields of an app the audit trail records (a secret's hash or sealed copy never); in a
/// change, `None` leaves a field as it is.
#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct AppFields<'a> {
    name: Option<&'a str>,
    #[serde(rename = "type")]
    app_type: Option<&'a str>,
    client_id: Option<&'a str>,
    redirect_uris: Option<&'a [String]>,
    scopes: Option<&'a [String]>,
    is_active: Option<bool>,
    rotate_refresh_tokens: Option<bool>,
    allow_device_flow: Option<bool>,
    id_token_signed_response_alg: Option<&'a str>,
    standard_claims: Option<bool>,
    use_system_mfa_config: Option<bool>,
    require_email_mfa: Option<bool>,
    require_otp_mfa: Option<bool>,
    require_sms_mfa: Option<bool>,
    allow_email_mfa_as_backup: Option<bool>,
    token_endpoint_auth_method: Option<&'a str>,
    jwks_uri: Option<&'a str>,
    backchannel_logout_uri: Option<&'a str>,
    frontchannel_logout_uri: Option<&'a str>,
}

impl<'a> AppFields<'a> {
    fn of(app: &'a App) -> Self {
        Self {
            name: Some(&app.name),
            app_type: Some(app.app_type.as_str()),
            client_id: Some(&app.client_id),
            redirect_uris: Some(&app.redirect_uris),
            scopes: Some(&app.scopes),
            is_active: Some(app.is_active),
            rotate_refresh_tokens: Some(app.rotate_refresh_tokens),
            allow_device_flow: Some(app.allow_device_flow),
            id_token_signed_response_alg: app.id_token_signed_response_alg.as_deref(),
            standard_claims: Some(app.standard_claims),
            use_system_mfa_config: Some(app.use_system_mfa_config),
            require_email_mfa: Some(app.require_email_mfa),
            require_otp_mfa: Some(app.require_otp_mfa),
            require_sms_mfa: Some(app.require_sms_mfa),
            allow_email_mfa_as_backup: Some(app.allow_email_mfa_as_backup),
            token_endpoint_auth_method: app.security.token_endpoint_auth_method.as_deref(),
            jwks_uri: app.security.jwks_uri.as_deref(),
            backchannel_logout_uri: app.logout.backchannel_logout_uri.as_deref(),
            frontchannel_logout_uri: app.logout.frontchannel_logout_uri.as_deref(),
        }
    }

    fn new_app(app: &'a NewApp) -> Self {
        Self {
            name: Some(&app.name),
            app_type: Some(app.app_type.as_str()),
            client_id: Some(&app.client_id),
            redirect_uris: Some(&app.redirect_uris),
            scopes: Some(&app.scopes),
            is_active: Some(true),
            rotate_refresh_tokens: Some(app.rotate_refresh_tokens),
            allow_device_flow: Some(app.allow_device_flow),
            id_token_signed_response_alg: app.id_token_signed_response_alg.as_deref(),
            standard_claims: Some(app.standard_claims),
            token_endpoint_auth_method: app.security.token_endpoint_auth_method.as_deref(),
            jwks_uri: app.security.jwks_uri.as_deref(),
            backchannel_logout_uri: app.logout.backchannel_logout_uri.as_deref(),
            frontchannel_logout_uri: app.logout.frontchannel_logout_uri.as_deref(),
            ..Self::default()
        }
    }

    fn set(changes: &'a AppChanges) -> Self {
        let security = changes.security.as_ref();
        let logout = changes.logout.as_ref();
        Self {
            name: changes.name.as_deref(),
            redirect_uris: changes.redirect_uris.as_deref(),
            scopes: changes.scopes.as_deref(),
            is_active: changes.is_active,
            rotate_refresh_tokens: changes.rotate_refresh_tokens,
            allow_device_flow: changes.allow_device_flow,
            id_token_signed_response_alg: changes.id_token_signed_response_alg.as_deref(),
            standard_claims: changes.standard_claims,
            use_system_mfa_config: changes.use_system_mfa_config,
            require_email_mfa: changes.require_email_mfa,
            require_otp_mfa: changes.require_otp_mfa,
            require_sms_mfa: changes.require_sms_mfa,
            allow_email_mfa_as_backup: changes.allow_email_mfa_as_backup,
            token_endpoint_auth_method: security
                .and_then(|s| s.token_endpoint_auth_method.as_deref()),
            jwks_uri: security.and_then(|s| s.jwks_uri.as_deref()),
            backchannel_logout_uri: logout.and_then(|l| l.backchannel_logout_uri.as_deref()),
            frontchannel_logout_uri: logout.and_then(|l| l.frontchannel_logout_uri.as_deref()),
            ..Self::default()
        }
    }
}

/// A new app as the S2S API and the panel send it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PostAppReq)]
pub struct NewAppInput {
    /// 1–50 characters.
    pub name: String,
    /// `spa`, `s2s` or `web`.
    #[serde(rename = "type")]
    pub app_type: String,
    /// Scope names; names that are not scopes are dropped. `root` needs a `root` caller.
    pub scopes: Vec<String>,
    /// Compared exactly (case kept). Each is `https:`, `http:` to a loopback host (`localhost`, `127.0.0.1`, `[::1]`; any host when the server sets `allow_http_redirect_uris`) or a private-use scheme with a dot (`com.example.app:/cb`); never `javascript:`, `data:`, `file:`, a fragment or `user:password@`.
    pub redirect_uris: Vec<String>,
    /// Whether a refresh grant replaces the refresh token (RFC 9700 §4.14.2). On unless `false`
    /// is sent: turn it off only for clients that keep their first refresh token.
    pub rotate_refresh_tokens: Option<bool>,
    /// Whether the app may use the device authorization grant (RFC 8628). Off unless `true` is
    /// sent; `spa` and `web` apps only.
    pub allow_device_flow: Option<bool>,
    /// `RS256`, `ES256` or `EdDSA`: what its ID tokens are signed with (the server's algorithm
    /// when absent).
    pub id_token_signed_response_alg: Option<String>,
    /// ID tokens by OIDC's claim rules only (each claim with its scope or when asked by name,
    /// no roles); off (the default) keeps Melody's shape.
    pub standard_claims: Option<bool>,
    #[serde(flatten)]
    pub security: ClientSecurityInput,
    #[serde(flatten)]
    pub logout: LogoutChannelsInput,
}

/// Where an app hears that a user's session ended (OIDC Back-Channel and Front-Channel Logout
/// 1.0), as the S2S API and the panel send it; a field left out keeps its value, an empty URI
/// removes it. `spa` and `web` apps only.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogoutChannelsInput {
    /// Where a logout token is POSTed when a session the app signed in to ends (logout, an
    /// admin's action, a password reset, expiry), retried for about a day. `https:` (`http:`
    /// to a loopback host), no fragment, on a public address unless the server sets
    /// `outbound_allow_private_addresses`.
    pub backchannel_logout_uri: Option<String>,
    /// Logout tokens must name the session (`sid`): the app is then not told when every session
    /// of a user ends at once without one it signed in to.
    pub backchannel_logout_session_required: Option<bool>,
    /// The page the signed-out page loads in a hidden iframe: the scheme, host and port of one
    /// of the app's redirect URIs, no fragment.
    pub frontchannel_logout_uri: Option<String>,
    /// The front-channel call carries `iss` and `sid`.
    pub frontchannel_logout_session_required: Option<bool>,
}

impl LogoutChannelsInput {
    fn is_empty(&self) -> bool {
        self.backchannel_logout_uri.is_none()
            && self.backchannel_logout_session_required.is_none()
            && self.frontchannel_logout_uri.is_none()
            && self.frontchannel_logout_session_required.is_none()
    }
}

/// The app's logout channels after `input`, checked as a whole: a new back-channel URI must be
/// an address the server may call; the front-channel URI must be on the origin of one of
/// `redirect_uris` (the ones the app will have); an S2S app has none.
fn logout_channels(
    state: &AppState,
    (app_type, redirect_uris): (AppType, &[String]),
    current: &LogoutChannels,
    input: LogoutChannelsInput,
) -> Result<LogoutChannels, ServiceError> {
    use gatehouse_core::logout::logout_uri;
    let allow_http = state.config.allow_http_redirect_uris;
    let mut next = current.clone();
    if let Some(on) = input.backchannel_logout_session_required {
        next.backchannel_logout_session_required = on;
    }
    if let Some(on) = input.frontchannel_logout_session_required {
        next.frontchannel_logout_session_required = on;
    }
    if let Some(uri) = input.backchannel_logout_uri {
        let field = "backchannelLogoutUri";
        next.backchannel_logout_uri = match uri.trim() {
            "" => None,
            uri => {
                let uri = logout_uri(field, uri, allow_http, None)?;
                let outbound = &state.client_keys.outbound;
                outbound
                    .check_url(&uri)
                    .map_err(|e| AdminRuleError::LogoutUri {
                        field,
                        problem: e.to_string(),
                    })?;
                Some(uri)
            }
        };
    }
    if let Some(uri) = input.frontchannel_logout_uri {
        next.frontchannel_logout_uri = Some(uri).filter(|u| !u.trim().is_empty());
    }
    if let Some(uri) = &next.frontchannel_logout_uri {
        let field = "frontchannelLogoutUri";
        let checked = logout_uri(field, uri, allow_http, Some(redirect_uris))?;
        next.frontchannel_logout_uri = Some(checked);
    }
    let any = next.backchannel_logout_uri.is_some() || next.frontchannel_logout_uri.is_some();
    if any && app_type == AppType::S2s {
        return Err(AdminRuleError::LogoutNeedsUserApp.into());
    }
    Ok(next)
}

/// How an app proves itself and binds its tokens, as the S2S API and the panel send it; a field
/// left out keeps its value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientSecurityInput {
    /// Authorization requests only through `/oauth2/v1/par` (RFC 9126).
    pub require_pushed_authorization_requests: Option<bool>,
    /// `client_secret_basic` (the default: the secret, by HTTP Basic or in the form),
    /// `client_secret_jwt` (a JWT that is an HMAC of the secret, RFC 7523; only when the app is
    /// created with it, since only then is the secret kept, sealed) or `private_key_jwt` (a JWT
    /// signed with one of the app's keys; web and s2s apps with `jwks` or `jwksUri`). With
    /// either JWT method the bare secret is refused.
    pub token_endpoint_auth_method: Option<String>,
    /// The app's public keys: a JWK set (`{"keys": [...]}`) of RSA, EC P-256 or Ed25519 keys;
    /// `{"keys": []}` removes them.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where the app publishes its keys: an https URL on a public address; an empty string
    /// removes it.
    pub jwks_uri: Option<String>,
    /// Every token request must carry a DPoP proof (RFC 9449), so its access tokens are bound
    /// to the app's key.
    pub dpop_bound_access_tokens: Option<bool>,
    /// `RS256`, `PS256`, `ES256` or `EdDSA`: the only algorithm its signed request objects
    /// (RFC 9101) may use; an empty string accepts any of them.
    pub request_object_signing_alg: Option<String>,
    /// Hold the app to the FAPI 2.0 Security Profile: pushed requests, PKCE S256,
    /// `private_key_jwt`, DPoP-bound tokens, 60-second codes, no refresh-token rotation, no
    /// RS256. `web` and `s2s` apps on `private_key_jwt` whose ID tokens are ES256 or EdDSA.
    pub fapi2_security_profile: Option<bool>,
}

impl ClientSecurityInput {
    fn is_empty(&self) -> bool {
        self.require_pushed_authorization_requests.is_none()
            && self.token_endpoint_auth_method.is_none()
            && self.jwks.is_none()
            && self.jwks_uri.is_none()
            && self.dpop_bound_access_tokens.is_none()
            && self.request_object_signing_alg.is_none()
            && self.fapi2_security_profile.is_none()
    }
}

/// The app's settings after `input`, checked as a whole: `private_key_jwt` needs keys and an
/// app that authenticates, and keys come by value or by URL, not both.
fn client_security(
    state: &AppState,
    (app_type, id_token_alg): (AppType, Option<&str>),
    current: &ClientSecurity,
    input: ClientSecurityInput,
) -> Result<ClientSecurity, ServiceError> {
    let mut next = current.clone();
    if let Some(on) = input.fapi2_security_profile {
        next.fapi2_security_profile = on;
    }
    if let Some(on) = input.require_pushed_authorization_requests {
        next.require_pushed_authorization_requests = on;
    }
    if let Some(on) = input.dpop_bound_access_tokens {
        next.dpop_bound_access_tokens = on;
    }
    if let Some(alg) = input.request_object_signing_alg {
        next.request_object_signing_alg = match alg.as_str() {
            "" => None,
            "RS256" | "PS256" | "ES256" | "EdDSA" => Some(alg),
            _ => {
                return Err(AdminRuleError::OneOf {
                    field: "requestObjectSigningAlg",
                    allowed: "RS256, PS256, ES256, EdDSA (or empty)",
                }
                .into())
            }
        };
    }
    if let Some(method) = input.token_endpoint_auth_method {
        next.token_endpoint_auth_method = match method.as_str() {
            "client_secret_basic" | "client_secret_post" | "" => None,
            PRIVATE_KEY_JWT => Some(PRIVATE_KEY_JWT.to_owned()),
            CLIENT_SECRET_JWT => Some(CLIENT_SECRET_JWT.to_owned()),
            _ => return Err(AdminRuleError::OneOf {
                field: "tokenEndpointAuthMethod",
                allowed:
                    "client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt",
            }
            .into()),
        };
    }
    if let Some(jwks) = input.jwks {
        let empty = jwks
            .get("keys")
            .and_then(|k| k.as_array())
            .is_some_and(|k| k.is_empty());
        next.jwks = if empty {
            None
        } else {
            Some(public_key_set(&jwks)?)
        };
    }
    if let Some(uri) = input.jwks_uri {
        let uri = uri.trim();
        next.jwks_uri = if uri.is_empty() {
            None
        } else {
            let checked = state.client_keys.outbound.check_url(uri);
            checked.map_err(|e| AdminRuleError::InvalidJwksUri(e.to_string()))?;
            Some(bounded_text("jwksUri", uri, 2048)?)
        };
    }
    if next.jwks.is_some() && next.jwks_uri.is_some() {
        return Err(AdminRuleError::JwksAndJwksUri.into());
    }
    if next.token_endpoint_auth_method.is_some() {
        if app_type == AppType::Spa {
            return Err(AdminRuleError::PrivateKeyJwtNeedsConfidentialApp.into());
        }
        let keyed = next.token_endpoint_auth_method.as_deref() == Some(PRIVATE_KEY_JWT);
        if keyed && next.jwks.is_none() && next.jwks_uri.is_none() {
            return Err(AdminRuleError::PrivateKeyJwtNeedsKeys.into());
        }
    }
    if next.fapi2_security_profile {
        use gatehouse_core::fapi::FapiError;
        if app_type == AppType::Spa {
            return Err(AdminRuleError::from(FapiError::PublicClient).into());
        }
        if next.token_endpoint_auth_method.as_deref() != Some(PRIVATE_KEY_JWT) {
            return Err(AdminRuleError::from(FapiError::KeyAuthenticationRequired).into());
        }
        let server = state.config.signing_algorithm.as_str();
        if app_type != AppType::S2s && id_token_alg.unwrap_or(server) == "RS256" {
            return Err(AdminRuleError::from(FapiError::IdTokenAlgorithm).into());
        }
    }
    Ok(next)
}

/// How the app authenticates at the token endpoint, in RFC 7591's names.
pub fn token_endpoint_auth_method(app: &App) -> &str {
    match (&app.security.token_endpoint_auth_method, app.app_type) {
        (Some(method), _) => method,
        (None, AppType::Spa) => "none",
        (None, _) => "client_secret_basic",
    }
}

/// What an app's sealed secret is bound to, so it cannot be moved to another app's row.
pub fn secret_context(client_id: &str) -> String {
    format!("app-secret:{client_id}")
}

/// The device flow signs users in: an S2S app has none.
fn check_device_flow(app_type: AppType, allow: Option<bool>) -> Result<(), AdminRuleError> {
    match (app_type, allow) {
        (AppType::S2s, Some(true)) => Err(AdminRuleError::DeviceFlowNeedsUserApp),
        _ => Ok(()),
    }
}

fn redirect_uris(state: &AppState, uris: &[String]) -> Result<Vec<String>, ServiceError> {
    let mut out: Vec<String> = Vec::with_capacity(uris.len());
    for uri in uris {
        let uri = redirect_uri(uri, state.config.allow_http_redirect_uris)?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

/// Whether the browser may be sent to `uri`, a redirect URI the app has registered: it must pass
/// today's rules (a URI stored before them may not), unless it is this server's own (the admin
/// panel's callback under the issuer, or an embedded-auth origin).
pub fn may_redirect_to(config: &Config, uri: &str) -> bool {
    gatehouse_core::redirect_uri::may_redirect_to(uri, config.allow_http_redirect_uris)
        || uri.starts_with(&format!("{}/", config.issuer))
        || config.embedded_auth_origins.iter().any(|o| o == uri)
}

fn scope_names(scopes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in scopes {
        let scope = scope.trim().to_ascii_lowercase();
        if !scope.is_empty() && !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

pub async fn list(state: &AppState) -> Result<Vec<App>, ServiceError> {
    let apps = state.store.list_apps().await?;
    Ok(apps.into_iter().map(|app| shown(state, app)).collect())
}

pub async fn get(state: &AppState, id: i64) -> Result<App, ServiceError> {
    Ok(shown(
        state,
        found(state.store.app_by_id(id), NOT_FOUND).await?,
    ))
}

/// An app as lists and reads show it. The built-in panel's callback is the server's own
/// business: it is left out of the admin SPA app's redirect URIs (Melody's panel would list it
/// and offer it for impersonation), and `update` keeps it when those URIs are replaced.
fn shown(state: &AppState, mut app: App) -> App {
    if is_admin_spa(&app) {
        let callback = admin_callback_uri(&state.config);
        app.redirect_uris.retain(|uri| *uri != callback);
    }
    app
}

fn is_admin_spa(app: &App) -> bool {
    app.name == ADMIN_SPA_APP_NAME && app.app_type == AppType::Spa
}

/// Creates an app; returns it with its secret, which is not stored and cannot be shown again.
pub async fn create(
    state: &AppState,
    caller_scopes: &[String],
    input: NewAppInput,
) -> Result<(App, String), ServiceError> {
    let name = bounded_text("name", &input.name, 50)?;
    let app_type = AppType::parse(&input.app_type).ok_or(AdminRuleError::OneOf {
        field: "type",
        allowed: "spa, s2s, web",
    })?;
    let scopes = scope_names(&input.scopes);
    may_assign_scopes(caller_scopes, &scopes)?;
    check_device_flow(app_type, input.allow_device_flow)?;
    let field = "idTokenSignedResponseAlg";
    let id_token_alg = algorithm_setting(state, field, input.id_token_signed_response_alg).await?;
    let id_alg = id_token_alg.as_deref().filter(|a| !a.is_empty());
    let security = client_security(
        state,
        (app_type, id_alg),
        &ClientSecurity::default(),
        input.security,
    )?;
    let redirect_uris = redirect_uris(state, &input.redirect_uris)?;
    let logout = logout_channels(
        state,
        (app_type, &redirect_uris),
        &LogoutChannels::default(),
        input.logout,
    )?;
    let secret = random_token::<32>();
    let new = NewApp {
        name,
        app_type,
        client_id: random_hex::<16>(),
        secret_hash: Some(sha256_hex(secret.as_bytes())),
        redirect_uris,
        scopes,
        rotate_refresh_tokens: input
            .rotate_refresh_tokens
            .unwrap_or(state.config.rotate_refresh_tokens_by_default),
        allow_device_flow: input.allow_device_flow.unwrap_or(false),
        id_token_signed_response_alg: id_token_alg.filter(|a| !a.is_empty()),
        standard_claims: input.standard_claims.unwrap_or(false),
        security,
        logout,
    };
    let event = json!({"clientId": new.client_id, "name": new.name, "type": new.app_type.as_str()});
    let change = Change::created("app")
        .fields_new(&AppFields::new_app(&new))
        .event(APP_CREATED, event);
    let app = recording(change, state.store.insert_app(new))
        .await
        .map_err(conflict_as("An app with this client id already exists"))?;
    if app.security.token_endpoint_auth_method.as_deref() == Some(CLIENT_SECRET_JWT) {
        // An HMAC is checked with the secret itself: kept sealed with the master key.
        let sealed = state
            .keys
            .seal_secret(secret.as_bytes(), &secret_context(&app.client_id));
        state.store.set_app_secret_sealed(app.id, &sealed).await?;
        let app = found(state.store.app_by_id(app.id), NOT_FOUND).await?;
        return Ok((app, secret));
    }
    Ok((app, secret))
}

pub async fn update(
    state: &AppState,
    caller_scopes: &[String],
    id: i64,
    (mut changes, security, logout): (AppChanges, ClientSecurityInput, LogoutChannelsInput),
) -> Result<App, ServiceError> {
    let current = get(state, id).await?;
    // The ID-token algorithm the app will have: FAPI 2.0 does not allow RS256.
    let id_alg = match changes.id_token_signed_response_alg.as_deref() {
        Some(changed) => Some(changed).filter(|a| !a.is_empty()),
        None => current.id_token_signed_response_alg.as_deref(),
    };
    let still_fapi =
        security.fapi2_security_profile.is_none() && current.security.fapi2_security_profile;
    if !security.is_empty() || still_fapi {
        let kind = (current.app_type, id_alg);
        let next = client_security(state, kind, &current.security, security)?;
        let secret_jwt = next.token_endpoint_auth_method.as_deref() == Some(CLIENT_SECRET_JWT);
        if secret_jwt && current.security.secret_sealed.is_none() {
            return Err(AdminRuleError::ClientSecretJwtNeedsReadableSecret.into());
        }
        changes.security = Some(next);
    }
    check_device_flow(current.app_type, changes.allow_device_flow)?;
    let field = "idTokenSignedResponseAlg";
    changes.id_token_signed_response_alg =
        algorithm_setting(state, field, changes.id_token_signed_response_alg.take()).await?;
    changes.name = changes
        .name
        .map(|n| bounded_text("name", &n, 50))
        .transpose()?;
    changes.redirect_uris = changes
        .redirect_uris
        .map(|uris| redirect_uris(state, &uris))
        .transpose()?;
    if let (true, Some(uris)) = (is_admin_spa(&current), changes.redirect_uris.as_mut()) {
        let callback = admin_callback_uri(&state.config);
        if !uris.contains(&callback) {
            uris.push(callback);
        }
    }
    // The front channel must stay on a redirect URI's origin, whichever of the two changed.
    if !logout.is_empty() || changes.redirect_uris.is_some() {
        let uris = changes
            .redirect_uris
            .as_deref()
            .unwrap_or(&current.redirect_uris);
        let kind = (current.app_type, uris);
        changes.logout = Some(logout_channels(state, kind, &current.logout, logout)?);
    }
    if let Some(scopes) = &changes.scopes {
        let scopes = scope_names(scopes);
        let known = state.store.scope_names().await?;
        if scopes.iter().any(|s| !known.contains(s)) {
            return Err(AdminRuleError::UnknownScope.into());
        }
        may_assign_scopes(caller_scopes, &scopes)?;
        changes.scopes = Some(scopes);
    }
    let change = Change::of("app", id, "updated")
        .fields_set(&AppFields::of(&current), &AppFields::set(&changes));
    let changed: Vec<&str> = change.fields.iter().map(|f| f.field.as_str()).collect();
    let name = changes.name.as_deref().unwrap_or(&current.name);
    let event = json!({"clientId": current.client_id, "name": name, "changed": changed});
    let change = change.event(APP_UPDATED, event);
    let app = found(
        recording(change, state.store.update_app(id, &changes)),
        NOT_FOUND,
    )
    .await?;
    state.clients.forget(&current.client_id);
    Ok(shown(state, app))
}

pub async fn delete(state: &AppState, id: i64) -> Result<(), ServiceError> {
    let current = get(state, id).await?;
    let event = json!({"clientId": current.client_id, "name": current.name});
    let change = Change::of("app", id, "deleted").event(APP_DELETED, event);
    if !recording(change, state.store.delete_app(id)).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    state.clients.forget(&current.client_id);
    Ok(())
}
