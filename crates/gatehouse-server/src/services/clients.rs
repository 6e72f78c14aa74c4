//! Apps looked up by client id, kept in memory for a short, configured time so the token
//! endpoint does not read the database on every request. A change made on this instance is
//! seen at once (`forget`); one made elsewhere within `ttl`.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_store::{App, AppStore, Store};

use gatehouse_core::client_metadata::is_client_url;

use super::client_documents::ClientDocuments;
use super::memo::Memo;
use crate::crypto::{constant_time_eq, sha256_hex};
use crate::error::ServiceError;

pub struct ClientCache {
    store: Store,
    /// `fapi2_security_profile`: every app is held to FAPI 2.0, whatever its own setting.
    all_fapi: bool,
    /// Client ids that are URLs of metadata documents, when any host is allowed.
    documents: Option<ClientDocuments>,
    apps: Memo<Arc<App>>,
}

/// Beyond this many entries the cache is cleared rather than grown (a flood of distinct ids).
const MAX_ENTRIES: usize = 10_000;

impl ClientCache {
    pub fn new(
        store: Store,
        ttl: Duration,
        all_fapi: bool,
        documents: Option<ClientDocuments>,
    ) -> Self {
        Self {
            store,
            all_fapi,
            documents,
            apps: Memo::new(ttl, MAX_ENTRIES),
        }
    }

    pub async fn app(&self, client_id: &str) -> Result<Option<Arc<App>>, ServiceError> {
        if let Some(app) = self.apps.get(client_id) {
            return Ok(Some(app));
        }
        let found = match &self.documents {
            Some(documents) if is_client_url(client_id) => {
                documents.resolve(&self.store, client_id).await?
            }
            // Turned off: apps once kept from documents are not used either.
            None if is_client_url(client_id) => None,
            _ => self.store.app_by_client_id(client_id).await?,
        };
        let Some(mut app) = found else {
            self.forget(client_id);
            return Ok(None);
        };
        app.security.fapi2_security_profile |= self.all_fapi;
        let app = Arc::new(app);
        self.apps.insert(client_id, Arc::clone(&app));
        Ok(Some(app))
    }

    /// Drops a cached app after it changed.
    pub fn forget(&self, client_id: &str) {
        self.apps.forget(client_id);
    }
}

/// Whether `presented` is the app's client secret (stored as its SHA-256), compared in constant
/// time. An app without a secret matches nothing.
pub fn secret_matches(app: &App, presented: &str) -> bool {
    app.secret_hash.as_deref().is_some_and(|stored| {
        constant_time_eq(
            sha256_hex(presented.as_bytes()).as_bytes(),
            stored.as_bytes(),
        )
    })
}
