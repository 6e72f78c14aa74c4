//! `POST /oauth2/v1/introspect` (RFC 7662): an S2S or web app asks whether a token stands.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::TokenError;

use super::revoke::TokenForm;
use crate::http::error::OAuthError;
use crate::http::form::OAuthForm;
use crate::services::user_tokens;
use crate::state::AppState;

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let hint = form.token_type_hint.clone();
    let (client, token) = form.client_and_token(&state, &headers).await?;
    // The endpoint is for authenticated apps only (RFC 7662 §2.1).
    let client = client.ok_or(TokenError::ClientAuthenticationRequired)?;
    let now = chrono::Utc::now().timestamp();
    let answer = user_tokens::introspect(&state, &client, &token, hint.as_deref(), now).await?;
    let mut response = Json(answer).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
