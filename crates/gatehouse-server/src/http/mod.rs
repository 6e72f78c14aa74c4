//! The HTTP surface: routers by area, one error mapping, guards.

mod admin;
mod api;
pub mod auth;
mod compat;
mod cors;
mod discovery;
mod embedded;
mod embedded_mfa;
pub mod error;
mod form;
pub mod identity;
mod oauth2;
mod saml;
pub(crate) mod system;
pub mod web;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};

pub use api::openapi_json;
pub use discovery::openid_configuration_document;

use crate::metrics::method_name;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(
            oauth2::routes()
                .merge(identity::logout_routes())
                .merge(embedded::routes(state.clone()))
                .layer(middleware::from_fn_with_state(
                    cors::browser_endpoints(&state.config),
                    cors::apply,
                )),
        )
        .merge(identity::routes())
        .merge(admin::routes(state.clone()))
        .merge(api::routes())
        .merge(compat::routes(&state.config))
        .merge(saml::routes(&state.config))
        .merge(discovery::routes().layer(middleware::from_fn_with_state(
            cors::public_documents(),
            cors::apply,
        )))
        .merge(system::routes(
            state.config.metrics_enabled && state.config.metrics_listen.is_empty(),
        ))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            discovery::point_to_resource_metadata,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RequestIds::default()))
        .with_state(state)
}

/// Request IDs in the UUID v4 shape: this process's random half and a count. Unique without a
/// call to the system's random source per request (they are labels, not secrets).
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

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let count = self
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.process.to_be_bytes());
        bytes[8..].copy_from_slice(&count.to_be_bytes());
        let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = id.hyphenated().encode_lower(&mut text);
        axum::http::HeaderValue::from_str(text)
            .ok()
            .map(RequestId::new)
    }
}

async fn not_found() -> Response {
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(json!({ "error": "not_found", "error_description": "No such route" })),
    )
        .into_response()
}

/// Records each request's latency and status by route, and logs it at debug level.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_name(request.method());
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
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
