//! Changes recorded in the transaction that makes them: the audit trail (who changed what,
//! before and after) and the webhook outbox (the events endpoints subscribe to).
//!
//! The edge that knows who asks (a request, the CLI) runs its work in [`acting_as`]; the guard
//! that authenticates the caller names them with [`identify`]. A service wraps the store call
//! that makes a change in [`recording`]; the store writes the change's rows in the transaction
//! of that call's first write statement (a single statement is given a transaction of its own),
//! so the record and the change commit or fail together. A write that touches no row records
//! nothing.

use std::future::Future;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::{now_utc, sql, StoreError};

/// Who makes the changes of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An S2S app (its client id), through `/api/v1` or `/scim/v2`.
    App,
    /// An admin panel user (their `authId`).
    Admin,
    /// A user changing their own account (their `authId`).
    User,
    /// A `gatehouse` command on the server's machine.
    Cli,
    /// The server itself (schedules, retention).
    System,
    /// A request whose caller is not known (yet).
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Admin => "admin",
            Self::User => "user",
            Self::Cli => "cli",
            Self::System => "system",
            Self::Anonymous => "anonymous",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::App,
            Self::Admin,
            Self::User,
            Self::Cli,
            Self::System,
            Self::Anonymous,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// Who, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn request(ip: Option<String>, request_id: Option<String>) -> Self {
        Self {
            kind: ActorKind::Anonymous,
            id: String::new(),
            ip,
            request_id,
        }
    }

    pub fn cli() -> Self {
        Self::of(ActorKind::Cli, "cli")
    }

    pub fn system() -> Self {
        Self::of(ActorKind::System, "system")
    }

    fn of(kind: ActorKind, id: &str) -> Self {
        Self {
            kind,
            id: id.to_owned(),
            ip: None,
            request_id: None,
        }
    }
}

/// One field of a change. Values of fields that hold secrets or codes are never kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// The last words of the names of fields whose values are never recorded.
const SECRET_WORDS: [&str; 9] = [
    "secret", "password", "hash", "code", "token", "key", "otp", "seed", "sealed",
];

/// Whether a field holds a secret or a code (its value is recorded as `"[redacted]"`): its
/// name's last word (snake or camel case) is one of [`SECRET_WORDS`].
pub fn is_secret_field(name: &str) -> bool {
    let mut words = vec![String::new()];
    for c in name.chars() {
        let boundary = matches!(c, '_' | '-' | '.') || c.is_ascii_uppercase();
        if boundary && words.last().is_some_and(|w| !w.is_empty()) {
            words.push(String::new());
        }
        if let (true, Some(word)) = (c.is_alphanumeric(), words.last_mut()) {
            word.push(c.to_ascii_lowercase());
        }
    }
    // The last word says what the value is: `clientSecret` is a secret, `tokenExchangeClientIds`
    // are ids.
    words.last().is_some_and(|last| {
        SECRET_WORDS
            .iter()
            .any(|s| last == s || *last == format!("{s}s"))
    })
}

const REDACTED: &str = "[redacted]";

fn shown(field: &str, value: Value) -> Value {
    // A switch or a number tells no secret (`otpVerified`, `passwordExpiresIn`).
    if value.is_null() || value.is_boolean() || value.is_number() || !is_secret_field(field) {
        value
    } else {
        Value::String(REDACTED.into())
    }
}

/// A change to one resource, and the webhook event it raises.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `user`, `role`, `app`… (the API's names, singular).
    pub resource: &'static str,
    /// The id the API addresses the resource by; `None`: the row the write inserts.
    pub resource_id: Option<String>,
    /// `created`, `updated`, `deleted`, `role_assigned`…
    pub action: &'static str,
    pub fields: Vec<FieldChange>,
    /// Kept in the audit trail (events that change nothing, as a sign-in, are not).
    pub audited: bool,
    /// The webhook event type (`user.created`), if endpoints may subscribe to it.
    pub event: Option<&'static str>,
    /// The event's `data`, to which the resource's `id` is added.
    pub data: Value,
}

impl Change {
    pub fn new(resource: &'static str, id: Option<String>, action: &'static str) -> Self {
        Self {
            resource,
            resource_id: id,
            action,
            fields: Vec::new(),
            audited: true,
            event: None,
            data: Value::Null,
        }
    }

    /// A change to the resource `id`.
    pub fn of(resource: &'static str, id: impl ToString, action: &'static str) -> Self {
        Self::new(resource, Some(id.to_string()), action)
    }

    /// The creation of a resource whose id the write makes.
    pub fn created(resource: &'static str) -> Self {
        Self::new(resource, None, "created")
    }

    /// A webhook event only: nothing changed that the audit trail keeps.
    pub fn event_only(resource: &'static str, id: impl ToString, event: &'static str) -> Self {
        Self {
            audited: false,
            event: Some(event),
            ..Self::of(resource, id, "event")
        }
    }

    pub fn event(mut self, event: &'static str, data: Value) -> Self {
        self.event = Some(event);
        self.data = data;
        self
    }

    /// Adds a field's change when the values differ.
    pub fn field(mut self, name: &str, before: impl Serialize, after: impl Serialize) -> Self {
        let before = serde_json::to_value(before).unwrap_or(Value::Null);
        let after = serde_json::to_value(after).unwrap_or(Value::Null);
        if before != after {
            self.fields.push(FieldChange {
                field: name.to_owned(),
                before: shown(name, before),
                after: shown(name, after),
            });
        }
        self
    }

    /// Adds every field of `after` (an object of the fields a request sets; nulls are "left as
    /// they are") whose value differs from the same field of `before`.
    pub fn fields_set(mut self, before: &impl Serialize, after: &impl Serialize) -> Self {
        let before = object(before);
        for (name, value) in object(after) {
            if value.is_null() {
                continue;
            }
            let old = before.get(&name).cloned().unwrap_or(Value::Null);
            self = self.field(&name, old, value);
        }
        self
    }

    /// Adds every field of a new resource (`after`), nulls left out.
    pub fn fields_new(mut self, after: &impl Serialize) -> Self {
        for (name, value) in object(after) {
            self = self.field(&name, Value::Null, value);
        }
        self
    }

    /// The recorded fields as the audit log stores them.
    fn fields_json(&self) -> String {
        serde_json::to_string(&self.fields).unwrap_or_else(|_| "[]".into())
    }
}

fn object(value: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

struct Scope {
    actor: Mutex<Actor>,
    pending: Mutex<Vec<Change>>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// Runs `work` as `actor`: the changes it records name them.
pub async fn acting_as<F: Future>(actor: Actor, work: F) -> F::Output {
    let scope = Scope {
        actor: Mutex::new(actor),
        pending: Mutex::new(Vec::new()),
    };
    SCOPE.scope(scope, work).await
}

/// Names who the current work acts for, once a guard has authenticated them.
pub fn identify(kind: ActorKind, id: &str) {
    let _ = SCOPE.try_with(|scope| {
        if let Ok(mut actor) = scope.actor.lock() {
            actor.kind = kind;
            id.clone_into(&mut actor.id);
        }
    });
}

/// Who the current work acts for.
pub fn current_actor() -> Actor {
    SCOPE
        .try_with(|scope| scope.actor.lock().ok().map(|a| a.clone()))
        .ok()
        .flatten()
        .unwrap_or_else(Actor::system)
}

/// Runs the store call `write` with `changes` to record in its transaction. A write that
/// touched no row, or failed, records nothing.
pub async fn recording_all<T, E, F>(changes: Vec<Change>, write: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    if SCOPE.try_with(|_| ()).is_err() {
        return acting_as(Actor::system(), record_in_scope(changes, write)).await;
    }
    record_in_scope(changes, write).await
}

async fn record_in_scope<T, E, F>(changes: Vec<Change>, write: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let _ = SCOPE.try_with(|scope| {
        if let Ok(mut pending) = scope.pending.lock() {
            pending.extend(changes);
        }
    });
    let result = write.await;
    let _ = SCOPE.try_with(|scope| {
        if let Ok(mut pending) = scope.pending.lock() {
            if !pending.is_empty() {
                tracing::debug!(count = pending.len(), "changes not written: no row changed");
            }
            pending.clear();
        }
    });
    result
}

/// [`recording_all`] with one change.
pub async fn recording<T, E, F>(change: Change, write: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    recording_all(vec![change], write).await
}

impl crate::Store {
    /// Records a change that no other write of the database makes (an unlock kept in the
    /// cache, a sign-in event), in a transaction of its own.
    pub async fn record_change(&self, change: Change) -> Result<(), StoreError> {
        recording(change, async {
            crate::on_pool!(self, |pool| {
                let tx = pool.begin_write().await?;
                self.commit(tx).await
            })
        })
        .await
    }
}

/// Whether a change waits for the current task's next write.
pub(crate) fn pending() -> bool {
    SCOPE
        .try_with(|scope| scope.pending.lock().is_ok_and(|p| !p.is_empty()))
        .unwrap_or(false)
}

/// Whether a statement writes (and so takes the pending changes).
pub(crate) fn is_write(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or_default();
    ["INSERT", "UPDATE", "DELETE"]
        .iter()
        .any(|w| first.eq_ignore_ascii_case(w))
}

fn take_pending() -> Option<(Actor, Vec<Change>)> {
    SCOPE
        .try_with(|scope| {
            let changes = std::mem::take(&mut *scope.pending.lock().ok()?);
            let actor = scope.actor.lock().ok()?.clone();
            (!changes.is_empty()).then_some((actor, changes))
        })
        .ok()
        .flatten()
}

/// The `webhook-id` of a new event.
fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (created_at, actor_kind, actor_id, ip, request_id, \
    resource, resource_id, action, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// The event, if an active endpoint subscribes to its type.
const INSERT_EVENT: &str =
    "INSERT INTO webhook_events (message_id, event_type, resource_id, data, created_at) \
    SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM webhook_subscriptions s \
    JOIN webhook_endpoints e ON e.id = s.endpoint_id \
    WHERE s.event_type = $2 AND e.is_active = $6 AND e.deleted_at IS NULL) RETURNING id";

const INSERT_DELIVERIES: &str = "INSERT INTO webhook_deliveries (event_id, endpoint_id, next_attempt_at, created_at) \
    SELECT $1, e.id, $2, $2 FROM webhook_subscriptions s JOIN webhook_endpoints e ON e.id = s.endpoint_id \
    WHERE s.event_type = $3 AND e.is_active = $4 AND e.deleted_at IS NULL";

/// The event's `data`: what the change gives, with the resource's `id`.
fn event_data(change: &Change, id: &str) -> String {
    let mut data = match &change.data {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        other => {
            let mut map = Map::new();
            map.insert("value".into(), other.clone());
            map
        }
    };
    data.entry("id").or_insert_with(|| json!(id));
    Value::Object(data).to_string()
}

/// Who a change is recorded as: a caller no guard named who changes a user's own account
/// (a sign-up, a reset with an emailed code, the account pages) is that user.
fn actor_of<'a>(actor: &'a Actor, change: &Change, id: &'a str) -> (ActorKind, &'a str) {
    if actor.kind == ActorKind::Anonymous && change.resource == "user" {
        (ActorKind::User, id)
    } else {
        (actor.kind, actor.id.as_str())
    }
}

/// Writes the pending changes on a connection inside a write transaction.
pub(crate) trait RecordChanges {
    /// Writes the task's pending changes; whether an outbox event was written.
    fn record_changes(&mut self) -> impl crate::StoreFuture<bool>;
}

macro_rules! record_changes_on {
    ($conn:ty, $last_id:literal) => {
        impl RecordChanges for $conn {
            async fn record_changes(&mut self) -> Result<bool, StoreError> {
                let Some((actor, changes)) = take_pending() else {
                    return Ok(false);
                };
                let created = if changes.iter().any(|c| c.resource_id.is_none()) {
                    let (id,): (String,) = sql::fetch_one(&mut *self, $last_id, ()).await?;
                    Some(id)
                } else {
                    None
                };
                let now = now_utc();
                let mut evented = false;
                for change in &changes {
                    let id = change
                        .resource_id
                        .clone()
                        .or_else(|| created.clone())
                        .unwrap_or_default();
                    if change.audited {
                        let (kind, actor_id) = actor_of(&actor, change, &id);
                        let params = (
                            now,
                            kind.as_str(),
                            actor_id,
                            actor.ip.as_deref(),
                            actor.request_id.as_deref(),
                            change.resource,
                            id.as_str(),
                            change.action,
                            change.fields_json(),
                        );
                        sql::execute(&mut *self, INSERT_AUDIT, params).await?;
                    }
                    if let Some(event) = change.event {
                        let params = (
                            message_id(),
                            event,
                            id.as_str(),
                            event_data(change, &id),
                            now,
                            true,
                        );
                        let row: Option<(i64,)> =
                            sql::fetch_optional(&mut *self, INSERT_EVENT, params).await?;
                        if let Some((event_id,)) = row {
                            sql::execute(
                                &mut *self,
                                INSERT_DELIVERIES,
                                (event_id, now, event, true),
                            )
                            .await?;
                            evented = true;
                        }
                    }
                }
                Ok(evented)
            }
        }
    };
}

record_changes_on!(
    sqlx::SqliteConnection,
    "SELECT CAST(last_insert_rowid() AS TEXT)"
);
record_changes_on!(sqlx::PgConnection, "SELECT CAST(lastval() AS TEXT)");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_told_by_their_words() {
        for name in [
            "password",
            "clientSecret",
            "secret_sealed",
            "otpSecret",
            "recoveryCodes",
            "registration_token_hash",
            "privateKey",
        ] {
            assert!(is_secret_field(name), "{name}");
        }
        for name in [
            "email",
            "name",
            "isActive",
            "redirectUris",
            "keystone",
            "codec",
        ] {
            assert!(!is_secret_field(name), "{name}");
        }
    }

    #[test]
    fn a_change_keeps_only_fields_that_differ_and_redacts_secrets() {
        #[derive(Serialize)]
        struct Before {
            name: &'static str,
            note: &'static str,
            secret: &'static str,
        }
        #[derive(Serialize)]
        struct Set {
            name: Option<&'static str>,
            note: Option<&'static str>,
            secret: Option<&'static str>,
        }
        let before = Before {
            name: "a",
            note: "n",
            secret: "old",
        };
        let set = Set {
            name: Some("b"),
            note: Some("n"),
            secret: Some("new"),
        };
        let change = Change::of("role", 7, "updated").fields_set(&before, &set);
        assert_eq!(
            change.fields,
            [
                FieldChange {
                    field: "name".into(),
                    before: json!("a"),
                    after: json!("b"),
                },
                FieldChange {
                    field: "secret".into(),
                    before: json!(REDACTED),
                    after: json!(REDACTED),
                },
            ]
        );
    }

    #[test]
    fn only_insert_update_and_delete_take_the_changes() {
        assert!(is_write("  INSERT INTO x VALUES (1)"));
        assert!(is_write("update x set a = 1"));
        assert!(is_write("DELETE FROM x"));
        assert!(!is_write("SELECT 1"));
        assert!(!is_write("WITH a AS (SELECT 1) SELECT * FROM a"));
    }

    #[test]
    fn event_data_names_the_resource() {
        let change =
            Change::of("user", "u-1", "created").event("user.created", json!({"email": "a@b"}));
        assert_eq!(
            serde_json::from_str::<Value>(&event_data(&change, "u-1")).unwrap(),
            json!({"email": "a@b", "id": "u-1"})
        );
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;
    use crate::testing::store;
    use crate::{RoleStore, StoreError};

    async fn audit_rows(store: &crate::Store) -> Vec<(String, String, String, String, String)> {
        store
            .fetch_all(
                "SELECT actor_kind, actor_id, resource, resource_id, action FROM audit_log ORDER BY id",
                (),
            )
            .await
            .expect("audit")
    }

    #[tokio::test]
    async fn a_change_is_written_with_its_write_and_only_then() {
        let store = store().await;
        let admin = Actor {
            kind: ActorKind::Admin,
            id: "admin-1".into(),
            ip: Some("192.0.2.1".into()),
            request_id: Some("req-1".into()),
        };
        let role = acting_as(admin.clone(), async {
            recording(Change::created("role"), store.insert_role("editor", "")).await
        })
        .await
        .expect("insert");
        // The same name again fails: nothing is recorded.
        let taken = acting_as(admin.clone(), async {
            recording(Change::created("role"), store.insert_role("editor", "")).await
        })
        .await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        // An update of a role that is not there touches no row: nothing is recorded.
        let missing = acting_as(admin.clone(), async {
            recording(
                Change::of("role", 999, "updated"),
                store.update_role(999, Some("x"), None),
            )
            .await
        })
        .await
        .expect("update");
        assert!(missing.is_none());
        // A delete in a transaction of several statements records once.
        acting_as(admin, async {
            recording(
                Change::of("role", role.id, "deleted"),
                store.delete_role(role.id),
            )
            .await
        })
        .await
        .expect("delete");
        let id = role.id.to_string();
        assert_eq!(
            audit_rows(&store).await,
            [
                (
                    "admin".into(),
                    "admin-1".into(),
                    "role".into(),
                    id.clone(),
                    "created".into()
                ),
                (
                    "admin".into(),
                    "admin-1".into(),
                    "role".into(),
                    id,
                    "deleted".into()
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_write_outside_any_scope_is_the_system_s() {
        let store = store().await;
        recording(Change::created("role"), store.insert_role("viewer", ""))
            .await
            .expect("insert");
        let rows = audit_rows(&store).await;
        assert_eq!(
            (rows[0].0.as_str(), rows[0].1.as_str()),
            ("system", "system")
        );
    }

    #[tokio::test]
    async fn an_event_goes_to_the_outbox_only_when_an_endpoint_subscribes() {
        let store = store().await;
        let change = || Change::created("role").event("role.created", json!({"name": "x"}));
        recording(change(), store.insert_role("a", ""))
            .await
            .expect("a");
        let now = now_utc();
        store
            .execute(
                "INSERT INTO webhook_endpoints (url, secret_sealed, created_at, updated_at) VALUES ($1, $2, $3, $3)",
                ("https://example.com/hook", "sealed", now),
            )
            .await
            .expect("endpoint");
        store
            .execute(
                "INSERT INTO webhook_subscriptions (event_type, endpoint_id) VALUES ($1, $2)",
                ("role.created", 1_i64),
            )
            .await
            .expect("subscription");
        let b = recording(change(), store.insert_role("b", ""))
            .await
            .expect("b");
        let events: Vec<(String, String, String)> = store
            .fetch_all(
                "SELECT event_type, resource_id, data FROM webhook_events",
                (),
            )
            .await
            .expect("events");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].1, b.id.to_string());
        let data: Value = serde_json::from_str(&events[0].2).expect("json");
        assert_eq!(data, json!({"name": "x", "id": b.id.to_string()}));
        let (deliveries,): (i64,) = store
            .fetch_one(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE delivered_at IS NULL",
                (),
            )
            .await
            .expect("deliveries");
        assert_eq!(deliveries, 1);
    }
}
