//! The `Browser` extractor: what a page request says about the browser behind it.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::Response;

use gatehouse_core::authorize::negotiate_locale;
use gatehouse_core::request_headers::accepted_languages;

use crate::config::Config;
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
    /// The languages this browser asks for, most wanted first: the one picked last on a page
    /// (`LOCALE_COOKIE`), then `Accept-Language`.
    pub locales: Vec<String>,
}

/// The cookie that remembers the language a user picked on a page.
pub const LOCALE_COOKIE: &str = "gh_locale";

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
            locales: browser_locales(&state.config, headers),
        }
    }

    /// The page language for a request that names `ui_locales` and `locale` (either may be
    /// absent), with this browser's languages after them.
    pub fn locale(
        &self,
        state: &AppState,
        ui_locales: Option<&str>,
        locale: Option<&str>,
    ) -> String {
        let browser: Vec<&str> = self.locales.iter().map(String::as_str).collect();
        negotiate_locale(
            ui_locales,
            locale,
            &browser,
            &state.config.supported_locales,
        )
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

/// The picked language, then the `Accept-Language` tags (a few; the header is bounded).
fn browser_locales(config: &Config, headers: &HeaderMap) -> Vec<String> {
    let picked = cookie(config, headers, LOCALE_COOKIE).filter(|v| v.len() <= 35);
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(accepted_languages)
        .unwrap_or_default();
    picked
        .into_iter()
        .chain(accepted)
        .map(str::to_owned)
        .collect()
}

/// Remembers the language a user picks with a page's language links (`?locale=…&picked=1`; the
/// `locale` the pages pass along from the app's request is not a pick): later sign-ins that
/// name no language start in it. Only an offered tag is stored, as the server spells it.
pub async fn remember_picked_locale(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let picked = request.uri().query().and_then(|query| {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query).ok()?;
        if !pairs
            .iter()
            .any(|(name, value)| name == "picked" && value == "1")
        {
            return None;
        }
        let (_, wanted) = pairs.into_iter().find(|(name, _)| name == "locale")?;
        state
            .config
            .supported_locales
            .iter()
            .find(|tag| tag.eq_ignore_ascii_case(&wanted))
            .cloned()
    });
    let mut response = next.run(request).await;
    if let Some(tag) = picked {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&state.config, LOCALE_COOKIE, &tag, Some(365 * 24 * 3600)),
        );
    }
    response
}

impl FromRequestParts<AppState> for Browser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Browser::from_headers(&parts.headers, peer(parts), state))
    }
}
