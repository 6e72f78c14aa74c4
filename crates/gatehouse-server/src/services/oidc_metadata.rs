//! What this server knows of each OpenID Connect provider: its endpoints (configured, or read
//! from its discovery document at first use) and its signing keys, kept in memory and fetched
//! again when a token names a key we have not seen.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_core::federation::JwkSet;
use gatehouse_core::signin::SignInError;
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::config::OidcProviderConfig;
use crate::error::ServiceError;

/// How long a discovery document or key set is used before it is read again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The least time between two key-set fetches for one provider (a token naming an unknown key
/// must not make us hammer the provider).
const KEYS_REFETCH_GAP: Duration = Duration::from_secs(30);

/// A provider's endpoints.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoints {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

#[derive(Debug, Clone)]
struct Fetched<T> {
    value: Arc<T>,
    at: Instant,
}

/// The providers (configured, and Google's when set up), with their endpoints and key sets by
/// name.
#[derive(Debug, Default)]
pub struct ProviderDirectory {
    providers: Vec<OidcProviderConfig>,
    endpoints: RwLock<HashMap<String, Fetched<Endpoints>>>,
    keys: RwLock<HashMap<String, Fetched<JwkSet>>>,
}

fn unavailable(
    provider: &OidcProviderConfig,
    what: &str,
    detail: impl std::fmt::Display,
) -> ServiceError {
    tracing::warn!(provider = %provider.name, %detail, "could not read the provider's {what}");
    SignInError::ProviderUnavailable(provider.name.clone()).into()
}

async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    provider: &OidcProviderConfig,
    what: &str,
    url: &str,
) -> Result<T, ServiceError> {
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unavailable(provider, what, e))?;
    if !response.status().is_success() {
        return Err(unavailable(provider, what, response.status()));
    }
    response
        .json()
        .await
        .map_err(|e| unavailable(provider, what, e))
}

impl ProviderDirectory {
    pub fn new(config: &crate::config::Config) -> Self {
        let mut providers = config.oidc_auth_providers.clone();
        providers.extend(OidcProviderConfig::google(config));
        providers.extend(OidcProviderConfig::apple(config));
        Self {
            providers,
            ..Self::default()
        }
    }

    pub fn providers(&self) -> &[OidcProviderConfig] {
        &self.providers
    }

    /// The provider's endpoints: from the configuration, or from its discovery document.
    pub async fn endpoints(
        &self,
        http: &reqwest::Client,
        provider: &OidcProviderConfig,
    ) -> Result<Arc<Endpoints>, ServiceError> {
        if !provider.uses_discovery() {
            return Ok(Arc::new(Endpoints {
                issuer: provider.issuer.clone(),
                authorization_endpoint: provider.authorization_endpoint.clone(),
                token_endpoint: provider.token_endpoint.clone(),
                jwks_uri: provider.jwks_uri.clone(),
            }));
        }
        if let Some(known) = self.endpoints.read().await.get(&provider.name) {
            if known.at.elapsed() < METADATA_TTL {
                return Ok(Arc::clone(&known.value));
            }
        }
        let found: Endpoints = fetch_json(
            http,
            provider,
            "discovery document",
            &provider.discovery_url,
        )
        .await?;
        if !provider.issuer.is_empty() && found.issuer != provider.issuer {
            return Err(unavailable(
                provider,
                "discovery document",
                format!(
                    "its issuer `{}` is not the configured `{}`",
                    found.issuer, provider.issuer
                ),
            ));
        }
        let value = Arc::new(found);
        self.endpoints.write().await.insert(
            provider.name.clone(),
            Fetched {
                value: Arc::clone(&value),
                at: Instant::now(),
            },
        );
        Ok(value)
    }

    /// The provider's key set; `stale` asks for a fresh copy (a token named an unknown key),
    /// which is fetched at most once per [`KEYS_REFETCH_GAP`].
    pub async fn keys(
        &self,
        http: &reqwest::Client,
        provider: &OidcProviderConfig,
        jwks_uri: &str,
        stale: bool,
    ) -> Result<Arc<JwkSet>, ServiceError> {
        if let Some(known) = self.keys.read().await.get(&provider.name) {
            let age = known.at.elapsed();
            let fresh_enough = if stale {
                age < KEYS_REFETCH_GAP
            } else {
                age < METADATA_TTL
            };
            if fresh_enough {
                return Ok(Arc::clone(&known.value));
            }
        }
        let set: JwkSet = fetch_json(http, provider, "key set", jwks_uri).await?;
        let value = Arc::new(set);
        self.keys.write().await.insert(
            provider.name.clone(),
            Fetched {
                value: Arc::clone(&value),
                at: Instant::now(),
            },
        );
        Ok(value)
    }
}
