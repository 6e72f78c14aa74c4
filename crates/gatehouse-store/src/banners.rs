//! Banners shown on the sign-in pages of the apps they are linked to.

use chrono::NaiveDateTime;

use crate::{
    live_rows, now_utc, on_pool, soft_delete, sql, LiveRows, Store, StoreError, StoreFuture,
};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BannerRecord {
    pub id: i64,
    #[sqlx(rename = "type")]
    pub banner_type: String,
    pub text: String,
    /// JSON object `{locale: text}`.
    pub locales: String,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Changes to a banner; `app_ids` replaces its app links.
#[derive(Debug, Clone, Default)]
pub struct BannerChanges {
    pub banner_type: Option<String>,
    pub text: Option<String>,
    pub locales: Option<String>,
    pub is_active: Option<bool>,
    pub app_ids: Option<Vec<i64>>,
}

macro_rules! banner_columns {
    () => {
        "id, type, text, locales, is_active, created_at, updated_at"
    };
}

const BANNERS: LiveRows = live_rows!(banner_columns, "banners");

pub trait BannerStore {
    fn list_banners(&self) -> impl StoreFuture<Vec<BannerRecord>>;
    fn banner_by_id(&self, id: i64) -> impl StoreFuture<Option<BannerRecord>>;
    /// `(banner id, app id)` for every live link.
    fn banner_app_links(&self) -> impl StoreFuture<Vec<(i64, i64)>>;
    fn insert_banner(
        &self,
        banner_type: &str,
        text: &str,
        locales: &str,
    ) -> impl StoreFuture<BannerRecord>;
    fn update_banner(
        &self,
        id: i64,
        changes: &BannerChanges,
    ) -> impl StoreFuture<Option<BannerRecord>>;
    /// Soft-deletes the banner and its links; whether it existed.
    fn delete_banner(&self, id: i64) -> impl StoreFuture<bool>;
}

impl BannerStore for Store {
    async fn list_banners(&self) -> Result<Vec<BannerRecord>, StoreError> {
        self.fetch_all(BANNERS.all, ()).await
    }

    async fn banner_by_id(&self, id: i64) -> Result<Option<BannerRecord>, StoreError> {
        self.fetch_optional(BANNERS.by_id, (id,)).await
    }

    async fn banner_app_links(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        const SQL: &str = "SELECT l.banner_id, l.app_id FROM app_banners l \
            JOIN apps a ON a.id = l.app_id WHERE l.deleted_at IS NULL AND a.deleted_at IS NULL \
            ORDER BY l.banner_id, l.app_id";
        self.fetch_all(SQL, ()).await
    }

    async fn insert_banner(
        &self,
        banner_type: &str,
        text: &str,
        locales: &str,
    ) -> Result<BannerRecord, StoreError> {
        const INSERT: &str = concat!(
            "INSERT INTO banners (type, text, locales, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING ",
            banner_columns!()
        );
        self.fetch_one(INSERT, (banner_type, text, locales, now_utc()))
            .await
    }

    async fn update_banner(
        &self,
        id: i64,
        c: &BannerChanges,
    ) -> Result<Option<BannerRecord>, StoreError> {
        const UPDATE: &str = concat!(
            "UPDATE banners SET type = COALESCE($2, type), text = COALESCE($3, text), \
             locales = COALESCE($4, locales), is_active = COALESCE($5, is_active), updated_at = $6 \
             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            banner_columns!()
        );
        const UNLINK: &str = "UPDATE app_banners SET deleted_at = $2, updated_at = $2 \
            WHERE banner_id = $1 AND deleted_at IS NULL";
        const LINK: &str = "INSERT INTO app_banners (banner_id, app_id, created_at, updated_at) \
            VALUES ($1, $2, $3, $3)";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let record: Option<BannerRecord> = sql::fetch_optional(
                &mut *tx,
                UPDATE,
                (id, &c.banner_type, &c.text, &c.locales, c.is_active, now),
            )
            .await?;
            if let (Some(_), Some(app_ids)) = (&record, &c.app_ids) {
                sql::execute(&mut *tx, UNLINK, (id, now)).await?;
                for app_id in app_ids {
                    sql::execute(&mut *tx, LINK, (id, app_id, now)).await?;
                }
            }
            self.commit(tx).await?;
            Ok(record)
        })
    }

    async fn delete_banner(&self, id: i64) -> Result<bool, StoreError> {
        self.soft_delete_cascade(
            BANNERS.delete,
            &[soft_delete!("app_banners", "banner_id")],
            id,
        )
        .await
    }
}
