//! Single sign-on: one server-side session per browser, found by the SHA-256 of its cookie.

use chrono::{DateTime, NaiveDateTime};
use gatehouse_store::{BrowserSession, BrowserSessionStore, NewBrowserSession, RefreshTokenStore};

use crate::crypto::{random_token, sha256_hex};
use crate::error::ServiceError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "gh_session";

fn at(unix: i64) -> NaiveDateTime {
    DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .naive_utc()
}

/// The browser's live session, extended by the idle lifetime. `None` with SSO off.
pub async fn resume(
    state: &AppState,
    cookie: Option<&str>,
    now: i64,
) -> Result<Option<BrowserSession>, ServiceError> {
    let lifetime = state.config.server_session_expires_in as i64;
    let Some(cookie) = cookie.filter(|_| lifetime > 0) else {
        return Ok(None);
    };
    let hash = sha256_hex(cookie.as_bytes());
    let Some(session) = state.store.live_browser_session(&hash, at(now)).await? else {
        return Ok(None);
    };
    state
        .store
        .touch_browser_session(session.id, at(now), at(now + lifetime))
        .await?;
    Ok(Some(session))
}

/// Starts a session for a user who just signed in; returns its id and the cookie value.
pub async fn start(
    state: &AppState,
    user_id: i64,
    auth_time: i64,
    ip: Option<&str>,
    user_agent: Option<&str>,
    now: i64,
) -> Result<Option<(i64, String)>, ServiceError> {
    let lifetime = state.config.server_session_expires_in as i64;
    if lifetime == 0 {
        return Ok(None);
    }
    let cookie = random_token::<32>();
    let hash = sha256_hex(cookie.as_bytes());
    let user_agent = user_agent.map(|ua| &ua[..ua.len().min(512)]);
    let id = state
        .store
        .insert_browser_session(&NewBrowserSession {
            session_hash: &hash,
            user_id,
            auth_time: at(auth_time),
            expires_at: at(now + lifetime),
            ip,
            user_agent,
        })
        .await?;
    Ok(Some((id, cookie)))
}

/// Ends the browser's session (logout).
pub async fn end(state: &AppState, cookie: Option<&str>, now: i64) -> Result<(), ServiceError> {
    let Some(cookie) = cookie else {
        return Ok(());
    };
    let hash = sha256_hex(cookie.as_bytes());
    if let Some(session) = state.store.live_browser_session(&hash, at(now)).await? {
        state.store.revoke_browser_session(session.id).await?;
    }
    Ok(())
}

/// Signs the user out everywhere: every browser session ends and every refresh token is
/// revoked. Access tokens already issued run out at their own expiry.
pub async fn end_everywhere(state: &AppState, user_id: i64, now: i64) -> Result<(), ServiceError> {
    let browsers = state
        .store
        .revoke_all_user_browser_sessions(user_id, at(now))
        .await?;
    let tokens = state
        .store
        .revoke_user_refresh_tokens(user_id, at(now))
        .await?;
    tracing::info!(user_id, browsers, tokens, "signed out everywhere");
    Ok(())
}
