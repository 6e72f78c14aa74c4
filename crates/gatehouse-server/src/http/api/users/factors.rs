//! A user's MFA types (`email-mfa`, `otp-mfa`, `sms-mfa`) and passkeys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_core::signin::MfaType;
use gatehouse_store::format_timestamp;
use serde::Serialize;
use utoipa::ToSchema;

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
        user_routes! {
            #[doc = concat!("Enroll the user in ", $kind, " MFA. Requires `write_user`; a holder of a protected role also requires `root`.")]
            post $path, WriteUser ["write_user"];
            fn $enroll(state, caller, auth_id) -> 204 [401, 404] {
                users::set_mfa(&state, &caller.authority(), &auth_id, MfaType::$variant, true).await?
            }

            #[doc = concat!("Reset the user's ", $kind, " MFA (its secrets are removed). Requires `write_user`; a holder of a protected role also requires `root`.")]
            delete $path, WriteUser ["write_user"];
            fn $reset(state, caller, auth_id) -> 204 [401, 404] {
                users::set_mfa(&state, &caller.authority(), &auth_id, MfaType::$variant, false).await?
            }
        }
    )*};
}

mfa_routes! {
    enroll_email_mfa, reset_email_mfa, "email", Email, "/api/v1/users/{authId}/email-mfa";
    enroll_otp_mfa, reset_otp_mfa, "otp", Otp, "/api/v1/users/{authId}/otp-mfa";
    enroll_sms_mfa, reset_sms_mfa, "sms", Sms, "/api/v1/users/{authId}/sms-mfa";
}

user_routes! {
    /// The user's passkeys. Requires `read_user`.
    get "/api/v1/users/{authId}/passkeys", ReadUser ["read_user"];
    fn passkeys(state, _caller, auth_id) -> 200 PasskeysBody [401, 404] {
        let found = users::passkeys(&state.store, &auth_id).await?;
        PasskeysBody {
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
        }
    }

    /// Remove one of the user's passkeys. Requires `write_user`; a holder of a protected role also
    /// requires `root`.
    delete "/api/v1/users/{authId}/passkeys/{passkeyId}", WriteUser ["write_user"];
    fn delete_passkey(state, caller, auth_id / passkey_id: i64 "passkeyId" "The passkey's id")
    -> 204 [400, 401, 404] {
        users::delete_passkey(&state, &caller.authority(), &auth_id, passkey_id).await?
    }
}
