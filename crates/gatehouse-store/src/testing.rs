//! Fixtures for the store's unit tests: a fresh in-memory store, a user, an app, fixed times.

use chrono::{NaiveDate, NaiveDateTime};

use crate::{AccountStore, App, AppStore, NewApp, NewSignUp, Store, UserRecord};

/// A migrated, empty in-memory store.
pub(crate) async fn store() -> Store {
    Store::memory()
        .await
        .expect("an in-memory store opens and migrates")
}

/// A signed-up password account with this email.
pub(crate) async fn user(store: &Store, email: &str) -> UserRecord {
    let sign_up = NewSignUp {
        auth_id: format!("auth-{email}"),
        email: email.into(),
        password_hash: Some("hash".into()),
        first_name: None,
        last_name: None,
        locale: "en".into(),
    };
    store.insert_sign_up(&sign_up).await.expect("sign-up")
}

/// A public app with this client id.
pub(crate) async fn app(store: &Store, client_id: &str) -> App {
    let app = NewApp {
        name: client_id.into(),
        app_type: gatehouse_core::grant::AppType::Spa,
        client_id: client_id.into(),
        secret_hash: None,
        redirect_uris: vec!["https://app.example/cb".into()],
        scopes: Vec::new(),
        rotate_refresh_tokens: true,
        allow_device_flow: false,
        id_token_signed_response_alg: None,
        standard_claims: false,
        security: Default::default(),
        logout: Default::default(),
    };
    store.insert_app(app).await.expect("app")
}

/// `hour` o'clock on a fixed day, for the times tests pass as `now` or as expiries.
pub(crate) fn at(hour: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2030, 1, 1)
        .and_then(|day| day.and_hms_opt(hour, 0, 0))
        .expect("a valid time")
}
