//! `POST /oauth2/v1/token`: reads the form, identifies the client and hands the request to the
//! grant's service.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::client_auth::parse_basic_authorization;
use gatehouse_core::grant::device_code;
use gatehouse_core::grant::token_exchange::{self, ExchangeParams};
use gatehouse_core::TokenError;
use serde::Deserialize;

use crate::http::error::OAuthError;
use crate::http::form::OAuthForm;
use crate::http::web::{client_ip, PeerAddr};
use crate::services::client_credentials::S2sAuthentication;
use crate::services::user_tokens::{self, IdentifiedClient, PresentedClient};
use crate::services::{client_credentials, device_flow, dpop};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    scope: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    device_code: Option<String>,
    /// RFC 8707: the API the access token is for.
    resource: Option<String>,
    /// RFC 8693: the token exchanged and what is asked for it.
    subject_token: Option<String>,
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    actor_token: Option<String>,
    audience: Option<String>,
    #[serde(flatten)]
    client: ClientAuthForm,
}

/// How a client authenticates in a form (RFC 6749 §2.3.1, RFC 7523 §2.2): its id and secret,
/// or a signed assertion. HTTP Basic comes in the header instead.
#[derive(Debug, Default, Deserialize)]
pub struct ClientAuthForm {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

/// A body `client_id` naming another client than HTTP Basic (RFC 6749 §2.3.1: one client
/// authentication per request).
fn another_client() -> OAuthError {
    OAuthError::InvalidRequest {
        status: axum::http::StatusCode::BAD_REQUEST,
        description: "The client_id in the body names another client than the Authorization header"
            .into(),
    }
}

/// The client's claimed identity: HTTP Basic (`client_secret_basic`), form fields
/// (`client_secret_post`, or a public client naming itself) or a signed assertion
/// (`private_key_jwt`). Two at once is refused.
pub fn presented_client(
    headers: &HeaderMap,
    form: ClientAuthForm,
) -> Result<PresentedClient, OAuthError> {
    let ClientAuthForm {
        client_id: form_id,
        client_secret: form_secret,
        client_assertion_type,
        client_assertion,
    } = form;
    let assertion = match (client_assertion_type, client_assertion) {
        (None, None) => None,
        (Some(kind), Some(assertion)) => Some((kind, assertion)),
        (None, Some(_)) => return Err(TokenError::MissingParameter("client_assertion_type").into()),
        (Some(_), None) => return Err(TokenError::MissingParameter("client_assertion").into()),
    };
    if assertion.is_some() && headers.contains_key(header::AUTHORIZATION) {
        return Err(TokenError::TwoClientAuthentications.into());
    }
    match headers.get(header::AUTHORIZATION) {
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| TokenError::MalformedAuthorizationHeader)?;
            let basic = parse_basic_authorization(value)?;
            if form_secret.is_some() {
                return Err(OAuthError::InvalidRequest {
                    status: axum::http::StatusCode::BAD_REQUEST,
                    description:
                        "Use one client authentication method, not Basic and client_secret together"
                            .into(),
                });
            }
            // RFC 6749 §2.3.1: one client per request; a body client_id must be Basic's own.
            if form_id.as_deref().is_some_and(|id| id != basic.client_id) {
                return Err(another_client());
            }
            Ok(PresentedClient {
                client_id: Some(basic.client_id),
                client_secret: Some(basic.client_secret),
                assertion: None,
            })
        }
        None => Ok(PresentedClient {
            client_id: form_id,
            client_secret: form_secret,
            assertion,
        }),
    }
}

/// The client a request to `endpoint` (its path) names or authenticates as
/// ([`presented_client`]), identified (and, for a confidential app, its secret or assertion
/// checked).
pub async fn identified_client(
    state: &AppState,
    headers: &HeaderMap,
    form: ClientAuthForm,
    endpoint: &str,
) -> Result<Option<IdentifiedClient>, OAuthError> {
    let presented = presented_client(headers, form)?;
    Ok(user_tokens::identify_client(state, &presented, endpoint).await?)
}

pub const TOKEN_PATH: &str = "/oauth2/v1/token";

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Response {
    let now = chrono::Utc::now().timestamp();
    let result = match dpop::token_request_key(&state, &headers, TOKEN_PATH, now).await {
        Ok(key) => grant(&state, &headers, peer, form, key.as_ref(), now).await,
        Err(err) => Err(err.into()),
    };
    with_dpop_nonce(&state, &headers, result.into_response(), now).await
}

/// A request that sent a DPoP proof is answered with the nonce its next proof must carry
/// (RFC 9449 §8), whether it succeeded or was told `use_dpop_nonce`.
pub async fn with_dpop_nonce(
    state: &AppState,
    headers: &HeaderMap,
    mut response: Response,
    now: i64,
) -> Response {
    if !state.config.dpop_nonce_required || !headers.contains_key(dpop::DPOP) {
        return response;
    }
    match dpop::current_nonce(state, now).await {
        Ok(nonce) => {
            if let Ok(value) = HeaderValue::from_str(&nonce) {
                response.headers_mut().insert(dpop::DPOP_NONCE, value);
                let exposed = HeaderValue::from_static("DPoP-Nonce");
                response
                    .headers_mut()
                    .insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
            }
            response
        }
        Err(err) => OAuthError::from(err).into_response(),
    }
}

/// The client of a grant, identified as everywhere, whose DPoP proof (if any) its profile allows.
async fn grant_client(
    state: &AppState,
    headers: &HeaderMap,
    form: ClientAuthForm,
    key: Option<&dpop::ProvenKey>,
) -> Result<Option<IdentifiedClient>, OAuthError> {
    let client = identified_client(state, headers, form, TOKEN_PATH).await?;
    if let Some(client) = &client {
        dpop::check_fapi_proof(&client.app, key).map_err(crate::error::ServiceError::from)?;
    }
    Ok(client)
}

/// The grant asked for; `key` is the key a valid DPoP proof was made with.
async fn grant(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    mut form: TokenForm,
    key: Option<&dpop::ProvenKey>,
    now: i64,
) -> Result<Response, OAuthError> {
    let dpop = key.map(|k| k.thumbprint.as_str());
    // This server's own identifier as a resource (RFC 9728) means its own tokens, as no resource.
    if form.resource.as_deref() == Some(state.config.issuer.as_str()) {
        form.resource = None;
    }
    let grant_type = form
        .grant_type
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match grant_type.as_str() {
        "client_credentials" => {
            let scope = form.scope.as_deref();
            // An S2S app authenticates with HTTP Basic (melody.md §3.2) or, when it has keys,
            // with a signed assertion.
            if form.client.client_assertion.is_some() {
                let client = grant_client(state, headers, form.client, key)
                    .await?
                    .ok_or(TokenError::ClientAuthenticationRequired)?;
                let auth = S2sAuthentication::Assertion(&client);
                let issued = client_credentials::issue(state, auth, scope, dpop, now).await?;
                return Ok(no_store(Json(issued)));
            }
            let authorization = headers
                .get(header::AUTHORIZATION)
                .ok_or(TokenError::ClientAuthenticationRequired)?
                .to_str()
                .map_err(|_| TokenError::MalformedAuthorizationHeader)?;
            let credentials = parse_basic_authorization(authorization)?;
            if form
                .client
                .client_id
                .as_deref()
                .is_some_and(|id| id != credentials.client_id)
            {
                return Err(another_client());
            }
            let auth = S2sAuthentication::Secret(&credentials);
            let issued = client_credentials::issue(state, auth, scope, dpop, now).await?;
            Ok(no_store(Json(issued)))
        }
        "authorization_code" => {
            let client = grant_client(state, headers, form.client, key).await?;
            let ip = client_ip(headers, peer, &state.config);
            let issued = user_tokens::exchange_code(
                state,
                client.as_ref(),
                form.code.as_deref().unwrap_or_default(),
                user_tokens::CodeProof {
                    redirect_uri: Some(form.redirect_uri.as_deref().unwrap_or_default()),
                    code_verifier: form.code_verifier.as_deref(),
                    resource: form.resource.as_deref(),
                    dpop,
                },
                ip.as_deref(),
                now,
            )
            .await?;
            Ok(no_store(Json(issued)))
        }
        "refresh_token" => {
            let client = grant_client(state, headers, form.client, key).await?;
            let issued = user_tokens::refresh(
                state,
                client.as_ref(),
                (
                    form.refresh_token.as_deref().unwrap_or_default(),
                    form.resource.as_deref(),
                ),
                dpop,
                now,
            )
            .await?;
            Ok(no_store(Json(issued)))
        }
        device_code::GRANT_TYPE => {
            let client = grant_client(state, headers, form.client, key).await?;
            let ip = client_ip(headers, peer, &state.config);
            let device_code = form.device_code.as_deref().unwrap_or_default();
            let issued = device_flow::poll(
                state,
                client.as_ref(),
                (device_code, dpop),
                ip.as_deref(),
                now,
            )
            .await?;
            Ok(no_store(Json(issued)))
        }
        token_exchange::GRANT_TYPE => {
            let client = grant_client(state, headers, form.client, key).await?;
            let request = user_tokens::ExchangeRequest {
                subject_token: form.subject_token.as_deref().unwrap_or_default(),
                params: ExchangeParams {
                    subject_token_type: form.subject_token_type.as_deref(),
                    requested_token_type: form.requested_token_type.as_deref(),
                    actor_token: form.actor_token.as_deref(),
                    scope: form.scope.as_deref(),
                },
                resource: form.resource.as_deref(),
                audience: form.audience.as_deref(),
                dpop,
            };
            let issued = user_tokens::exchange_token(state, client.as_ref(), request, now).await?;
            Ok(no_store(Json(issued)))
        }
        _ => Err(TokenError::UnsupportedGrantType.into()),
    }
}

/// `POST /oauth2/v1/device_authorization` (RFC 8628 §3.1): a device, authenticated as at the
/// token endpoint, asks for a device code and the user code its user types on `/device`.
pub async fn device_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let path = "/oauth2/v1/device_authorization";
    let client = identified_client(&state, &headers, form.client, path).await?;
    let now = chrono::Utc::now().timestamp();
    let scope = form.scope.as_deref();
    let issued = device_flow::authorize_device(&state, client.as_ref(), scope, now).await?;
    Ok(no_store(Json(issued)))
}

/// Token responses must not be cached (RFC 6749 §5.1), nor anything else that describes a token.
pub(super) fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
