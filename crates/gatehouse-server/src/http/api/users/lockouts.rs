//! `/api/v1/users/{authId}/locked-ips`: where the user is locked out, and unlocking them.

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
pub struct LockedIpsBody {
    /// IP addresses locked out for this user's email (`""`: locked whatever the IP).
    #[serde(rename = "lockedIPs")]
    pub locked_ips: Vec<String>,
}

user_routes! {
    /// Where the user is locked out after too many wrong passwords. Requires `read_user`.
    get "/api/v1/users/{authId}/locked-ips", ReadUser ["read_user"];
    fn locked_ips(state, _caller, auth_id) -> 200 LockedIpsBody [401, 404] {
        LockedIpsBody {
            locked_ips: users::locked_ips(&state, &auth_id).await?,
        }
    }

    /// Clear every lockout of the user's email. Requires `write_user`.
    delete "/api/v1/users/{authId}/locked-ips", WriteUser ["write_user"];
    fn unlock(state, _caller, auth_id) -> 204 [401, 404] {
        users::unlock(&state, &auth_id).await?
    }
}
