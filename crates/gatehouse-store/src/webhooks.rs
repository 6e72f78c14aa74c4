//! Webhook endpoints, the events each subscribes to, and the deliveries the outbox owes them.
//! Events and their deliveries are written by the transactions that make the changes they tell
//! (see [`crate::changes`]); here they are read, claimed one attempt at a time, settled, listed
//! and sent again.

use chrono::NaiveDateTime;

use crate::changes::RecordChanges;
use crate::{now_utc, on_pool, sql, Store, StoreError, StoreFuture};

/// An endpoint as stored, with the event types it subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointRecord {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// The signing secret sealed with the master key.
    pub secret_sealed: String,
    pub is_active: bool,
    pub events: Vec<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: i64,
    url: String,
    description: String,
    secret_sealed: String,
    is_active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl EndpointRow {
    fn with_events(self, events: Vec<String>) -> WebhookEndpointRecord {
        WebhookEndpointRecord {
            id: self.id,
            url: self.url,
            description: self.description,
            secret_sealed: self.secret_sealed,
            is_active: self.is_active,
            events,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A new endpoint; its secret is sealed once its id is known.
#[derive(Debug, Clone)]
pub struct NewWebhookEndpoint<'a> {
    pub url: &'a str,
    pub description: &'a str,
    pub is_active: bool,
    pub events: &'a [&'static str],
}

/// Changes to an endpoint: `None` leaves a field as it is; `events` replaces the whole set.
#[derive(Debug, Clone, Default)]
pub struct WebhookEndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub events: Option<Vec<&'static str>>,
}

/// A delivery whose next attempt is due, with what sending it needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    /// Claims made so far (this one included once claimed).
    pub attempts: i32,
    /// Attempts made before the last "send again": the retries count from there.
    pub attempts_at_resend: i32,
    pub endpoint_id: i64,
    pub url: String,
    pub secret_sealed: String,
    /// The `webhook-id` every attempt carries.
    pub message_id: String,
    pub event_type: String,
    /// The event's data (JSON text).
    pub data: String,
    pub event_created_at: NaiveDateTime,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not delivered yet: an attempt is due or will be.
    Pending,
    Delivered,
    /// Given up after a day of retries (or its endpoint was deleted).
    Abandoned,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Abandoned]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One delivery as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRecord {
    pub id: i64,
    pub endpoint_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub resource_id: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub abandoned_at: Option<NaiveDateTime>,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

impl DeliveryRecord {
    pub fn status(&self) -> DeliveryStatus {
        if self.delivered_at.is_some() {
            DeliveryStatus::Delivered
        } else if self.abandoned_at.is_some() {
            DeliveryStatus::Abandoned
        } else {
            DeliveryStatus::Pending
        }
    }
}

/// Which deliveries a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub endpoint_id: Option<i64>,
    pub status: Option<DeliveryStatus>,
}

/// What the result of an attempt was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome<'a> {
    /// The endpoint answered 2xx.
    Delivered { status: i32 },
    /// It failed; try again at `next`.
    Postponed {
        next: NaiveDateTime,
        status: Option<i32>,
        error: &'a str,
    },
    /// It failed and the retries are over.
    Abandoned { status: Option<i32>, error: &'a str },
}

/// What a "send again" found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resent {
    Done,
    /// The delivery is still pending: its next attempt comes by itself.
    StillPending,
    /// No such delivery (of that endpoint, of a live endpoint).
    NotFound,
}

pub trait WebhookStore {
    /// Live endpoints, oldest first.
    fn list_webhook_endpoints(&self) -> impl StoreFuture<Vec<WebhookEndpointRecord>>;
    fn webhook_endpoint(&self, id: i64) -> impl StoreFuture<Option<WebhookEndpointRecord>>;
    /// Creates an endpoint and its subscriptions in one transaction; `seal` makes the sealed
    /// secret from the new id (the secret is bound to its row).
    fn insert_webhook_endpoint(
        &self,
        new: &NewWebhookEndpoint<'_>,
        seal: impl FnOnce(i64) -> String + Send,
    ) -> impl StoreFuture<WebhookEndpointRecord>;
    /// `None` when there is no live endpoint with that id.
    fn update_webhook_endpoint(
        &self,
        id: i64,
        changes: &WebhookEndpointChanges,
    ) -> impl StoreFuture<Option<WebhookEndpointRecord>>;
    /// Replaces the sealed secret; whether the endpoint is live.
    fn set_webhook_secret(&self, id: i64, sealed: &str) -> impl StoreFuture<bool>;
    /// Soft-deletes the endpoint, ends its subscriptions and gives up its pending deliveries;
    /// whether it existed.
    fn delete_webhook_endpoint(&self, id: i64) -> impl StoreFuture<bool>;

    /// Up to `limit` deliveries due at `now` to live, active endpoints, oldest first.
    fn due_webhook_deliveries(
        &self,
        now: NaiveDateTime,
        limit: i64,
    ) -> impl StoreFuture<Vec<DueDelivery>>;
    /// Takes the delivery for one attempt until `lease_until`, if no other instance took it
    /// since it was read (`attempts` as read); whether this caller has it.
    fn claim_webhook_delivery(
        &self,
        id: i64,
        attempts: i32,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
    ) -> impl StoreFuture<bool>;
    /// Settles the claimed attempt (`attempts` as the claim made them).
    fn settle_webhook_attempt(
        &self,
        id: i64,
        attempts: i32,
        outcome: AttemptOutcome<'_>,
    ) -> impl StoreFuture<()>;

    /// Up to `limit` deliveries matching `filter`, newest first, older than the delivery
    /// `before` when given (keyset paging: the last id of a page asks for the next).
    fn webhook_deliveries(
        &self,
        filter: DeliveryFilter,
        before: Option<i64>,
        limit: i64,
    ) -> impl StoreFuture<Vec<DeliveryRecord>>;
    fn webhook_delivery(&self, id: i64) -> impl StoreFuture<Option<DeliveryRecord>>;
    /// Makes a delivered or abandoned delivery due again at `now`, with the same message id
    /// and a fresh day of retries; `endpoint_id` limits it to that endpoint's deliveries.
    fn resend_webhook_delivery(
        &self,
        id: i64,
        endpoint_id: Option<i64>,
        now: NaiveDateTime,
    ) -> impl StoreFuture<Resent>;
    /// Deliveries not yet delivered nor given up.
    fn webhook_backlog(&self) -> impl StoreFuture<i64>;
    /// Removes up to `limit` settled deliveries created before `before`, and the events no
    /// delivery is left for; how many deliveries went.
    fn purge_webhook_deliveries_before(
        &self,
        before: NaiveDateTime,
        limit: i64,
    ) -> impl StoreFuture<u64>;
}

const ENDPOINT_COLUMNS: &str =
    "id, url, description, secret_sealed, is_active, created_at, updated_at";

const DELIVERY_COLUMNS: &str = "d.id, d.endpoint_id, v.message_id, v.event_type, v.resource_id, \
    d.attempts, d.next_attempt_at, d.last_attempt_at, d.delivered_at, d.abandoned_at, \
    d.last_status, d.last_error, d.created_at";

/// Not delivered and not given up.
const PENDING: &str = "d.delivered_at IS NULL AND d.abandoned_at IS NULL";

const SUBSCRIBE: &str =
    "INSERT INTO webhook_subscriptions (event_type, endpoint_id) VALUES ($1, $2)";

impl Store {
    async fn endpoint_events(&self, id: i64) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT event_type FROM webhook_subscriptions WHERE endpoint_id = $1";
        let rows: Vec<(String,)> = self.fetch_all(SQL, (id,)).await?;
        Ok(ordered(rows.into_iter().map(|(t,)| t)))
    }
}

/// Event types in the order the core lists them (unknown ones, if any, last).
fn ordered(types: impl Iterator<Item = String>) -> Vec<String> {
    let mut types: Vec<String> = types.collect();
    let rank = |t: &String| {
        gatehouse_core::webhooks::EVENT_TYPES
            .iter()
            .position(|k| k == t)
            .unwrap_or(usize::MAX)
    };
    types.sort_by_key(rank);
    types
}

impl WebhookStore for Store {
    async fn list_webhook_endpoints(&self) -> Result<Vec<WebhookEndpointRecord>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY id"
        );
        const EVENTS: &str = "SELECT s.endpoint_id, s.event_type FROM webhook_subscriptions s \
            JOIN webhook_endpoints e ON e.id = s.endpoint_id WHERE e.deleted_at IS NULL";
        let rows: Vec<EndpointRow> = self.fetch_all(&sql, ()).await?;
        let events: Vec<(i64, String)> = self.fetch_all(EVENTS, ()).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mine = events.iter().filter(|(id, _)| *id == row.id);
                let types = ordered(mine.map(|(_, t)| t.clone()));
                row.with_events(types)
            })
            .collect())
    }

    async fn webhook_endpoint(&self, id: i64) -> Result<Option<WebhookEndpointRecord>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL"
        );
        let row: Option<EndpointRow> = self.fetch_optional(&sql, (id,)).await?;
        match row {
            Some(row) => Ok(Some(row.with_events(self.endpoint_events(id).await?))),
            None => Ok(None),
        }
    }

    async fn insert_webhook_endpoint(
        &self,
        new: &NewWebhookEndpoint<'_>,
        seal: impl FnOnce(i64) -> String + Send,
    ) -> Result<WebhookEndpointRecord, StoreError> {
        const INSERT: &str = "INSERT INTO webhook_endpoints (url, description, secret_sealed, \
            is_active, created_at, updated_at) VALUES ($1, $2, '', $3, $4, $4) RETURNING id";
        const SEAL: &str = "UPDATE webhook_endpoints SET secret_sealed = $2 WHERE id = $1";
        let now = now_utc();
        let id = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let (id,): (i64,) = sql::fetch_one(
                &mut *tx,
                INSERT,
                (new.url, new.description, new.is_active, now),
            )
            .await?;
            // Recorded while the endpoint is the last row inserted: the change names it.
            let evented = tx.record_changes().await?;
            sql::execute(&mut *tx, SEAL, (id, seal(id))).await?;
            for event in new.events {
                sql::execute(&mut *tx, SUBSCRIBE, (*event, id)).await?;
            }
            self.commit(tx).await?;
            if evented {
                self.outbox.notify_one();
            }
            Ok::<_, StoreError>(id)
        })?;
        self.webhook_endpoint(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("inserted webhook endpoint not found".into()))
    }

    async fn update_webhook_endpoint(
        &self,
        id: i64,
        changes: &WebhookEndpointChanges,
    ) -> Result<Option<WebhookEndpointRecord>, StoreError> {
        const UPDATE: &str = "UPDATE webhook_endpoints SET url = COALESCE($2, url), \
            description = COALESCE($3, description), is_active = COALESCE($4, is_active), \
            updated_at = $5 WHERE id = $1 AND deleted_at IS NULL";
        const UNSUBSCRIBE: &str = "DELETE FROM webhook_subscriptions WHERE endpoint_id = $1";
        let now = now_utc();
        let updated = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let values = (
                id,
                changes.url.as_deref(),
                changes.description.as_deref(),
                changes.is_active,
                now,
            );
            let updated = sql::execute(&mut *tx, UPDATE, values)
                .await?
                .rows_affected()
                == 1;
            if updated {
                if let Some(events) = &changes.events {
                    sql::execute(&mut *tx, UNSUBSCRIBE, (id,)).await?;
                    for event in events {
                        sql::execute(&mut *tx, SUBSCRIBE, (*event, id)).await?;
                    }
                }
                self.commit(tx).await?;
            } else {
                // Nothing changed: nothing is recorded.
                tx.rollback().await?;
            }
            Ok::<_, StoreError>(updated)
        })?;
        if updated {
            self.webhook_endpoint(id).await
        } else {
            Ok(None)
        }
    }

    async fn set_webhook_secret(&self, id: i64, sealed: &str) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE webhook_endpoints SET secret_sealed = $2, updated_at = $3 \
            WHERE id = $1 AND deleted_at IS NULL";
        Ok(self.execute(SQL, (id, sealed, now_utc())).await? == 1)
    }

    async fn delete_webhook_endpoint(&self, id: i64) -> Result<bool, StoreError> {
        const DELETE: &str = "UPDATE webhook_endpoints SET deleted_at = $2, updated_at = $2, \
            is_active = $3 WHERE id = $1 AND deleted_at IS NULL";
        const UNSUBSCRIBE: &str = "DELETE FROM webhook_subscriptions WHERE endpoint_id = $1";
        const GIVE_UP: &str = "UPDATE webhook_deliveries SET abandoned_at = $2, \
            last_error = $3 WHERE endpoint_id = $1 AND delivered_at IS NULL AND abandoned_at IS NULL";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let deleted = sql::execute(&mut *tx, DELETE, (id, now, false))
                .await?
                .rows_affected()
                == 1;
            if deleted {
                sql::execute(&mut *tx, UNSUBSCRIBE, (id,)).await?;
                sql::execute(&mut *tx, GIVE_UP, (id, now, "endpoint deleted")).await?;
                self.commit(tx).await?;
            } else {
                tx.rollback().await?;
            }
            Ok(deleted)
        })
    }

    async fn due_webhook_deliveries(
        &self,
        now: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let sql = format!(
            "SELECT d.id, d.attempts, d.attempts_at_resend, d.endpoint_id, e.url, \
             e.secret_sealed, v.message_id, v.event_type, v.data, v.created_at AS event_created_at \
             FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.next_attempt_at <= $1 AND {PENDING} AND e.is_active = $3 \
             AND e.deleted_at IS NULL ORDER BY d.next_attempt_at, d.id LIMIT $2"
        );
        self.fetch_all(&sql, (now, limit, true)).await
    }

    async fn claim_webhook_delivery(
        &self,
        id: i64,
        attempts: i32,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE webhook_deliveries SET attempts = attempts + 1, \
            last_attempt_at = $3, next_attempt_at = $4 WHERE id = $1 AND attempts = $2 \
            AND delivered_at IS NULL AND abandoned_at IS NULL";
        Ok(self.execute(SQL, (id, attempts, now, lease_until)).await? == 1)
    }

    async fn settle_webhook_attempt(
        &self,
        id: i64,
        attempts: i32,
        outcome: AttemptOutcome<'_>,
    ) -> Result<(), StoreError> {
        // Only the claim that made `attempts` settles: a claimer whose lease ran out and was
        // taken over changes nothing.
        const CLAIMED: &str =
            "WHERE id = $1 AND attempts = $2 AND delivered_at IS NULL AND abandoned_at IS NULL";
        let now = now_utc();
        match outcome {
            AttemptOutcome::Delivered { status } => {
                let sql = format!(
                    "UPDATE webhook_deliveries SET delivered_at = $3, last_status = $4, \
                     last_error = NULL {CLAIMED}"
                );
                self.execute(&sql, (id, attempts, now, status)).await?;
            }
            AttemptOutcome::Postponed {
                next,
                status,
                error,
            } => {
                let sql = format!(
                    "UPDATE webhook_deliveries SET next_attempt_at = $3, last_status = $4, \
                     last_error = $5 {CLAIMED}"
                );
                self.execute(&sql, (id, attempts, next, status, error))
                    .await?;
            }
            AttemptOutcome::Abandoned { status, error } => {
                let sql = format!(
                    "UPDATE webhook_deliveries SET abandoned_at = $3, last_status = $4, \
                     last_error = $5 {CLAIMED}"
                );
                self.execute(&sql, (id, attempts, now, status, error))
                    .await?;
            }
        }
        Ok(())
    }

    async fn webhook_deliveries(
        &self,
        filter: DeliveryFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d \
             JOIN webhook_events v ON v.id = d.event_id \
             WHERE ($1 IS NULL OR d.endpoint_id = $1) AND ($2 IS NULL OR d.id < $2) \
             AND ($3 = 'all' OR ($3 = 'pending' AND {PENDING}) \
             OR ($3 = 'delivered' AND d.delivered_at IS NOT NULL) \
             OR ($3 = 'abandoned' AND d.abandoned_at IS NOT NULL)) \
             ORDER BY d.id DESC LIMIT $4"
        );
        let status = filter.status.map_or("all", DeliveryStatus::as_str);
        self.fetch_all(&sql, (filter.endpoint_id, before, status, limit))
            .await
    }

    async fn webhook_delivery(&self, id: i64) -> Result<Option<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d \
             JOIN webhook_events v ON v.id = d.event_id WHERE d.id = $1"
        );
        self.fetch_optional(&sql, (id,)).await
    }

    async fn resend_webhook_delivery(
        &self,
        id: i64,
        endpoint_id: Option<i64>,
        now: NaiveDateTime,
    ) -> Result<Resent, StoreError> {
        const RESEND: &str = "UPDATE webhook_deliveries SET delivered_at = NULL, \
            abandoned_at = NULL, next_attempt_at = $3, attempts_at_resend = attempts, \
            last_error = NULL WHERE id = $1 AND ($2 IS NULL OR endpoint_id = $2) \
            AND (delivered_at IS NOT NULL OR abandoned_at IS NOT NULL) \
            AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE deleted_at IS NULL)";
        if self.execute(RESEND, (id, endpoint_id, now)).await? == 1 {
            self.outbox.notify_one();
            return Ok(Resent::Done);
        }
        let live = self.webhook_delivery(id).await?.filter(|d| {
            endpoint_id.is_none_or(|e| e == d.endpoint_id) && d.status() == DeliveryStatus::Pending
        });
        Ok(if live.is_some() {
            Resent::StillPending
        } else {
            Resent::NotFound
        })
    }

    async fn webhook_backlog(&self) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM webhook_deliveries d WHERE {PENDING}");
        let (count,): (i64,) = self.fetch_one(&sql, ()).await?;
        Ok(count)
    }

    async fn purge_webhook_deliveries_before(
        &self,
        before: NaiveDateTime,
        limit: i64,
    ) -> Result<u64, StoreError> {
        const DELIVERIES: &str = "DELETE FROM webhook_deliveries WHERE id IN \
            (SELECT id FROM webhook_deliveries WHERE created_at < $1 \
            AND (delivered_at IS NOT NULL OR abandoned_at IS NOT NULL) ORDER BY created_at LIMIT $2)";
        const EVENTS: &str = "DELETE FROM webhook_events WHERE id IN \
            (SELECT v.id FROM webhook_events v WHERE v.created_at < $1 AND NOT EXISTS \
            (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = v.id) ORDER BY v.created_at LIMIT $2)";
        let removed = self.execute(DELIVERIES, (before, limit)).await?;
        self.execute(EVENTS, (before, limit)).await?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{recording, Change};
    use crate::testing::{at, store};
    use crate::{LogKind, LogStore, RoleStore};

    fn new_endpoint<'a>(url: &'a str, events: &'a [&'static str]) -> NewWebhookEndpoint<'a> {
        NewWebhookEndpoint {
            url,
            description: "hooks",
            is_active: true,
            events,
        }
    }

    /// A role change raising `role.created`, the store's stand-in for any event.
    async fn raise(store: &Store, name: &str) {
        let change = Change::created("role").event("role.created", serde_json::json!({}));
        recording(change, store.insert_role(name, ""))
            .await
            .expect("role");
    }

    #[tokio::test]
    async fn an_endpoint_keeps_its_events_and_its_secret_is_sealed_with_its_id() {
        let store = store().await;
        let events = ["user.created", "app.created"];
        let created = recording(
            Change::created("webhook_endpoint"),
            store.insert_webhook_endpoint(&new_endpoint("https://a.example/in", &events), |id| {
                format!("sealed-for-{id}")
            }),
        )
        .await
        .expect("insert");
        assert_eq!(created.secret_sealed, format!("sealed-for-{}", created.id));
        assert_eq!(created.events, ["user.created", "app.created"]);
        // The audit row names the endpoint, not its last subscription row.
        let (resource_id,): (String,) = store
            .fetch_one("SELECT resource_id FROM audit_log", ())
            .await
            .expect("audit");
        assert_eq!(resource_id, created.id.to_string());

        let changes = WebhookEndpointChanges {
            description: Some("renamed".into()),
            events: Some(vec!["app.deleted"]),
            ..Default::default()
        };
        let updated = store
            .update_webhook_endpoint(created.id, &changes)
            .await
            .expect("update")
            .expect("live");
        assert_eq!(
            (updated.description.as_str(), updated.events.clone()),
            ("renamed", vec!["app.deleted".to_string()])
        );
        assert_eq!(updated.url, "https://a.example/in");
        assert!(store
            .update_webhook_endpoint(created.id + 1, &changes)
            .await
            .expect("missing")
            .is_none());
        assert!(store
            .set_webhook_secret(created.id, "new")
            .await
            .expect("secret"));
        assert_eq!(store.list_webhook_endpoints().await.expect("list").len(), 1);
        assert!(store
            .delete_webhook_endpoint(created.id)
            .await
            .expect("delete"));
        assert!(!store
            .delete_webhook_endpoint(created.id)
            .await
            .expect("again"));
        assert!(store
            .list_webhook_endpoints()
            .await
            .expect("list")
            .is_empty());
        assert!(!store
            .set_webhook_secret(created.id, "x")
            .await
            .expect("gone"));
    }

    #[tokio::test]
    async fn a_delivery_is_claimed_once_per_attempt_settled_listed_and_sent_again() {
        let store = store().await;
        let endpoint = store
            .insert_webhook_endpoint(
                &new_endpoint("https://a.example/in", &["role.created"]),
                |_| "s".into(),
            )
            .await
            .expect("endpoint");
        raise(&store, "a").await;
        raise(&store, "b").await;
        assert_eq!(store.webhook_backlog().await.expect("backlog"), 2);
        let later = at(10);
        let due = store.due_webhook_deliveries(later, 10).await.expect("due");
        assert_eq!(due.len(), 2);
        assert!(due[0].message_id.starts_with("msg_"));
        assert_eq!(due[0].event_type, "role.created");
        let first = &due[0];
        // Two instances read the same row: only one claims the attempt.
        let lease = at(11);
        assert!(store
            .claim_webhook_delivery(first.id, 0, later, lease)
            .await
            .expect("claim"));
        assert!(!store
            .claim_webhook_delivery(first.id, 0, later, lease)
            .await
            .expect("second claim"));
        // Leased: not due again until the lease ends.
        let due_now = store.due_webhook_deliveries(later, 10).await.expect("due");
        assert_eq!(due_now.len(), 1);
        // A stale settle (of an attempt that is not the latest) changes nothing.
        store
            .settle_webhook_attempt(first.id, 0, AttemptOutcome::Delivered { status: 200 })
            .await
            .expect("stale");
        assert_eq!(
            store
                .webhook_delivery(first.id)
                .await
                .expect("read")
                .expect("there")
                .status(),
            DeliveryStatus::Pending
        );
        let outcome = AttemptOutcome::Postponed {
            next: at(10),
            status: Some(500),
            error: "status 500",
        };
        store
            .settle_webhook_attempt(first.id, 1, outcome)
            .await
            .expect("postpone");
        assert!(store
            .claim_webhook_delivery(first.id, 1, later, lease)
            .await
            .expect("claim 2"));
        store
            .settle_webhook_attempt(first.id, 2, AttemptOutcome::Delivered { status: 204 })
            .await
            .expect("deliver");
        let second = &due[1];
        assert!(store
            .claim_webhook_delivery(second.id, 0, later, lease)
            .await
            .expect("claim"));
        let outcome = AttemptOutcome::Abandoned {
            status: None,
            error: "connection refused",
        };
        store
            .settle_webhook_attempt(second.id, 1, outcome)
            .await
            .expect("abandon");
        assert_eq!(store.webhook_backlog().await.expect("backlog"), 0);

        let all = store
            .webhook_deliveries(DeliveryFilter::default(), None, 10)
            .await
            .expect("all");
        assert_eq!(
            all.iter().map(|d| (d.id, d.status())).collect::<Vec<_>>(),
            [
                (second.id, DeliveryStatus::Abandoned),
                (first.id, DeliveryStatus::Delivered)
            ]
        );
        assert_eq!((all[1].attempts, all[1].last_status), (2, Some(204)));
        let page = store
            .webhook_deliveries(DeliveryFilter::default(), Some(second.id), 10)
            .await
            .expect("page");
        assert_eq!(page.len(), 1);
        let delivered = DeliveryFilter {
            endpoint_id: Some(endpoint.id),
            status: Some(DeliveryStatus::Delivered),
        };
        let only = store
            .webhook_deliveries(delivered, None, 10)
            .await
            .expect("filtered");
        assert_eq!(only.iter().map(|d| d.id).collect::<Vec<_>>(), [first.id]);
        let elsewhere = DeliveryFilter {
            endpoint_id: Some(endpoint.id + 1),
            status: None,
        };
        assert!(store
            .webhook_deliveries(elsewhere, None, 10)
            .await
            .expect("none")
            .is_empty());

        // Sent again: the same message, due now, its retries counted afresh.
        assert_eq!(
            store
                .resend_webhook_delivery(second.id, Some(endpoint.id + 1), later)
                .await
                .expect("other endpoint"),
            Resent::NotFound
        );
        assert_eq!(
            store
                .resend_webhook_delivery(second.id, Some(endpoint.id), later)
                .await
                .expect("resend"),
            Resent::Done
        );
        assert_eq!(
            store
                .resend_webhook_delivery(second.id, None, later)
                .await
                .expect("pending"),
            Resent::StillPending
        );
        let again = store.due_webhook_deliveries(later, 10).await.expect("due");
        assert_eq!(again.len(), 1);
        assert_eq!(
            (
                again[0].message_id.as_str(),
                again[0].attempts,
                again[0].attempts_at_resend
            ),
            (second.message_id.as_str(), 1, 1)
        );
        assert_eq!(
            store
                .resend_webhook_delivery(9999, None, later)
                .await
                .expect("missing"),
            Resent::NotFound
        );

        // Retention takes settled deliveries only, then their events.
        assert_eq!(
            store
                .purge_logs_before(LogKind::WebhookDeliveries, at(20), 100)
                .await
                .expect("purge"),
            1
        );
        let (events,): (i64,) = store
            .fetch_one("SELECT COUNT(*) FROM webhook_events", ())
            .await
            .expect("events");
        assert_eq!(events, 1);

        // Deleting the endpoint gives up what it was still owed.
        assert!(store
            .delete_webhook_endpoint(endpoint.id)
            .await
            .expect("delete"));
        assert_eq!(store.webhook_backlog().await.expect("backlog"), 0);
        assert!(store
            .due_webhook_deliveries(later, 10)
            .await
            .expect("due")
            .is_empty());
    }

    #[tokio::test]
    async fn an_inactive_endpoint_is_neither_subscribed_nor_sent_to() {
        let store = store().await;
        let endpoint = store
            .insert_webhook_endpoint(
                &new_endpoint("https://a.example/in", &["role.created"]),
                |_| "s".into(),
            )
            .await
            .expect("endpoint");
        raise(&store, "a").await;
        let off = WebhookEndpointChanges {
            is_active: Some(false),
            ..Default::default()
        };
        store
            .update_webhook_endpoint(endpoint.id, &off)
            .await
            .expect("off");
        raise(&store, "b").await;
        assert_eq!(store.webhook_backlog().await.expect("backlog"), 1);
        assert!(store
            .due_webhook_deliveries(at(10), 10)
            .await
            .expect("due")
            .is_empty());
    }
}
