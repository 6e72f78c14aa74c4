//! `/saml/sp/v1`: the SAML service provider (only with `enable_saml_sso_as_sp`; 404 otherwise).
//! Metadata, the login entry (authorize parameters with `policy=saml_sso_<idp>`), the ACS, and
//! the same-site return from the ACS where the browser's cookie binds the sign-in.

use axum::extract::{Query, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use gatehouse_core::authorize::AuthorizeParams;
use serde::Deserialize;

use crate::error::ServiceError;
use crate::http::error::status_of;
use crate::http::identity::browser::Browser;
use crate::http::identity::pages::message;
use crate::http::identity::respond::{outcome, see_other};
use crate::services::saml_sp::{self, PostedResponse};
use crate::state::AppState;

pub const ACS_RETURN_PATH: &str = "/saml/sp/v1/acs/return";

pub fn routes(config: &crate::config::Config) -> Router<AppState> {
    if !config.enable_saml_sso_as_sp {
        return Router::new();
    }
    Router::new()
        .route("/saml/sp/v1/metadata", get(metadata))
        .route("/saml/sp/v1/login", get(login))
        .route("/saml/sp/v1/acs", axum::routing::post(acs))
        .route(ACS_RETURN_PATH, get(acs_return))
}

async fn metadata(State(state): State<AppState>) -> Response {
    let xml = gatehouse_core::saml::sp_metadata_xml(&saml_sp::service_provider(&state));
    (
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        xml,
    )
        .into_response()
}

/// Melody's entry: the authorize parameters, with a `saml_sso_<idp>` policy.
async fn login(
    State(state): State<AppState>,
    browser: Browser,
    RawQuery(query): RawQuery,
) -> Response {
    let params: Option<AuthorizeParams> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).ok();
    match params {
        Some(params)
            if params
                .policy
                .as_deref()
                .and_then(gatehouse_core::saml::saml_policy)
                .is_some() =>
        {
            crate::http::oauth2::authorize::authorize(state, browser, params, false).await
        }
        _ => message(
            &state.config,
            "en",
            StatusCode::BAD_REQUEST,
            "Bad authorization request",
            "The SAML login needs the authorize parameters and a saml_sso_<idp> policy",
        ),
    }
}

fn refused(state: &AppState, err: &ServiceError, title: &str) -> Response {
    match err {
        ServiceError::SignIn(refusal) => message(
            &state.config,
            "en",
            status_of(refusal.class()),
            title,
            &refusal.to_string(),
        ),
        other => crate::http::error::page_internal_error(&state.config, "en", other),
    }
}

/// The IdP's HTTP-POST: checked here; the browser then returns with a same-site GET.
async fn acs(State(state): State<AppState>, Form(posted): Form<PostedResponse>) -> Response {
    let now = chrono::Utc::now().timestamp();
    match saml_sp::accept_response(&state, &posted, now).await {
        Ok(key) => see_other(&format!("{ACS_RETURN_PATH}?key={key}")),
        Err(err) => refused(&state, &err, "Invalid SAML response"),
    }
}

#[derive(Deserialize)]
struct ReturnQuery {
    #[serde(default)]
    key: String,
}

async fn acs_return(
    State(state): State<AppState>,
    browser: Browser,
    Query(query): Query<ReturnQuery>,
) -> Response {
    match saml_sp::finish(&state, &query.key, browser.csrf.as_deref(), browser.meta()).await {
        Ok((tx_id, locale, next)) => outcome(&state.config, &tx_id, &locale, next),
        Err(err) => refused(&state, &err, "SAML sign-in failed"),
    }
}
