//! `/api/v1/webhooks`: endpoints that are sent signed events (Standard Webhooks), their secrets
//! (shown once, at creation and rotation) and their delivery logs with "send again".

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::{format_timestamp, DeliveryRecord, DeliveryStatus, WebhookEndpointRecord};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::crud::crud_routes;
use super::guard::{Guarded, ReadWebhooks, WriteWebhooks};
use super::json::{positive_id, ApiJson, RecordId};
use super::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::webhooks::{self, EndpointChangeInput, NewEndpointInput};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// The event types sent to it.
    pub events: Vec<String>,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&WebhookEndpointRecord> for WebhookView {
    fn from(e: &WebhookEndpointRecord) -> Self {
        Self {
            id: e.id,
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.clone(),
            is_active: e.is_active,
            created_at: format_timestamp(&e.created_at),
            updated_at: format_timestamp(&e.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhooksBody {
    pub webhooks: Vec<WebhookView>,
    /// Deliveries of every endpoint not yet delivered nor given up.
    pub backlog: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookBody {
    pub webhook: WebhookView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSecretBody {
    pub webhook: WebhookView,
    /// The signing secret (`whsec_` and base64), as the Standard Webhooks libraries take it.
    /// Shown only now.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub id: i64,
    pub webhook_id: i64,
    /// The `webhook-id` header every attempt carries: receivers deduplicate on it.
    pub message_id: String,
    pub event_type: String,
    /// The id of what the event is about (a user's authId, an app's id…).
    pub resource_id: String,
    /// `pending`, `delivered` or `abandoned`.
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub abandoned_at: Option<String>,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: String,
}

impl From<&DeliveryRecord> for DeliveryView {
    fn from(d: &DeliveryRecord) -> Self {
        let status = d.status();
        Self {
            id: d.id,
            webhook_id: d.endpoint_id,
            message_id: d.message_id.clone(),
            event_type: d.event_type.clone(),
            resource_id: d.resource_id.clone(),
            status: status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: (status == DeliveryStatus::Pending)
                .then(|| format_timestamp(&d.next_attempt_at)),
            last_attempt_at: d.last_attempt_at.as_ref().map(format_timestamp),
            delivered_at: d.delivered_at.as_ref().map(format_timestamp),
            abandoned_at: d.abandoned_at.as_ref().map(format_timestamp),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            created_at: format_timestamp(&d.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveriesBody {
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryBody {
    pub delivery: DeliveryView,
}

crud_routes! {
    tag "Webhooks", "/api/v1/webhooks", "/api/v1/webhooks/{id}", id "The endpoint's id",
    read ReadWebhooks ["read_webhooks"], write WriteWebhooks ["write_webhooks"], features [];

    /// List webhook endpoints, with the deliveries waiting. Requires `read_webhooks`.
    list(state) -> WebhooksBody [401] {
        let endpoints = webhooks::list(&state).await?;
        WebhooksBody {
            webhooks: endpoints.iter().map(WebhookView::from).collect(),
            backlog: webhooks::backlog(&state).await?,
        }
    }

    /// Get a webhook endpoint. Requires `read_webhooks`.
    get(state, id) -> WebhookBody [400, 401, 404] {
        WebhookBody {
            webhook: (&webhooks::get(&state, id).await?).into(),
        }
    }

    /// Register a webhook endpoint; the answer carries its signing secret, shown only now.
    /// Requires `write_webhooks`.
    create(state, _caller, body: NewEndpointInput) -> WebhookSecretBody [400, 401] {
        let (endpoint, secret) = webhooks::create(&state, body).await?;
        WebhookSecretBody {
            webhook: (&endpoint).into(),
            secret,
        }
    }

    /// Update a webhook endpoint (its secret stays). Requires `write_webhooks`.
    update(state, _caller, id, body: EndpointChangeInput) -> WebhookBody [400, 401, 404] {
        WebhookBody {
            webhook: (&webhooks::update(&state, id, body).await?).into(),
        }
    }

    /// Delete a webhook endpoint; what it was still owed is given up. Requires `write_webhooks`.
    delete(state, _caller, id) [400, 401, 404] {
        webhooks::delete(&state, id).await?
    }
}

/// Replace a webhook endpoint's signing secret: deliveries from now on are signed with the new
/// one only. The answer carries it, shown only now. Requires `write_webhooks`.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "Webhooks",
    params(("id" = i64, Path, description = "The endpoint's id")),
    security(("oauth2" = ["write_webhooks"])),
    responses((status = 200, body = WebhookSecretBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_secret(
    _: Guarded<WriteWebhooks>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<WebhookSecretBody>, ApiError> {
    let (endpoint, secret) = webhooks::rotate_secret(&state, id).await?;
    Ok(Json(WebhookSecretBody {
        webhook: (&endpoint).into(),
        secret,
    }))
}

/// The delivery log's query: a status and a page.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `abandoned`; every delivery when absent.
    pub status: Option<String>,
    /// Only deliveries older than this one (the `nextBefore` of the page before).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub before: Option<i64>,
    /// Deliveries per page, 1 to 200 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl<S: Send + Sync> FromRequestParts<S> for DeliveriesQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(raw) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("The query string could not be read".into()))?;
        let number = |name: &str| raw.get(name).map(|v| positive_id(v, name)).transpose();
        Ok(Self {
            status: raw.get("status").cloned(),
            before: number("before")?,
            limit: number("limit")?,
        })
    }
}

/// A webhook endpoint's delivery log, newest first. Requires `read_webhooks`.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "Webhooks",
    params(("id" = i64, Path, description = "The endpoint's id"), DeliveriesQuery),
    security(("oauth2" = ["read_webhooks"])),
    responses((status = 200, body = DeliveriesBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn deliveries(
    _: Guarded<ReadWebhooks>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    query: DeliveriesQuery,
) -> Result<Json<DeliveriesBody>, ApiError> {
    let limit = query.limit.unwrap_or(50).min(webhooks::MAX_PAGE);
    let page = (query.before, limit);
    let found = webhooks::deliveries(&state, id, query.status.as_deref(), page).await?;
    let full = i64::try_from(found.len()).unwrap_or(i64::MAX) == limit;
    Ok(Json(DeliveriesBody {
        next_before: found.last().filter(|_| full).map(|d| d.id),
        deliveries: found.iter().map(DeliveryView::from).collect(),
    }))
}

/// Send a delivered or given-up delivery again: the same message (`webhook-id`), due now, with
/// a fresh day of retries; a pending one is refused with 409. Requires `write_webhooks`.
#[utoipa::path(post, path = "/api/v1/webhooks/deliveries/{id}/resend", tag = "Webhooks",
    params(("id" = i64, Path, description = "The delivery's id")),
    security(("oauth2" = ["write_webhooks"])),
    responses((status = 200, body = DeliveryBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resend(
    _: Guarded<WriteWebhooks>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<DeliveryBody>, ApiError> {
    let delivery = webhooks::resend(&state, id, None).await?;
    Ok(Json(DeliveryBody {
        delivery: (&delivery).into(),
    }))
}
