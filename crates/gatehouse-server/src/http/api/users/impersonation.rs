//! `/api/v1/users/{authId}/impersonate`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::api::guard::{Guarded, Root};
use crate::http::api::json::ApiJson;
use crate::http::api::keyed::keyed_routes;
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImpersonationReq {
    /// A user access token of the acting admin, who must hold an impersonation role.
    #[serde(default)]
    pub impersonator_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImpersonationBody {
    /// Acts as the user in the app (scope `offline_access profile`); access tokens minted
    /// from it carry `impersonatedBy`.
    pub refresh_token: String,
    pub refresh_token_expires_in: u64,
    pub refresh_token_expires_on: i64,
}

keyed_routes! {
    tag "Users", key "authId" "The user to act as";

    /// Impersonate the user in a SPA app: returns a refresh token acting as them. Requires `root`.
    post "/api/v1/users/{authId}/impersonation/{appId}", Root ["root"];
    fn impersonate(state, _caller, auth_id / app_id: i64 "appId" "The SPA app",
        json body: ImpersonationReq) -> 200 ImpersonationBody [400, 401, 404] {
        let now = chrono::Utc::now().timestamp();
        let tokens = crate::services::user_tokens::impersonate(
            &state,
            &auth_id,
            app_id,
            &body.impersonator_token,
            now,
        )
        .await?;
        ImpersonationBody {
            refresh_token: tokens.refresh_token,
            refresh_token_expires_in: tokens.refresh_token_expires_in,
            refresh_token_expires_on: tokens.refresh_token_expires_on,
        }
    }
}
