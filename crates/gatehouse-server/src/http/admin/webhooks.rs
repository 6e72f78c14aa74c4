//! Webhooks: the endpoints (registering one with its events, its secret shown once), editing,
//! switching off, a new secret, deleting, and each endpoint's delivery log with "send again".
//! The same service as `/api/v1/webhooks`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gatehouse_core::webhooks::EVENT_TYPES;
use gatehouse_store::{DeliveryRecord, DeliveryStatus, WebhookEndpointRecord};
use serde::Deserialize;

use super::auth::{AdminForm, AdminUser, NoFields};
use super::i18n::Words;
use super::view::{all_of, buttons, one_of, render, see_other, when, Detail, Frame, PageResult};
use crate::services::webhooks::{self, EndpointChangeInput, NewEndpointInput};
use crate::state::AppState;

/// Deliveries shown per page of the log.
const LOG_PAGE: i64 = 25;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/webhooks", get(list).post(create))
        .route("/admin/webhooks/{id}", get(detail).post(update))
        .route("/admin/webhooks/{id}/secret", post(new_secret))
        .route("/admin/webhooks/{id}/delete", post(delete))
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery}/resend",
            post(resend),
        )
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    f: Frame,
    endpoints: Vec<WebhookEndpointRecord>,
    backlog: i64,
    events: Vec<(&'static str, bool)>,
}

async fn list(State(state): State<AppState>, admin: AdminUser) -> PageResult {
    let w = admin.words();
    let endpoints = webhooks::list(&state).await?;
    let backlog = webhooks::backlog(&state).await?;
    let f = Frame::new(&admin, "webhooks", w.webhooks, "/admin/webhooks");
    let events = EVENT_TYPES.iter().map(|t| (*t, false)).collect();
    let page = WebhooksPage {
        f,
        endpoints,
        backlog,
        events,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn create(posted: AdminForm<Vec<(String, String)>>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let input = NewEndpointInput {
        url: one_of(&form, "url").to_owned(),
        description: Some(one_of(&form, "description").to_owned()),
        events: all_of(&form, "event"),
        is_active: Some(true),
    };
    let (endpoint, secret) = webhooks::create(&state, input).await?;
    endpoint_page(&state, &admin, endpoint, (Some(secret), None), None).await
}

/// One delivery as the log shows it.
struct DeliveryRow {
    id: i64,
    event: String,
    message_id: String,
    status: &'static str,
    status_class: &'static str,
    attempts: i32,
    last_answer: String,
    time: String,
    resendable: bool,
}

impl DeliveryRow {
    fn new(w: &Words, d: &DeliveryRecord) -> Self {
        let status = d.status();
        let (label, class) = match status {
            DeliveryStatus::Delivered => (w.delivered, "on"),
            DeliveryStatus::Pending => (w.pending, ""),
            DeliveryStatus::Abandoned => (w.abandoned, "off"),
        };
        let last_answer = match (&d.last_status, &d.last_error) {
            (_, Some(error)) => error.clone(),
            (Some(status), None) => status.to_string(),
            (None, None) => String::new(),
        };
        Self {
            id: d.id,
            event: d.event_type.clone(),
            message_id: d.message_id.clone(),
            status: label,
            status_class: class,
            attempts: d.attempts,
            last_answer,
            time: when(d.last_attempt_at.as_ref().unwrap_or(&d.created_at)),
            resendable: status != DeliveryStatus::Pending,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct WebhookPage {
    f: Frame,
    endpoint: WebhookEndpointRecord,
    created: String,
    events: Vec<(&'static str, bool)>,
    secret: Option<String>,
    deliveries: Vec<DeliveryRow>,
    /// The link to the next (older) page of the log.
    older: Option<String>,
}

async fn endpoint_page(
    state: &AppState,
    admin: &AdminUser,
    endpoint: WebhookEndpointRecord,
    (secret, before): (Option<String>, Option<i64>),
    notice: Option<String>,
) -> PageResult {
    let w = admin.words();
    let path = format!("/admin/webhooks/{}", endpoint.id);
    let found = webhooks::deliveries(state, endpoint.id, None, (before, LOG_PAGE)).await?;
    let full = i64::try_from(found.len()).unwrap_or(i64::MAX) == LOG_PAGE;
    let older = found
        .last()
        .filter(|_| full)
        .map(|d| format!("{path}?before={}", d.id));
    let events = EVENT_TYPES
        .iter()
        .map(|t| (*t, endpoint.events.iter().any(|e| e == t)))
        .collect();
    let page = WebhookPage {
        f: Frame::new(admin, "webhooks", &endpoint.url, &path).with_notice(notice),
        created: when(&endpoint.created_at),
        events,
        secret,
        deliveries: found.iter().map(|d| DeliveryRow::new(w, d)).collect(),
        older,
        endpoint,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct LogQuery {
    before: Option<i64>,
}

async fn detail(
    State(state): State<AppState>,
    Detail { admin, notice }: Detail,
    Path(id): Path<i64>,
    Query(query): Query<LogQuery>,
) -> PageResult {
    let endpoint = webhooks::get(&state, id).await?;
    endpoint_page(&state, &admin, endpoint, (None, query.before), notice).await
}

/// The edit form posts every field; unchecked boxes are absent, so they read as off.
async fn update(Path(id): Path<i64>, posted: AdminForm<Vec<(String, String)>>) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    let change = EndpointChangeInput {
        url: Some(one_of(&form, "url").to_owned()),
        description: Some(one_of(&form, "description").to_owned()),
        events: Some(all_of(&form, "event")),
        is_active: Some(one_of(&form, "is_active") == "on"),
    };
    webhooks::update(&state, id, change).await?;
    Ok(see_other(&format!("/admin/webhooks/{id}?done=1")))
}

async fn new_secret(Path(id): Path<i64>, posted: AdminForm<NoFields>) -> PageResult {
    let AdminForm { state, admin, .. } = posted;
    let (endpoint, secret) = webhooks::rotate_secret(&state, id).await?;
    endpoint_page(&state, &admin, endpoint, (Some(secret), None), None).await
}

buttons! {
    delete(state, id => i64, _ => AdminForm<NoFields>) {
        webhooks::delete(&state, id)
    } => "/admin/webhooks";
    resend(state, (id, delivery) => (i64, i64), _ => AdminForm<NoFields>) {
        webhooks::resend(&state, delivery, Some(id))
    } => format!("/admin/webhooks/{id}?done=1");
}
