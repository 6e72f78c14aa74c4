//! Resource servers: the APIs access tokens may be issued for (RFC 8707 resource indicators),
//! each with the scopes it defines.

use chrono::NaiveDateTime;

use crate::{live_rows, now_utc, LiveRows, Store, StoreError, StoreFuture};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResourceServerRecord {
    pub id: i64,
    /// The absolute URI clients name in `resource`; the tokens' `aud`.
    pub identifier: String,
    pub name: String,
    /// JSON array of the scope names the API defines.
    pub scopes: String,
    /// Access-token lifetime for this API in seconds; `None`: the server's.
    pub access_token_expires_in: Option<i64>,
    /// The S2S app that stands for the API when it introspects tokens.
    pub introspection_client_id: Option<String>,
    /// JSON array of the client ids that may exchange a user's token for one to this API
    /// (RFC 8693).
    pub token_exchange_client_ids: String,
    /// The algorithm its access tokens are signed with; `None`: the server's.
    pub signing_algorithm: Option<String>,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ResourceServerRecord {
    /// The scope names it defines.
    pub fn scope_names(&self) -> Vec<String> {
        crate::json_list(Some(&self.scopes))
    }

    /// The client ids that may exchange a user's token for one to it.
    pub fn exchange_client_ids(&self) -> Vec<String> {
        crate::json_list(Some(&self.token_exchange_client_ids))
    }
}

/// Every field of a resource server; `None` leaves a field as it is on update. An empty
/// `introspection_client_id` or a `0` lifetime clears it.
#[derive(Debug, Clone, Default)]
pub struct ResourceServerFields {
    pub identifier: Option<String>,
    pub name: Option<String>,
    pub scopes: Option<String>,
    pub access_token_expires_in: Option<i64>,
    pub introspection_client_id: Option<String>,
    pub token_exchange_client_ids: Option<String>,
    /// An empty string goes back to the server's algorithm.
    pub signing_algorithm: Option<String>,
    pub is_active: Option<bool>,
}

macro_rules! resource_server_columns {
    () => {
        "id, identifier, name, scopes, access_token_expires_in, introspection_client_id, \
         token_exchange_client_ids, signing_algorithm, is_active, created_at, updated_at"
    };
}

const RESOURCE_SERVERS: LiveRows = live_rows!(resource_server_columns, "resource_servers");

pub trait ResourceServerStore {
    fn list_resource_servers(&self) -> impl StoreFuture<Vec<ResourceServerRecord>>;
    fn resource_server_by_id(&self, id: i64) -> impl StoreFuture<Option<ResourceServerRecord>>;
    /// The live resource server with this identifier (active or not).
    fn resource_server_by_identifier(
        &self,
        identifier: &str,
    ) -> impl StoreFuture<Option<ResourceServerRecord>>;
    /// Creates one (absent fields take their defaults); a taken identifier is a `Conflict`.
    fn insert_resource_server(
        &self,
        fields: &ResourceServerFields,
    ) -> impl StoreFuture<ResourceServerRecord>;
    fn update_resource_server(
        &self,
        id: i64,
        fields: &ResourceServerFields,
    ) -> impl StoreFuture<Option<ResourceServerRecord>>;
    /// Soft-deletes it; whether it existed.
    fn delete_resource_server(&self, id: i64) -> impl StoreFuture<bool>;
}

impl ResourceServerStore for Store {
    async fn list_resource_servers(&self) -> Result<Vec<ResourceServerRecord>, StoreError> {
        self.fetch_all(RESOURCE_SERVERS.all, ()).await
    }

    async fn resource_server_by_id(
        &self,
        id: i64,
    ) -> Result<Option<ResourceServerRecord>, StoreError> {
        self.fetch_optional(RESOURCE_SERVERS.by_id, (id,)).await
    }

    async fn resource_server_by_identifier(
        &self,
        identifier: &str,
    ) -> Result<Option<ResourceServerRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            resource_server_columns!(),
            " FROM resource_servers WHERE identifier = $1 AND deleted_at IS NULL"
        );
        self.fetch_optional(SQL, (identifier,)).await
    }

    async fn insert_resource_server(
        &self,
        f: &ResourceServerFields,
    ) -> Result<ResourceServerRecord, StoreError> {
        const INSERT: &str = concat!(
            "INSERT INTO resource_servers (identifier, name, scopes, access_token_expires_in, \
             introspection_client_id, token_exchange_client_ids, signing_algorithm, is_active, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, NULLIF($4, 0), NULLIF($5, ''), $6, NULLIF($7, ''), $8, $9, $9) \
             RETURNING ",
            resource_server_columns!()
        );
        self.fetch_one(
            INSERT,
            (
                f.identifier.as_deref().unwrap_or_default(),
                f.name.as_deref().unwrap_or_default(),
                f.scopes.as_deref().unwrap_or("[]"),
                f.access_token_expires_in.unwrap_or(0),
                f.introspection_client_id.as_deref().unwrap_or_default(),
                f.token_exchange_client_ids.as_deref().unwrap_or("[]"),
                f.signing_algorithm.as_deref().unwrap_or_default(),
                f.is_active.unwrap_or(true),
                now_utc(),
            ),
        )
        .await
    }

    async fn update_resource_server(
        &self,
        id: i64,
        f: &ResourceServerFields,
    ) -> Result<Option<ResourceServerRecord>, StoreError> {
        const SQL: &str = concat!(
            "UPDATE resource_servers SET identifier = COALESCE($2, identifier), \
             name = COALESCE($3, name), scopes = COALESCE($4, scopes), \
             access_token_expires_in = CASE WHEN $5 IS NULL THEN access_token_expires_in \
             ELSE NULLIF($5, 0) END, \
             introspection_client_id = CASE WHEN $6 IS NULL THEN introspection_client_id \
             ELSE NULLIF($6, '') END, \
             token_exchange_client_ids = COALESCE($7, token_exchange_client_ids), \
             signing_algorithm = CASE WHEN $8 IS NULL THEN signing_algorithm \
             ELSE NULLIF($8, '') END, \
             is_active = COALESCE($9, is_active), updated_at = $10 \
             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            resource_server_columns!()
        );
        self.fetch_optional(
            SQL,
            (
                id,
                &f.identifier,
                &f.name,
                &f.scopes,
                f.access_token_expires_in,
                &f.introspection_client_id,
                &f.token_exchange_client_ids,
                &f.signing_algorithm,
                f.is_active,
                now_utc(),
            ),
        )
        .await
    }

    async fn delete_resource_server(&self, id: i64) -> Result<bool, StoreError> {
        self.soft_delete_cascade(RESOURCE_SERVERS.delete, &[], id)
            .await
    }
}
