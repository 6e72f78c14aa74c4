//! `POST /oauth2/v1/introspect` (RFC 7662): an S2S or web app asks whether a token stands. The
//! answer is JSON, or a JWT signed by the server for the caller when it asks for one with
//! `Accept: application/token-introspection+jwt` (RFC 9701).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Json;
use gatehouse_core::introspection::{self, SignedIntrospection};
use gatehouse_core::TokenError;

use super::revoke::TokenForm;
use super::token::no_store;
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
    let (client, token) = form
        .client_and_token(&state, &headers, "/oauth2/v1/introspect")
        .await?;
    // The endpoint is for authenticated apps only (RFC 7662 §2.1).
    let client = client.ok_or(TokenError::ClientAuthenticationRequired)?;
    let now = chrono::Utc::now().timestamp();
    let answer = user_tokens::introspect(&state, &client, &token, hint.as_deref(), now).await?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if introspection::wants_jwt(accept) {
        let caller = &client.app.client_id;
        let signed = SignedIntrospection::new(&state.config.issuer, caller, now, answer);
        let jwt = state
            .keys
            .sign_typed(&signed, introspection::JWT_RESPONSE_TYP)?;
        let media_type = HeaderValue::from_static(introspection::JWT_RESPONSE_TYPE);
        Ok(no_store(([(header::CONTENT_TYPE, media_type)], jwt)))
    } else {
        Ok(no_store(Json(answer)))
    }
}
