//! ePass connect apps: a name in the URL, a sealed AES key, a redirect URL and its patterns.

use chrono::NaiveDateTime;

use crate::{insert_and_read, now_utc, on_pool, sql, Store, StoreError, StoreFuture};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConnectAppRecord {
    pub id: i64,
    pub name: String,
    /// The app secret (its AES-256 key), sealed with the master key.
    pub secret_encrypted: Vec<u8>,
    pub redirect_url: String,
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    /// JSON array of regular expressions other redirect URLs must match.
    pub redirect_patterns: String,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewConnectApp {
    pub name: String,
    pub secret_encrypted: Vec<u8>,
    pub redirect_url: String,
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    pub redirect_patterns: String,
}

/// New settings for an app; `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ConnectAppChange {
    pub redirect_url: Option<String>,
    /// `Some(None)` clears the display name.
    pub display_name: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub redirect_patterns: Option<String>,
    pub is_active: Option<bool>,
    /// A new sealed secret (the old one stops opening sauces at once).
    pub secret_encrypted: Option<Vec<u8>>,
}

const COLUMNS: &str = "id, name, secret_encrypted, redirect_url, display_name, logo_url, \
    redirect_patterns, is_active, created_at, updated_at";

pub trait ConnectAppStore {
    /// Creates an app; a live app with the name is `StoreError::Conflict`.
    fn insert_connect_app(&self, app: &NewConnectApp) -> impl StoreFuture<ConnectAppRecord>;
    fn connect_app(&self, name: &str) -> impl StoreFuture<Option<ConnectAppRecord>>;
    fn list_connect_apps(&self) -> impl StoreFuture<Vec<ConnectAppRecord>>;
    /// Applies `change` to the live app named `name`; the app as it is now, or `None`.
    fn update_connect_app(
        &self,
        name: &str,
        change: &ConnectAppChange,
    ) -> impl StoreFuture<Option<ConnectAppRecord>>;
    /// Soft-deletes the app; whether there was one.
    fn delete_connect_app(&self, name: &str) -> impl StoreFuture<bool>;
}

impl ConnectAppStore for Store {
    async fn insert_connect_app(
        &self,
        app: &NewConnectApp,
    ) -> Result<ConnectAppRecord, StoreError> {
        const TAKEN: &str =
            "SELECT COUNT(*) FROM connect_apps WHERE name = $1 AND deleted_at IS NULL";
        const INSERT: &str = "INSERT INTO connect_apps (name, secret_encrypted, redirect_url, \
            display_name, logo_url, redirect_patterns, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id";
        let read = format!("SELECT {COLUMNS} FROM connect_apps WHERE id = $1");
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let (taken,): (i64,) = sql::fetch_one(&mut *tx, TAKEN, (&app.name,)).await?;
            if taken > 0 {
                return Err(StoreError::Conflict("connect_apps.name".into()));
            }
            let record: ConnectAppRecord = insert_and_read!(
                tx,
                INSERT,
                (
                    &app.name,
                    &app.secret_encrypted,
                    &app.redirect_url,
                    &app.display_name,
                    &app.logo_url,
                    &app.redirect_patterns,
                    now,
                ),
                &read
            );
            self.commit(tx).await?;
            Ok(record)
        })
    }

    async fn connect_app(&self, name: &str) -> Result<Option<ConnectAppRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM connect_apps WHERE name = $1 AND deleted_at IS NULL");
        self.fetch_optional(&sql, (name,)).await
    }

    async fn list_connect_apps(&self) -> Result<Vec<ConnectAppRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM connect_apps WHERE deleted_at IS NULL ORDER BY id");
        self.fetch_all(&sql, ()).await
    }

    async fn update_connect_app(
        &self,
        name: &str,
        change: &ConnectAppChange,
    ) -> Result<Option<ConnectAppRecord>, StoreError> {
        // One statement: each column keeps its value unless its flag says to replace it.
        const UPDATE: &str = "UPDATE connect_apps SET \
            redirect_url = CASE WHEN $2 THEN $3 ELSE redirect_url END, \
            display_name = CASE WHEN $4 THEN $5 ELSE display_name END, \
            logo_url = CASE WHEN $6 THEN $7 ELSE logo_url END, \
            redirect_patterns = CASE WHEN $8 THEN $9 ELSE redirect_patterns END, \
            is_active = CASE WHEN $10 THEN $11 ELSE is_active END, \
            secret_encrypted = CASE WHEN $12 THEN $13 ELSE secret_encrypted END, \
            updated_at = $14 \
            WHERE name = $1 AND deleted_at IS NULL";
        let read =
            format!("SELECT {COLUMNS} FROM connect_apps WHERE name = $1 AND deleted_at IS NULL");
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let updated = sql::execute(
                &mut *tx,
                UPDATE,
                (
                    name,
                    change.redirect_url.is_some(),
                    change.redirect_url.clone().unwrap_or_default(),
                    change.display_name.is_some(),
                    change.display_name.clone().flatten(),
                    change.logo_url.is_some(),
                    change.logo_url.clone().flatten(),
                    change.redirect_patterns.is_some(),
                    change.redirect_patterns.clone().unwrap_or_default(),
                    change.is_active.is_some(),
                    change.is_active.unwrap_or(true),
                    change.secret_encrypted.is_some(),
                    change.secret_encrypted.clone().unwrap_or_default(),
                    now,
                ),
            )
            .await?
            .rows_affected();
            if updated == 0 {
                return Ok(None);
            }
            let record: ConnectAppRecord = sql::fetch_one(&mut *tx, &read, (name,)).await?;
            self.commit(tx).await?;
            Ok(Some(record))
        })
    }

    async fn delete_connect_app(&self, name: &str) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE connect_apps SET deleted_at = $2, updated_at = $2 \
            WHERE name = $1 AND deleted_at IS NULL";
        let n = self.execute(SQL, (name, now_utc())).await?;
        Ok(n > 0)
    }
}
