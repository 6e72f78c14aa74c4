//! `/info` (registered with the S2S API, whose document describes it), health checks and
//! `/metrics`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::auth::S2sCaller;
use crate::state::AppState;

pub fn routes(metrics_enabled: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready));
    if metrics_enabled {
        router.route("/metrics", get(metrics))
    } else {
        router
    }
}

/// The server's non-secret configuration (Melody's variable names). Any S2S token will do.
#[utoipa::path(get, path = "/info", tag = "System",
    security(("oauth2" = [])),
    responses((status = 200, description = "`{configs: {…}}`", body = serde_json::Value),
        (status = 401, body = crate::http::api::ErrorBody)))]
pub(crate) async fn info(_caller: S2sCaller, State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.documents.info.clone(),
    )
        .into_response()
}

async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when both the database and the cache answer.
async fn ready(State(state): State<AppState>) -> Response {
    let database = state.store.ping().await;
    let cache = state.cache.ping().await;
    if let Err(err) = &database {
        tracing::warn!(error = %err, "readiness: database unreachable");
    }
    if let Err(err) = &cache {
        tracing::warn!(error = %err, "readiness: cache unreachable");
    }
    let status = if database.is_ok() && cache.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    (
        status,
        Json(json!({
            "status": word(status == StatusCode::OK),
            "database": word(database.is_ok()),
            "cache": word(cache.is_ok()),
        })),
    )
        .into_response()
}

/// The metrics alone, for their own listener (`metrics_listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let token = state.config.metrics_token.expose();
    if !token.is_empty() {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::crypto::constant_time_eq(presented.as_bytes(), token.as_bytes()) {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
                "A bearer token is required for /metrics\n",
            )
                .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.metrics.render(),
    )
        .into_response()
}
