//! `POST /oauth2/v1/introspect` (RFC 7662): an S2S or web app asks whether a token stands.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::revoke::TokenForm;
use super::token::presented_client;
use crate::http::error::OAuthError;
use crate::http::form::OAuthForm;
use crate::services::user_tokens;
use crate::state::AppState;

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let presented = presented_client(&headers, form.client_id, form.client_secret)?;
    // The endpoint is for authenticated apps only (RFC 7662 §2.1).
    let client = user_tokens::identify_client(&state, &presented)
        .await?
        .ok_or(gatehouse_core::TokenError::ClientAuthenticationRequired)?;
    let now = chrono::Utc::now().timestamp();
    let answer = user_tokens::introspect(
        &state,
        &client,
        form.token.as_deref().unwrap_or_default(),
        form.token_type_hint.as_deref(),
        now,
    )
    .await?;
    let mut response = Json(answer).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
