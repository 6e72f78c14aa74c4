//! Webhooks: the endpoints operators register (S2S API and panel), and the sender that delivers
//! the events the outbox holds (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
//! `webhook-signature`). Events and their deliveries are written in the transaction of the change
//! they tell, so nothing is lost to a crash; every instance runs the sender, and each attempt is
//! claimed by one of them, so a receiver hears a message once per attempt however many
//! instances there are. A receiver deduplicates on `webhook-id`, which every attempt repeats.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime};
use gatehouse_core::admin::AdminRuleError;
use gatehouse_core::webhooks::{
    self as rules, delivered_by, event_body, retry_delay, signature_header, signed_content,
    WebhookError,
};
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{
    AttemptOutcome, DeliveryFilter, DeliveryRecord, DeliveryStatus, DueDelivery,
    NewWebhookEndpoint, Resent, WebhookEndpointChanges, WebhookEndpointRecord, WebhookStore,
};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use utoipa::ToSchema;

use crate::crypto::random_bytes;
use crate::error::ServiceError;
use crate::services::found;
use crate::services::outbound::OutboundError;
use crate::state::AppState;

const NOT_FOUND: &str = "No webhook endpoint found";
const DELIVERY_NOT_FOUND: &str = "No webhook delivery found";
/// Deliveries sent per round, and how many at once.
const BATCH: i64 = 32;
const CONCURRENT: usize = 8;
/// How long a claimed attempt is left to its claimer before another instance may make it: well
/// past the outbound timeout.
const LEASE_SECS: i64 = 60;
/// The most deliveries one list answers with.
pub const MAX_PAGE: i64 = 200;

/// A new endpoint as the S2S API and the panel send it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewEndpointInput {
    /// Where events are POSTed: an `https:` URL on a public address (`http:` and inside
    /// addresses only where the server sets `webhook_allow_private_addresses`), no fragment, at
    /// most 2048 characters.
    pub url: String,
    /// What the endpoint is for, at most 200 characters.
    pub description: Option<String>,
    /// The event types sent to it (at least one), such as `user.created` or `app.deleted`.
    pub events: Vec<String>,
    /// Whether events are sent to it (default `true`).
    pub is_active: Option<bool>,
}

/// Changes to an endpoint: a field left out keeps its value; `events` replaces the whole list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointChangeInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    /// An inactive endpoint is sent nothing, and events raised meanwhile are not kept for it.
    pub is_active: Option<bool>,
}

/// The fields of an endpoint the audit trail records (never its secret).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EndpointFields<'a> {
    url: Option<&'a str>,
    description: Option<&'a str>,
    is_active: Option<bool>,
    events: Option<Vec<&'a str>>,
}

impl<'a> EndpointFields<'a> {
    fn of(endpoint: &'a WebhookEndpointRecord) -> Self {
        Self {
            url: Some(&endpoint.url),
            description: Some(&endpoint.description),
            is_active: Some(endpoint.is_active),
            events: Some(endpoint.events.iter().map(String::as_str).collect()),
        }
    }
}

/// What a secret is sealed for: its endpoint's row, so it cannot be moved to another.
fn secret_context(endpoint_id: i64) -> String {
    format!("webhook-secret:{endpoint_id}")
}

/// A new signing secret: its bytes, and the `whsec_…` text shown once.
fn new_secret() -> ([u8; rules::SECRET_BYTES], String) {
    let key = random_bytes::<{ rules::SECRET_BYTES }>();
    let text = rules::format_secret(&key);
    (key, text)
}

/// The URL as registered: the core's rules, then no inside address unless the operator allows
/// them, whether written literally or behind a name (checked again at every delivery, since a
/// name can change what it points at).
async fn checked_url(state: &AppState, raw: &str) -> Result<String, ServiceError> {
    let allow_private = state.config.webhook_allow_private_addresses;
    let url = rules::endpoint_url(raw, allow_private)
        .map_err(AdminRuleError::from)?
        .into_string();
    let parsed = match state.webhook_outbound.check_url(&url) {
        Ok(parsed) => parsed,
        Err(OutboundError::InsideAddress(_)) => {
            return Err(AdminRuleError::from(WebhookError::InsideAddress).into())
        }
        Err(_) => return Err(AdminRuleError::from(WebhookError::InvalidUrl).into()),
    };
    if !allow_private {
        if let Some(url::Host::Domain(host)) = parsed.host() {
            let port = parsed.port_or_known_default().unwrap_or(443);
            let lookup = tokio::net::lookup_host((host, port));
            // A name that does not resolve now may later: the sender checks each time.
            if let Ok(Ok(addrs)) = tokio::time::timeout(Duration::from_secs(3), lookup).await {
                let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                let public = crate::services::outbound::is_public;
                if !ips.is_empty() && !ips.into_iter().any(public) {
                    return Err(AdminRuleError::from(WebhookError::InsideAddress).into());
                }
            }
        }
    }
    Ok(url)
}

fn description(raw: Option<&str>) -> Result<Option<String>, ServiceError> {
    raw.map(rules::description)
        .transpose()
        .map_err(|e| AdminRuleError::from(e).into())
}

fn events(names: &[String]) -> Result<Vec<&'static str>, ServiceError> {
    rules::event_list(names).map_err(|e| AdminRuleError::from(e).into())
}

pub async fn list(state: &AppState) -> Result<Vec<WebhookEndpointRecord>, ServiceError> {
    Ok(state.store.list_webhook_endpoints().await?)
}

pub async fn get(state: &AppState, id: i64) -> Result<WebhookEndpointRecord, ServiceError> {
    found(state.store.webhook_endpoint(id), NOT_FOUND).await
}

/// Registers an endpoint; returns it with its secret (`whsec_…`), shown only now.
pub async fn create(
    state: &AppState,
    input: NewEndpointInput,
) -> Result<(WebhookEndpointRecord, String), ServiceError> {
    let url = checked_url(state, &input.url).await?;
    let description = description(input.description.as_deref())?.unwrap_or_default();
    let events = events(&input.events)?;
    let is_active = input.is_active.unwrap_or(true);
    let fields = EndpointFields {
        url: Some(&url),
        description: Some(&description),
        is_active: Some(is_active),
        events: Some(events.clone()),
    };
    let change = Change::created("webhook_endpoint").fields_new(&fields);
    let (key, secret) = new_secret();
    let new = NewWebhookEndpoint {
        url: &url,
        description: &description,
        is_active,
        events: &events,
    };
    let keys = &state.keys;
    let seal = |id: i64| keys.seal_secret(&key, &secret_context(id));
    let endpoint = recording(change, state.store.insert_webhook_endpoint(&new, seal)).await?;
    Ok((endpoint, secret))
}

pub async fn update(
    state: &AppState,
    id: i64,
    input: EndpointChangeInput,
) -> Result<WebhookEndpointRecord, ServiceError> {
    let current = get(state, id).await?;
    let url = match input.url.as_deref() {
        Some(raw) => Some(checked_url(state, raw).await?),
        None => None,
    };
    let changes = WebhookEndpointChanges {
        url,
        description: description(input.description.as_deref())?,
        is_active: input.is_active,
        events: input.events.as_deref().map(events).transpose()?,
    };
    let set = EndpointFields {
        url: changes.url.as_deref(),
        description: changes.description.as_deref(),
        is_active: changes.is_active,
        events: changes.events.clone(),
    };
    let change = Change::of("webhook_endpoint", id, "updated")
        .fields_set(&EndpointFields::of(&current), &set);
    let write = state.store.update_webhook_endpoint(id, &changes);
    found(recording(change, write), NOT_FOUND).await
}

/// Replaces the endpoint's secret at once: deliveries from now on are signed with the new one
/// only. Returns the endpoint with the new secret, shown only now.
pub async fn rotate_secret(
    state: &AppState,
    id: i64,
) -> Result<(WebhookEndpointRecord, String), ServiceError> {
    get(state, id).await?;
    let (key, secret) = new_secret();
    let sealed = state.keys.seal_secret(&key, &secret_context(id));
    let change = Change::of("webhook_endpoint", id, "secret_rotated");
    if !recording(change, state.store.set_webhook_secret(id, &sealed)).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok((get(state, id).await?, secret))
}

/// Deletes the endpoint; what it was still owed is given up.
pub async fn delete(state: &AppState, id: i64) -> Result<(), ServiceError> {
    let change = Change::of("webhook_endpoint", id, "deleted");
    if !recording(change, state.store.delete_webhook_endpoint(id)).await? {
        return Err(ServiceError::NotFound(NOT_FOUND));
    }
    Ok(())
}

/// A page of an endpoint's delivery log, newest first: `before` is the last id of the page
/// before; `status` is `pending`, `delivered` or `abandoned` (any when absent).
pub async fn deliveries(
    state: &AppState,
    endpoint_id: i64,
    status: Option<&str>,
    (before, limit): (Option<i64>, i64),
) -> Result<Vec<DeliveryRecord>, ServiceError> {
    get(state, endpoint_id).await?;
    let status = match status.filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(DeliveryStatus::parse(text).ok_or(AdminRuleError::OneOf {
            field: "status",
            allowed: "pending, delivered, abandoned",
        })?),
    };
    let filter = DeliveryFilter {
        endpoint_id: Some(endpoint_id),
        status,
    };
    let limit = limit.clamp(1, MAX_PAGE);
    Ok(state
        .store
        .webhook_deliveries(filter, before, limit)
        .await?)
}

/// Sends a delivered or given-up delivery again: the same message (`webhook-id`), due now, with
/// a fresh day of retries. `endpoint_id` limits it to one endpoint's deliveries.
pub async fn resend(
    state: &AppState,
    delivery_id: i64,
    endpoint_id: Option<i64>,
) -> Result<DeliveryRecord, ServiceError> {
    let change = Change::of("webhook_delivery", delivery_id, "resent");
    let now = gatehouse_store::now_utc();
    let write = state
        .store
        .resend_webhook_delivery(delivery_id, endpoint_id, now);
    match recording(change, write).await? {
        Resent::Done => {
            found(
                state.store.webhook_delivery(delivery_id),
                DELIVERY_NOT_FOUND,
            )
            .await
        }
        Resent::StillPending => Err(ServiceError::Conflict(
            "This delivery is still pending: its next attempt comes by itself".into(),
        )),
        Resent::NotFound => Err(ServiceError::NotFound(DELIVERY_NOT_FOUND)),
    }
}

/// Deliveries waiting to be delivered (or retried).
pub async fn backlog(state: &AppState) -> Result<i64, ServiceError> {
    Ok(state.store.webhook_backlog().await?)
}

fn at(unix: i64) -> NaiveDateTime {
    DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .naive_utc()
}

/// Runs rounds until the server stops: when a change on this instance raised events (woken),
/// and every `webhook_poll_interval` for retries and what other instances wrote.
pub fn spawn_sender(state: AppState) -> JoinHandle<()> {
    let interval = Duration::from_secs(state.config.webhook_poll_interval.max(1));
    let wake = state.store.outbox_signal();
    tokio::spawn(async move {
        loop {
            let full = match round(&state, chrono::Utc::now().timestamp()).await {
                Ok(sent) => sent as i64 >= BATCH,
                Err(err) => {
                    tracing::warn!(code = "GH-WEBHOOK", error = %err, "webhooks could not be sent this round");
                    false
                }
            };
            // A full batch may leave more due: go on at once.
            if full {
                continue;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
    })
}

/// One round at `now`: claims what is due and sends it; how many attempts were made.
pub async fn round(state: &AppState, now: i64) -> Result<usize, ServiceError> {
    let due = state.store.due_webhook_deliveries(at(now), BATCH).await?;
    let mut claimed = Vec::with_capacity(due.len());
    for delivery in due {
        let lease = at(now + LEASE_SECS);
        if state
            .store
            .claim_webhook_delivery(delivery.id, delivery.attempts, at(now), lease)
            .await?
        {
            claimed.push(delivery);
        }
    }
    let count = claimed.len();
    let mut sends = tokio::task::JoinSet::new();
    let mut waiting = claimed.into_iter();
    loop {
        while sends.len() < CONCURRENT {
            let Some(delivery) = waiting.next() else {
                break;
            };
            let state = state.clone();
            sends.spawn(async move { attempt(&state, delivery).await });
        }
        match sends.join_next().await {
            Some(Ok(Err(err))) => {
                tracing::warn!(code = "GH-WEBHOOK", error = %err, "a webhook delivery could not be settled");
            }
            Some(_) => {}
            None => break,
        }
    }
    Ok(count)
}

/// The HMAC-SHA256 of `content` under `key`.
fn hmac_sha256(key: &[u8], content: &str) -> Vec<u8> {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, content.as_bytes()).as_ref().to_vec()
}

/// The three Standard Webhooks headers of one attempt at `timestamp`.
fn signed_headers(
    key: &[u8],
    message_id: &str,
    timestamp: i64,
    body: &str,
) -> [(&'static str, String); 3] {
    let mac = hmac_sha256(key, &signed_content(message_id, timestamp, body));
    [
        ("webhook-id", message_id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature_header(&[mac])),
    ]
}

/// One claimed attempt: the event's body, signed at the moment it leaves, POSTed to the
/// endpoint; settled as delivered, put off to its next retry, or given up.
async fn attempt(state: &AppState, delivery: DueDelivery) -> Result<(), ServiceError> {
    let claimed = delivery.attempts + 1;
    let result = match state.keys.open_secret(
        &delivery.secret_sealed,
        &secret_context(delivery.endpoint_id),
    ) {
        Ok(key) => {
            let body = event_body(
                &delivery.event_type,
                delivery.event_created_at.and_utc().timestamp(),
                &delivery.data,
            );
            let sent_at = chrono::Utc::now().timestamp();
            let headers = signed_headers(&key, &delivery.message_id, sent_at, &body);
            state
                .webhook_outbound
                .post_json(&delivery.url, &headers, body)
                .await
                .map_err(|e| e.to_string())
        }
        Err(_) => Err("the endpoint's secret cannot be opened with this master key".to_owned()),
    };
    let (status, error) = match result {
        Ok(status) if delivered_by(status) => {
            let outcome = AttemptOutcome::Delivered {
                status: i32::from(status),
            };
            return Ok(state
                .store
                .settle_webhook_attempt(delivery.id, claimed, outcome)
                .await?);
        }
        Ok(status) => (Some(i32::from(status)), format!("status {status}")),
        Err(error) => (None, error),
    };
    let retry = claimed - delivery.attempts_at_resend;
    let base = i64::try_from(state.config.webhook_retry_base_seconds).unwrap_or(i64::MAX);
    let message_id = delivery.message_id.as_str();
    let outcome = match retry_delay(retry, base) {
        Some(delay) => {
            tracing::info!(message_id, attempt = retry, error = %error, "a webhook will be sent again");
            let next = at(chrono::Utc::now().timestamp() + delay);
            AttemptOutcome::Postponed {
                next,
                status,
                error: &error,
            }
        }
        None => {
            tracing::warn!(code = "GH-WEBHOOK", message_id, attempt = retry, error = %error, "a webhook was given up after a day of retries");
            AttemptOutcome::Abandoned {
                status,
                error: &error,
            }
        }
    };
    Ok(state
        .store
        .settle_webhook_attempt(delivery.id, claimed, outcome)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_are_signed_as_the_standard_webhooks_example() {
        let key = rules::parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let headers = signed_headers(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            headers,
            [
                ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".to_owned()),
                ("webhook-timestamp", "1614265330".to_owned()),
                (
                    "webhook-signature",
                    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_new_secret_is_32_random_bytes_written_as_whsec() {
        let (key, text) = new_secret();
        assert_eq!(rules::parse_secret(&text).as_deref(), Some(&key[..]));
        assert!(text.starts_with("whsec_"));
        assert_ne!(new_secret().1, text);
    }
}
