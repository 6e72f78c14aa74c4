//! `/oauth2/v1/register` (RFC 7591) and `/oauth2/v1/register/{client_id}` (RFC 7592): apps that
//! register themselves and read, change or delete their registration with its access token.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::token::no_store;
use crate::error::ServiceError;
use crate::http::error::ApiError;
use crate::http::web::bearer;
use crate::services::registration::{self, ClientMetadata, RegistrationError};
use crate::state::AppState;

/// A refusal in RFC 7591's shape; a token problem carries the Bearer challenge.
fn refused(err: ServiceError) -> Response {
    let ServiceError::Registration(err) = err else {
        return ApiError::from(err).into_response();
    };
    let status = crate::http::error::status_of(err.class());
    let body = json!({ "error": err.code(), "error_description": err.to_string() });
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = axum::http::HeaderValue::from_static(
            "Bearer realm=\"gatehouse\", error=\"invalid_token\"",
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

fn metadata(body: &Bytes) -> Result<ClientMetadata, ServiceError> {
    serde_json::from_slice(body).map_err(|e| {
        RegistrationError::InvalidMetadata(format!("the body is not client metadata JSON: {e}"))
            .into()
    })
}

pub async fn register(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let registered =
        async { registration::register(&state, bearer(&headers), metadata(&body)?).await };
    match registered.await {
        Ok(answer) => no_store((StatusCode::CREATED, Json(answer))),
        Err(err) => refused(err),
    }
}

pub async fn read(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match registration::managed_app(&state, &client_id, bearer(&headers)).await {
        Ok(app) => no_store(Json(registration::describe(&state, &app, None, None))),
        Err(err) => refused(err),
    }
}

pub async fn update(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let updated = async {
        let app = registration::managed_app(&state, &client_id, bearer(&headers)).await?;
        registration::update(&state, &app, metadata(&body)?).await
    };
    match updated.await {
        Ok(answer) => no_store(Json(answer)),
        Err(err) => refused(err),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let deleted = async {
        let app = registration::managed_app(&state, &client_id, bearer(&headers)).await?;
        registration::delete(&state, &app).await
    };
    match deleted.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => refused(err),
    }
}
