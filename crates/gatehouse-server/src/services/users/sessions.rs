//! A user's live sessions: refresh-token families and signed-in browsers.

use gatehouse_store::{Store, UserRecord};

use super::user;
use crate::error::ServiceError;
use crate::state::AppState;

/// What the management API lists as a user's sessions.
pub struct UserSessions {
    pub user: UserRecord,
    /// One per live refresh-token family (Melody's active sessions).
    pub token_sessions: Vec<gatehouse_store::ActiveSession>,
    /// One per signed-in browser (single sign-on).
    pub browser_sessions: Vec<gatehouse_store::BrowserSessionSummary>,
}

/// How a browser session is named in the management API, apart from refresh-token families.
pub const BROWSER_SESSION_PREFIX: &str = "browser-";

pub async fn active_sessions(store: &Store, auth_id: &str) -> Result<UserSessions, ServiceError> {
    use gatehouse_store::{BrowserSessionStore, RefreshTokenStore};
    let current = user(store, auth_id).await?;
    let now = gatehouse_store::now_utc();
    let token_sessions = store.active_sessions(current.id, now).await?;
    let browser_sessions = store.user_browser_sessions(current.id, now).await?;
    Ok(UserSessions {
        user: current,
        token_sessions,
        browser_sessions,
    })
}

/// Ends a session: a refresh-token family (every token of it stops working) or, for a
/// `browser-<id>` session, the browser's single sign-on (its next sign-in asks again).
pub async fn end_session(
    state: &AppState,
    auth_id: &str,
    session_id: &str,
) -> Result<(), ServiceError> {
    use gatehouse_store::RefreshTokenStore;
    let current = user(&state.store, auth_id).await?;
    let now = chrono::Utc::now().timestamp();
    let ended = match session_id
        .strip_prefix(BROWSER_SESSION_PREFIX)
        .map(str::parse::<i64>)
    {
        Some(Ok(id)) => state.sessions().end_one(current.id, id, now).await?,
        Some(Err(_)) => false,
        None => {
            let now = gatehouse_store::now_utc();
            state
                .store
                .revoke_session(current.id, session_id, now)
                .await?
        }
    };
    if !ended {
        return Err(ServiceError::NotFound("No active session found"));
    }
    Ok(())
}
