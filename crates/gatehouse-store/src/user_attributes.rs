//! Custom user attributes (the fields, not their values).

use chrono::NaiveDateTime;
use gatehouse_core::ids::UserId;

use crate::{
    live_rows, now_utc, on_pool, soft_delete, sql, LiveRows, Store, StoreError, StoreFuture,
};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserAttributeRecord {
    pub id: i64,
    pub name: String,
    pub include_in_sign_up_form: bool,
    pub required_in_sign_up_form: bool,
    pub include_in_id_token_body: bool,
    pub include_in_user_info: bool,
    /// JSON object `{locale: label}`.
    pub locales: String,
    pub is_unique: bool,
    pub validation_regex: Option<String>,
    /// JSON object `{locale: message}`.
    pub validation_locales: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Every field of an attribute; `None` leaves a field as it is on update.
#[derive(Debug, Clone, Default)]
pub struct UserAttributeFields {
    pub name: Option<String>,
    pub include_in_sign_up_form: Option<bool>,
    pub required_in_sign_up_form: Option<bool>,
    pub include_in_id_token_body: Option<bool>,
    pub include_in_user_info: Option<bool>,
    pub locales: Option<String>,
    pub is_unique: Option<bool>,
    pub validation_regex: Option<String>,
    pub validation_locales: Option<String>,
}

macro_rules! attribute_columns {
    () => {
        "id, name, include_in_sign_up_form, required_in_sign_up_form, include_in_id_token_body, \
         include_in_user_info, locales, is_unique, validation_regex, validation_locales, \
         created_at, updated_at"
    };
}

const ATTRIBUTES: LiveRows = live_rows!(attribute_columns, "user_attributes");

pub trait UserAttributeStore {
    fn list_user_attributes(&self) -> impl StoreFuture<Vec<UserAttributeRecord>>;
    fn user_attribute_by_id(&self, id: i64) -> impl StoreFuture<Option<UserAttributeRecord>>;
    /// Creates an attribute (absent fields take their defaults); a taken name is a `Conflict`.
    fn insert_user_attribute(
        &self,
        fields: &UserAttributeFields,
    ) -> impl StoreFuture<UserAttributeRecord>;
    fn update_user_attribute(
        &self,
        id: i64,
        fields: &UserAttributeFields,
    ) -> impl StoreFuture<Option<UserAttributeRecord>>;
    /// Sets (or with `None` removes) a user's value for an attribute.
    fn set_user_attribute_value(
        &self,
        user_id: UserId,
        attribute_id: i64,
        value: Option<&str>,
    ) -> impl StoreFuture<()>;
    /// Whether a live user other than `except_user_id` (any user, with `None`) already has this
    /// value for the attribute.
    fn attribute_value_taken(
        &self,
        attribute_id: i64,
        value: &str,
        except_user_id: Option<UserId>,
    ) -> impl StoreFuture<bool>;
    /// Soft-deletes the attribute and its values; whether it existed.
    fn delete_user_attribute(&self, id: i64) -> impl StoreFuture<bool>;
}

impl UserAttributeStore for Store {
    async fn list_user_attributes(&self) -> Result<Vec<UserAttributeRecord>, StoreError> {
        self.fetch_all(ATTRIBUTES.all, ()).await
    }

    async fn user_attribute_by_id(
        &self,
        id: i64,
    ) -> Result<Option<UserAttributeRecord>, StoreError> {
        self.fetch_optional(ATTRIBUTES.by_id, (id,)).await
    }

    async fn insert_user_attribute(
        &self,
        f: &UserAttributeFields,
    ) -> Result<UserAttributeRecord, StoreError> {
        const INSERT: &str = concat!(
            "INSERT INTO user_attributes (name, include_in_sign_up_form, required_in_sign_up_form, \
             include_in_id_token_body, include_in_user_info, locales, is_unique, validation_regex, \
             validation_locales, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING ",
            attribute_columns!()
        );
        self.fetch_one(
            INSERT,
            (
                f.name.as_deref().unwrap_or_default(),
                f.include_in_sign_up_form.unwrap_or(false),
                f.required_in_sign_up_form.unwrap_or(false),
                f.include_in_id_token_body.unwrap_or(false),
                f.include_in_user_info.unwrap_or(false),
                f.locales.as_deref().unwrap_or("{}"),
                f.is_unique.unwrap_or(false),
                &f.validation_regex,
                f.validation_locales.as_deref().unwrap_or("{}"),
                now_utc(),
            ),
        )
        .await
    }

    async fn update_user_attribute(
        &self,
        id: i64,
        f: &UserAttributeFields,
    ) -> Result<Option<UserAttributeRecord>, StoreError> {
        let _changed = self.writing_user_data();
        const SQL: &str = concat!(
            "UPDATE user_attributes SET name = COALESCE($2, name), \
             include_in_sign_up_form = COALESCE($3, include_in_sign_up_form), \
             required_in_sign_up_form = COALESCE($4, required_in_sign_up_form), \
             include_in_id_token_body = COALESCE($5, include_in_id_token_body), \
             include_in_user_info = COALESCE($6, include_in_user_info), \
             locales = COALESCE($7, locales), is_unique = COALESCE($8, is_unique), \
             validation_regex = COALESCE($9, validation_regex), \
             validation_locales = COALESCE($10, validation_locales), updated_at = $11 \
             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            attribute_columns!()
        );
        self.fetch_optional(
            SQL,
            (
                id,
                &f.name,
                f.include_in_sign_up_form,
                f.required_in_sign_up_form,
                f.include_in_id_token_body,
                f.include_in_user_info,
                &f.locales,
                f.is_unique,
                &f.validation_regex,
                &f.validation_locales,
                now_utc(),
            ),
        )
        .await
    }

    async fn delete_user_attribute(&self, id: i64) -> Result<bool, StoreError> {
        let _changed = self.writing_user_data();
        self.soft_delete_cascade(
            ATTRIBUTES.delete,
            &[soft_delete!("user_attribute_values", "user_attribute_id")],
            id,
        )
        .await
    }

    async fn set_user_attribute_value(
        &self,
        user_id: UserId,
        attribute_id: i64,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        let _changed = self.writing_user_data();
        const CLEAR: &str = "UPDATE user_attribute_values SET deleted_at = $3, updated_at = $3 \
            WHERE user_id = $1 AND user_attribute_id = $2 AND deleted_at IS NULL";
        const INSERT: &str =
            "INSERT INTO user_attribute_values (user_id, user_attribute_id, value, \
            created_at, updated_at) VALUES ($1, $2, $3, $4, $4)";
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sql::execute(&mut *tx, CLEAR, (user_id, attribute_id, now)).await?;
            if let Some(value) = value {
                sql::execute(&mut *tx, INSERT, (user_id, attribute_id, value, now)).await?;
            }
            self.commit(tx).await?;
            Ok(())
        })
    }

    async fn attribute_value_taken(
        &self,
        attribute_id: i64,
        value: &str,
        except_user_id: Option<UserId>,
    ) -> Result<bool, StoreError> {
        const SQL: &str =
            "SELECT COUNT(*) FROM user_attribute_values v JOIN users u ON u.id = v.user_id \
            WHERE v.user_attribute_id = $1 AND v.value = $2 AND ($3 IS NULL OR v.user_id <> $3) \
            AND v.deleted_at IS NULL AND u.deleted_at IS NULL";
        let (n,): (i64,) = self
            .fetch_one(SQL, (attribute_id, value, except_user_id))
            .await?;
        Ok(n > 0)
    }
}
