//! `POST /oauth2/v1/device_authorization` (RFC 8628 §3.1): a device asks for a device code and
//! the user code its user types on `/device`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use super::token::{no_store, presented_client};
use crate::http::error::OAuthError;
use crate::http::form::OAuthForm;
use crate::services::{device_flow, user_tokens};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct DeviceAuthorizationForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

pub async fn device_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    OAuthForm(form): OAuthForm<DeviceAuthorizationForm>,
) -> Result<Response, OAuthError> {
    let presented = presented_client(&headers, form.client_id, form.client_secret)?;
    let client = user_tokens::identify_client(&state, &presented).await?;
    let now = chrono::Utc::now().timestamp();
    let issued =
        device_flow::authorize_device(&state, client.as_ref(), form.scope.as_deref(), now).await?;
    Ok(no_store(Json(issued)))
}
