//! The `Browser` extractor: what a page request says about the browser behind it.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::Response;

use crate::crypto::{constant_time_eq, random_token};
use crate::http::web::{client_ip, cookie, foreign_origin, peer, set_cookie, CSRF_COOKIE};
use crate::services::sessions::SESSION_COOKIE;
use crate::services::signin::RequestMeta;
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct Browser {
    /// The browser's CSRF token: from its cookie, or freshly made (then `new_csrf`).
    pub csrf: Option<String>,
    pub new_csrf: bool,
    pub session: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub foreign_origin: bool,
    pub now: i64,
    /// The remember-device cookie (MFA skipped on this device for a while).
    pub device: Option<String>,
}

impl Browser {
    pub fn from_headers(
        headers: &HeaderMap,
        peer: Option<std::net::SocketAddr>,
        state: &AppState,
    ) -> Self {
        let existing = cookie(&state.config, headers, CSRF_COOKIE)
            .filter(|v| {
                v.len() >= 32
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .map(str::to_owned);
        let new_csrf = existing.is_none();
        Self {
            csrf: Some(existing.unwrap_or_else(random_token::<32>)),
            new_csrf,
            session: cookie(&state.config, headers, SESSION_COOKIE).map(str::to_owned),
            ip: client_ip(headers, peer, &state.config),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            foreign_origin: foreign_origin(headers, &state.config.issuer),
            now: chrono::Utc::now().timestamp(),
            device: cookie(&state.config, headers, crate::services::mfa::DEVICE_COOKIE)
                .filter(|v| v.len() <= 200)
                .map(str::to_owned),
        }
    }

    pub fn meta(&self) -> RequestMeta<'_> {
        RequestMeta {
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            now: self.now,
            device: self.device.as_deref(),
        }
    }

    /// Whether a posted token is this browser's (double-submit check). A browser that arrived
    /// without the cookie cannot pass.
    pub fn csrf_matches(&self, posted: &str) -> bool {
        !self.new_csrf
            && self
                .csrf
                .as_deref()
                .is_some_and(|c| constant_time_eq(c.as_bytes(), posted.as_bytes()))
    }

    /// `response` with the CSRF cookie when this request made it.
    pub fn with_csrf_cookie(&self, state: &AppState, mut response: Response) -> Response {
        self.set_csrf_cookie(state, &mut response);
        response
    }

    /// Sets the CSRF cookie when this request made it.
    pub fn set_csrf_cookie(&self, state: &AppState, response: &mut Response) {
        if let (true, Some(token)) = (self.new_csrf, &self.csrf) {
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state.config, CSRF_COOKIE, token, None),
            );
        }
    }
}

impl FromRequestParts<AppState> for Browser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Browser::from_headers(&parts.headers, peer(parts), state))
    }
}
