//! What every handler can reach.

use std::sync::Arc;

use gatehouse_store::{Cache, Store};

use crate::config::Config;
use crate::crypto::PasswordHasher;
use crate::keys::KeyRing;
use crate::metrics::Metrics;
use crate::services::clients::ClientCache;

#[derive(Clone)]
pub struct AppState {
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
    /// Wakes the back-channel logout sender when this instance has ended a session.
    pub logout_wake: Arc<tokio::sync::Notify>,
}

pub struct Documents {
    pub info: String,
    /// The discovery document (it depends on the configuration only), as served.
    pub openid_configuration: axum::body::Bytes,
}
