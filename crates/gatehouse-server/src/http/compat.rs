//! Compatibility surfaces for systems Gatehouse replaces: the Simple-OAuth token API
//! (`/token/get`, `/token/id`). Answers are HTTP 200 with the result in the JSON `status`
//! field, as the original's clients read it.

use std::collections::HashMap;

use axum::extract::{Query, RawForm, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::web::{client_ip, PeerAddr};
use crate::http::auth::S2sCaller;
use crate::services::simple_oauth;
use crate::state::AppState;

pub fn routes(config: &crate::config::Config) -> Router<AppState> {
    if !config.simple_oauth_enabled {
        return Router::new();
    }
    Router::new()
        .route("/token/get", get(token_get).post(token_get))
        .route("/token/id", get(token_id).post(token_id))
}

/// The parameters from the query (GET) or the form body (POST).
fn params(method: &Method, query: HashMap<String, String>, body: &[u8]) -> HashMap<String, String> {
    if method == Method::POST {
        serde_urlencoded::from_bytes(body).unwrap_or_default()
    } else {
        query
    }
}

fn refusal(status: u16, message: &str) -> Response {
    Json(json!({ "status": status, "errmsg": message })).into_response()
}

fn internal(err: crate::error::ServiceError) -> Response {
    tracing::error!(code = err.internal_code(), error = %err, "Simple-OAuth request failed");
    refusal(401, "execution error")
}

async fn token_get(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Query(query): Query<HashMap<String, String>>,
    RawForm(body): RawForm,
) -> Response {
    if method == Method::GET && !state.config.simple_oauth_allow_get {
        return refusal(
            401,
            "GET is disabled on this server; POST the id and password as a form",
        );
    }
    let params = params(&method, query, &body);
    let (Some(id), Some(password)) = (params.get("id"), params.get("password")) else {
        return refusal(400, "id and password are required");
    };
    let ip = client_ip(&headers, peer, &state.config);
    let now = chrono::Utc::now().timestamp();
    match simple_oauth::get_token(&state, id, password, ip.as_deref(), now).await {
        Ok(answer) => Json(answer).into_response(),
        Err(err) => internal(err),
    }
}

/// Only an app's server may resolve tokens: an S2S app's credentials (HTTP Basic), or an S2S
/// access token holding `read_user`.
async fn caller_allowed(state: &AppState, headers: &HeaderMap) -> Result<bool, Response> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(false);
    };
    if value.len() > 6 && value[..6].eq_ignore_ascii_case("basic ") {
        let Ok(credentials) = gatehouse_core::client_auth::parse_basic_authorization(value) else {
            return Ok(false);
        };
        return simple_oauth::s2s_basic_allowed(
            state,
            &credentials.client_id,
            &credentials.client_secret,
        )
        .await
        .map_err(internal);
    }
    let request = axum::http::Request::builder()
        .header(header::AUTHORIZATION, value)
        .body(())
        .map_err(|_| refusal(401, "illegal request"))?;
    let (mut parts, ()) = request.into_parts();
    match <S2sCaller as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, state,
    )
    .await
    {
        Ok(caller) => Ok(gatehouse_core::scope::satisfies(
            &caller.scopes,
            "read_user",
        )),
        Err(_) => Ok(false),
    }
}

async fn token_id(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    RawForm(body): RawForm,
) -> Response {
    match caller_allowed(&state, &headers).await {
        Ok(true) => {}
        Ok(false) => {
            return refusal(
                401,
                "unauthorised: send an S2S app's credentials (HTTP Basic) or an S2S token with read_user",
            )
        }
        Err(response) => return response,
    }
    let params = params(&method, query, &body);
    let Some(token) = params.get("token") else {
        return refusal(400, "token is required");
    };
    let now = chrono::Utc::now().timestamp();
    match simple_oauth::resolve(&state, token, now).await {
        Ok(answer) => Json(answer).into_response(),
        Err(err) => internal(err),
    }
}
