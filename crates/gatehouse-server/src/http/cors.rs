//! Which browser scripts may read which answers (CORS). Pages and the management API send no
//! CORS headers at all; a browser app's own origin must be configured to call the rest.

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::config::Config;

/// Token, userinfo, revoke, logout and the embedded API: only the configured origins.
pub fn browser_endpoints(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .cors_allowed_origins
        .iter()
        .chain(&config.embedded_auth_origins)
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("dpop"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// Discovery and JWKS: public documents any origin may read.
pub fn public_documents() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET])
}
