//! `POST /oauth2/v1/revoke` (RFC 7009): refresh tokens (their whole family) and access tokens.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_core::TokenError;
use serde::Deserialize;

use super::token::{identified_client, ClientAuthForm};
use crate::http::error::OAuthError;
use crate::http::form::OAuthForm;
use crate::services::user_tokens::{self, IdentifiedClient};
use crate::state::AppState;

/// The form of the revocation and introspection endpoints (RFC 7009 §2.1, RFC 7662 §2.1).
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    pub token: Option<String>,
    /// Revocation looks both kinds up whatever the hint (RFC 7009 §2.1 allows it);
    /// introspection looks first for the kind hinted.
    pub token_type_hint: Option<String>,
    #[serde(flatten)]
    pub client: ClientAuthForm,
}

impl TokenForm {
    /// The client the request authenticates as (HTTP Basic or the form), `None` when it names
    /// none, and the token asked about.
    pub async fn client_and_token(
        self,
        state: &AppState,
        headers: &HeaderMap,
        endpoint: &str,
    ) -> Result<(Option<IdentifiedClient>, String), OAuthError> {
        let client = identified_client(state, headers, self.client, endpoint).await?;
        Ok((client, self.token.unwrap_or_default()))
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<Response, OAuthError> {
    let (client, token) = form
        .client_and_token(&state, &headers, "/oauth2/v1/revoke")
        .await?;
    let client = client.ok_or(TokenError::MissingParameter("client_id"))?;
    user_tokens::revoke(&state, &client, &token, chrono::Utc::now().timestamp()).await?;
    // An empty 200 with no content type: what every client library accepts.
    Ok(StatusCode::OK.into_response())
}
