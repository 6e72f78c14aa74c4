//! ePass connect apps (epass.md): `/connect/<app>` runs the normal sign-in and hands the app its
//! "sauce", the user info sealed with the app's secret. Secrets are AES keys, so they are stored
//! sealed with the master key, never hashed and never in plain text.

use gatehouse_core::authorize::AuthorizationRequest;
use gatehouse_core::connect::{
    check_app_name, check_redirect_patterns, check_redirect_url, optional_text, redirect_allowed,
    sauce_claims, ConnectError,
};
use gatehouse_core::ids::UserId;
use gatehouse_core::signin::SignInError;
use gatehouse_store::changes::{recording, Change};
use gatehouse_store::{
    AccountStore, ConnectAppChange, ConnectAppRecord, ConnectAppStore, NewConnectApp, Store,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::crypto::{random_alphanumeric, seal_sauce};
use crate::error::ServiceError;
use crate::keys::KeyRing;
use crate::services::found;
use crate::state::AppState;

/// Where a connect sign-in hands its sauce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectTarget {
    pub app_name: String,
    pub redirect_url: String,
}

fn seal_context(name: &str) -> String {
    format!("connect-app:{name}")
}

/// What an operator gives for a new app (the S2S API's body, the panel's and the CLI's fields).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = PostConnectAppReq)]
pub struct NewApp {
    /// Kebab-case letters and digits, at most 50 characters; `i` is reserved.
    pub name: String,
    /// Where the sauce is sent: `https:`, or `http:` to a loopback host (any host when the server sets `allow_http_redirect_uris`); no fragment, no credentials.
    pub redirect_url: String,
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    #[serde(default)]
    pub redirect_patterns: Vec<String>,
}

/// New settings for an app; `None` keeps what it has.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = PutConnectAppReq)]
pub struct AppChange {
    /// Where the sauce is sent: `https:`, or `http:` to a loopback host (any host when the server sets `allow_http_redirect_uris`); no fragment, no credentials.
    pub redirect_url: Option<String>,
    /// An empty string clears it.
    pub display_name: Option<String>,
    /// An empty string clears it.
    pub logo_url: Option<String>,
    /// Replaces the patterns.
    pub redirect_patterns: Option<Vec<String>>,
    pub is_active: Option<bool>,
}

const MAX_DISPLAY_NAME: usize = 100;
const MAX_LOGO_URL: usize = 2048;

/// The patterns as stored (a JSON array), each checked.
fn patterns_json(patterns: &[String]) -> Result<String, ServiceError> {
    check_redirect_patterns(patterns)?;
    serde_json::to_string(patterns).map_err(|e| ServiceError::Internal(e.to_string()))
}

fn logo_url(value: Option<&str>) -> Result<Option<String>, ConnectError> {
    let url = optional_text("logoUrl", value, MAX_LOGO_URL)?;
    if let Some(url) = &url {
        check_redirect_url(url, true).map_err(|_| ConnectError::BadLogoUrl)?;
    }
    Ok(url)
}

/// The app's redirect patterns.
pub fn redirect_patterns(app: &ConnectAppRecord) -> Vec<String> {
    serde_json::from_str(&app.redirect_patterns).unwrap_or_default()
}

/// Stored patterns as the audit trail shows them: the list, not its text.
fn stored_list(stored: &str) -> Value {
    serde_json::from_str(stored).unwrap_or_else(|_| json!(stored))
}

/// The settings an update may change, by their API names; a cleared text is `""`.
fn record_json(app: &ConnectAppRecord) -> Value {
    json!({
        "redirectUrl": app.redirect_url,
        "displayName": app.display_name.as_deref().unwrap_or_default(),
        "logoUrl": app.logo_url.as_deref().unwrap_or_default(),
        "redirectPatterns": stored_list(&app.redirect_patterns),
        "isActive": app.is_active,
    })
}

/// What an update sets (`null`: left as it is), named as in [`record_json`].
fn change_json(change: &ConnectAppChange) -> Value {
    let text = |v: &Option<Option<String>>| v.as_ref().map(|v| v.clone().unwrap_or_default());
    json!({
        "redirectUrl": change.redirect_url,
        "displayName": text(&change.display_name),
        "logoUrl": text(&change.logo_url),
        "redirectPatterns": change.redirect_patterns.as_deref().map(stored_list),
        "isActive": change.is_active,
    })
}

/// Creates a connect app; returns it and its secret (shown once).
/// `allow_http` is the server's `allow_http_redirect_uris`.
/// Managing connect apps: what the S2S API and the admin panel share.
pub struct ConnectApps<'a> {
    store: &'a Store,
    /// Whether `http:` redirect URLs are accepted (`allow_http_redirect_uris`).
    allow_http: bool,
}

impl AppState {
    pub fn connect_apps(&self) -> ConnectApps<'_> {
        ConnectApps::new(&self.store, self.config.allow_http_redirect_uris)
    }
}

impl<'a> ConnectApps<'a> {
    /// For the CLI, which has a store but no running server.
    pub fn new(store: &'a Store, allow_http: bool) -> Self {
        ConnectApps { store, allow_http }
    }

    /// Creates an app with a new secret, sealed with `keys`; returns it with the secret (shown
    /// once).
    pub async fn create(
        &self,
        keys: &KeyRing,
        app: NewApp,
    ) -> Result<(ConnectAppRecord, String), ServiceError> {
        check_app_name(&app.name)?;
        check_redirect_url(&app.redirect_url, self.allow_http)?;
        let display_name =
            optional_text("displayName", app.display_name.as_deref(), MAX_DISPLAY_NAME)?;
        let logo_url = logo_url(app.logo_url.as_deref())?;
        let redirect_patterns = patterns_json(&app.redirect_patterns)?;
        let secret = random_alphanumeric(32);
        let new = NewConnectApp {
            name: app.name.clone(),
            secret_encrypted: keys.seal_bytes(secret.as_bytes(), &seal_context(&app.name)),
            redirect_url: app.redirect_url,
            display_name,
            logo_url,
            redirect_patterns,
        };
        // Apps are named by their name, not by the row's id.
        let change = Change::of("connect_app", &new.name, "created").fields_new(&json!({
            "name": new.name,
            "redirectUrl": new.redirect_url,
            "displayName": new.display_name,
            "logoUrl": new.logo_url,
            "redirectPatterns": Some(&app.redirect_patterns).filter(|p| !p.is_empty()),
        }));
        let record = recording(change, self.store.insert_connect_app(&new))
            .await
            .map_err(crate::error::conflict_as(
                "A connect app with this name already exists",
            ))?;
        Ok((record, secret))
    }

    pub async fn list(&self) -> Result<Vec<ConnectAppRecord>, ServiceError> {
        Ok(self.store.list_connect_apps().await?)
    }

    pub async fn get(&self, name: &str) -> Result<ConnectAppRecord, ServiceError> {
        found(self.store.connect_app(name), NOT_FOUND).await
    }

    /// Changes an app's settings; everything is checked before anything is written.
    pub async fn update(
        &self,
        name: &str,
        change: AppChange,
    ) -> Result<ConnectAppRecord, ServiceError> {
        if let Some(url) = &change.redirect_url {
            check_redirect_url(url, self.allow_http)?;
        }
        let display_name = change
            .display_name
            .as_deref()
            .map(|v| optional_text("displayName", Some(v), MAX_DISPLAY_NAME))
            .transpose()?;
        let logo_url = change
            .logo_url
            .as_deref()
            .map(|v| logo_url(Some(v)))
            .transpose()?;
        let redirect_patterns = change
            .redirect_patterns
            .as_deref()
            .map(patterns_json)
            .transpose()?;
        let stored = ConnectAppChange {
            redirect_url: change.redirect_url,
            display_name,
            logo_url,
            redirect_patterns,
            is_active: change.is_active,
            secret_encrypted: None,
        };
        let current = self.get(name).await?;
        let recorded = Change::of("connect_app", name, "updated")
            .fields_set(&record_json(&current), &change_json(&stored));
        let write = self.store.update_connect_app(name, &stored);
        found(recording(recorded, write), NOT_FOUND).await
    }

    /// Replaces an app's secret; the old one stops working at once. Returns the new one (shown
    /// once).
    pub async fn rotate_secret(
        &self,
        keys: &KeyRing,
        name: &str,
    ) -> Result<(ConnectAppRecord, String), ServiceError> {
        let secret = random_alphanumeric(32);
        let change = ConnectAppChange {
            secret_encrypted: Some(keys.seal_bytes(secret.as_bytes(), &seal_context(name))),
            ..ConnectAppChange::default()
        };
        let write = self.store.update_connect_app(name, &change);
        let rotated = Change::of("connect_app", name, "secret_rotated");
        let record = found(recording(rotated, write), NOT_FOUND).await?;
        Ok((record, secret))
    }

    pub async fn delete(&self, name: &str) -> Result<(), ServiceError> {
        let change = Change::of("connect_app", name, "deleted");
        if recording(change, self.store.delete_connect_app(name)).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound(NOT_FOUND))
        }
    }
}

const NOT_FOUND: &str = "No connect app found";

/// Where the sauce goes: the app's redirect URL, or `requested` when it matches one of the
/// app's patterns in full; either must pass today's rules (a URL stored before them may not).
pub fn redirect_for(
    app: &ConnectAppRecord,
    requested: Option<&str>,
    allow_http: bool,
) -> Result<String, ServiceError> {
    let Some(requested) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
        check_redirect_url(&app.redirect_url, allow_http)?;
        return Ok(app.redirect_url.clone());
    };
    if redirect_allowed(requested, &redirect_patterns(app), allow_http) {
        Ok(requested.to_owned())
    } else {
        Err(SignInError::BadInput("The redirect URL is not allowed for this app".into()).into())
    }
}

/// The sign-in request behind `/connect/<app>`: no scopes (so no consent), no code.
pub fn sign_in_request(app: &ConnectAppRecord, locale: String) -> AuthorizationRequest {
    AuthorizationRequest::started_by_server(
        format!("connect:{}", app.name),
        app.redirect_url.clone(),
        Vec::new(),
        locale,
    )
}

/// The URL that hands the signed-in user to the app: `<redirect>?sauce=…`, sealed now (apps
/// treat a sauce older than a few seconds as expired).
pub async fn sauce_redirect(
    state: &AppState,
    target: &ConnectTarget,
    user_id: UserId,
    now: i64,
) -> Result<String, ServiceError> {
    let app = state
        .store
        .connect_app(&target.app_name)
        .await?
        .filter(|a| a.is_active)
        .ok_or(ServiceError::NotFound("No connect app found"))?;
    let key = state
        .keys
        .open_bytes(&app.secret_encrypted, &seal_context(&app.name))?;
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    let claims = sauce_claims(
        user.id,
        user.email.as_deref().unwrap_or_default(),
        user.first_name.as_deref(),
        user.last_name.as_deref(),
        now,
    );
    let plaintext =
        serde_json::to_vec(&claims).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let sauce = seal_sauce(&key, &plaintext)
        .ok_or_else(|| ServiceError::Internal("the sauce could not be sealed".into()))?;
    let sep = if target.redirect_url.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(format!("{}{sep}sauce={sauce}", target.redirect_url))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::crypto::{Algorithm, MasterKey};
    use crate::services::fixture::{self, audit_row, audit_trail, AuditRow};

    async fn ring(store: &Store) -> KeyRing {
        KeyRing::load(
            store.clone(),
            MasterKey::generate(),
            Algorithm::Es256,
            Duration::from_secs(60),
        )
        .await
        .expect("a key ring")
    }

    fn new_app(name: &str) -> NewApp {
        NewApp {
            name: name.into(),
            redirect_url: "https://shop.example/connect".into(),
            display_name: Some("Shop".into()),
            logo_url: None,
            redirect_patterns: Vec::new(),
        }
    }

    /// The connect apps' rows of the audit trail (the key ring records its first key).
    async fn app_trail(store: &Store) -> Vec<AuditRow> {
        let mut trail = audit_trail(store).await;
        trail.retain(|row| row.0 == "connect_app");
        trail
    }

    #[tokio::test]
    async fn connect_app_changes_are_recorded_by_name_and_the_secret_never() {
        let store = fixture::store().await;
        let keys = ring(&store).await;
        let apps = ConnectApps::new(&store, false);
        apps.create(&keys, new_app("shop")).await.unwrap();
        let change = AppChange {
            display_name: Some(String::new()),
            redirect_patterns: Some(vec!["https://shop.example/*".into()]),
            is_active: Some(false),
            ..AppChange::default()
        };
        apps.update("shop", change).await.unwrap();
        apps.rotate_secret(&keys, "shop").await.unwrap();
        apps.delete("shop").await.unwrap();
        assert_eq!(
            app_trail(&store).await,
            [
                audit_row(
                    "connect_app",
                    "shop",
                    "created",
                    json!({
                        "name": [null, "shop"],
                        "redirectUrl": [null, "https://shop.example/connect"],
                        "displayName": [null, "Shop"],
                    })
                ),
                audit_row(
                    "connect_app",
                    "shop",
                    "updated",
                    json!({
                        "displayName": ["Shop", ""],
                        "redirectPatterns": [[], ["https://shop.example/*"]],
                        "isActive": [true, false],
                    })
                ),
                audit_row("connect_app", "shop", "secret_rotated", json!({})),
                audit_row("connect_app", "shop", "deleted", json!({})),
            ]
        );
    }

    #[tokio::test]
    async fn refused_connect_app_changes_record_nothing() {
        let store = fixture::store().await;
        let keys = ring(&store).await;
        let apps = ConnectApps::new(&store, false);
        apps.create(&keys, new_app("shop")).await.unwrap();
        assert!(apps.create(&keys, new_app("shop")).await.is_err());
        assert!(apps.create(&keys, new_app("Not Kebab")).await.is_err());
        let plain_http = AppChange {
            redirect_url: Some("http://shop.example/connect".into()),
            ..AppChange::default()
        };
        assert!(apps.update("shop", plain_http).await.is_err());
        assert!(apps.update("gone", AppChange::default()).await.is_err());
        assert!(apps.rotate_secret(&keys, "gone").await.is_err());
        assert!(apps.delete("gone").await.is_err());
        let trail = app_trail(&store).await;
        let actions: Vec<&str> = trail.iter().map(|row| row.2.as_str()).collect();
        assert_eq!(actions, ["created"]);
    }
}
