//! `POST /oauth2/v1/token`: reads the form, authenticates the client and hands the request to
//! the grant's service.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::client_auth::parse_basic_authorization;
use gatehouse_core::TokenError;
use serde::Deserialize;

use crate::http::error::OAuthError;
use crate::http::form::OAuthForm;
use crate::services::tokens;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    scope: Option<String>,
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let grant_type = form
        .grant_type
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match grant_type.as_str() {
        "client_credentials" => {
            let authorization = headers
                .get(header::AUTHORIZATION)
                .ok_or(TokenError::ClientAuthenticationRequired)?
                .to_str()
                .map_err(|_| TokenError::MalformedAuthorizationHeader)?;
            let credentials = parse_basic_authorization(authorization)?;
            let now = chrono::Utc::now().timestamp();
            let issued =
                tokens::issue_client_credentials(&state, &credentials, form.scope.as_deref(), now)
                    .await?;
            Ok(no_store(Json(issued)))
        }
        _ => Err(TokenError::UnsupportedGrantType.into()),
    }
}

/// Token responses must not be cached (RFC 6749 §5.1).
fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
