//! `GET|POST /oauth2/v1/authorize`: checks the request, then resumes the browser's single
//! sign-on session or sends it to the sign-in page.

use std::sync::Arc;

use axum::extract::{RawForm, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse_core::authorize::{
    check_client, check_request, AuthorizationRequest, AuthorizeParams, ClientFacts, ResponseMode,
};
use gatehouse_core::par::Pairs;
use gatehouse_core::signin::SignInError;
use gatehouse_store::App;

use crate::config::Config;
use crate::error::ServiceError;
use crate::http::error::status_of;
use crate::http::identity::browser::Browser;
use crate::http::identity::pages::message;
use crate::http::identity::respond::{client_error, outcome, see_other};
use crate::services::signin::TxCall;
use crate::services::{par, request_objects, resource_servers, saml_sp, signin, user_tokens};
use crate::state::AppState;

pub async fn authorize_get(
    State(state): State<AppState>,
    browser: Browser,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    match serde_urlencoded::from_str::<Pairs>(&query) {
        Ok(pairs) => authorize_pairs(state, browser, pairs).await,
        Err(_) => unreadable(&state.config, "The query could not be read"),
    }
}

pub async fn authorize_post(
    State(state): State<AppState>,
    browser: Browser,
    RawForm(body): RawForm,
) -> Response {
    match serde_urlencoded::from_bytes::<Pairs>(&body) {
        Ok(pairs) => authorize_pairs(state, browser, pairs).await,
        Err(_) => unreadable(
            &state.config,
            "The request body could not be read as a form",
        ),
    }
}

fn unreadable(config: &Config, detail: &str) -> Response {
    bad_request(config, "en", StatusCode::BAD_REQUEST, detail)
}

/// The parameters the endpoint goes on with: the request's own, or the pushed request its
/// `request_uri` names (RFC 9126 §4), taken once.
async fn authorize_pairs(state: AppState, browser: Browser, pairs: Pairs) -> Response {
    let pushed = pairs.iter().any(|(name, _)| name == "request_uri");
    if pushed && pairs.iter().any(|(name, _)| name == "request") {
        let err = gatehouse_core::request_object::RequestObjectError::ByReference;
        return bad_request(
            &state.config,
            "en",
            StatusCode::BAD_REQUEST,
            &err.to_string(),
        );
    }
    let resolved = match par::resolve(&state, pairs).await {
        Ok(pairs) => request_objects::resolve(&state, pairs).await,
        Err(err) => Err(err),
    };
    let pairs = match resolved {
        Ok(pairs) => pairs,
        Err(ServiceError::Token(err)) => {
            return bad_request(
                &state.config,
                "en",
                StatusCode::BAD_REQUEST,
                &err.to_string(),
            )
        }
        Err(err) => return crate::http::error::page_internal_error(&state.config, "en", &err),
    };
    match params_of(&pairs) {
        Some(params) => authorize(state, browser, params, pushed).await,
        None => unreadable(
            &state.config,
            "The request repeats a parameter or holds one that is not text",
        ),
    }
}

/// The authorization parameters of a form or query; `None` when one is given twice.
pub(crate) fn params_of(pairs: &Pairs) -> Option<AuthorizeParams> {
    let encoded = serde_urlencoded::to_string(pairs).ok()?;
    serde_urlencoded::from_str(&encoded).ok()
}

/// Why an authorization request is refused.
pub(crate) enum Refusal {
    /// The client or its redirect URI cannot be trusted: shown, never redirected.
    Shown {
        status: StatusCode,
        detail: String,
    },
    /// Sent back to the client (RFC 6749 §4.1.2.1).
    Redirected {
        code: String,
        description: String,
    },
    Internal(ServiceError),
}

/// What a checked request leads to: the app and the request the sign-in goes on with, or a
/// refusal. Shared by the endpoint and the pushed requests (RFC 9126 §2.1: a push is checked
/// as the request itself would be). `pushed` says whether the request came through a push.
pub(crate) async fn check_authorization(
    state: &AppState,
    params: &AuthorizeParams,
    pushed: bool,
) -> Result<(Arc<App>, AuthorizationRequest), Refusal> {
    let config = &state.config;
    let settings = signin::authorize_settings(config, signin::RequestSurface::Pages);
    let shown = |status: StatusCode, detail: &str| Refusal::Shown {
        status,
        detail: detail.to_owned(),
    };
    let app = match params.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(client_id) => state
            .clients
            .app(client_id)
            .await
            .map_err(Refusal::Internal)?,
        None => None,
    };
    let facts = app.as_deref().map(signin::client_facts);
    // Client and redirect URI problems are shown, never redirected.
    let redirect_uri = check_client(params, facts, &settings)
        .map_err(|err| shown(status_of(err.class()), &err.to_string()))?;
    // An app registered before the redirect-URI rules may still hold a `javascript:` URI.
    if !crate::services::apps::may_redirect_to(config, redirect_uri) {
        return Err(shown(
            StatusCode::BAD_REQUEST,
            "The registered redirect_uri is not allowed: use https, loopback http or a private-use scheme with a dot",
        ));
    }
    let (Some(app), Some(facts)) = (app.as_ref(), facts) else {
        return Err(shown(StatusCode::NOT_FOUND, "No SPA app found"));
    };
    let redirected = |code: &str, description: String| Refusal::Redirected {
        code: code.to_owned(),
        description,
    };
    let fapi = app.security.fapi2_security_profile;
    if fapi && app.app_type == gatehouse_core::grant::AppType::Spa {
        let err = gatehouse_core::fapi::FapiError::PublicClient;
        return Err(shown(StatusCode::BAD_REQUEST, &err.to_string()));
    }
    if !pushed
        && (config.require_pushed_authorization_requests
            || app.security.require_pushed_authorization_requests
            || fapi)
    {
        let err = gatehouse_core::par::ParError::PushRequired;
        return Err(redirected("invalid_request", err.to_string()));
    }
    // RFC 8707: a named API must be registered and active; the scopes it defines may be asked.
    // This server itself (its RFC 9728 identifier, the issuer) is the default, not an API.
    let named = params.resource.as_deref();
    let resource = match named.filter(|r| !r.is_empty() && *r != config.issuer) {
        None => None,
        Some(identifier) => match resource_servers::named(state, identifier).await {
            Ok(rs) => Some(rs),
            Err(ServiceError::Token(err)) => {
                return Err(redirected("invalid_target", err.to_string()))
            }
            Err(ServiceError::SignIn(err)) => {
                return Err(shown(status_of(err.class()), &err.to_string()))
            }
            Err(err) => return Err(Refusal::Internal(err)),
        },
    };
    let held = user_tokens::held_scopes(app, resource.as_ref());
    let facts = ClientFacts {
        scopes: &held,
        ..facts
    };
    let mut request = check_request(params, facts, redirect_uri, &settings)
        .map_err(|err| redirected(err.code, err.description))?;
    request.resource = resource.map(|rs| rs.identifier);
    if fapi {
        let s256 = request
            .challenge
            .as_ref()
            .is_some_and(|c| c.method == gatehouse_core::pkce::ChallengeMethod::S256);
        if !s256 {
            let err = gatehouse_core::fapi::FapiError::PkceRequired;
            return Err(redirected("invalid_request", err.to_string()));
        }
        request.fapi = true;
    }
    Ok((Arc::clone(app), request))
}

/// The authorize request (also `/saml/sp/v1/login`); `pushed` when its parameters came from a
/// pushed request.
pub(crate) async fn authorize(
    state: AppState,
    browser: Browser,
    params: AuthorizeParams,
    pushed: bool,
) -> Response {
    let config = &state.config;
    let page_locale = browser.locale(
        &state,
        params.ui_locales.as_deref(),
        params.locale.as_deref(),
    );
    let (app, mut request) = match check_authorization(&state, &params, pushed).await {
        Ok(checked) => checked,
        Err(Refusal::Shown { status, detail }) => {
            return bad_request(config, &page_locale, status, &detail)
        }
        Err(Refusal::Redirected { code, description }) => {
            // The client and redirect URI were checked before anything is redirected.
            let redirect_uri = params.redirect_uri.as_deref().unwrap_or_default();
            let mode = if params.authorize_method.as_deref() == Some("popup") {
                ResponseMode::WebMessage
            } else if params.response_mode.as_deref() == Some("form_post") {
                ResponseMode::FormPost
            } else {
                ResponseMode::Query
            };
            let client_state = params.state.as_deref();
            return client_error(
                config,
                redirect_uri,
                mode,
                client_state,
                &code,
                &description,
            );
        }
        Err(Refusal::Internal(err)) => {
            return crate::http::error::page_internal_error(config, &page_locale, &err)
        }
    };
    let app = app.as_ref();
    // The request's own languages came first; the browser's follow them.
    request.locale = page_locale;
    let locale = request.locale.clone();
    let two_factors = request.wants_two_factors;
    let prompt = request.prompt;
    let max_age = request.max_age;
    let (redirect_uri, client_state) = (request.redirect_uri.clone(), request.state.clone());
    let mode = request.response_mode;
    let federated = request
        .policy
        .as_deref()
        .and_then(gatehouse_core::authorize::federated_policy)
        .map(str::to_owned);
    // `saml_sso_<idp>`: the IdP is found before anything is stored.
    let saml_idp = match request
        .policy
        .as_deref()
        .and_then(gatehouse_core::saml::saml_policy)
    {
        Some(name) => match saml_sp::idp(&state, name).await {
            Ok(found) => Some(found),
            Err(err) => return refused(config, &locale, err),
        },
        None => None,
    };
    let tx_id = match signin::begin(&state, request, app, browser.csrf.as_deref()).await {
        Ok(id) => id,
        Err(err) => return crate::http::error::page_internal_error(config, &locale, &err),
    };
    // A live session signs in silently unless the client asked for a fresh sign-in.
    let session = if prompt.login {
        None
    } else {
        match state
            .sessions()
            .resume(browser.session.as_deref(), browser.now)
            .await
        {
            Ok(s) => s.filter(|s| {
                max_age.is_none_or(|age| browser.now - s.auth_time.and_utc().timestamp() <= age)
                    && (!two_factors || session_passed_two_factors(s))
            }),
            Err(err) => return crate::http::error::page_internal_error(config, &locale, &err),
        }
    };
    let deny = |code: &str, text: &str| {
        client_error(config, &redirect_uri, mode, Some(&client_state), code, text)
    };
    let Some(session) = session else {
        if prompt.none {
            let _ = signin::discard(&state, &tx_id).await;
            return deny("login_required", "The user is not signed in");
        }
        let mut response = match (federated.as_deref(), &saml_idp) {
            // `saml_sso_<idp>`: straight to the IdP with an AuthnRequest.
            (_, Some(idp)) => {
                match saml_sp::begin_at(&state, &tx_id, idp, browser.csrf.as_deref(), browser.now)
                    .await
                {
                    Ok(url) => see_other(&url),
                    Err(err) => {
                        return crate::http::error::page_internal_error(config, &locale, &err)
                    }
                }
            }
            // `oidc_sso_<name>`: straight to the provider, no sign-in page.
            (Some(provider), None) => match crate::services::federation::begin_at(
                &state,
                &tx_id,
                provider,
                browser.csrf.as_deref(),
            )
            .await
            {
                Ok(url) => see_other(&url),
                Err(err) => return refused(config, &locale, err),
            },
            (None, None) => see_other(&format!(
                "/identity/v1/view/authorize?tx={tx_id}&locale={locale}"
            )),
        };
        browser.set_csrf_cookie(&state, &mut response);
        return response;
    };
    let tx = match signin::load(&state, &tx_id, browser.csrf.as_deref()).await {
        Ok(tx) => tx,
        Err(err) => return crate::http::error::page_internal_error(config, &locale, &err),
    };
    match signin::sign_in_with_session(TxCall::new(&state, &tx_id, tx, browser.meta()), &session)
        .await
    {
        Ok(signin::Outcome::Step(_)) if prompt.none => {
            let _ = signin::discard(&state, &tx_id).await;
            deny(
                "consent_required",
                "The user must consent or complete a step interactively",
            )
        }
        Ok(next) => {
            let response = outcome(config, &tx_id, &locale, next);
            browser.with_csrf_cookie(&state, response)
        }
        Err(ServiceError::SignIn(SignInError::DisabledAccount)) => {
            let _ = signin::discard(&state, &tx_id).await;
            deny("access_denied", &SignInError::DisabledAccount.to_string())
        }
        // A refusal of the sign-in (another account than `claims` named) is shown, not a fault.
        Err(err) => refused(config, &locale, err),
    }
}

/// Whether a session's sign-in reached two factors: a request that asks for them
/// (`acr_values`) is not signed in silently by a weaker one.
fn session_passed_two_factors(session: &gatehouse_store::BrowserSession) -> bool {
    let amr = session.methods();
    gatehouse_core::signin::context::level(&amr) == gatehouse_core::signin::context::LOA_2FA
}

/// A refused authorize request, shown as a page (never redirected).
fn bad_request(config: &Config, locale: &str, status: StatusCode, detail: &str) -> Response {
    message(config, locale, status, "Bad authorization request", detail)
}

/// A sign-in refusal is the request's fault and says why; anything else is the server's.
fn refused(config: &Config, locale: &str, err: ServiceError) -> Response {
    match err {
        ServiceError::SignIn(err) => {
            bad_request(config, locale, status_of(err.class()), &err.to_string())
        }
        err => crate::http::error::page_internal_error(config, locale, &err),
    }
}
