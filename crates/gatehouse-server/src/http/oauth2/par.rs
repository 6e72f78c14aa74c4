//! `POST /oauth2/v1/par` (RFC 9126): a client pushes its authorization request, authenticated as
//! at the token endpoint, and gets a one-time `request_uri` to send the browser with.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::dpop::DpopError;
use gatehouse_core::par::{self, Pairs};
use gatehouse_core::TokenError;
use serde_json::json;

use super::authorize::{check_authorization, params_of, Refusal};
use super::token::{identified_client, no_store, with_dpop_nonce, ClientAuthForm};
use crate::http::error::OAuthError;
use crate::http::form::OAuthForm;
use crate::services;
use crate::state::AppState;

pub const PAR_PATH: &str = "/oauth2/v1/par";

/// The client's credentials, taken out of the pushed parameters: they authenticate the push
/// and are not part of the authorization request.
fn client_auth(pairs: &mut Pairs) -> ClientAuthForm {
    let mut take = |name: &str| {
        let at = pairs.iter().position(|(n, _)| n == name)?;
        Some(pairs.remove(at).1)
    };
    let client_secret = take("client_secret");
    let client_assertion_type = take("client_assertion_type");
    let client_assertion = take("client_assertion");
    let client_id = pairs
        .iter()
        .find(|(n, _)| n == "client_id")
        .map(|(_, v)| v.clone());
    ClientAuthForm {
        client_id,
        client_secret,
        client_assertion_type,
        client_assertion,
    }
}

fn invalid_request(description: String) -> OAuthError {
    OAuthError::InvalidRequest {
        status: StatusCode::BAD_REQUEST,
        description,
    }
}

/// A DPoP proof sent with the push binds the code to its key (RFC 9449 §10.1): its thumbprint
/// becomes the request's `dpop_jkt`, which may not name another key.
fn bind_to_key(pairs: &mut Pairs, key: &services::dpop::ProvenKey) -> Result<(), OAuthError> {
    match pairs.iter().find(|(name, _)| name == "dpop_jkt") {
        Some((_, named)) if *named != key.thumbprint => {
            Err(crate::error::ServiceError::from(DpopError::ThumbprintMismatch).into())
        }
        Some(_) => Ok(()),
        None => {
            pairs.push(("dpop_jkt".into(), key.thumbprint.clone()));
            Ok(())
        }
    }
}

pub async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(pairs): OAuthForm<Pairs>,
) -> Response {
    let now = chrono::Utc::now().timestamp();
    let pushed = pushed(&state, &headers, pairs, now).await;
    with_dpop_nonce(&state, &headers, pushed.into_response(), now).await
}

async fn pushed(
    state: &AppState,
    headers: &HeaderMap,
    mut pairs: Pairs,
    now: i64,
) -> Result<Response, OAuthError> {
    let key = services::dpop::token_request_key(state, headers, PAR_PATH, now).await?;
    let auth = client_auth(&mut pairs);
    let client = identified_client(state, headers, auth, PAR_PATH)
        .await?
        .ok_or(TokenError::MissingParameter("client_id"))?;
    services::dpop::check_fapi_proof(&client.app, key.as_ref())
        .map_err(crate::error::ServiceError::from)?;
    // HTTP Basic names the client; the request names it too (RFC 9126 §2.1).
    if !pairs.iter().any(|(n, _)| n == "client_id") {
        pairs.push(("client_id".into(), client.app.client_id.clone()));
    }
    par::check_push(&pairs).map_err(TokenError::from)?;
    // A signed request object (RFC 9126 §3): its parameters are the request.
    if let Some(at) = pairs.iter().position(|(name, _)| name == "request") {
        let (_, request) = pairs.remove(at);
        let object = services::request_objects::unpack(state, &client.app, &request).await?;
        pairs = par::take_pushed(&pairs, object).map_err(TokenError::from)?;
    }
    if let Some(key) = &key {
        bind_to_key(&mut pairs, key)?;
    }
    let params = params_of(&pairs)
        .ok_or_else(|| invalid_request("The request repeats a parameter".into()))?;
    match check_authorization(state, &params, true).await {
        Ok(_) => {}
        Err(Refusal::Shown { detail, .. }) => return Err(invalid_request(detail)),
        Err(Refusal::Redirected { code, description }) => {
            let body = json!({ "error": code, "error_description": description });
            return Ok(no_store((StatusCode::BAD_REQUEST, Json(body))));
        }
        Err(Refusal::Internal(err)) => return Err(err.into()),
    }
    let (request_uri, expires_in) = services::par::push(state, &pairs).await?;
    let body = json!({ "request_uri": request_uri, "expires_in": expires_in });
    Ok(no_store((StatusCode::CREATED, Json(body))).into_response())
}
