//! The HTTP surface: routers by area, one error mapping, guards.

mod admin;
pub(crate) mod api;
pub mod auth;
mod compat;
mod cors;
mod discovery;
mod embedded;
mod embedded_mfa;
mod embedded_orgs;
mod embedded_views;
pub mod error;
mod form;
pub mod identity;
mod oauth2;
mod openapi;
mod saml;
mod scim;
pub(crate) mod system;
pub mod web;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use gatehouse_store::changes;
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
        .merge(scim::routes())
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

/// The ID of the request being handled (`X-Request-Id`): in the request's extensions for
/// whatever records what the request did, and in the `request` span every log line of the
/// request is written in.
#[derive(Clone, Debug)]
pub struct RequestId(HeaderValue);

impl RequestId {
    pub fn as_str(&self) -> &str {
        // Only ever built from visible ASCII (see `RequestId::for_request`).
        self.0.to_str().unwrap_or_default()
    }

    /// The caller's ID when it is a plain label, or a new one: the ID is written into log
    /// lines, so a long or odd one (spaces, quotes) is replaced rather than echoed.
    fn for_request(sent: Option<&HeaderValue>, ids: &RequestIds) -> Option<Self> {
        let usable = |v: &&HeaderValue| {
            (1..=128).contains(&v.len())
                && v.as_bytes()
                    .iter()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\'))
        };
        match sent.filter(usable) {
            Some(value) => Some(Self(value.clone())),
            None => ids.next().map(Self),
        }
    }
}

/// What every request goes through, in one layer (each layer costs every request a copy and
/// an allocation): its ID (`X-Request-Id`: the caller's, or a new one) on the answer and on
/// every log line written while it is handled, a 401's pointer to the resource metadata, its
/// latency and status recorded by route and logged at debug level.
async fn observe(
    State((state, ids)): State<(AppState, RequestIds)>,
    mut request: Request,
    next: Next,
) -> Response {
    use tracing::Instrument;
    let started = Instant::now();
    let id = RequestId::for_request(request.headers().get(X_REQUEST_ID), &ids);
    let span = match &id {
        Some(id) => tracing::info_span!("request", request_id = %id.as_str()),
        None => tracing::Span::none(),
    };
    let method = method_name(request.method());
    let route = request.extensions().get::<MatchedPath>().cloned();
    if let Some(id) = &id {
        request.extensions_mut().insert(id.clone());
    }
    // The changes the request makes name its address and ID; a guard names the caller.
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let actor = changes::Actor::request(
        web::client_ip(request.headers(), peer, &state.config),
        id.as_ref().map(|id| id.as_str().to_owned()),
    );
    async move {
        let mut response = changes::acting_as(actor, next.run(request)).await;
        discovery::point_to_resource_metadata(&mut response, &state.config.issuer);
        if let Some(RequestId(id)) = id {
            response.headers_mut().insert(X_REQUEST_ID, id);
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
    .instrument(span)
    .await
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

    #[test]
    fn a_plain_caller_request_id_is_kept_and_an_odd_one_replaced() {
        let ids = RequestIds::default();
        let sent = HeaderValue::from_static("trace-42.abc");
        let kept = RequestId::for_request(Some(&sent), &ids).unwrap();
        assert_eq!(kept.as_str(), "trace-42.abc");
        let long = HeaderValue::from_str(&"a".repeat(129)).unwrap();
        for odd in [
            HeaderValue::from_static("a b"),
            HeaderValue::from_static("x\"y"),
            long,
        ] {
            let replaced = RequestId::for_request(Some(&odd), &ids).unwrap();
            assert!(uuid::Uuid::parse_str(replaced.as_str()).is_ok(), "{odd:?}");
        }
        assert!(
            uuid::Uuid::parse_str(RequestId::for_request(None, &ids).unwrap().as_str()).is_ok()
        );
    }
}
