//! What browser-facing handlers share: cookies, the client's IP, the Origin check, and the
//! security headers of pages.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, SameSite};
use gatehouse_core::request_headers;

use crate::config::Config;

/// The browser's CSRF token cookie; sign-in transactions are bound to it.
pub const CSRF_COOKIE: &str = "gh_csrf";

/// Whether the browser reaches the server over https: its cookies are then Secure host cookies.
pub fn secure_cookies(config: &Config) -> bool {
    config.issuer.starts_with("https://")
}

/// A cookie's name on this server: `__Host-` prefixed on an https issuer, so the browser keeps
/// it host-only, Secure and at `Path=/`, and a sibling subdomain cannot plant or overwrite it.
pub fn cookie_name(config: &Config, name: &str) -> String {
    if secure_cookies(config) {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

/// A cookie's value from the request, under its name on this server ([`cookie_name`]).
pub fn cookie<'a>(config: &Config, headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let values = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    request_headers::cookie_value(values, &cookie_name(config, name))
}

/// The token of an `Authorization: Bearer <token>` header, if that is what the request sent.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    request_headers::bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when the issuer is https, at `Path=/`;
/// it lasts `max_age` seconds, or the browser session when `None`.
pub fn set_cookie(config: &Config, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut cookie = Cookie::build((cookie_name(config, name), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure_cookies(config))
        .build();
    if let Some(secs) = max_age {
        cookie.set_max_age(seconds(secs));
    }
    set_cookie_value(&cookie)
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear_cookie(config: &Config, name: &str) -> HeaderValue {
    set_cookie(config, name, "", Some(0))
}

/// A cookie lifetime (`Max-Age`) of `secs` seconds.
pub fn seconds(secs: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// The `Set-Cookie` header value of a built cookie.
pub fn set_cookie_value(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The client's IP: the peer, or the last untrusted hop of `X-Forwarded-For` when the peer is
/// a configured proxy.
pub fn client_ip(
    parts_headers: &HeaderMap,
    peer: Option<SocketAddr>,
    config: &Config,
) -> Option<String> {
    let trusted = |ip: &IpAddr| config.trusted_proxies.contains(ip);
    let forwarded = parts_headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(request_headers::client_ip(peer?.ip(), forwarded, trusted).to_string())
}

/// The peer address, when the server was started with connect info.
pub fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// A cross-site form post: an `Origin` header naming another site than the issuer, or `null`
/// (a sandboxed frame, a `data:` page, a redirect through another site). The pages' own
/// `Referrer-Policy` lets the browser name their origin on their own posts.
pub fn foreign_origin(headers: &HeaderMap, issuer: &str) -> bool {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| request_headers::is_foreign_origin(origin, issuer))
}

/// Headers every page carries: no caching, no framing, a strict content policy.
pub fn page_headers(response: &mut Response, script_nonce: Option<&str>) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    let script = script_nonce.map_or("'none'".to_owned(), |n| format!("'nonce-{n}'"));
    if let Ok(csp) = HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'unsafe-inline' https:; font-src https: data:; \
         img-src https: http: data:; script-src {script}; base-uri 'none'; frame-ancestors 'none'"
    )) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
}

/// The peer address as an extractor (absent when served without connect info).
pub struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(peer(parts)))
    }
}
