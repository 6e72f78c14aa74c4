//! First-start seed: the built-in scopes, the `super_admin` role, the admin panel's SPA app and
//! the admin S2S app holding `root`.

use gatehouse_core::grant::AppType;
use gatehouse_core::scope::{built_in_scope_type, BUILT_IN_SCOPES};
use gatehouse_store::{
    AppStore, NewApp, NewScope, RoleStore, ScopeStore, SettingsStore, Store, StoreError,
};

use crate::config::Config;
use crate::crypto::{random_hex, random_token, sha256_hex};
use crate::error::ServiceError;

pub const ADMIN_SPA_APP_NAME: &str = "Admin Panel (SPA)";
pub const ADMIN_S2S_APP_NAME: &str = "Admin Panel (S2S)";
pub const SUPER_ADMIN_ROLE: &str = "super_admin";
/// Set once the seed data has been written (the first start).
pub const BOOTSTRAP_SETTING: &str = "bootstrap_started_at";

/// Credentials generated for the admin S2S app, to be shown once.
pub struct GeneratedCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub spa_client_id: String,
}

/// Seeds what is missing. Returns the admin S2S credentials when this call generated them.
pub async fn bootstrap(
    store: &Store,
    config: &Config,
) -> Result<Option<GeneratedCredentials>, ServiceError> {
    for name in BUILT_IN_SCOPES {
        store
            .insert_scope_if_absent(&NewScope {
                name: name.to_owned(),
                scope_type: built_in_scope_type(name).to_owned(),
                note: String::new(),
            })
            .await?;
    }
    ensure_super_admin_role(store).await?;

    // Claimed before the apps are made, so two instances starting together seed them once.
    let first_start = store
        .insert_setting_if_absent(BOOTSTRAP_SETTING, &gatehouse_store::now_utc().to_string())
        .await?;
    if !first_start {
        sync_configured_secret(store, config).await?;
        ensure_admin_callback(store, config).await?;
        return Ok(None);
    }

    let spa_client_id = random_hex::<16>();
    store
        .insert_app(NewApp {
            name: ADMIN_SPA_APP_NAME.to_owned(),
            app_type: AppType::Spa,
            client_id: spa_client_id.clone(),
            secret_hash: None,
            redirect_uris: admin_redirect_uris(config, &config.bootstrap_admin_redirect_uris),
            scopes: vec!["openid".into(), "profile".into(), "offline_access".into()],
            // Melody's admin panel keeps its first refresh token (docs/security.md).
            rotate_refresh_tokens: false,
            allow_device_flow: false,
            id_token_signed_response_alg: None,
            standard_claims: false,
            security: Default::default(),
            logout: Default::default(),
        })
        .await?;

    let configured = !config.bootstrap_client_secret.is_empty();
    let (client_id, client_secret) = if configured {
        (
            config.bootstrap_client_id.clone(),
            config.bootstrap_client_secret.expose().to_owned(),
        )
    } else {
        let id = if config.bootstrap_client_id.is_empty() {
            random_hex::<16>()
        } else {
            config.bootstrap_client_id.clone()
        };
        (id, random_token::<32>())
    };
    store
        .insert_app(NewApp {
            name: ADMIN_S2S_APP_NAME.to_owned(),
            app_type: AppType::S2s,
            client_id: client_id.clone(),
            secret_hash: Some(sha256_hex(client_secret.as_bytes())),
            redirect_uris: Vec::new(),
            scopes: vec!["root".into()],
            rotate_refresh_tokens: true,
            allow_device_flow: false,
            id_token_signed_response_alg: None,
            standard_claims: false,
            security: Default::default(),
            logout: Default::default(),
        })
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => ServiceError::Internal(format!(
                "bootstrap_client_id {client_id} is already used by another app"
            )),
            other => other.into(),
        })?;
    tracing::info!(
        s2s_client_id = %client_id,
        spa_client_id = %spa_client_id,
        "seeded the built-in scopes, the super_admin role and the admin apps"
    );
    Ok((!configured).then_some(GeneratedCredentials {
        client_id,
        client_secret,
        spa_client_id,
    }))
}

/// Seeds the `super_admin` role when missing.
pub async fn ensure_super_admin_role(store: &Store) -> Result<(), ServiceError> {
    store
        .insert_role_if_absent(SUPER_ADMIN_ROLE, "Full access to the admin panel")
        .await?;
    Ok(())
}

/// Where the admin panel receives its sign-in code.
pub fn admin_callback_uri(config: &Config) -> String {
    format!("{}/admin/callback", config.issuer.trim_end_matches('/'))
}

/// `uris` with the panel's callback added when missing.
fn admin_redirect_uris(config: &Config, uris: &[String]) -> Vec<String> {
    let callback = admin_callback_uri(config);
    let mut uris = uris.to_vec();
    if !uris.contains(&callback) {
        uris.push(callback);
    }
    uris
}

/// The admin SPA app, found by its seeded name and type.
pub async fn admin_spa_app(store: &Store) -> Result<Option<gatehouse_store::App>, ServiceError> {
    Ok(store
        .list_apps()
        .await?
        .into_iter()
        .find(|a| a.name == ADMIN_SPA_APP_NAME && a.app_type == AppType::Spa))
}

/// Installs seeded before the panel existed (or started under another issuer) get the panel's
/// callback added to the admin SPA app.
async fn ensure_admin_callback(store: &Store, config: &Config) -> Result<(), ServiceError> {
    let Some(app) = admin_spa_app(store).await? else {
        return Ok(());
    };
    let wanted = admin_redirect_uris(config, &app.redirect_uris);
    if wanted != app.redirect_uris {
        let changes = gatehouse_store::AppChanges {
            redirect_uris: Some(wanted),
            ..Default::default()
        };
        store.update_app(app.id, &changes).await?;
        tracing::info!(uri = %admin_callback_uri(config), "admin panel callback added to the admin SPA app");
    }
    Ok(())
}

/// When the bootstrap credentials are configured, the app they name keeps that secret: changing
/// `bootstrap_client_secret` and restarting rotates it.
async fn sync_configured_secret(store: &Store, config: &Config) -> Result<(), ServiceError> {
    if config.bootstrap_client_secret.is_empty() {
        return Ok(());
    }
    let Some(app) = store.app_by_client_id(&config.bootstrap_client_id).await? else {
        tracing::warn!(
            client_id = %config.bootstrap_client_id,
            "bootstrap_client_id names no app (the database was bootstrapped with other credentials)"
        );
        return Ok(());
    };
    let wanted = sha256_hex(config.bootstrap_client_secret.expose().as_bytes());
    if app.secret_hash.as_deref() != Some(wanted.as_str()) {
        store.set_app_secret_hash(app.id, &wanted).await?;
        tracing::info!(client_id = %app.client_id, "bootstrap client secret updated from configuration");
    }
    Ok(())
}
