//! `/api/v1/users/{authId}/sessions`: a user's live sessions, and ending one.

use axum::extract::State;
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
    /// When the current refresh token expires, in seconds since the Unix epoch (a number, as
    /// Melody's spec and admin panel read it).
    pub expired_at: i64,
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

user_routes! {
    /// The user's active sessions: one per live refresh-token family, and one per signed-in
    /// browser. Requires `read_user`.
    get "/api/v1/users/{authId}/active-sessions", ReadUser ["read_user"];
    fn active_sessions(state, _caller, auth_id) -> 200 ActiveSessionsBody [401, 404] {
        let sessions = users::active_sessions(&state.store, &auth_id).await?;
        let user = &sessions.user;
        ActiveSessionsBody {
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
                    expired_at: s.expires_at.and_utc().timestamp(),
                    impersonated_by: s.impersonated_by,
                })
                .collect(),
        }
    }

    /// End one of the user's sessions: a refresh-token family (its tokens stop working) or a
    /// browser session (`browser-<n>`: that browser must sign in again). Requires `write_user`.
    delete "/api/v1/users/{authId}/active-sessions/{sessionId}", WriteUser ["write_user"];
    fn end_session(state, _caller, auth_id / session_id: String "sessionId" "The session's id")
    -> 204 [401, 404] {
        users::end_session(&state, &auth_id, &session_id).await?
    }
}
