//! What the services' unit tests run on: a migrated in-memory SQLite store, the in-process
//! cache and a cheap password hasher.

use std::sync::Arc;

use gatehouse_core::grant::AppType;
use gatehouse_store::{AccountStore, App, AppStore, Cache, NewApp, NewSignUp, Store, UserRecord};

use crate::crypto::PasswordHasher;

pub(crate) async fn store() -> Store {
    Store::memory()
        .await
        .expect("an in-memory SQLite store opens and migrates")
}

pub(crate) fn cache() -> Cache {
    Cache::in_memory()
}

/// Argon2id at its smallest parameters: the tests check the flow, not the cost.
pub(crate) fn passwords() -> Arc<PasswordHasher> {
    Arc::new(PasswordHasher::new(8, 1, 1, 1).expect("minimal Argon2id parameters are valid"))
}

/// A signed-up account with this email and (when given) password.
pub(crate) async fn user(
    store: &Store,
    passwords: &PasswordHasher,
    email: &str,
    password: Option<&str>,
) -> UserRecord {
    let password_hash = match password {
        Some(p) => Some(passwords.hash(p.to_owned()).await.expect("hashes")),
        None => None,
    };
    store
        .insert_sign_up(&NewSignUp {
            auth_id: format!("auth-{email}"),
            email: email.to_owned(),
            password_hash,
            first_name: None,
            last_name: None,
            locale: "en".to_owned(),
        })
        .await
        .expect("the account is stored")
}

/// A single-page app `spa-client` that redirects to `https://app.example.com/cb`.
pub(crate) async fn spa_app(store: &Store) -> App {
    store
        .insert_app(NewApp {
            name: "spa".into(),
            app_type: AppType::Spa,
            client_id: "spa-client".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example.com/cb".into()],
            scopes: vec![],
            rotate_refresh_tokens: true,
            allow_device_flow: false,
            id_token_signed_response_alg: None,
            standard_claims: false,
            security: Default::default(),
            logout: Default::default(),
        })
        .await
        .expect("the app is stored")
}

/// One row of the audit trail: resource, resource id, action and `{field: [before, after]}`.
pub(crate) type AuditRow = (String, String, String, serde_json::Value);

/// The audit trail, oldest first.
pub(crate) async fn audit_trail(store: &Store) -> Vec<AuditRow> {
    use gatehouse_store::{AuditFilter, AuditStore};
    use serde_json::{json, Map, Value};
    let mut records = store
        .audit_records(&AuditFilter::default(), None, 1000)
        .await
        .expect("the audit trail reads");
    records.reverse();
    records
        .into_iter()
        .map(|r| {
            let fields: Map<String, Value> = r
                .changes
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let name = c["field"].as_str().unwrap_or_default().to_owned();
                    (name, json!([c["before"], c["after"]]))
                })
                .collect();
            (r.resource, r.resource_id, r.action, Value::Object(fields))
        })
        .collect()
}

/// An expected row of [`audit_trail`].
pub(crate) fn audit_row(
    resource: &str,
    id: impl ToString,
    action: &str,
    fields: serde_json::Value,
) -> AuditRow {
    (resource.into(), id.to_string(), action.into(), fields)
}
