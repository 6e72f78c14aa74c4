//! Listing the signing keys with their state, for `gatehouse keys list` and the admin panel;
//! what the audit trail records of a new key.

use chrono::NaiveDateTime;
use gatehouse_core::key_rotation::{self, KeyPlan, KeyTimes, RotationSchedule};
use gatehouse_store::changes::Change;
use gatehouse_store::{NewSigningKey, SigningKeyRecord, SigningKeyStore, Store};
use serde_json::Value;

use crate::error::ServiceError;
use crate::keys::key_times;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published on schedule; signs from its activation time.
    Next,
    /// Signs new tokens (the newest active key of its algorithm).
    Signing,
    /// Still published and accepted, until its retirement time.
    Retiring,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Signing => "signing",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }
}

/// Every key, newest first as the store lists them, with its state at `now`.
pub async fn list(
    store: &Store,
    now: NaiveDateTime,
) -> Result<Vec<(SigningKeyRecord, KeyState)>, ServiceError> {
    let keys = store.all_signing_keys().await?;
    let now_secs = now.and_utc().timestamp();
    let signing: Vec<i64> = algorithms(&keys)
        .into_iter()
        .filter_map(|algorithm| {
            key_rotation::signing_key(&live_times(&keys, algorithm, now), now_secs).map(|k| k.id)
        })
        .collect();
    Ok(keys
        .into_iter()
        .map(|key| {
            let state = if key.retire_at.is_some_and(|at| at <= now) {
                KeyState::Retired
            } else if key_rotation::is_pending(&key_times(&key), now_secs) {
                KeyState::Next
            } else if signing.contains(&key.id) {
                KeyState::Signing
            } else {
                KeyState::Retiring
            };
            (key, state)
        })
        .collect())
}

/// The algorithms of `keys`, in their order.
fn algorithms(keys: &[SigningKeyRecord]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for key in keys {
        if !names.contains(&key.algorithm.as_str()) {
            names.push(&key.algorithm);
        }
    }
    names
}

/// The schedule's view of the keys of `algorithm` live at `now`.
fn live_times(keys: &[SigningKeyRecord], algorithm: &str, now: NaiveDateTime) -> Vec<KeyTimes> {
    keys.iter()
        .filter(|k| k.algorithm == algorithm && k.retire_at.is_none_or(|at| at > now))
        .map(key_times)
        .collect()
}

/// The rotation schedule of the server's signing algorithm at `now`, as the panel shows it.
pub async fn schedule(
    store: &Store,
    algorithm: &str,
    schedule: RotationSchedule,
    now: NaiveDateTime,
) -> Result<KeyPlan, ServiceError> {
    let keys = store.live_signing_keys(now).await?;
    Ok(key_rotation::plan(
        &live_times(&keys, algorithm, now),
        now.and_utc().timestamp(),
        schedule,
    ))
}

/// A setting naming the algorithm an app's or an API's tokens are signed with: one of the
/// algorithms the server can sign with (a key is made for it now if none is live), or an empty
/// string for the server's own. `None` leaves it unchanged.
pub async fn algorithm_setting(
    state: &crate::state::AppState,
    field: &'static str,
    value: Option<String>,
) -> Result<Option<String>, ServiceError> {
    let value = match value {
        Some(value) if !value.is_empty() => value,
        unchanged_or_cleared => return Ok(unchanged_or_cleared),
    };
    let algorithm = crate::crypto::Algorithm::parse(&value).ok_or(
        gatehouse_core::admin::AdminRuleError::OneOf {
            field,
            allowed: "RS256, ES256, EdDSA",
        },
    )?;
    state.keys.ensure(algorithm).await?;
    Ok(Some(value))
}

/// The kids of the keys a new key of its algorithm schedules to retire: those of `keys` (every
/// key not deleted) that have no retirement time yet.
fn replaced(key: &NewSigningKey, keys: &[SigningKeyRecord]) -> Vec<String> {
    keys.iter()
        .filter(|k| k.algorithm == key.algorithm && k.retire_at.is_none() && k.kid != key.kid)
        .map(|k| k.kid.clone())
        .collect()
}

/// A key made by hand (`keys rotate`, the admin panel) or for an algorithm first used:
/// `rotated` when it replaces keys, which then retire at `retire_replaced_at`; else `created`.
/// Keys are named by their `kid`, as the JWKS and the panel show them.
pub(crate) fn key_made(
    key: &NewSigningKey,
    keys: &[SigningKeyRecord],
    retire_replaced_at: NaiveDateTime,
) -> Change {
    let replaced = replaced(key, keys);
    let action = if replaced.is_empty() {
        "created"
    } else {
        "rotated"
    };
    let change =
        Change::of("signing_key", &key.kid, action).field("algorithm", Value::Null, &key.algorithm);
    if replaced.is_empty() {
        return change;
    }
    change.field("replaces", Value::Null, replaced).field(
        "retireReplacedAt",
        Value::Null,
        retire_replaced_at,
    )
}

/// A key the rotation schedule publishes as the successor of key `predecessor`, signing from
/// `activate_at`; the keys it replaces retire at `retire_replaced_at`.
pub(crate) fn key_published(
    key: &NewSigningKey,
    keys: &[SigningKeyRecord],
    predecessor: i64,
    activate_at: NaiveDateTime,
    retire_replaced_at: NaiveDateTime,
) -> Change {
    let predecessor = keys
        .iter()
        .find(|k| k.id == predecessor)
        .map(|k| k.kid.clone());
    Change::of("signing_key", &key.kid, "rotated")
        .field("algorithm", Value::Null, &key.algorithm)
        .field("predecessor", Value::Null, predecessor)
        .field("activateAt", Value::Null, activate_at)
        .field("replaces", Value::Null, replaced(key, keys))
        .field("retireReplacedAt", Value::Null, retire_replaced_at)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use gatehouse_store::{AuditFilter, AuditStore};
    use serde_json::json;

    use super::*;
    use crate::crypto::{Algorithm, MasterKey};
    use crate::keys::KeyRing;
    use crate::services::fixture::{self, audit_trail};

    const DAY: i64 = 86_400;

    async fn ring(store: &Store) -> KeyRing {
        KeyRing::load(
            store.clone(),
            MasterKey::generate(),
            Algorithm::Es256,
            Duration::from_secs(60),
        )
        .await
        .expect("a key ring with its first key")
        .with_schedule(RotationSchedule {
            interval: 90 * DAY,
            prepublish: 2 * DAY,
            overlap: DAY,
        })
    }

    #[tokio::test]
    async fn the_first_key_and_a_rotation_by_hand_are_recorded_by_kid() {
        let store = fixture::store().await;
        let ring = ring(&store).await;
        let first = store.all_signing_keys().await.unwrap().remove(0);
        let second = ring.rotate().await.unwrap();
        let trail = audit_trail(&store).await;
        assert_eq!(trail.len(), 2, "{trail:?}");
        assert_eq!(
            (
                trail[0].0.as_str(),
                trail[0].1.as_str(),
                trail[0].2.as_str()
            ),
            ("signing_key", first.kid.as_str(), "created")
        );
        assert_eq!(trail[0].3, json!({"algorithm": [null, "ES256"]}));
        assert_eq!(
            (trail[1].1.as_str(), trail[1].2.as_str()),
            (second.kid.as_str(), "rotated")
        );
        assert_eq!(trail[1].3["replaces"], json!([null, [first.kid]]));
        let retired = store.all_signing_keys().await.unwrap();
        let retire_at = retired.iter().find(|k| k.id == first.id).unwrap().retire_at;
        assert_eq!(trail[1].3["retireReplacedAt"], json!([null, retire_at]));
        // Nobody asked: the server made them.
        let records = store
            .audit_records(&AuditFilter::default(), None, 10)
            .await
            .unwrap();
        assert!(records.iter().all(|r| r.actor_kind == "system"));
    }

    #[tokio::test]
    async fn a_scheduled_rotation_is_recorded_once_by_the_system() {
        let store = fixture::store().await;
        let ring = ring(&store).await;
        let first = store.all_signing_keys().await.unwrap().remove(0);
        let due = first.active_from() + chrono::TimeDelta::seconds(90 * DAY - 3600);
        let published = ring.rotate_on_schedule(due).await.unwrap();
        assert_eq!(published.len(), 1);
        // Taking the step again finds the next key published: nothing is written.
        assert!(ring.rotate_on_schedule(due).await.unwrap().is_empty());
        let next = &published[0];
        let trail = audit_trail(&store).await;
        assert_eq!(trail.len(), 2, "{trail:?}");
        assert_eq!(
            (trail[1].1.as_str(), trail[1].2.as_str()),
            (next.kid.as_str(), "rotated")
        );
        let fields = &trail[1].3;
        assert_eq!(fields["predecessor"], json!([null, first.kid]));
        assert_eq!(fields["activateAt"], json!([null, next.activate_at]));
        assert_eq!(fields["replaces"], json!([null, [first.kid]]));
        let records = store
            .audit_records(&AuditFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(records[0].actor_kind, "system");
    }
}
