//! The HTTP surface: routers by area, one error mapping, guards.

mod admin;
mod api;
pub mod auth;
mod compat;
mod cors;
mod discovery;
mod embedded;
mod embedded_mfa;
mod embedded_views;
pub mod error;
mod form;
pub mod identity;
mod oauth2;
mod saml;
pub(crate) mod system;
pub mod web;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;

pub use api::openapi_json;
pub use discovery::{openid_configuration_document, own_resource_metadata_document};

use crate::metrics::method_name;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let (embedded, embedded_swagger) = embedded::routes(state.clone());
    Router::new()
        .merge(
            oauth2::routes()
                .merge(identity::logout_routes())
                .merge(embedded)
                .layer(middleware::from_fn_with_state(
                    cors::browser_endpoints(&state.config),
                    cors::apply,
                )),
        )
        .merge(identity::routes(state.clone()))
        .merge(admin::routes(state.clone()))
        .merge(api::routes())
        .merge(embedded_swagger)
        .merge(compat::routes(&state.config))
        .merge(saml::routes(&state.config))
        .merge(discovery::routes())
        .merge(system::routes(
            state.config.metrics_enabled && state.config.metrics_listen.is_empty(),
        ))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            (state.clone(), RequestIds::default()),
            observe,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

/// Request IDs (`X-Request-Id`) in the UUID v4 shape: this process's random half and a count.
/// Unique without a call to the system's random source per request (they are labels, not
/// secrets).
#[derive(Clone)]
struct RequestIds {
    process: u64,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for RequestIds {
    fn default() -> Self {
        Self {
            process: uuid::Uuid::new_v4().as_u64_pair().0,
            next: Default::default(),
        }
    }
}

impl RequestIds {
    fn next(&self) -> Option<HeaderValue> {
        let count = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.process.to_be_bytes());
        bytes[8..].copy_from_slice(&count.to_be_bytes());
        let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = id.hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok()
    }
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

async fn not_found() -> Response {
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(json!({ "error": "not_found", "error_description": "No such route" })),
    )
        .into_response()
}

/// What every request goes through, in one layer (each layer costs every request a copy and
/// an allocation): its ID (`X-Request-Id`: the caller's, or a new one) on the answer, a
/// 401's pointer to the resource metadata, its latency and status recorded by route and
/// logged at debug level.
async fn observe(
    State((state, ids)): State<(AppState, RequestIds)>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let sent_id = request.headers().get(X_REQUEST_ID).cloned();
    let method = method_name(request.method());
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    discovery::point_to_resource_metadata(&mut response, &state.config.issuer);
    if let Some(id) = sent_id.or_else(|| ids.next()) {
        response.headers_mut().entry(X_REQUEST_ID).or_insert(id);
    }
    let elapsed = started.elapsed();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(method, route, status, elapsed);
    tracing::debug!(
        method,
        route,
        status,
        elapsed_us = elapsed.as_micros() as u64,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_uuids_of_version_4() {
        let ids = RequestIds::default();
        let (first, second) = (ids.next().unwrap(), ids.next().unwrap());
        assert_ne!(first, second);
        for id in [first, second] {
            let parsed = uuid::Uuid::parse_str(id.to_str().unwrap()).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
        }
        // Another process (another maker) starts from another random half.
        assert_ne!(RequestIds::default().next(), RequestIds::default().next());
    }
}
