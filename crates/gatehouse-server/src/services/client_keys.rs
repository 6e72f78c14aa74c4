//! The keys an app proves itself with (`private_key_jwt`): its `jwks` as registered, or the set
//! at its `jwks_uri`, fetched through [`Outbound`] and kept for `client_jwks_cache_ttl`. A JWS
//! naming a key not in the kept set makes it be read again, at most once per [`REFETCH_GAP`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::client_assertion::ClientAssertionError;
use gatehouse_core::federation::{select_key, FederationError, JwkSet};
use gatehouse_core::jwt::UnverifiedJwt;
use gatehouse_store::App;
use serde::de::DeserializeOwned;
use tokio::sync::RwLock;

use super::outbound::Outbound;
use crate::crypto::jws;

/// The least time between two fetches of one app's key set.
const REFETCH_GAP: Duration = Duration::from_secs(30);
/// Beyond this many fetched sets the memory is cleared rather than grown.
const MAX_SETS: usize = 10_000;

pub struct ClientKeyDirectory {
    pub outbound: Outbound,
    ttl: Duration,
    fetched: RwLock<HashMap<String, (Arc<JwkSet>, Instant)>>,
}

impl ClientKeyDirectory {
    pub fn new(outbound: Outbound, ttl: Duration) -> Self {
        Self {
            outbound,
            ttl,
            fetched: RwLock::new(HashMap::new()),
        }
    }

    /// The app's key set; `stale` asks for a fresh copy of a fetched one.
    async fn key_set(&self, app: &App, stale: bool) -> Result<Arc<JwkSet>, ClientAssertionError> {
        if let Some(jwks) = &app.security.jwks {
            let set: JwkSet =
                serde_json::from_str(jwks).map_err(|_| ClientAssertionError::NoKeys)?;
            return Ok(Arc::new(set));
        }
        let Some(url) = app.security.jwks_uri.as_deref() else {
            return Err(ClientAssertionError::NoKeys);
        };
        if let Some((set, at)) = self.fetched.read().await.get(url) {
            let age = at.elapsed();
            if age < self.ttl && !(stale && age >= REFETCH_GAP) {
                return Ok(Arc::clone(set));
            }
        }
        let document = self.outbound.fetch_json(url).await.map_err(|err| {
            tracing::warn!(client_id = %app.client_id, %err, "could not read the app's jwks_uri");
            ClientAssertionError::KeysUnavailable
        })?;
        let set: JwkSet = serde_json::from_value(document).map_err(|_| {
            tracing::warn!(client_id = %app.client_id, "the app's jwks_uri holds no JWK set");
            ClientAssertionError::KeysUnavailable
        })?;
        let set = Arc::new(set);
        let mut fetched = self.fetched.write().await;
        if fetched.len() >= MAX_SETS {
            fetched.clear();
        }
        fetched.insert(url.to_owned(), (Arc::clone(&set), Instant::now()));
        Ok(set)
    }

    /// The claims of a JWS the app signed with one of its keys.
    pub async fn verify<T: DeserializeOwned>(
        &self,
        app: &App,
        token: &str,
        jwt: &UnverifiedJwt<'_>,
    ) -> Result<T, ClientAssertionError> {
        let mut keys = self.key_set(app, false).await?;
        let found = match select_key(&keys, &jwt.header) {
            Err(FederationError::UnknownKey) if app.security.jwks_uri.is_some() => {
                keys = self.key_set(app, true).await?;
                select_key(&keys, &jwt.header)
            }
            other => other,
        };
        let (algorithm, jwk) = found.map_err(|err| match err {
            FederationError::UnsupportedAlgorithm(alg) => {
                ClientAssertionError::UnsupportedAlgorithm(alg)
            }
            _ => ClientAssertionError::BadSignature,
        })?;
        jws::verify(token, algorithm, jwk).map_err(|err| match err {
            FederationError::Malformed => ClientAssertionError::Malformed,
            _ => ClientAssertionError::BadSignature,
        })
    }
}
