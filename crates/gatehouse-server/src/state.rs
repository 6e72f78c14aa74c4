//! What every handler can reach.

use std::sync::Arc;

use gatehouse_store::{Cache, Store};

use crate::config::Config;
use crate::crypto::PasswordHasher;
use crate::keys::KeyRing;
use crate::metrics::Metrics;
use crate::services::clients::ClientCache;

/// Cheap to clone: one reference count, taken by every request's extractors.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub config: Arc<Config>,
    pub store: Store,
    pub cache: Cache,
    pub keys: Arc<KeyRing>,
    pub clients: Arc<ClientCache>,
    pub metrics: Arc<Metrics>,
    pub passwords: Arc<PasswordHasher>,
    pub mailer: Arc<crate::mail::Mailer>,
    pub sms: Arc<crate::sms::SmsSender>,
    /// For outgoing calls made on a request's behalf (captcha verification); built once.
    pub http: reqwest::Client,
    /// Endpoints and keys of the OpenID Connect providers, as last read.
    pub federation: Arc<crate::services::oidc_metadata::ProviderDirectory>,
    /// Apps' key sets (`jwks`, `jwks_uri`), fetched through the guarded outbound client.
    pub client_keys: Arc<crate::services::client_keys::ClientKeyDirectory>,
    /// Documents that only change with the configuration, rendered once.
    pub documents: Arc<Documents>,
    /// The client webhook deliveries leave through (`webhook_allow_private_addresses`).
    pub webhook_outbound: Arc<crate::services::outbound::Outbound>,
    /// Wakes the back-channel logout sender when this instance has ended a session.
    pub logout_wake: Arc<tokio::sync::Notify>,
    /// Users as userinfo shows them, kept for `user_cache_ttl`.
    pub user_views: crate::services::user_views::UserViews,
    /// Whether an access token (by `jti`) was on the shared deny-list when last read, kept for
    /// `revocation_check_ttl` (Redis only).
    pub revocations: crate::services::memo::Memo<bool>,
    /// The DPoP nonces of the current and last windows, as read from the shared cache.
    pub dpop_nonces: crate::services::memo::Memo<String>,
}

pub struct Documents {
    /// `/info`'s answer, as served.
    pub info: axum::body::Bytes,
    /// The discovery document (it depends on the configuration only), as served.
    pub openid_configuration: axum::body::Bytes,
    /// This server's own protected resource metadata (RFC 9728), as served.
    pub resource_metadata: axum::body::Bytes,
}
