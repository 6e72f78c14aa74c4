//! Clients that describe themselves at their own URL (client ID metadata documents, as MCP
//! agents use them): a `client_id` that is an https URL on an allowed host names a JSON document
//! the server reads, through the guarded outbound client, and keeps as an app row, read again
//! once older than `client_id_metadata_document_ttl`. An operator sees and may disable such apps
//! like any other; a refresh never turns a disabled one back on.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use gatehouse_core::admin::{public_key_set, redirect_uri, AdminRuleError};
use gatehouse_core::client_metadata::{
    client_url_host, host_allowed, read_document, ClientDocument, MAX_DOCUMENT_BYTES,
};
use gatehouse_core::grant::AppType;
use gatehouse_core::scope::offered_scopes;
use gatehouse_store::{App, AppChanges, AppStore, ClientSecurity, NewApp, Store, StoreError};

use super::outbound::Outbound;
use crate::config::Config;
use crate::error::ServiceError;
use crate::services::user_tokens::PRIVATE_KEY_JWT;

/// How long a URL whose document was refused is not read again (a flood of requests naming a
/// slow or broken URL costs one fetch per period).
const REFUSAL_MEMORY: Duration = Duration::from_secs(30);
/// Beyond this many remembered refusals the memory is cleared rather than grown.
const MAX_REFUSALS: usize = 10_000;
/// The longest app name (the panel's and the API's rule).
const MAX_NAME: usize = 50;

pub struct ClientDocuments {
    outbound: Outbound,
    hosts: Vec<String>,
    /// `outbound_allow_private_addresses`: http client ids on inside addresses (tests, closed
    /// networks).
    allow_inside: bool,
    allow_http_redirect_uris: bool,
    scopes: Vec<String>,
    ttl: chrono::Duration,
    refused: RwLock<HashMap<String, Instant>>,
}

impl ClientDocuments {
    /// `None` when no host is allowed: client ids are then never read as URLs.
    pub fn new(config: &Config) -> Result<Option<Self>, reqwest::Error> {
        if config.client_id_metadata_document_hosts.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            outbound: Outbound::new(config.outbound_allow_private_addresses)?,
            hosts: config.client_id_metadata_document_hosts.clone(),
            allow_inside: config.outbound_allow_private_addresses,
            allow_http_redirect_uris: config.allow_http_redirect_uris,
            scopes: config.client_registration_scopes.clone(),
            ttl: chrono::Duration::seconds(
                i64::try_from(config.client_id_metadata_document_ttl).unwrap_or(i64::MAX / 2),
            ),
            refused: RwLock::new(HashMap::new()),
        }))
    }

    /// The app the URL `client_id` names: the stored one while fresh, else its document read
    /// again and stored. `None` when it is not a client this server takes; why is logged.
    pub async fn resolve(
        &self,
        store: &Store,
        client_id: &str,
    ) -> Result<Option<App>, ServiceError> {
        let host = match client_url_host(client_id, self.allow_inside) {
            Ok(host) if host_allowed(&host, &self.hosts) => host,
            Ok(_) | Err(_) => return Ok(None),
        };
        let stored = store.app_by_client_id(client_id).await?;
        let now = gatehouse_store::now_utc();
        if stored
            .as_ref()
            .is_some_and(|app| app.updated_at + self.ttl > now)
        {
            return Ok(stored);
        }
        if self.recently_refused(client_id) {
            return Ok(None);
        }
        let fields = match self.read(client_id, &host).await {
            Ok(fields) => fields,
            Err(reason) => {
                tracing::warn!(code = "GH-CLIENT-DOCUMENT", client_id, %reason, "a client metadata document was refused");
                self.remember_refusal(client_id);
                return Ok(None);
            }
        };
        let saved = match stored {
            Some(app) => store.update_app(app.id, &fields.changes()).await?,
            None => match store.insert_app(fields.new_app(client_id)).await {
                Ok(app) => Some(app),
                // Another instance stored it first.
                Err(StoreError::Conflict(_)) => store.app_by_client_id(client_id).await?,
                Err(err) => return Err(err.into()),
            },
        };
        Ok(saved)
    }

    /// The document at `client_id`, read and turned into app settings by the usual rules.
    async fn read(&self, client_id: &str, host: &str) -> Result<DocumentApp, String> {
        let document = self
            .outbound
            .fetch_json_within(client_id, MAX_DOCUMENT_BYTES)
            .await
            .map_err(|e| e.to_string())?;
        let read = read_document(client_id, &document).map_err(|e| e.to_string())?;
        self.settings(read, host).map_err(|e| e.to_string())
    }

    fn settings(&self, read: ClientDocument, host: &str) -> Result<DocumentApp, AdminRuleError> {
        let mut redirect_uris = Vec::with_capacity(read.redirect_uris.len());
        for uri in &read.redirect_uris {
            redirect_uris.push(redirect_uri(uri, self.allow_http_redirect_uris)?);
        }
        let jwks = read.jwks.as_ref().map(public_key_set).transpose()?;
        if let Some(uri) = &read.jwks_uri {
            let checked = self.outbound.check_url(uri);
            checked.map_err(|e| AdminRuleError::InvalidJwksUri(e.to_string()))?;
        }
        let scopes = offered_scopes(read.scope.as_deref(), &self.scopes);
        Ok(DocumentApp {
            name: display_name(read.client_name.as_deref(), host),
            app_type: if read.private_key_jwt {
                AppType::Web
            } else {
                AppType::Spa
            },
            redirect_uris,
            scopes,
            security: ClientSecurity {
                token_endpoint_auth_method: read
                    .private_key_jwt
                    .then(|| PRIVATE_KEY_JWT.to_owned()),
                jwks,
                jwks_uri: read.jwks_uri,
                ..ClientSecurity::default()
            },
        })
    }

    fn recently_refused(&self, client_id: &str) -> bool {
        let refused = self.refused.read().unwrap_or_else(|e| e.into_inner());
        refused
            .get(client_id)
            .is_some_and(|at| at.elapsed() < REFUSAL_MEMORY)
    }

    fn remember_refusal(&self, client_id: &str) {
        let mut refused = self.refused.write().unwrap_or_else(|e| e.into_inner());
        if refused.len() >= MAX_REFUSALS {
            refused.clear();
        }
        refused.insert(client_id.to_owned(), Instant::now());
    }
}

/// What a document makes of its app.
struct DocumentApp {
    name: String,
    app_type: AppType,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    security: ClientSecurity,
}

impl DocumentApp {
    fn new_app(self, client_id: &str) -> NewApp {
        NewApp {
            name: self.name,
            app_type: self.app_type,
            client_id: client_id.to_owned(),
            secret_hash: None,
            redirect_uris: self.redirect_uris,
            scopes: self.scopes,
            rotate_refresh_tokens: true,
            allow_device_flow: false,
            id_token_signed_response_alg: None,
            standard_claims: true,
            security: self.security,
            logout: Default::default(),
        }
    }

    /// A refresh: what the document says, never the app's state (an operator's disabling stays).
    fn changes(self) -> AppChanges {
        AppChanges {
            name: Some(self.name),
            redirect_uris: Some(self.redirect_uris),
            scopes: Some(self.scopes),
            security: Some(self.security),
            ..AppChanges::default()
        }
    }
}

/// The name the consent page shows: the document's name, always with the host it came from,
/// so a document cannot pass itself off as another app.
fn display_name(client_name: Option<&str>, host: &str) -> String {
    let host: String = host.chars().take(MAX_NAME).collect();
    let name = client_name.map(str::trim).filter(|n| !n.is_empty());
    match name {
        Some(name) if host.chars().count() + 4 < MAX_NAME => {
            let room = MAX_NAME - host.chars().count() - 3;
            let name: String = name.chars().take(room).collect();
            format!("{name} ({host})")
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn the_name_always_shows_the_host() {
        assert_eq!(
            display_name(Some("Agent"), "agent.example"),
            "Agent (agent.example)"
        );
        assert_eq!(display_name(None, "agent.example"), "agent.example");
        let long = display_name(Some(&"Google ".repeat(20)), "evil.example");
        assert!(
            long.ends_with(" (evil.example)") && long.chars().count() <= 50,
            "{long}"
        );
        let long_host = "h".repeat(80);
        assert_eq!(display_name(Some("Agent"), &long_host).chars().count(), 50);
    }
}
