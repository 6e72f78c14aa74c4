//! `/.well-known/openid-configuration` (OpenID Connect Discovery), `/.well-known/oauth-authorization-server`
//! (RFC 8414) and `/.well-known/jwks.json`.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_core::grant::{device_code, token_exchange};
use gatehouse_core::scope::BUILT_IN_SCOPES;
use serde_json::json;

use crate::config::Config;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        // RFC 8414's metadata: every member it defines is in the discovery document already
        // (introspection, revocation, PKCE methods), so both names serve one document.
        .route(
            "/.well-known/oauth-authorization-server",
            get(openid_configuration),
        )
        .route("/.well-known/jwks.json", get(jwks))
}

/// The discovery document (OpenID Connect Discovery 1.0 §3).
pub fn openid_configuration_document(config: &Config) -> serde_json::Value {
    let issuer = config.issuer.as_str();
    let signing_algorithm = config.signing_algorithm.as_str();
    // What a client may authenticate with at each endpoint that takes client authentication.
    let client_auth = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ];
    let confidential_auth = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ];
    let key_algorithms = ["RS256", "PS256", "ES256", "EdDSA"];
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/v1/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/v1/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/v1/userinfo"),
        "revocation_endpoint": format!("{issuer}/oauth2/v1/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth2/v1/introspect"),
        "end_session_endpoint": format!("{issuer}/oauth2/v1/logout"),
        "device_authorization_endpoint": format!("{issuer}/oauth2/v1/device_authorization"),
        "pushed_authorization_request_endpoint": format!("{issuer}/oauth2/v1/par"),
        "require_pushed_authorization_requests": config.require_pushed_authorization_requests,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "scopes_supported": BUILT_IN_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": [
            "authorization_code", "refresh_token", "client_credentials", device_code::GRANT_TYPE,
            token_exchange::GRANT_TYPE
        ],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": client_auth,
        "token_endpoint_auth_signing_alg_values_supported": key_algorithms,
        "revocation_endpoint_auth_methods_supported": client_auth,
        "revocation_endpoint_auth_signing_alg_values_supported": key_algorithms,
        // Only confidential apps may introspect.
        "introspection_endpoint_auth_methods_supported": confidential_auth,
        "introspection_endpoint_auth_signing_alg_values_supported": key_algorithms,
        "dpop_signing_alg_values_supported": key_algorithms,
        // A signed answer on request (RFC 9701), with the server's own key.
        "introspection_signing_alg_values_supported": [signing_algorithm],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "email",
            "email_verified", "given_name", "family_name", "first_name", "last_name", "locale", "roles",
            "acr", "amr", "phone_number", "phone_number_verified", "address"
        ],
        "acr_values_supported": gatehouse_core::signin::context::ACR_VALUES,
        // The server's own first; an app may ask for another (`idTokenSignedResponseAlg`).
        "id_token_signing_alg_values_supported": id_token_algorithms(signing_algorithm),
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": ["en", "fr", "zh-CN"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": true,
        // Request objects by value and inside pushed requests (RFC 9101), signed with the
        // app's registered keys; never fetched from a client's URL.
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": key_algorithms,
        "request_uri_parameter_supported": false,
    })
}

fn id_token_algorithms(own: &str) -> Vec<&str> {
    let mut algorithms = vec![own];
    algorithms.extend(
        ["RS256", "ES256", "EdDSA"]
            .into_iter()
            .filter(|a| *a != own),
    );
    algorithms
}

async fn openid_configuration(State(state): State<AppState>) -> Response {
    let document = openid_configuration_document(&state.config);
    cacheable(Json(document), "public, max-age=300")
}

async fn jwks(State(state): State<AppState>) -> Response {
    let body = state.keys.jwks();
    cacheable(
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body.to_string(),
        ),
        // Short, so a rotated-in key is fetched soon after it appears.
        "public, max-age=60",
    )
}

fn cacheable(body: impl IntoResponse, cache_control: &'static str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    response
}
