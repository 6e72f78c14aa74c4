//! Apps (OAuth clients) and the scopes each one holds.

use std::future::Future;

use chrono::NaiveDateTime;

use crate::{now_utc, on_pool, Store, StoreError};

/// An app as stored, with the names of the scopes it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: i64,
    pub name: String,
    pub app_type: String,
    pub client_id: String,
    /// Lowercase hex SHA-256 of the client secret; `None` for public apps.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub is_active: bool,
    pub use_system_mfa_config: bool,
    pub require_email_mfa: bool,
    pub require_otp_mfa: bool,
    pub require_sms_mfa: bool,
    pub allow_email_mfa_as_backup: bool,
    pub rotate_refresh_tokens: bool,
    pub scopes: Vec<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewApp {
    pub name: String,
    pub app_type: String,
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct AppRow {
    id: i64,
    name: String,
    #[sqlx(rename = "type")]
    app_type: String,
    client_id: String,
    secret_hash: Option<String>,
    redirect_uris: String,
    is_active: bool,
    use_system_mfa_config: bool,
    require_email_mfa: bool,
    require_otp_mfa: bool,
    require_sms_mfa: bool,
    allow_email_mfa_as_backup: bool,
    rotate_refresh_tokens: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl AppRow {
    fn into_app(self, scopes: Vec<String>) -> Result<App, StoreError> {
        let redirect_uris = serde_json::from_str(&self.redirect_uris).map_err(|e| {
            StoreError::Corrupt(format!("apps.redirect_uris of app {}: {e}", self.id))
        })?;
        Ok(App {
            id: self.id,
            name: self.name,
            app_type: self.app_type,
            client_id: self.client_id,
            secret_hash: self.secret_hash,
            redirect_uris,
            is_active: self.is_active,
            use_system_mfa_config: self.use_system_mfa_config,
            require_email_mfa: self.require_email_mfa,
            require_otp_mfa: self.require_otp_mfa,
            require_sms_mfa: self.require_sms_mfa,
            allow_email_mfa_as_backup: self.allow_email_mfa_as_backup,
            rotate_refresh_tokens: self.rotate_refresh_tokens,
            scopes,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

macro_rules! app_columns {
    () => {
        "id, name, type, client_id, secret_hash, redirect_uris, is_active, use_system_mfa_config, \
         require_email_mfa, require_otp_mfa, require_sms_mfa, allow_email_mfa_as_backup, \
         rotate_refresh_tokens, created_at, updated_at"
    };
}

pub trait AppStore {
    /// The live (not deleted) app with this client id, with its scopes.
    fn app_by_client_id(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<App>, StoreError>> + Send;
    /// Creates an app and links it to the named scopes (names that are not live scopes are
    /// ignored). A client id already in use is a `Conflict`.
    fn insert_app(&self, app: NewApp) -> impl Future<Output = Result<App, StoreError>> + Send;
    fn set_app_secret_hash(
        &self,
        app_id: i64,
        secret_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl Store {
    async fn app_scope_names(&self, app_id: i64) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT s.name FROM app_scopes a JOIN scopes s ON s.id = a.scope_id \
            WHERE a.app_id = $1 AND a.deleted_at IS NULL AND s.deleted_at IS NULL ORDER BY s.id";
        let rows: Vec<(String,)> = on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(app_id)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }
}

impl AppStore for Store {
    async fn app_by_client_id(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            app_columns!(),
            " FROM apps WHERE client_id = $1 AND deleted_at IS NULL"
        );
        let row: Option<AppRow> = on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(client_id)
            .fetch_optional(pool)
            .await)?;
        match row {
            Some(row) => {
                let scopes = self.app_scope_names(row.id).await?;
                Ok(Some(row.into_app(scopes)?))
            }
            None => Ok(None),
        }
    }

    async fn insert_app(&self, app: NewApp) -> Result<App, StoreError> {
        const INSERT: &str =
            "INSERT INTO apps (name, type, client_id, secret_hash, redirect_uris, \
            created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";
        const LINK: &str = "INSERT INTO app_scopes (app_id, scope_id, created_at, updated_at) \
            SELECT $1, id, $3, $3 FROM scopes WHERE name = $2 AND deleted_at IS NULL";
        let redirect_uris = serde_json::to_string(&app.redirect_uris)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(INSERT)
                .bind(&app.name)
                .bind(&app.app_type)
                .bind(&app.client_id)
                .bind(&app.secret_hash)
                .bind(&redirect_uris)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            for scope in &app.scopes {
                sqlx::query(LINK)
                    .bind(id)
                    .bind(scope)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        self.app_by_client_id(&app.client_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("inserted app not found".into()))
    }

    async fn set_app_secret_hash(&self, app_id: i64, secret_hash: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE apps SET secret_hash = $2, updated_at = $3 WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(app_id)
            .bind(secret_hash)
            .bind(now_utc())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
