//! The key ring: the signing keys this instance uses, loaded from the store (decrypted with the
//! master key) and refreshed on an interval so a rotation made elsewhere is picked up.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;

use chrono::{DateTime, NaiveDateTime, TimeDelta};
use gatehouse_core::jwt::{self, JwtError, JwtHeader};
use gatehouse_core::key_rotation::{self, KeyTimes, RotationSchedule, RotationStep};
use gatehouse_store::changes::recording;
use gatehouse_store::{now_utc, NewSigningKey, SigningKeyRecord, SigningKeyStore, Store};
use serde::Serialize;

use crate::crypto::{Algorithm, MasterKey, SigningKey};
use crate::error::ServiceError;
use crate::services::signing_keys;

/// The live keys, those that sign first (newest first), then the published next keys; and the
/// JWKS document made from them.
struct KeySet {
    keys: Vec<Arc<SigningKey>>,
    jwks: Bytes,
    /// Tokens one of `keys` was found to have signed, with their payloads. A token is the same
    /// bytes at each use, so its signature is checked once per key set: a set without a key
    /// starts with none of the tokens that key signed.
    verified: RwLock<HashMap<Box<str>, Arc<[u8]>>>,
}

/// How many verified tokens a key set keeps: about 1.5 KiB each (token and payload).
const VERIFIED_TOKENS: usize = 4096;

/// Longer tokens are verified at each use rather than kept.
const LONGEST_KEPT_TOKEN: usize = 4096;

impl KeySet {
    fn new(keys: Vec<Arc<SigningKey>>, jwks: Bytes) -> Self {
        Self {
            keys,
            jwks,
            verified: RwLock::new(HashMap::new()),
        }
    }

    fn verified(&self, token: &str) -> Option<Arc<[u8]>> {
        let verified = self.verified.read().unwrap_or_else(|e| e.into_inner());
        verified.get(token).map(Arc::clone)
    }

    fn keep_verified(&self, token: &str, payload: &Arc<[u8]>) {
        if token.len() > LONGEST_KEPT_TOKEN {
            return;
        }
        let mut verified = self.verified.write().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_TOKENS {
            // Room for the newest: one arbitrary token goes (the map's order is random).
            if let Some(old) = verified.keys().next().cloned() {
                verified.remove(&old);
            }
        }
        verified.insert(token.into(), Arc::clone(payload));
    }
}

pub struct KeyRing {
    store: Store,
    master_key: MasterKey,
    algorithm: Algorithm,
    overlap: Duration,
    schedule: RotationSchedule,
    current: RwLock<Arc<KeySet>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

fn associated_data(kid: &str) -> Vec<u8> {
    format!("gatehouse signing key {kid}").into_bytes()
}

fn unix(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp()
}

fn from_unix(at: i64) -> NaiveDateTime {
    DateTime::from_timestamp(at, 0)
        .map(|d| d.naive_utc())
        .unwrap_or(NaiveDateTime::MAX)
}

/// What the rotation schedule reads of a stored key.
pub fn key_times(record: &SigningKeyRecord) -> KeyTimes {
    KeyTimes {
        id: record.id,
        active_from: unix(record.active_from()),
        retire_at: record.retire_at.map(unix),
    }
}

async fn generate(algorithm: Algorithm) -> Result<(SigningKey, Vec<u8>), ServiceError> {
    tokio::task::spawn_blocking(move || SigningKey::generate(algorithm))
        .await
        .map_err(|e| ServiceError::Internal(format!("key generation task: {e}")))?
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

impl KeyRing {
    /// Loads the live keys, generating the first one when there is none.
    pub async fn load(
        store: Store,
        master_key: MasterKey,
        algorithm: Algorithm,
        overlap: Duration,
    ) -> Result<Self, ServiceError> {
        let ring = Self {
            store,
            master_key,
            algorithm,
            overlap,
            schedule: RotationSchedule {
                interval: 0,
                prepublish: 0,
                overlap: 0,
            },
            current: RwLock::new(Arc::new(KeySet::new(
                Vec::new(),
                Bytes::from_static(b"{\"keys\":[]}"),
            ))),
        };
        ring.reload().await?;
        if ring.snapshot().keys.is_empty() {
            tracing::info!(
                algorithm = algorithm.as_str(),
                "no signing key yet, generating one"
            );
            ring.rotate().await?;
        }
        Ok(ring)
    }

    /// Rotates on `schedule` as well as by hand (see [`Self::rotate_on_schedule`]).
    pub fn with_schedule(mut self, schedule: RotationSchedule) -> Self {
        self.schedule = schedule;
        self
    }

    pub fn schedule(&self) -> RotationSchedule {
        self.schedule
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the live keys from the store again; keys already loaded are reused. A published
    /// next key starts signing at the first reload after its activation time.
    pub async fn reload(&self) -> Result<(), ServiceError> {
        let now = now_utc();
        let mut records = self.store.live_signing_keys(now).await?;
        // Stable: the keys that sign stay newest first, ahead of those not signing yet, so the
        // first key of an algorithm is the one that signs.
        records.sort_by_key(|r| key_rotation::is_pending(&key_times(r), unix(now)));
        let old = self.snapshot();
        let unchanged = records.len() == old.keys.len()
            && records.iter().zip(&old.keys).all(|(r, k)| r.kid == k.kid());
        if unchanged {
            return Ok(());
        }
        let mut keys = Vec::with_capacity(records.len());
        for record in &records {
            match old.keys.iter().find(|k| k.kid() == record.kid) {
                Some(loaded) => keys.push(Arc::clone(loaded)),
                None => keys.push(Arc::new(self.decrypt(record)?)),
            }
        }
        let jwks = serde_json::json!({
            "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()
        })
        .to_string();
        if let Some(first) = keys.first() {
            tracing::info!(
                kid = first.kid(),
                published = keys.len(),
                "signing keys loaded"
            );
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(KeySet::new(keys, Bytes::from(jwks)));
        Ok(())
    }

    fn decrypt(&self, record: &SigningKeyRecord) -> Result<SigningKey, ServiceError> {
        let algorithm = Algorithm::parse(&record.algorithm).ok_or_else(|| {
            ServiceError::Internal(format!(
                "signing key {} has unknown algorithm {}",
                record.kid, record.algorithm
            ))
        })?;
        let pkcs8 = self
            .master_key
            .open(&record.private_key_encrypted, &associated_data(&record.kid))
            .map_err(|e| ServiceError::Internal(format!("signing key {}: {e}", record.kid)))?;
        let key = SigningKey::from_pkcs8(algorithm, &pkcs8)
            .map_err(|e| ServiceError::Internal(format!("signing key {}: {e}", record.kid)))?;
        if key.kid() != record.kid {
            return Err(ServiceError::Internal(format!(
                "signing key {} does not match its stored kid",
                record.kid
            )));
        }
        Ok(key)
    }

    /// Signs with the algorithm an app's or an API's setting names (`None`: the server's),
    /// making its key first if there is none yet.
    pub async fn sign_for<C: Serialize>(
        &self,
        setting: Option<&str>,
        claims: &C,
        typ: &str,
    ) -> Result<String, ServiceError> {
        match setting.and_then(Algorithm::parse) {
            None => self.sign_typed(claims, typ),
            Some(algorithm) => {
                self.ensure(algorithm).await?;
                self.sign_as(algorithm, claims, typ)
            }
        }
    }

    /// Makes sure a live key of `algorithm` is loaded (an app or an API signs with it): one
    /// made by another instance is read; otherwise one is made here.
    pub async fn ensure(&self, algorithm: Algorithm) -> Result<(), ServiceError> {
        let has = |ring: &Self| {
            ring.snapshot()
                .keys
                .iter()
                .any(|k| k.algorithm() == algorithm)
        };
        if has(self) {
            return Ok(());
        }
        self.reload().await?;
        if !has(self) {
            self.rotate_algorithm(algorithm).await?;
        }
        Ok(())
    }

    /// Makes a new signing key for the server's algorithm and for each other algorithm in use;
    /// the keys they replace stay published and accepted for the configured overlap. Returns the
    /// server algorithm's new key.
    pub async fn rotate(&self) -> Result<SigningKeyRecord, ServiceError> {
        let others: Vec<Algorithm> = {
            let set = self.snapshot();
            let mut others: Vec<Algorithm> = Vec::new();
            for key in &set.keys {
                let algorithm = key.algorithm();
                if algorithm != self.algorithm && !others.contains(&algorithm) {
                    others.push(algorithm);
                }
            }
            others
        };
        for algorithm in others {
            self.rotate_algorithm(algorithm).await?;
        }
        self.rotate_algorithm(self.algorithm).await
    }

    async fn rotate_algorithm(
        &self,
        algorithm: Algorithm,
    ) -> Result<SigningKeyRecord, ServiceError> {
        let (key, pkcs8) = generate(algorithm).await?;
        let overlap = TimeDelta::from_std(self.overlap).unwrap_or(TimeDelta::MAX);
        let new = NewSigningKey {
            kid: key.kid().to_owned(),
            algorithm: algorithm.as_str().to_owned(),
            public_key: key.spki_der().to_vec(),
            private_key_encrypted: self.master_key.seal(&pkcs8, &associated_data(key.kid())),
        };
        let retire_replaced_at = now_utc() + overlap;
        let keys = self.store.all_signing_keys().await?;
        let change = signing_keys::key_made(&new, &keys, retire_replaced_at);
        let write = self.store.rotate_in_signing_key(new, retire_replaced_at);
        let record = recording(change, write).await?;
        self.reload().await?;
        Ok(record)
    }

    /// One step of the rotation schedule at `now`: for each algorithm in use whose next key is
    /// due, makes one and publishes it. Another instance may have published it first; then this
    /// one's key is dropped. Returns the keys this instance published.
    pub async fn rotate_on_schedule(
        &self,
        now: NaiveDateTime,
    ) -> Result<Vec<SigningKeyRecord>, ServiceError> {
        if !self.schedule.is_on() {
            return Ok(Vec::new());
        }
        let records = self.store.live_signing_keys(now).await?;
        let mut algorithms: Vec<&str> = Vec::new();
        for record in &records {
            if !algorithms.contains(&record.algorithm.as_str()) {
                algorithms.push(&record.algorithm);
            }
        }
        let mut published = Vec::new();
        for name in algorithms {
            let times: Vec<KeyTimes> = records
                .iter()
                .filter(|r| r.algorithm == name)
                .map(key_times)
                .collect();
            let RotationStep::PublishNext {
                predecessor,
                activate_at,
                retire_replaced_at,
            } = key_rotation::plan(&times, unix(now), self.schedule).step
            else {
                continue;
            };
            let algorithm = Algorithm::parse(name).ok_or_else(|| {
                ServiceError::Internal(format!("signing keys of unknown algorithm {name}"))
            })?;
            let (key, pkcs8) = generate(algorithm).await?;
            let new = NewSigningKey {
                kid: key.kid().to_owned(),
                algorithm: name.to_owned(),
                public_key: key.spki_der().to_vec(),
                private_key_encrypted: self.master_key.seal(&pkcs8, &associated_data(key.kid())),
            };
            let (activate_at, retire_replaced_at) =
                (from_unix(activate_at), from_unix(retire_replaced_at));
            let change = signing_keys::key_published(
                &new,
                &records,
                predecessor,
                activate_at,
                retire_replaced_at,
            );
            let write = self.store.publish_next_signing_key(
                new,
                predecessor,
                activate_at,
                retire_replaced_at,
            );
            let record = recording(change, write).await?;
            match record {
                Some(record) => {
                    tracing::info!(kid = %record.kid, algorithm = name, activates = %record.active_from(), "next signing key published on schedule");
                    published.push(record);
                }
                None => tracing::debug!(
                    algorithm = name,
                    "another instance published the next signing key first"
                ),
            }
        }
        if !published.is_empty() {
            self.reload().await?;
        }
        Ok(published)
    }

    /// Encrypts bytes with the master key, bound to `context` (connect app secrets).
    pub fn seal_bytes(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        self.master_key.seal(plaintext, context.as_bytes())
    }

    /// Decrypts what [`Self::seal_bytes`] made for the same `context`.
    pub fn open_bytes(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, ServiceError> {
        self.master_key
            .open(sealed, context.as_bytes())
            .map_err(|e| ServiceError::Internal(format!("sealed secret: {e}")))
    }

    /// Encrypts a user secret (a TOTP seed) with the master key, bound to `context`, as base64.
    pub fn seal_secret(&self, plaintext: &[u8], context: &str) -> String {
        use base64::Engine;
        let sealed = self.master_key.seal(plaintext, context.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(sealed)
    }

    /// Decrypts what [`Self::seal_secret`] made for the same `context`.
    pub fn open_secret(&self, sealed: &str, context: &str) -> Result<Vec<u8>, ServiceError> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|e| ServiceError::Internal(format!("sealed secret: {e}")))?;
        self.master_key
            .open(&bytes, context.as_bytes())
            .map_err(|e| ServiceError::Internal(format!("sealed secret: {e}")))
    }

    /// The JWKS document, active key first, as served.
    pub fn jwks(&self) -> Bytes {
        self.snapshot().jwks.clone()
    }

    /// Signs claims with the active key, as a compact JWS.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, ServiceError> {
        self.sign_typed(claims, "JWT")
    }

    /// Signs claims with the active key under the header `typ` (for the JWTs whose profile
    /// names its own type, such as a signed introspection answer).
    pub fn sign_typed<C: Serialize>(&self, claims: &C, typ: &str) -> Result<String, ServiceError> {
        self.sign_as(self.algorithm, claims, typ)
    }

    /// Signs with the newest live key of `algorithm` (see [`KeyRing::ensure`]).
    pub fn sign_as<C: Serialize>(
        &self,
        algorithm: Algorithm,
        claims: &C,
        typ: &str,
    ) -> Result<String, ServiceError> {
        let set = self.snapshot();
        let key = set
            .keys
            .iter()
            .find(|k| k.algorithm() == algorithm)
            .ok_or_else(|| {
                ServiceError::Internal(format!("no {} signing key loaded", algorithm.as_str()))
            })?;
        let header = JwtHeader {
            alg: key.algorithm().as_str().to_owned(),
            typ: Some(typ.to_owned()),
            kid: Some(key.kid().to_owned()),
        };
        let input = jwt::signing_input(&header, claims);
        let signature = key.sign(input.as_bytes());
        Ok(jwt::compact(input, &signature))
    }

    /// Checks the signature of a compact JWS against the live keys (chosen by `kid`), returning
    /// the payload bytes.
    pub fn verify(&self, token: &str) -> Result<Arc<[u8]>, JwtError> {
        let set = self.snapshot();
        if let Some(payload) = set.verified(token) {
            return Ok(payload);
        }
        let parts = jwt::split(token)?;
        let key = set
            .keys
            .iter()
            .find(|k| Some(k.kid()) == parts.header.kid.as_deref())
            .ok_or(JwtError::UnknownKey)?;
        if parts.header.alg != key.algorithm().as_str() {
            return Err(JwtError::BadSignature);
        }
        if !key.verify(parts.signing_input.as_bytes(), &parts.signature) {
            return Err(JwtError::BadSignature);
        }
        let payload: Arc<[u8]> = parts.payload.into();
        set.keep_verified(token, &payload);
        Ok(payload)
    }

    /// Reloads every `interval` until the process ends, first taking the rotation schedule's
    /// step when it is on.
    pub fn spawn_reloader(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let ring = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(ring) = ring.upgrade() else { break };
                if let Err(err) = ring.rotate_on_schedule(now_utc()).await {
                    tracing::warn!(code = "GH-KEY-ROTATION", error = %err, "scheduled key rotation failed; trying again at the next reload");
                }
                if let Err(err) = ring.reload().await {
                    tracing::warn!(error = %err, "reloading signing keys failed; keeping the loaded ones");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::fixture;

    async fn ring(overlap: Duration) -> KeyRing {
        KeyRing::load(
            fixture::store().await,
            MasterKey::generate(),
            Algorithm::Es256,
            overlap,
        )
        .await
        .expect("a key ring with its first key")
    }

    #[tokio::test]
    async fn a_verified_token_is_answered_again_and_a_forged_one_never() {
        let ring = ring(Duration::from_secs(60)).await;
        let token = ring.sign(&serde_json::json!({"sub": "ada"})).unwrap();
        let first = ring.verify(&token).unwrap();
        let again = ring.verify(&token).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second check is the kept payload"
        );
        // Another payload under the same signature is not the kept token.
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged = format!("{head}.eyJzdWIiOiJldmUifQ.{signature}");
        assert!(ring.verify(&forged).is_err());
        assert!(ring.verify(&forged).is_err(), "a failed check is not kept");
    }

    #[tokio::test]
    async fn a_token_of_a_key_no_longer_live_is_refused_though_it_was_verified_before() {
        let ring = ring(Duration::ZERO).await;
        let token = ring.sign(&serde_json::json!({"sub": "ada"})).unwrap();
        assert!(ring.verify(&token).is_ok());
        // Rotating with no overlap takes the old key out of the live set at once.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        ring.rotate().await.unwrap();
        assert!(matches!(ring.verify(&token), Err(JwtError::UnknownKey)));
    }
}
