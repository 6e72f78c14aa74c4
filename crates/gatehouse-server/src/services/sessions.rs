//! Single sign-on: one server-side session per browser, found by the SHA-256 of its cookie.

use chrono::{DateTime, NaiveDateTime};
use gatehouse_core::ids::UserId;
use gatehouse_store::{
    BrowserSession, BrowserSessionStore, NewBrowserSession, RefreshTokenStore, Store,
};

use crate::crypto::{random_token, sha256_hex};
use crate::error::ServiceError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "gh_session";

fn at(unix: i64) -> NaiveDateTime {
    DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .naive_utc()
}

/// Single sign-on sessions: the browser-session store and the configured idle lifetime (0 =
/// single sign-on off). Ending everywhere also revokes refresh tokens, hence the second trait.
/// Ending a session owes its apps logout notices (the store writes them with the end); `wake`
/// tells this instance's sender to send them now.
pub struct Sessions<'a, S> {
    pub store: &'a S,
    pub idle_lifetime: i64,
    pub wake: Option<&'a tokio::sync::Notify>,
}

impl AppState {
    pub fn sessions(&self) -> Sessions<'_, Store> {
        Sessions {
            store: &self.store,
            idle_lifetime: self.config.server_session_expires_in as i64,
            wake: Some(&self.logout_wake),
        }
    }
}

impl<S> Sessions<'_, S>
where
    S: BrowserSessionStore + RefreshTokenStore + Sync,
{
    /// The browser's live session, extended by the idle lifetime. `None` with SSO off.
    pub async fn resume(
        &self,
        cookie: Option<&str>,
        now: i64,
    ) -> Result<Option<BrowserSession>, ServiceError> {
        let Some(cookie) = cookie.filter(|_| self.idle_lifetime > 0) else {
            return Ok(None);
        };
        let hash = sha256_hex(cookie.as_bytes());
        let Some(session) = self.store.live_browser_session(&hash, at(now)).await? else {
            return Ok(None);
        };
        self.store
            .touch_browser_session(session.id, at(now), at(now + self.idle_lifetime))
            .await?;
        Ok(Some(session))
    }

    /// Starts a session for a user who just signed in; returns its id and the cookie value.
    /// `None` with SSO off.
    /// `amr`: the methods the sign-in passed, kept so a single sign-on can say them again.
    pub async fn start(
        &self,
        user_id: UserId,
        auth_time: i64,
        amr: &[String],
        (ip, user_agent): (Option<&str>, Option<&str>),
        now: i64,
    ) -> Result<Option<(i64, String)>, ServiceError> {
        if self.idle_lifetime <= 0 {
            return Ok(None);
        }
        let cookie = random_token::<32>();
        let hash = sha256_hex(cookie.as_bytes());
        let user_agent = user_agent.map(|ua| &ua[..ua.floor_char_boundary(512)]);
        let id = self
            .store
            .insert_browser_session(&NewBrowserSession {
                session_hash: &hash,
                user_id,
                auth_time: at(auth_time),
                expires_at: at(now + self.idle_lifetime),
                ip,
                user_agent,
                amr,
            })
            .await?;
        Ok(Some((id, cookie)))
    }

    /// Ends the browser's session (logout); the session that ended, if one was live.
    pub async fn end(&self, cookie: Option<&str>, now: i64) -> Result<Option<i64>, ServiceError> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let hash = sha256_hex(cookie.as_bytes());
        let Some(session) = self.store.live_browser_session(&hash, at(now)).await? else {
            return Ok(None);
        };
        self.store.revoke_browser_session(session.id).await?;
        self.wake_sender();
        Ok(Some(session.id))
    }

    /// Ends one of the user's sessions (an admin's or the user's own action); whether it was live.
    pub async fn end_one(&self, user_id: UserId, id: i64, now: i64) -> Result<bool, ServiceError> {
        let ended = self
            .store
            .revoke_user_browser_session(user_id, id, at(now))
            .await?;
        self.wake_sender();
        Ok(ended)
    }

    fn wake_sender(&self) {
        if let Some(wake) = self.wake {
            wake.notify_one();
        }
    }

    /// Signs the user out everywhere: every browser session ends and every refresh token is
    /// revoked. Access tokens already issued run out at their own expiry.
    pub async fn end_everywhere(&self, user_id: UserId, now: i64) -> Result<(), ServiceError> {
        let ended = self.store.sign_out_everywhere(user_id, at(now)).await?;
        self.wake_sender();
        let (browsers, tokens) = (ended.browsers, ended.tokens);
        tracing::info!(%user_id, browsers, tokens, "signed out everywhere");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
