//! `/api/v1/users/{authId}/link`: two accounts linked to each other.

use axum::extract::State;
use axum::Json;

use super::{success, SuccessBody};
use crate::http::api::guard::{Guarded, WriteUser};
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::users;
use crate::state::AppState;

user_routes! {
    /// Link two accounts to each other. Requires `write_user`; a holder of a protected role on either
    /// side also requires `root`.
    post "/api/v1/users/{authId}/account-linking/{linkingAuthId}", WriteUser ["write_user"];
    fn link(state, caller, auth_id / target: String "linkingAuthId" "The account to link")
    -> 200 SuccessBody [400, 401, 404] {
        users::link(&state, &caller.authority(), &auth_id, &target).await?;
        success()
    }

    /// Unlink the user's linked account (both sides). Requires `write_user`; a holder of a protected
    /// role on either side also requires `root`.
    delete "/api/v1/users/{authId}/account-linking", WriteUser ["write_user"];
    fn unlink(state, caller, auth_id) -> 200 SuccessBody [401, 404] {
        users::unlink(&state, &caller.authority(), &auth_id).await?;
        success()
    }
}
