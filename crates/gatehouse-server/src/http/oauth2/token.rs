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
use crate::services::user_tokens::{self, IdentifiedClient, PresentedClient};
use crate::services::{client_credentials, device_flow};
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
    client_id: Option<String>,
    client_secret: Option<String>,
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

/// The client's claimed identity: HTTP Basic (`client_secret_basic`) or form fields
/// (`client_secret_post`, or a public client naming itself). Both at once is refused.
pub fn presented_client(
    headers: &HeaderMap,
    form_id: Option<String>,
    form_secret: Option<String>,
) -> Result<PresentedClient, OAuthError> {
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
            })
        }
        None => Ok(PresentedClient {
            client_id: form_id,
            client_secret: form_secret,
        }),
    }
}

/// The client a request names or authenticates as ([`presented_client`]), identified (and,
/// for a confidential app, its secret checked).
pub async fn identified_client(
    state: &AppState,
    headers: &HeaderMap,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<Option<IdentifiedClient>, OAuthError> {
    let presented = presented_client(headers, client_id, client_secret)?;
    Ok(user_tokens::identify_client(state, &presented).await?)
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let grant_type = form
        .grant_type
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let now = chrono::Utc::now().timestamp();
    match grant_type.as_str() {
        "client_credentials" => {
            let authorization = headers
                .get(header::AUTHORIZATION)
                .ok_or(TokenError::ClientAuthenticationRequired)?
                .to_str()
                .map_err(|_| TokenError::MalformedAuthorizationHeader)?;
            let credentials = parse_basic_authorization(authorization)?;
            if form
                .client_id
                .as_deref()
                .is_some_and(|id| id != credentials.client_id)
            {
                return Err(another_client());
            }
            let issued =
                client_credentials::issue(&state, &credentials, form.scope.as_deref(), now).await?;
            Ok(no_store(Json(issued)))
        }
        "authorization_code" => {
            let client =
                identified_client(&state, &headers, form.client_id, form.client_secret).await?;
            let ip = client_ip(&headers, peer, &state.config);
            let issued = user_tokens::exchange_code(
                &state,
                client.as_ref(),
                form.code.as_deref().unwrap_or_default(),
                user_tokens::CodeProof {
                    redirect_uri: Some(form.redirect_uri.as_deref().unwrap_or_default()),
                    code_verifier: form.code_verifier.as_deref(),
                    resource: form.resource.as_deref(),
                },
                ip.as_deref(),
                now,
            )
            .await?;
            Ok(no_store(Json(issued)))
        }
        "refresh_token" => {
            let client =
                identified_client(&state, &headers, form.client_id, form.client_secret).await?;
            let issued = user_tokens::refresh(
                &state,
                client.as_ref(),
                (
                    form.refresh_token.as_deref().unwrap_or_default(),
                    form.resource.as_deref(),
                ),
                now,
            )
            .await?;
            Ok(no_store(Json(issued)))
        }
        device_code::GRANT_TYPE => {
            let client =
                identified_client(&state, &headers, form.client_id, form.client_secret).await?;
            let ip = client_ip(&headers, peer, &state.config);
            let device_code = form.device_code.as_deref().unwrap_or_default();
            let issued =
                device_flow::poll(&state, client.as_ref(), device_code, ip.as_deref(), now).await?;
            Ok(no_store(Json(issued)))
        }
        token_exchange::GRANT_TYPE => {
            let client =
                identified_client(&state, &headers, form.client_id, form.client_secret).await?;
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
            };
            let issued = user_tokens::exchange_token(&state, client.as_ref(), request, now).await?;
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
    let client = identified_client(&state, &headers, form.client_id, form.client_secret).await?;
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
