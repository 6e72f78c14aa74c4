//! Apps (OAuth clients) and the scopes each one holds.

use chrono::NaiveDateTime;
use gatehouse_core::grant::AppType;

use crate::changes::RecordChanges as _;
use crate::{now_utc, on_pool, soft_delete, sql, Store, StoreError, StoreFuture};

/// An app as stored, with the names of the scopes it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: i64,
    pub name: String,
    pub app_type: AppType,
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
    /// Whether the app may use the device authorization grant (RFC 8628).
    pub allow_device_flow: bool,
    /// The algorithm its ID tokens are signed with; `None`: the server's.
    pub id_token_signed_response_alg: Option<String>,
    /// Whether its ID tokens follow OIDC's claim rules only (else Melody's shape).
    pub standard_claims: bool,
    /// How it proves itself and binds its tokens.
    pub security: ClientSecurity,
    /// Where it hears that a user's session ended.
    pub logout: LogoutChannels,
    pub scopes: Vec<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct NewApp {
    pub name: String,
    pub app_type: AppType,
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// Whether a refresh grant replaces the refresh token (off for clients that keep their
    /// first one, such as Melody's SDKs).
    pub rotate_refresh_tokens: bool,
    pub allow_device_flow: bool,
    pub id_token_signed_response_alg: Option<String>,
    pub standard_claims: bool,
    pub security: ClientSecurity,
    pub logout: LogoutChannels,
}

/// Where an app hears that a user's session at the server ended: OIDC back-channel logout (a
/// logout token POSTed to it) and front-channel logout (a page loaded in an iframe).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct LogoutChannels {
    pub backchannel_logout_uri: Option<String>,
    /// Its logout tokens must name the session (`sid`); notices about every session of a user
    /// are then not sent to it.
    pub backchannel_logout_session_required: bool,
    pub frontchannel_logout_uri: Option<String>,
    /// Its front-channel calls carry `iss` and `sid`.
    pub frontchannel_logout_session_required: bool,
}

/// How a client proves itself and binds its tokens: pushed authorization requests (RFC 9126),
/// client authentication with a key (RFC 7523), DPoP-bound tokens (RFC 9449) and signed request
/// objects (RFC 9101). Checked and changed as one group, since its fields depend on each other.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ClientSecurity {
    /// Authorization requests only through `/oauth2/v1/par`.
    pub require_pushed_authorization_requests: bool,
    /// `None`: the app's secret (HTTP Basic or the form); `private_key_jwt`: a signed assertion only.
    pub token_endpoint_auth_method: Option<String>,
    /// The app's public keys (a JWKS as JSON), or where it publishes them.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    /// Every token request must carry a DPoP proof, and its access tokens are bound to the key.
    pub dpop_bound_access_tokens: bool,
    /// The algorithm its request objects must be signed with; `None`: any the server accepts.
    pub request_object_signing_alg: Option<String>,
    /// Held to the FAPI 2.0 Security Profile.
    pub fapi2_security_profile: bool,
    /// SHA-256 (hex) of its registration access token, when it registered itself (RFC 7591).
    pub registration_token_hash: Option<String>,
    /// Its client secret sealed with the master key (base64), kept only for `client_secret_jwt`.
    pub secret_sealed: Option<String>,
}

/// Changes to an app: `None` leaves a field as it is; `scopes` replaces the whole set.
#[derive(Debug, Clone, Default)]
pub struct AppChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub is_active: Option<bool>,
    pub scopes: Option<Vec<String>>,
    pub use_system_mfa_config: Option<bool>,
    pub require_email_mfa: Option<bool>,
    pub require_otp_mfa: Option<bool>,
    pub require_sms_mfa: Option<bool>,
    pub allow_email_mfa_as_backup: Option<bool>,
    pub rotate_refresh_tokens: Option<bool>,
    pub allow_device_flow: Option<bool>,
    /// An empty string goes back to the server's algorithm.
    pub id_token_signed_response_alg: Option<String>,
    pub standard_claims: Option<bool>,
    /// Replaces the whole group.
    pub security: Option<ClientSecurity>,
    /// Replaces the whole group.
    pub logout: Option<LogoutChannels>,
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
    allow_device_flow: bool,
    id_token_signed_response_alg: Option<String>,
    standard_claims: bool,
    #[sqlx(flatten)]
    security: ClientSecurity,
    #[sqlx(flatten)]
    logout: LogoutChannels,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl AppRow {
    fn into_app(self, scopes: Vec<String>) -> Result<App, StoreError> {
        let redirect_uris = serde_json::from_str(&self.redirect_uris).map_err(|e| {
            StoreError::Corrupt(format!("apps.redirect_uris of app {}: {e}", self.id))
        })?;
        let app_type = AppType::parse(&self.app_type).ok_or_else(|| {
            StoreError::Corrupt(format!("apps.type of app {}: {:?}", self.id, self.app_type))
        })?;
        Ok(App {
            id: self.id,
            name: self.name,
            app_type,
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
            allow_device_flow: self.allow_device_flow,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            standard_claims: self.standard_claims,
            security: self.security,
            logout: self.logout,
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
         rotate_refresh_tokens, allow_device_flow, id_token_signed_response_alg, standard_claims, \
         require_pushed_authorization_requests, token_endpoint_auth_method, jwks, jwks_uri, \
         dpop_bound_access_tokens, request_object_signing_alg, fapi2_security_profile, \
         registration_token_hash, secret_sealed, backchannel_logout_uri, backchannel_logout_session_required, \
         frontchannel_logout_uri, frontchannel_logout_session_required, created_at, updated_at"
    };
}

pub trait AppStore {
    /// The live (not deleted) app with this client id, with its scopes.
    fn app_by_client_id(&self, client_id: &str) -> impl StoreFuture<Option<App>>;
    /// Creates an app and links it to the named scopes (names that are not live scopes are
    /// ignored). A client id already in use is a `Conflict`.
    fn insert_app(&self, app: NewApp) -> impl StoreFuture<App>;
    fn list_apps(&self) -> impl StoreFuture<Vec<App>>;
    fn app_by_id(&self, id: i64) -> impl StoreFuture<Option<App>>;
    /// Applies the changes in one transaction; `None` when there is no live app with that id.
    fn update_app(&self, id: i64, changes: &AppChanges) -> impl StoreFuture<Option<App>>;
    /// Soft-deletes the app and its scope links; whether it existed.
    fn delete_app(&self, id: i64) -> impl StoreFuture<bool>;
    fn set_app_secret_hash(&self, app_id: i64, secret_hash: &str) -> impl StoreFuture<()>;
    /// Records the hash of a self-registered app's registration access token (RFC 7592).
    fn set_app_registration_token_hash(&self, app_id: i64, hash: &str) -> impl StoreFuture<()>;
    /// Keeps the app's secret sealed (for `client_secret_jwt`).
    fn set_app_secret_sealed(&self, app_id: i64, sealed: &str) -> impl StoreFuture<()>;
}

impl Store {
    async fn app_scope_names(&self, app_id: i64) -> Result<Vec<String>, StoreError> {
        const SQL: &str = "SELECT s.name FROM app_scopes a JOIN scopes s ON s.id = a.scope_id \
            WHERE a.app_id = $1 AND a.deleted_at IS NULL AND s.deleted_at IS NULL ORDER BY s.id";
        let rows: Vec<(String,)> = self.fetch_all(SQL, (app_id,)).await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    /// An app row completed with the names of its scopes.
    async fn with_scopes(&self, row: Option<AppRow>) -> Result<Option<App>, StoreError> {
        match row {
            Some(row) => {
                let scopes = self.app_scope_names(row.id).await?;
                Ok(Some(row.into_app(scopes)?))
            }
            None => Ok(None),
        }
    }
}

impl AppStore for Store {
    async fn app_by_client_id(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            app_columns!(),
            " FROM apps WHERE client_id = $1 AND deleted_at IS NULL"
        );
        let row: Option<AppRow> = self.fetch_optional(SQL, (client_id,)).await?;
        self.with_scopes(row).await
    }

    async fn insert_app(&self, app: NewApp) -> Result<App, StoreError> {
        const INSERT: &str =
            "INSERT INTO apps (name, type, client_id, secret_hash, redirect_uris, \
            rotate_refresh_tokens, allow_device_flow, id_token_signed_response_alg, created_at, \
            updated_at, standard_claims, require_pushed_authorization_requests, \
            token_endpoint_auth_method, jwks, jwks_uri, dpop_bound_access_tokens, \
            request_object_signing_alg, fapi2_security_profile, backchannel_logout_uri, \
            backchannel_logout_session_required, frontchannel_logout_uri, \
            frontchannel_logout_session_required) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
            $18, $19, $20, $21) RETURNING id";
        let redirect_uris = serde_json::to_string(&app.redirect_uris)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_utc();
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let (id,): (i64,) = sql::fetch_one(
                &mut *tx,
                INSERT,
                (
                    &app.name,
                    app.app_type.as_str(),
                    &app.client_id,
                    &app.secret_hash,
                    &redirect_uris,
                    app.rotate_refresh_tokens,
                    app.allow_device_flow,
                    &app.id_token_signed_response_alg,
                    now,
                    app.standard_claims,
                    app.security.require_pushed_authorization_requests,
                    &app.security.token_endpoint_auth_method,
                    &app.security.jwks,
                    &app.security.jwks_uri,
                    app.security.dpop_bound_access_tokens,
                    &app.security.request_object_signing_alg,
                    app.security.fapi2_security_profile,
                    &app.logout.backchannel_logout_uri,
                    app.logout.backchannel_logout_session_required,
                    &app.logout.frontchannel_logout_uri,
                    app.logout.frontchannel_logout_session_required,
                ),
            )
            .await?;
            // Recorded while the app is the last row inserted: a `created` change names it
            // (the scope links that follow are rows of their own).
            let evented = tx.record_changes().await?;
            for scope in &app.scopes {
                sql::execute(&mut *tx, LINK_SCOPE, (id, scope, now)).await?;
            }
            self.commit(tx).await?;
            if evented {
                self.outbox.notify_one();
            }
            Ok::<_, StoreError>(())
        })?;
        self.app_by_client_id(&app.client_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("inserted app not found".into()))
    }

    async fn set_app_secret_hash(&self, app_id: i64, secret_hash: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE apps SET secret_hash = $2, updated_at = $3 WHERE id = $1";
        self.execute(SQL, (app_id, secret_hash, now_utc())).await?;
        Ok(())
    }

    async fn set_app_registration_token_hash(
        &self,
        app_id: i64,
        hash: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "UPDATE apps SET registration_token_hash = $2, updated_at = $3 WHERE id = $1";
        self.execute(SQL, (app_id, hash, now_utc())).await?;
        Ok(())
    }

    async fn set_app_secret_sealed(&self, app_id: i64, sealed: &str) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE apps SET secret_sealed = $2, updated_at = $3 WHERE id = $1";
        self.execute(SQL, (app_id, sealed, now_utc())).await?;
        Ok(())
    }

    async fn list_apps(&self) -> Result<Vec<App>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            app_columns!(),
            " FROM apps WHERE deleted_at IS NULL ORDER BY id"
        );
        const LINKS: &str =
            "SELECT a.app_id, s.name FROM app_scopes a JOIN scopes s ON s.id = a.scope_id \
            WHERE a.deleted_at IS NULL AND s.deleted_at IS NULL ORDER BY s.id";
        let rows: Vec<AppRow> = self.fetch_all(SQL, ()).await?;
        let links: Vec<(i64, String)> = self.fetch_all(LINKS, ()).await?;
        rows.into_iter()
            .map(|row| {
                let scopes = links
                    .iter()
                    .filter(|(app_id, _)| *app_id == row.id)
                    .map(|(_, name)| name.clone())
                    .collect();
                row.into_app(scopes)
            })
            .collect()
    }

    async fn app_by_id(&self, id: i64) -> Result<Option<App>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            app_columns!(),
            " FROM apps WHERE id = $1 AND deleted_at IS NULL"
        );
        let row: Option<AppRow> = self.fetch_optional(SQL, (id,)).await?;
        self.with_scopes(row).await
    }

    async fn update_app(&self, id: i64, changes: &AppChanges) -> Result<Option<App>, StoreError> {
        const UPDATE: &str = "UPDATE apps SET name = COALESCE($2, name), \
            redirect_uris = COALESCE($3, redirect_uris), is_active = COALESCE($4, is_active), \
            use_system_mfa_config = COALESCE($5, use_system_mfa_config), \
            require_email_mfa = COALESCE($6, require_email_mfa), \
            require_otp_mfa = COALESCE($7, require_otp_mfa), \
            require_sms_mfa = COALESCE($8, require_sms_mfa), \
            allow_email_mfa_as_backup = COALESCE($9, allow_email_mfa_as_backup), \
            rotate_refresh_tokens = COALESCE($10, rotate_refresh_tokens), \
            allow_device_flow = COALESCE($11, allow_device_flow), \
            id_token_signed_response_alg = CASE WHEN $12 IS NULL \
            THEN id_token_signed_response_alg ELSE NULLIF($12, '') END, \
            standard_claims = COALESCE($14, standard_claims), updated_at = $13, \
            require_pushed_authorization_requests = CASE WHEN $15 \
            THEN $16 ELSE require_pushed_authorization_requests END, \
            token_endpoint_auth_method = CASE WHEN $15 THEN $17 ELSE token_endpoint_auth_method END, \
            jwks = CASE WHEN $15 THEN $18 ELSE jwks END, \
            jwks_uri = CASE WHEN $15 THEN $19 ELSE jwks_uri END, \
            dpop_bound_access_tokens = CASE WHEN $15 \
            THEN $20 ELSE dpop_bound_access_tokens END, \
            request_object_signing_alg = CASE WHEN $15 \
            THEN $21 ELSE request_object_signing_alg END, \
            fapi2_security_profile = CASE WHEN $15 THEN $22 ELSE fapi2_security_profile END \
            WHERE id = $1 AND deleted_at IS NULL";
        const SET_LOGOUT: &str = "UPDATE apps SET backchannel_logout_uri = $2, \
            backchannel_logout_session_required = $3, frontchannel_logout_uri = $4, \
            frontchannel_logout_session_required = $5 WHERE id = $1";
        const UNLINK: &str = "UPDATE app_scopes SET deleted_at = $2, updated_at = $2 \
            WHERE app_id = $1 AND deleted_at IS NULL";
        let redirect_uris = changes
            .redirect_uris
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_utc();
        let security = changes.security.clone().unwrap_or_default();
        let updated = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let updated = sql::execute(
                &mut *tx,
                UPDATE,
                (
                    id,
                    &changes.name,
                    &redirect_uris,
                    changes.is_active,
                    changes.use_system_mfa_config,
                    changes.require_email_mfa,
                    changes.require_otp_mfa,
                    changes.require_sms_mfa,
                    changes.allow_email_mfa_as_backup,
                    changes.rotate_refresh_tokens,
                    changes.allow_device_flow,
                    &changes.id_token_signed_response_alg,
                    now,
                    changes.standard_claims,
                    changes.security.is_some(),
                    security.require_pushed_authorization_requests,
                    &security.token_endpoint_auth_method,
                    &security.jwks,
                    &security.jwks_uri,
                    security.dpop_bound_access_tokens,
                    &security.request_object_signing_alg,
                    security.fapi2_security_profile,
                ),
            )
            .await?
            .rows_affected()
                == 1;
            if let (true, Some(logout)) = (updated, &changes.logout) {
                let values = (
                    id,
                    &logout.backchannel_logout_uri,
                    logout.backchannel_logout_session_required,
                    &logout.frontchannel_logout_uri,
                    logout.frontchannel_logout_session_required,
                );
                sql::execute(&mut *tx, SET_LOGOUT, values).await?;
            }
            if updated {
                if let Some(scopes) = &changes.scopes {
                    sql::execute(&mut *tx, UNLINK, (id, now)).await?;
                    for scope in scopes {
                        sql::execute(&mut *tx, LINK_SCOPE, (id, scope, now)).await?;
                    }
                }
            }
            self.commit(tx).await?;
            Ok::<_, StoreError>(updated)
        })?;
        if updated {
            self.app_by_id(id).await
        } else {
            Ok(None)
        }
    }

    async fn delete_app(&self, id: i64) -> Result<bool, StoreError> {
        self.soft_delete_cascade(
            soft_delete!("apps", "id"),
            &[
                soft_delete!("app_scopes", "app_id"),
                soft_delete!("app_banners", "app_id"),
            ],
            id,
        )
        .await
    }
}

/// Links an app to a live scope by name (a name that is no live scope links nothing).
const LINK_SCOPE: &str = "INSERT INTO app_scopes (app_id, scope_id, created_at, updated_at) \
    SELECT $1, id, $3, $3 FROM scopes WHERE name = $2 AND deleted_at IS NULL";
