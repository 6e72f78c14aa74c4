//! Which browser scripts may read which answers (CORS). Pages and the management API send no
//! CORS headers at all; a browser app's own origin must be configured to call the rest.
//!
//! A policy is made once and shared (`Arc`): the router copies each route's middleware for
//! every request, so what it holds must be cheap to copy. Public documents need no policy.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Config;

/// Which origins may read the answers of a group of routes, and what their preflights allow.
pub struct CorsPolicy {
    /// The origins allowed, exactly as browsers send them.
    origins: Vec<HeaderValue>,
    methods: HeaderValue,
    headers: HeaderValue,
    max_age: HeaderValue,
}

/// Token, userinfo, revoke, logout and the embedded API: only the configured origins.
pub fn browser_endpoints(config: &Config) -> Arc<CorsPolicy> {
    let origins = config
        .cors_allowed_origins
        .iter()
        .chain(&config.embedded_auth_origins)
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    Arc::new(CorsPolicy {
        origins,
        methods: HeaderValue::from_static("GET,POST"),
        headers: HeaderValue::from_static("authorization,content-type,dpop"),
        max_age: HeaderValue::from_static("600"),
    })
}

/// Discovery and JWKS are public documents any origin may read: their handlers mark their own
/// answers with this, and their routes answer `OPTIONS` with [`public_preflight`], so they
/// need no middleware.
pub fn mark_public(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// A preflight for a public document: any origin may `GET` it.
pub async fn public_preflight() -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    mark_public(headers);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    response
}

impl CorsPolicy {
    /// Adds the CORS headers of an answer to a request from `origin` to `headers`.
    fn mark(&self, origin: Option<&HeaderValue>, preflight: bool, headers: &mut HeaderMap) {
        if let Some(origin) = origin.filter(|o| self.origins.contains(o)) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        }
        // The answer depends on the origin: caches must keep one per origin.
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        if preflight {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, self.headers.clone());
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        }
    }

    #[cfg(test)]
    fn answer_headers(&self, request: &HeaderMap, preflight: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        self.mark(request.get(header::ORIGIN), preflight, &mut headers);
        headers
    }
}

/// The middleware: answers preflights (any `OPTIONS`) itself and marks the other answers.
pub async fn apply(
    State(policy): State<Arc<CorsPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::OK.into_response();
        policy.mark(origin.as_ref(), true, response.headers_mut());
        return response;
    }
    let mut response = next.run(request).await;
    policy.mark(origin.as_ref(), false, response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(origin: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
        headers
    }

    fn browser_policy() -> Arc<CorsPolicy> {
        let config = Config {
            cors_allowed_origins: vec!["https://app.example.com/".into()],
            ..Config::default()
        };
        browser_endpoints(&config)
    }

    #[test]
    fn a_configured_origin_is_allowed_and_its_preflight_says_what_it_may_send() {
        let answer = browser_policy().answer_headers(&from("https://app.example.com"), true);
        assert_eq!(
            answer[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.com"
        );
        assert_eq!(answer[header::ACCESS_CONTROL_ALLOW_METHODS], "GET,POST");
        assert_eq!(
            answer[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "authorization,content-type,dpop"
        );
        assert_eq!(answer[header::ACCESS_CONTROL_MAX_AGE], "600");
        assert_eq!(answer[header::VARY], "origin");
    }

    #[test]
    fn another_origin_or_none_is_not_allowed() {
        let policy = browser_policy();
        for request in [from("https://evil.example"), from("null"), HeaderMap::new()] {
            let answer = policy.answer_headers(&request, false);
            assert!(answer.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
            assert_eq!(answer[header::VARY], "origin");
        }
        // A prefix of an allowed origin is another origin.
        let answer = policy.answer_headers(&from("https://app.example.com.evil.example"), false);
        assert!(answer.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[tokio::test]
    async fn public_documents_are_readable_from_anywhere() {
        let preflight = public_preflight().await;
        assert_eq!(preflight.status(), StatusCode::OK);
        assert_eq!(
            preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "*"
        );
        assert_eq!(
            preflight.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
            "GET"
        );
        assert!(preflight.headers().get(header::VARY).is_none());
    }
}
