//! `POST /oauth2/v1/revoke` (RFC 7009): refresh tokens (their whole family) and access tokens.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::token::presented_client;
use crate::http::error::OAuthError;
use crate::http::form::OAuthForm;
use crate::services::user_tokens;
use crate::state::AppState;

/// The form of the revocation and introspection endpoints (RFC 7009 §2.1, RFC 7662 §2.1).
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    pub token: Option<String>,
    /// Revocation looks both kinds up whatever the hint (RFC 7009 §2.1 allows it);
    /// introspection looks first for the kind hinted.
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let presented = presented_client(&headers, form.client_id, form.client_secret)?;
    let client = user_tokens::identify_client(&state, &presented)
        .await?
        .ok_or(gatehouse_core::TokenError::MissingParameter("client_id"))?;
    let now = chrono::Utc::now().timestamp();
    user_tokens::revoke(
        &state,
        &client,
        form.token.as_deref().unwrap_or_default(),
        now,
    )
    .await?;
    // An empty 200 with no content type: what every client library accepts.
    Ok(StatusCode::OK.into_response())
}
