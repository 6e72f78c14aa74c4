//! Which browser scripts may read which answers (CORS). Pages and the management API send no
//! CORS headers at all; a browser app's own origin must be configured to call the rest.
//!
//! A policy is made once and shared (`Arc`): the router copies each route's middleware for
//! every request, so what it holds must be cheap to copy.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Config;

/// Who may read the answers of a group of routes, and what their preflights allow.
pub struct CorsPolicy {
    /// The origins allowed, exactly as browsers send them; `None` allows any (`*`).
    origins: Option<Vec<HeaderValue>>,
    methods: HeaderValue,
    headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
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
        origins: Some(origins),
        methods: HeaderValue::from_static("GET,POST"),
        headers: Some(HeaderValue::from_static("authorization,content-type,dpop")),
        max_age: Some(HeaderValue::from_static("600")),
    })
}

/// Discovery and JWKS: public documents any origin may read.
pub fn public_documents() -> Arc<CorsPolicy> {
    Arc::new(CorsPolicy {
        origins: None,
        methods: HeaderValue::from_static("GET"),
        headers: None,
        max_age: None,
    })
}

impl CorsPolicy {
    /// The `Access-Control-Allow-Origin` a request from `origin` gets, if any.
    fn allowed_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match &self.origins {
            None => Some(HeaderValue::from_static("*")),
            Some(list) => origin.filter(|o| list.contains(o)).cloned(),
        }
    }

    /// Adds the CORS headers of an answer to a request from `origin` to `headers`.
    fn mark(&self, origin: Option<&HeaderValue>, preflight: bool, headers: &mut HeaderMap) {
        if let Some(origin) = self.allowed_origin(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        if self.origins.is_some() {
            // The answer depends on the origin: caches must keep one per origin.
            headers.append(header::VARY, HeaderValue::from_static("origin"));
        }
        if preflight {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
            if let Some(allowed) = &self.headers {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed.clone());
            }
            if let Some(max_age) = &self.max_age {
                headers.insert(header::ACCESS_CONTROL_MAX_AGE, max_age.clone());
            }
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

    #[test]
    fn public_documents_are_readable_from_anywhere() {
        let answer = public_documents().answer_headers(&from("https://any.example"), false);
        assert_eq!(answer[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(answer.get(header::VARY).is_none());
        assert!(answer.get(header::ACCESS_CONTROL_ALLOW_METHODS).is_none());
    }
}
