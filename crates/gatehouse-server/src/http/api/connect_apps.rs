//! `/api/v1/connect-apps`: the ePass connect apps behind `/connect/<name>`. The secret (the key
//! that seals each sauce) is shown once, when the app is made or its secret replaced.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::{format_timestamp, ConnectAppRecord};
use serde::Serialize;
use utoipa::ToSchema;

use super::guard::{Guarded, ReadApp, WriteApp};
use super::json::ApiJson;
use super::keyed::keyed_routes;
use super::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::connect::{self, AppChange, NewApp};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAppView {
    pub id: i64,
    /// The app's name in `/connect/<name>`.
    pub name: String,
    /// Where the signed-in user is sent with the sauce.
    pub redirect_url: String,
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    /// Other redirect URLs the app may ask for with `?redirect=`; each must match in full.
    pub redirect_patterns: Vec<String>,
    pub is_active: bool,
    /// Where the app sends its users.
    pub sign_in_url: String,
    pub created_at: String,
    pub updated_at: String,
}

impl ConnectAppView {
    fn new(app: &ConnectAppRecord, issuer: &str) -> Self {
        Self {
            id: app.id,
            name: app.name.clone(),
            redirect_url: app.redirect_url.clone(),
            display_name: app.display_name.clone(),
            logo_url: app.logo_url.clone(),
            redirect_patterns: connect::redirect_patterns(app),
            is_active: app.is_active,
            sign_in_url: format!("{issuer}/connect/{}", app.name),
            created_at: format_timestamp(&app.created_at),
            updated_at: format_timestamp(&app.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAppsBody {
    pub connect_apps: Vec<ConnectAppView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAppBody {
    pub connect_app: ConnectAppView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAppSecretBody {
    pub connect_app: ConnectAppView,
    /// The app secret: 32 letters and digits, the AES-256 key of its sauces. Shown only now.
    pub secret: String,
}

/// List ePass connect apps. Requires `read_app`.
#[utoipa::path(get, path = "/api/v1/connect-apps", tag = "Connect apps", security(("oauth2" = ["read_app"])),
    responses((status = 200, body = ConnectAppsBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    _: Guarded<ReadApp>,
    State(state): State<AppState>,
) -> Result<Json<ConnectAppsBody>, ApiError> {
    let apps = state.connect_apps().list().await?;
    Ok(Json(ConnectAppsBody {
        connect_apps: apps
            .iter()
            .map(|a| ConnectAppView::new(a, &state.config.issuer))
            .collect(),
    }))
}

/// Create an ePass connect app; the answer carries its secret, shown only now. Requires `write_app`.
#[utoipa::path(post, path = "/api/v1/connect-apps", tag = "Connect apps", request_body = NewApp, security(("oauth2" = ["write_app"])),
    responses((status = 201, body = ConnectAppSecretBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    _: Guarded<WriteApp>,
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewApp>,
) -> Result<(StatusCode, Json<ConnectAppSecretBody>), ApiError> {
    let (app, secret) = state.connect_apps().create(&state.keys, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(ConnectAppSecretBody {
            connect_app: ConnectAppView::new(&app, &state.config.issuer),
            secret,
        }),
    ))
}

keyed_routes! {
    tag "Connect apps", key "name" "The app's name";

    /// Get an ePass connect app. Requires `read_app`.
    get "/api/v1/connect-apps/{name}", ReadApp ["read_app"];
    fn get(state, _caller, name) -> 200 ConnectAppBody [401, 404] {
        let app = state.connect_apps().get(&name).await?;
        ConnectAppBody {
            connect_app: ConnectAppView::new(&app, &state.config.issuer),
        }
    }

    /// Update an ePass connect app (the name stays). Requires `write_app`.
    put "/api/v1/connect-apps/{name}", WriteApp ["write_app"];
    fn update(state, _caller, name, json change: AppChange)
    -> 200 ConnectAppBody [400, 401, 404] {
        let app = state.connect_apps().update(&name, change)
        .await?;
        ConnectAppBody {
            connect_app: ConnectAppView::new(&app, &state.config.issuer),
        }
    }

    /// Replace an ePass connect app's secret; the old one stops working at once. Requires `write_app`.
    post "/api/v1/connect-apps/{name}/secret", WriteApp ["write_app"];
    fn rotate_secret(state, _caller, name) -> 200 ConnectAppSecretBody [401, 404] {
        let (app, secret) = state.connect_apps().rotate_secret(&state.keys, &name).await?;
        ConnectAppSecretBody {
            connect_app: ConnectAppView::new(&app, &state.config.issuer),
            secret,
        }
    }

    /// Delete an ePass connect app. Requires `write_app`.
    delete "/api/v1/connect-apps/{name}", WriteApp ["write_app"];
    fn delete(state, _caller, name) -> 204 [401, 404] {
        state.connect_apps().delete(&name).await?
    }
}
