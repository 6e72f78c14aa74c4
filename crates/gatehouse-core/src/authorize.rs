//! The authorization request (`GET /oauth2/v1/authorize`): Melody's parameters plus the
//! standard OIDC ones, checked in two stages. Client and redirect-URI problems are shown to the
//! user (never redirected, RFC 6749 §4.1.2.1); everything after that is redirected to the client.

use serde::{Deserialize, Serialize};

use crate::error::ErrorClass;
use crate::grant::AppType;
use crate::pkce::{CodeChallenge, PkceError};
use crate::scope::{grant_scopes, parse_scope_list};

/// The query (or form) of an authorization request, as received.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub scope: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub locale: Option<String>,
    pub policy: Option<String>,
    pub org: Option<String>,
    pub authorize_method: Option<String>,
    /// RFC 8707: the API the access token is for.
    pub resource: Option<String>,
    /// OIDC Core §3.1.2.1: the authentication levels wanted, preferred first.
    pub acr_values: Option<String>,
    /// OIDC Core §5.5: individual claims asked for (JSON).
    pub claims: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code will be exchanged with.
    pub dpop_jkt: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    FormPost,
    /// Melody's popup: a page that `postMessage`s the result to the opener.
    WebMessage,
}

/// What `prompt` asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A checked authorization request: everything the sign-in transaction needs to finish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub challenge: Option<CodeChallenge>,
    /// Requested scopes the app holds, in request order.
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub response_mode: ResponseMode,
    pub locale: String,
    pub policy: Option<String>,
    pub org: Option<String>,
    /// The resource server (its identifier) the access token is for (RFC 8707).
    #[serde(default)]
    pub resource: Option<String>,
    /// `acr_values` asked for two factors: MFA is owed even where the app and user need none,
    /// and a session that did not pass two factors is not enough.
    #[serde(default)]
    pub wants_two_factors: bool,
    /// Claims the `claims` parameter asked for in the ID token (OIDC Core §5.5).
    #[serde(default)]
    pub id_token_claims: Vec<String>,
    /// Claims it asked for at userinfo.
    #[serde(default)]
    pub userinfo_claims: Vec<String>,
    /// The account a `sub` value named: only it may finish the sign-in.
    #[serde(default)]
    pub expected_subject: Option<String>,
    /// The app is held to FAPI 2.0: its code lives no more than the profile allows.
    #[serde(default)]
    pub fapi: bool,
    /// The DPoP key (RFC 7638 thumbprint) the code must be exchanged with (RFC 9449 §10).
    #[serde(default)]
    pub dpop_jkt: Option<String>,
}

impl AuthorizationRequest {
    /// A sign-in the server starts for itself (the account page, an ePass connect app, a device
    /// approval): no PKCE, nonce or prompt, answered by query to `redirect_uri`.
    pub fn started_by_server(
        client_id: String,
        redirect_uri: String,
        scopes: Vec<String>,
        locale: String,
    ) -> Self {
        Self {
            client_id,
            redirect_uri,
            state: String::new(),
            challenge: None,
            scopes,
            nonce: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            response_mode: ResponseMode::Query,
            locale,
            policy: None,
            org: None,
            resource: None,
            wants_two_factors: false,
            id_token_claims: Vec::new(),
            userinfo_claims: Vec::new(),
            expected_subject: None,
            fapi: false,
            dpop_jkt: None,
        }
    }
}

/// The facts about the client that the first stage needs.
#[derive(Debug, Clone, Copy)]
pub struct ClientFacts<'a> {
    pub app_type: AppType,
    pub is_active: bool,
    pub redirect_uris: &'a [String],
    pub scopes: &'a [String],
}

/// Server-wide settings the checks depend on.
#[derive(Debug, Clone)]
pub struct AuthorizeSettings<'a> {
    pub allow_plain_pkce: bool,
    /// Origins of the embedded auth API, accepted as redirect URIs too (Melody parity).
    pub embedded_origins: &'a [String],
    pub supported_locales: &'a [String],
    /// Whether the caller serves the policy pages (`Step::POLICY_PAGES`); the embedded API
    /// serves none.
    pub policy_pages: bool,
    /// Only SPA apps may start a sign-in: the embedded API's token exchange takes no client
    /// secret, so a `web` app's sign-in there could never be exchanged.
    pub spa_only: bool,
    pub blocked_policies: &'a [String],
    /// Outside providers a `oidc_sso_<name>` policy may send the browser straight to.
    pub federated_providers: Vec<&'a str>,
    /// Whether `saml_sso_<idp>` policies are served (the IdP is looked up afterwards).
    pub saml_sso: bool,
}

/// The provider an `oidc_sso_<name>` policy names.
pub fn federated_policy(policy: &str) -> Option<&str> {
    policy.strip_prefix("oidc_sso_")
}

/// A request the user must be told about, because the client cannot be trusted with a redirect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("The client_id parameter is required")]
    MissingClientId,
    #[error("No SPA app found")]
    UnknownClient,
    #[error("A request to a SPA app was made but the app is disabled")]
    DisabledApp,
    #[error("A SPA request sent to a non-SPA app")]
    NotABrowserApp,
    #[error("The redirect_uri parameter is required")]
    MissingRedirectUri,
    #[error("Invalid redirect_uri provided")]
    UnregisteredRedirectUri,
}

impl ClientError {
    /// Melody's status for each case (the page shows it too): an unknown app is not found
    /// (404), a non-SPA app or an unregistered redirect URI unauthenticated (401, the client
    /// did not prove it may use them), the rest invalid (400).
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::UnknownClient => ErrorClass::NotFound,
            Self::NotABrowserApp | Self::UnregisteredRedirectUri => ErrorClass::Unauthenticated,
            _ => ErrorClass::Invalid,
        }
    }
}

/// A refusal that goes back to the client's redirect URI as `error` + `error_description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    pub code: &'static str,
    pub description: String,
}

impl RedirectError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }
}

/// Stage one: the client and the redirect URI. Redirect URIs match exactly (case and trailing
/// slash included, RFC 9700 §2.1).
pub fn check_client<'a>(
    params: &'a AuthorizeParams,
    client: Option<ClientFacts<'_>>,
    settings: &AuthorizeSettings<'_>,
) -> Result<&'a str, ClientError> {
    params
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or(ClientError::MissingClientId)?;
    let client = client.ok_or(ClientError::UnknownClient)?;
    if !client.is_active {
        return Err(ClientError::DisabledApp);
    }
    if client.app_type == AppType::S2s || (settings.spa_only && client.app_type != AppType::Spa) {
        return Err(ClientError::NotABrowserApp);
    }
    let redirect_uri = params
        .redirect_uri
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or(ClientError::MissingRedirectUri)?;
    let registered = client.redirect_uris.iter().any(|r| r == redirect_uri)
        || settings.embedded_origins.iter().any(|o| o == redirect_uri);
    if !registered {
        return Err(ClientError::UnregisteredRedirectUri);
    }
    Ok(redirect_uri)
}

/// The language of a sign-in's pages, asked in this order: the space-separated `ui_locales`
/// (OIDC Core §3.1.2.1, the user's preference as the app knows it), Melody's `locale`, then what
/// the browser says (`browser`: the language picked last on a page, then `Accept-Language`, most
/// wanted first). The first supported one wins; else the first supported locale.
pub fn negotiate_locale(
    ui_locales: Option<&str>,
    locale: Option<&str>,
    browser: &[&str],
    supported: &[String],
) -> String {
    let requested = ui_locales
        .unwrap_or_default()
        .split_ascii_whitespace()
        .chain(locale)
        .chain(browser.iter().copied());
    pick_locale(requested, supported)
}

/// Picks a language: the first of `requested` that is supported, matched case-insensitively and
/// by primary language (`zh` → `zh-CN`); otherwise the first supported locale.
pub fn pick_locale<'a>(
    requested: impl IntoIterator<Item = &'a str>,
    supported: &[String],
) -> String {
    for wanted in requested {
        if let Some(exact) = supported.iter().find(|s| s.eq_ignore_ascii_case(wanted)) {
            return exact.clone();
        }
        let primary = wanted.split(['-', '_']).next().unwrap_or(wanted);
        if let Some(close) = supported.iter().find(|s| {
            s.split(['-', '_'])
                .next()
                .is_some_and(|p| p.eq_ignore_ascii_case(primary))
        }) {
            return close.clone();
        }
    }
    supported
        .first()
        .cloned()
        .unwrap_or_else(|| "en".to_owned())
}

/// Stage two, for a client and redirect URI already accepted: everything else. Errors here are
/// redirected to the client with `state`.
pub fn check_request(
    params: &AuthorizeParams,
    client: ClientFacts<'_>,
    redirect_uri: &str,
    settings: &AuthorizeSettings<'_>,
) -> Result<AuthorizationRequest, RedirectError> {
    match params
        .response_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("code") => {}
        None | Some("") => {
            return Err(RedirectError::invalid_request(
                "The response_type parameter is required",
            ))
        }
        Some(_) => {
            return Err(RedirectError::new(
                "unsupported_response_type",
                "Only response_type=code is supported",
            ))
        }
    }
    let state = params.state.clone().unwrap_or_default();
    if state.is_empty() {
        return Err(RedirectError::invalid_request(
            "The state parameter is required",
        ));
    }
    let challenge = match CodeChallenge::parse(
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
        settings.allow_plain_pkce,
    ) {
        Ok(c) => Some(c),
        // Confidential web apps authenticate at the token endpoint; PKCE is theirs to add.
        Err(PkceError::MissingChallenge) if client.app_type == AppType::Web => None,
        Err(err) => return Err(RedirectError::invalid_request(err.to_string())),
    };
    let requested = parse_scope_list(params.scope.as_deref().unwrap_or_default());
    if requested.is_empty() {
        return Err(RedirectError::new(
            "invalid_scope",
            "The scope parameter is required",
        ));
    }
    let scopes = grant_scopes(&requested, client.scopes);
    if scopes.is_empty() {
        return Err(RedirectError::new(
            "invalid_scope",
            "None of the requested scopes is assigned to this app",
        ));
    }
    let prompt = parse_prompt(params.prompt.as_deref())?;
    let max_age = match params.max_age.as_deref().filter(|m| !m.is_empty()) {
        None => None,
        Some(raw) => Some(
            raw.parse::<u32>()
                .map_err(|_| {
                    RedirectError::invalid_request(
                        "max_age must be a non-negative number of seconds",
                    )
                })?
                .into(),
        ),
    };
    let response_mode = match (
        params.authorize_method.as_deref(),
        params.response_mode.as_deref().filter(|m| !m.is_empty()),
    ) {
        (Some("popup"), _) => ResponseMode::WebMessage,
        (_, None | Some("query")) => ResponseMode::Query,
        (_, Some("form_post")) => ResponseMode::FormPost,
        (_, Some(_)) => {
            return Err(RedirectError::invalid_request(
                "response_mode must be query or form_post",
            ))
        }
    };
    let policy = match params
        .policy
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None | Some(crate::signin::SIGN_IN_OR_SIGN_UP) => None,
        Some(p) if settings.blocked_policies.iter().any(|b| b == p) => {
            return Err(RedirectError::invalid_request(format!(
                "The {p} policy is blocked on this server"
            )))
        }
        Some(p) if settings.policy_pages && crate::signin::Step::from_policy(p).is_some() => {
            Some(p.to_owned())
        }
        Some(p)
            if settings.saml_sso
                && crate::saml::saml_policy(p).is_some_and(|name| !name.is_empty()) =>
        {
            Some(p.to_owned())
        }
        Some(p)
            if federated_policy(p)
                .is_some_and(|name| settings.federated_providers.contains(&name)) =>
        {
            Some(p.to_owned())
        }
        Some(p) => {
            return Err(RedirectError::invalid_request(format!(
                "Unknown policy: {p}"
            )))
        }
    };
    let locale = negotiate_locale(
        params.ui_locales.as_deref(),
        params.locale.as_deref(),
        &[],
        settings.supported_locales,
    );
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let dpop_jkt = nonempty(&params.dpop_jkt);
    if dpop_jkt
        .as_deref()
        .is_some_and(|j| !crate::dpop::is_thumbprint(j))
    {
        let refusal = crate::dpop::DpopError::MalformedThumbprint.to_string();
        return Err(RedirectError::invalid_request(refusal));
    }
    let claims = match params.claims.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(raw) => crate::claims::parse_claims_request(raw)
            .map_err(|e| RedirectError::invalid_request(e.to_string()))?,
        None => crate::claims::ClaimsRequest::default(),
    };
    Ok(AuthorizationRequest {
        client_id: params.client_id.clone().unwrap_or_default(),
        redirect_uri: redirect_uri.to_owned(),
        state,
        challenge,
        scopes,
        nonce: nonempty(&params.nonce),
        prompt,
        max_age,
        login_hint: nonempty(&params.login_hint),
        response_mode,
        locale,
        policy,
        org: nonempty(&params.org),
        // Checked against the registered resource servers by the caller.
        resource: None,
        wants_two_factors: claims.wants_two_factors
            || crate::signin::context::wants_two_factors(params.acr_values.as_deref()),
        id_token_claims: claims.id_token,
        userinfo_claims: claims.userinfo,
        expected_subject: claims.subject,
        fapi: false,
        dpop_jkt,
    })
}

fn parse_prompt(raw: Option<&str>) -> Result<Prompt, RedirectError> {
    let mut prompt = Prompt::default();
    for value in raw.unwrap_or_default().split_ascii_whitespace() {
        match value {
            "none" => prompt.none = true,
            "login" | "select_account" => prompt.login = true,
            "consent" => prompt.consent = true,
            other => {
                return Err(RedirectError::invalid_request(format!(
                    "Unsupported prompt value: {other}"
                )))
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(RedirectError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

#[cfg(test)]
mod tests;
