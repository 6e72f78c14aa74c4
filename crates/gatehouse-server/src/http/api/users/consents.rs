//! `/api/v1/users/{authId}/consented-apps`: the apps a user consented to.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::api::guard::{Guarded, ReadUser, WriteUser};
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::users;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentedApp {
    pub app_id: i64,
    pub app_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentedAppsBody {
    pub consented_apps: Vec<ConsentedApp>,
}

user_routes! {
    /// Apps the user consented to. Requires `read_user`.
    get "/api/v1/users/{authId}/consented-apps", ReadUser ["read_user"];
    fn consented_apps(state, _caller, auth_id) -> 200 ConsentedAppsBody [401, 404] {
        let apps = users::consented_apps(&state.store, &auth_id).await?;
        ConsentedAppsBody {
            consented_apps: apps
                .into_iter()
                .map(|(app_id, app_name)| ConsentedApp { app_id, app_name })
                .collect(),
        }
    }

    /// Revoke the user's consent to an app. Requires `write_user`.
    delete "/api/v1/users/{authId}/consented-apps/{appId}", WriteUser ["write_user"];
    fn revoke_consent(state, _caller, auth_id / app_id: i64 "appId" "The app's id")
    -> 204 [400, 401, 404] {
        users::revoke_consent(&state.store, &auth_id, app_id).await?
    }
}
