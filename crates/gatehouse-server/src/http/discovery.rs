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

use super::cors;
use crate::config::Config;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration).options(cors::public_preflight),
        )
        // RFC 8414's metadata: every member it defines is in the discovery document already
        // (introspection, revocation, PKCE methods), so both names serve one document.
        .route(
            "/.well-known/oauth-authorization-server",
            get(openid_configuration).options(cors::public_preflight),
        )
        .route(
            "/.well-known/jwks.json",
            get(jwks).options(cors::public_preflight),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(own_resource_metadata).options(cors::public_preflight),
        )
        .route(
            PROTECTED_RESOURCE_PATH,
            get(resource_server_metadata).options(cors::public_preflight),
        )
}

/// Where a registered resource server's metadata (RFC 9728) is served, by `?resource=`.
pub const PROTECTED_RESOURCE_PATH: &str = "/oauth2/v1/protected-resource";
/// Algorithms of the proofs and keys this server's resources accept.
const RESOURCE_ALGORITHMS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

/// Protected resource metadata (RFC 9728 §2) of this server's own APIs (`/api/v1`, `/info`,
/// userinfo): one resource, the issuer, whose tokens name the issuer as audience.
pub fn own_resource_metadata_document(config: &Config) -> serde_json::Value {
    let issuer = config.issuer.as_str();
    json!({
        "resource": issuer,
        "resource_name": "Gatehouse",
        "authorization_servers": [issuer],
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "scopes_supported": BUILT_IN_SCOPES,
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": RESOURCE_ALGORITHMS,
        "resource_documentation": format!("{issuer}/api/v1/swagger"),
    })
}

async fn own_resource_metadata(State(state): State<AppState>) -> Response {
    let json = HeaderValue::from_static("application/json");
    let body = state.documents.resource_metadata.clone();
    cacheable(
        ([(header::CONTENT_TYPE, json)], body),
        "public, max-age=300",
    )
}

#[derive(Debug, serde::Deserialize)]
struct ResourceQuery {
    resource: Option<String>,
}

/// A registered resource server's metadata (RFC 9728 §2), for it to serve or point to from its
/// `WWW-Authenticate` (`resource_metadata`): only for an identifier asked by name, only while the
/// API is active, so the list of APIs cannot be read from here.
async fn resource_server_metadata(
    state: State<AppState>,
    query: axum::extract::Query<ResourceQuery>,
) -> Response {
    // Its refusals are public too: a browser app may read why.
    let mut response = resource_server_answer(state, query).await;
    cors::mark_public(response.headers_mut());
    response
}

async fn resource_server_answer(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<ResourceQuery>,
) -> Response {
    let not_found = || {
        let body = json!({
            "error": "not_found",
            "error_description": "No active resource server has this identifier: ask with ?resource=<identifier>",
        });
        (axum::http::StatusCode::NOT_FOUND, Json(body)).into_response()
    };
    let Some(identifier) = query.resource.filter(|r| !r.is_empty()) else {
        return not_found();
    };
    let rs = match crate::services::resource_servers::named(&state, &identifier).await {
        Ok(rs) => rs,
        Err(crate::error::ServiceError::Token(_)) => return not_found(),
        Err(err) => return crate::http::error::ApiError::from(err).into_response(),
    };
    let issuer = state.config.issuer.as_str();
    let signing = rs
        .signing_algorithm
        .clone()
        .unwrap_or_else(|| state.config.signing_algorithm.clone());
    let document = json!({
        "resource": rs.identifier,
        "resource_name": rs.name,
        "authorization_servers": [issuer],
        "scopes_supported": rs.scope_names(),
        "bearer_methods_supported": ["header"],
        // The access tokens it receives are RFC 9068 JWTs signed with this server's keys.
        "resource_signing_alg_values_supported": [signing],
        "dpop_signing_alg_values_supported": RESOURCE_ALGORITHMS,
    });
    cacheable(Json(document), "public, max-age=300")
}

/// A 401 from one of this server's token-protected resources points to their metadata
/// (RFC 9728 §5.1), so a client can find the authorization server from the refusal alone.
pub fn point_to_resource_metadata(response: &mut Response, issuer: &str) {
    if response.status() != axum::http::StatusCode::UNAUTHORIZED {
        return;
    }
    let Some(challenge) = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .filter(|c| c.starts_with("Bearer ") || c.starts_with("DPoP "))
    else {
        return;
    };
    let pointed =
        format!("{challenge}, resource_metadata=\"{issuer}/.well-known/oauth-protected-resource\"");
    if let Ok(value) = HeaderValue::from_str(&pointed) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
}

/// The discovery document (OpenID Connect Discovery 1.0 §3).
pub fn openid_configuration_document(config: &Config) -> serde_json::Value {
    let issuer = config.issuer.as_str();
    let signing_algorithm = config.signing_algorithm.as_str();
    // What a client may authenticate with at each endpoint that takes client authentication.
    let client_auth = [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    ];
    let confidential_auth = [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
    ];
    let key_algorithms = ["RS256", "PS256", "ES256", "EdDSA"];
    // Client assertions: signed with the app's key, or an HMAC with its secret.
    let assertion_algorithms = [
        "RS256", "PS256", "ES256", "EdDSA", "HS256", "HS384", "HS512",
    ];
    let sessions = config.server_session_expires_in > 0;
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/v1/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/v1/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/v1/userinfo"),
        "revocation_endpoint": format!("{issuer}/oauth2/v1/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth2/v1/introspect"),
        "end_session_endpoint": format!("{issuer}/oauth2/v1/logout"),
        // Apps hear of sessions ending (OIDC Back-Channel and Front-Channel Logout 1.0); which
        // session, and the front channel at all, only where there are sessions (single sign-on).
        "client_id_metadata_document_supported":
            !config.client_id_metadata_document_hosts.is_empty(),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": sessions,
        "frontchannel_logout_supported": sessions,
        "frontchannel_logout_session_supported": sessions,
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
        "token_endpoint_auth_signing_alg_values_supported": assertion_algorithms,
        "revocation_endpoint_auth_methods_supported": client_auth,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algorithms,
        // Only confidential apps may introspect.
        "introspection_endpoint_auth_methods_supported": confidential_auth,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algorithms,
        "dpop_signing_alg_values_supported": key_algorithms,
        // A signed answer on request (RFC 9701), with the server's own key.
        "introspection_signing_alg_values_supported": [signing_algorithm],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "email",
            "email_verified", "given_name", "family_name", "first_name", "last_name", "locale", "roles",
            "acr", "amr", "phone_number", "phone_number_verified", "address", "sid"
        ],
        "acr_values_supported": gatehouse_core::signin::context::ACR_VALUES,
        // The server's own first; an app may ask for another (`idTokenSignedResponseAlg`).
        "id_token_signing_alg_values_supported": id_token_algorithms(signing_algorithm),
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "ui_locales_supported": config.supported_locales,
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": true,
        // Request objects by value and inside pushed requests (RFC 9101), signed with the
        // app's registered keys; never fetched from a client's URL.
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": key_algorithms,
        "request_uri_parameter_supported": false,
    });
    // Dynamic client registration (RFC 7591), when the operator allows it.
    if config.client_registration != "off" {
        document["registration_endpoint"] = format!("{issuer}/oauth2/v1/register").into();
    }
    document
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

/// Rendered once at start-up: the document depends on the configuration only.
async fn openid_configuration(State(state): State<AppState>) -> Response {
    let json = HeaderValue::from_static("application/json");
    let body = state.documents.openid_configuration.clone();
    cacheable(
        ([(header::CONTENT_TYPE, json)], body),
        "public, max-age=300",
    )
}

async fn jwks(State(state): State<AppState>) -> Response {
    let body = state.keys.jwks();
    cacheable(
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        ),
        // Short, so a rotated-in key is fetched soon after it appears.
        "public, max-age=60",
    )
}

/// A public document's answer: any origin may read it, caches may keep it.
fn cacheable(body: impl IntoResponse, cache_control: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    super::cors::mark_public(headers);
    response
}
