//! SAML identity providers (for sign-in with SAML as a service provider).

use chrono::NaiveDateTime;

use crate::{live_rows, now_utc, LiveRows, Store, StoreError, StoreFuture};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SamlIdpRecord {
    pub id: i64,
    pub name: String,
    pub user_id_attribute: String,
    pub email_attribute: Option<String>,
    pub first_name_attribute: Option<String>,
    pub last_name_attribute: Option<String>,
    pub metadata: String,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields of an identity provider; `None` leaves a field as it is on update. An empty
/// optional attribute (email, first or last name) is stored as none: on update it clears it.
#[derive(Debug, Clone, Default)]
pub struct SamlIdpFields {
    pub name: Option<String>,
    pub user_id_attribute: Option<String>,
    pub email_attribute: Option<String>,
    pub first_name_attribute: Option<String>,
    pub last_name_attribute: Option<String>,
    pub metadata: Option<String>,
    pub is_active: Option<bool>,
}

macro_rules! idp_columns {
    () => {
        "id, name, user_id_attribute, email_attribute, first_name_attribute, last_name_attribute, \
         metadata, is_active, created_at, updated_at"
    };
}

const IDPS: LiveRows = live_rows!(idp_columns, "saml_idps");

pub trait SamlIdpStore {
    fn list_saml_idps(&self) -> impl StoreFuture<Vec<SamlIdpRecord>>;
    fn saml_idp_by_id(&self, id: i64) -> impl StoreFuture<Option<SamlIdpRecord>>;
    /// The live provider called `name` (names are unique among live providers).
    fn saml_idp_by_name(&self, name: &str) -> impl StoreFuture<Option<SamlIdpRecord>>;
    /// A live provider with that name is a `Conflict`.
    fn insert_saml_idp(&self, fields: &SamlIdpFields) -> impl StoreFuture<SamlIdpRecord>;
    fn update_saml_idp(
        &self,
        id: i64,
        fields: &SamlIdpFields,
    ) -> impl StoreFuture<Option<SamlIdpRecord>>;
    fn delete_saml_idp(&self, id: i64) -> impl StoreFuture<bool>;
}

impl SamlIdpStore for Store {
    async fn list_saml_idps(&self) -> Result<Vec<SamlIdpRecord>, StoreError> {
        self.fetch_all(IDPS.all, ()).await
    }

    async fn saml_idp_by_id(&self, id: i64) -> Result<Option<SamlIdpRecord>, StoreError> {
        self.fetch_optional(IDPS.by_id, (id,)).await
    }

    async fn saml_idp_by_name(&self, name: &str) -> Result<Option<SamlIdpRecord>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            idp_columns!(),
            " FROM saml_idps WHERE name = $1 AND deleted_at IS NULL"
        );
        self.fetch_optional(SQL, (name,)).await
    }

    async fn insert_saml_idp(&self, f: &SamlIdpFields) -> Result<SamlIdpRecord, StoreError> {
        const INSERT: &str = concat!(
            "INSERT INTO saml_idps (name, user_id_attribute, email_attribute, first_name_attribute, \
             last_name_attribute, metadata, created_at, updated_at) \
             VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''), $6, $7, $7) RETURNING ",
            idp_columns!()
        );
        self.fetch_one(
            INSERT,
            (
                f.name.as_deref().unwrap_or_default(),
                f.user_id_attribute.as_deref().unwrap_or_default(),
                &f.email_attribute,
                &f.first_name_attribute,
                &f.last_name_attribute,
                f.metadata.as_deref().unwrap_or_default(),
                now_utc(),
            ),
        )
        .await
    }

    async fn update_saml_idp(
        &self,
        id: i64,
        f: &SamlIdpFields,
    ) -> Result<Option<SamlIdpRecord>, StoreError> {
        const SQL: &str = concat!(
            "UPDATE saml_idps SET user_id_attribute = COALESCE($2, user_id_attribute), \
             email_attribute = CASE WHEN $3 IS NULL THEN email_attribute ELSE NULLIF($3, '') END, \
             first_name_attribute = \
               CASE WHEN $4 IS NULL THEN first_name_attribute ELSE NULLIF($4, '') END, \
             last_name_attribute = \
               CASE WHEN $5 IS NULL THEN last_name_attribute ELSE NULLIF($5, '') END, \
             metadata = COALESCE($6, metadata), is_active = COALESCE($7, is_active), updated_at = $8 \
             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
            idp_columns!()
        );
        self.fetch_optional(
            SQL,
            (
                id,
                &f.user_id_attribute,
                &f.email_attribute,
                &f.first_name_attribute,
                &f.last_name_attribute,
                &f.metadata,
                f.is_active,
                now_utc(),
            ),
        )
        .await
    }

    async fn delete_saml_idp(&self, id: i64) -> Result<bool, StoreError> {
        self.soft_delete_cascade(IDPS.delete, &[], id).await
    }
}
