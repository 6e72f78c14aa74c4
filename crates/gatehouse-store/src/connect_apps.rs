//! ePass connect apps: a name in the URL, a sealed AES key, a redirect URL and its patterns.

use std::future::Future;

use chrono::NaiveDateTime;

use crate::{now_utc, on_pool, Store, StoreError};

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

const COLUMNS: &str = "id, name, secret_encrypted, redirect_url, display_name, logo_url, \
    redirect_patterns, is_active, created_at, updated_at";

pub trait ConnectAppStore {
    /// Creates an app; a live app with the name is `StoreError::Conflict`.
    fn insert_connect_app(
        &self,
        app: &NewConnectApp,
    ) -> impl Future<Output = Result<ConnectAppRecord, StoreError>> + Send;
    fn connect_app(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<ConnectAppRecord>, StoreError>> + Send;
    fn list_connect_apps(
        &self,
    ) -> impl Future<Output = Result<Vec<ConnectAppRecord>, StoreError>> + Send;
    /// Soft-deletes the app; whether there was one.
    fn delete_connect_app(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
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
            let mut tx = pool.begin().await?;
            let (taken,): (i64,) = sqlx::query_as(TAKEN)
                .bind(&app.name)
                .fetch_one(&mut *tx)
                .await?;
            if taken > 0 {
                return Err(StoreError::Conflict("connect_apps.name".into()));
            }
            let (id,): (i64,) = sqlx::query_as(INSERT)
                .bind(&app.name)
                .bind(&app.secret_encrypted)
                .bind(&app.redirect_url)
                .bind(&app.display_name)
                .bind(&app.logo_url)
                .bind(&app.redirect_patterns)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let record: ConnectAppRecord =
                sqlx::query_as(&read).bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    async fn connect_app(&self, name: &str) -> Result<Option<ConnectAppRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM connect_apps WHERE name = $1 AND deleted_at IS NULL");
        Ok(on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(name)
            .fetch_optional(pool)
            .await)?)
    }

    async fn list_connect_apps(&self) -> Result<Vec<ConnectAppRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM connect_apps WHERE deleted_at IS NULL ORDER BY id");
        Ok(on_pool!(self, |pool| sqlx::query_as(&sql)
            .fetch_all(pool)
            .await)?)
    }

    async fn delete_connect_app(&self, name: &str) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE connect_apps SET deleted_at = $2, updated_at = $2 \
            WHERE name = $1 AND deleted_at IS NULL";
        let n = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(name)
            .bind(now_utc())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
