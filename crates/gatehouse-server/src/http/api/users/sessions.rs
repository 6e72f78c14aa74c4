//! `/api/v1/users/{authId}/sessions`: a user's live sessions, and ending one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::format_timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::api::guard::{Guarded, ReadUser, WriteUser};
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::users;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSessionView {
    /// Identifies the session (its refresh-token family); never a token.
    pub session_id: String,
    pub auth_id: String,
    pub client_id: String,
    pub scope: String,
    pub roles: Vec<String>,
    /// When the current refresh token expires (`YYYY-MM-DD HH:MM:SS` UTC).
    pub expired_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<String>,
}

/// A signed-in browser: the single sign-on session shared by every app it visits.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrowserSessionView {
    /// `browser-<n>`; end it with `DELETE …/active-sessions/{sessionId}`.
    pub session_id: String,
    pub auth_id: String,
    /// When the user last entered their credentials (`YYYY-MM-DD HH:MM:SS` UTC).
    pub signed_in_at: String,
    pub last_seen_at: String,
    pub expired_at: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSessionsBody {
    pub active_sessions: Vec<ActiveSessionView>,
    /// Gatehouse's addition: the browsers signed in as this user.
    pub browser_sessions: Vec<BrowserSessionView>,
}

/// The user's active sessions: one per live refresh-token family, and one per signed-in
/// browser. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/users/{authId}/active-sessions", tag = "Users", security(("oauth2" = ["read_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = ActiveSessionsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn active_sessions(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<ActiveSessionsBody>, ApiError> {
    let sessions = users::active_sessions(&state.store, &auth_id).await?;
    let user = &sessions.user;
    Ok(Json(ActiveSessionsBody {
        browser_sessions: sessions
            .browser_sessions
            .iter()
            .map(|b| BrowserSessionView {
                session_id: format!("{}{}", users::BROWSER_SESSION_PREFIX, b.id),
                auth_id: user.auth_id.clone(),
                signed_in_at: format_timestamp(&b.auth_time),
                last_seen_at: format_timestamp(&b.last_seen_at),
                expired_at: format_timestamp(&b.expires_at),
                ip_address: b.ip.clone(),
                user_agent: b.user_agent.clone(),
            })
            .collect(),
        active_sessions: sessions
            .token_sessions
            .into_iter()
            .map(|s| ActiveSessionView {
                session_id: s.family_id,
                auth_id: user.auth_id.clone(),
                client_id: s.client_id,
                scope: s.scope,
                roles: serde_json::from_str(&s.roles).unwrap_or_default(),
                expired_at: format_timestamp(&s.expires_at),
                impersonated_by: s.impersonated_by,
            })
            .collect(),
    }))
}

/// End one of the user's sessions: a refresh-token family (its tokens stop working) or a
/// browser session (`browser-<n>`: that browser must sign in again). Requires `write_user`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/active-sessions/{sessionId}", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId"), ("sessionId" = String, Path, description = "The session's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_session(
    _: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path((auth_id, session_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    users::end_session(&state.store, &auth_id, &session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
