//! A user's MFA types (`email-mfa`, `otp-mfa`, `sms-mfa`) and passkeys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_core::signin::MfaType;
use gatehouse_store::format_timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::id_param;
use crate::http::api::guard::{Guarded, ReadUser, WriteUser};
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::users;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyView {
    pub id: i64,
    pub credential_id: String,
    pub counter: i64,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeysBody {
    pub passkeys: Vec<PasskeyView>,
}

macro_rules! mfa_routes {
    ($($enroll:ident, $reset:ident, $kind:literal, $variant:ident, $path:literal;)*) => {$(
        #[doc = concat!("Enroll the user in ", $kind, " MFA. Requires `write_user`; a holder of a protected role also requires `root`.")]
        #[utoipa::path(post, path = $path, tag = "Users", security(("oauth2" = ["write_user"])),
            params(("authId" = String, Path, description = "The user's authId")),
            responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
        pub async fn $enroll(guard: Guarded<WriteUser>, State(state): State<AppState>, Path(auth_id): Path<String>) -> Result<StatusCode, ApiError> {
            users::set_mfa(&state, &guard.caller.authority(), &auth_id, MfaType::$variant, true).await?;
            Ok(StatusCode::NO_CONTENT)
        }

        #[doc = concat!("Reset the user's ", $kind, " MFA (its secrets are removed). Requires `write_user`; a holder of a protected role also requires `root`.")]
        #[utoipa::path(delete, path = $path, tag = "Users", security(("oauth2" = ["write_user"])),
            params(("authId" = String, Path, description = "The user's authId")),
            responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
        pub async fn $reset(guard: Guarded<WriteUser>, State(state): State<AppState>, Path(auth_id): Path<String>) -> Result<StatusCode, ApiError> {
            users::set_mfa(&state, &guard.caller.authority(), &auth_id, MfaType::$variant, false).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    )*};
}

mfa_routes! {
    enroll_email_mfa, reset_email_mfa, "email", Email, "/api/v1/users/{authId}/email-mfa";
    enroll_otp_mfa, reset_otp_mfa, "otp", Otp, "/api/v1/users/{authId}/otp-mfa";
    enroll_sms_mfa, reset_sms_mfa, "sms", Sms, "/api/v1/users/{authId}/sms-mfa";
}

/// The user's passkeys. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/users/{authId}/passkeys", tag = "Users", security(("oauth2" = ["read_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = PasskeysBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn passkeys(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<PasskeysBody>, ApiError> {
    let found = users::passkeys(&state.store, &auth_id).await?;
    Ok(Json(PasskeysBody {
        passkeys: found
            .iter()
            .map(|p| PasskeyView {
                id: p.id,
                credential_id: p.credential_id.clone(),
                counter: p.counter,
                created_at: format_timestamp(&p.created_at),
                updated_at: format_timestamp(&p.updated_at),
                deleted_at: None,
            })
            .collect(),
    }))
}

/// Remove one of the user's passkeys. Requires `write_user`; a holder of a protected role also
/// requires `root`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/passkeys/{passkeyId}", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId"), ("passkeyId" = i64, Path, description = "The passkey's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_passkey(
    guard: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path((auth_id, passkey_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let passkey_id = id_param(&passkey_id, "passkeyId")?;
    users::delete_passkey(&state, &guard.caller.authority(), &auth_id, passkey_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
