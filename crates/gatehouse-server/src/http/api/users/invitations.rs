//! `/api/v1/users/invitations`: inviting a user, renewing and revoking the invitation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{detail_view, success, SuccessBody, UserBody};
use crate::http::api::guard::{Guarded, WriteUser};
use crate::http::api::json::ApiJson;
use crate::http::api::keyed::keyed_routes;
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::users;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenewInvitationReq {
    pub locale: Option<String>,
    pub signin_url: Option<String>,
}

/// Invite a user: an inactive account with a pending invitation. Requires `write_user`;
/// privileged roles also require `root`.
#[utoipa::path(post, path = "/api/v1/users/invitations", tag = "Users", request_body = users::Invitation, security(("oauth2" = ["write_user"])),
    responses((status = 200, body = UserBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn invite(
    guard: Guarded<WriteUser>,
    State(state): State<AppState>,
    ApiJson(invitation): ApiJson<users::Invitation>,
) -> Result<Json<UserBody>, ApiError> {
    check_signin_url(invitation.sign_in_url.as_deref())?;
    let detail = users::invite(&state, &guard.caller.authority(), invitation).await?;
    Ok(Json(UserBody {
        user: detail_view(&state, &detail),
    }))
}

keyed_routes! {
    tag "Users", key "authId" "The invited user's authId";

    /// Renew a pending invitation (new token and expiry). Requires `write_user`.
    post "/api/v1/users/invitations/{authId}", WriteUser ["write_user"];
    fn renew_invitation(state, _caller, auth_id, json body: RenewInvitationReq)
    -> 200 SuccessBody [400, 401, 404] {
        check_signin_url(body.signin_url.as_deref())?;
        if body
            .locale
            .as_ref()
            .is_some_and(|l| !state.config.supported_locales.contains(l))
        {
            return Err(ApiError::bad_request(
                "locale must be one of the supported locales".into(),
            ));
        }
        users::renew_invitation(
            &state,
            &auth_id,
            body.locale.as_deref(),
            body.signin_url.as_deref(),
        )
        .await?;
        success()
    }

    /// Withdraw a pending invitation (the user stays inactive). Requires `write_user`.
    delete "/api/v1/users/invitations/{authId}", WriteUser ["write_user"];
    fn revoke_invitation(state, _caller, auth_id) -> 204 [400, 401, 404] {
        users::revoke_invitation(&state.store, &auth_id).await?
    }
}

/// The link an invitation leads to must be an absolute URI (it ends up in an email).
fn check_signin_url(url: Option<&str>) -> Result<(), ApiError> {
    match url {
        Some(url) => gatehouse_core::admin::redirect_uri(url, true)
            .map(|_| ())
            .map_err(|_| ApiError::bad_request("signinUrl must be an absolute URL".into())),
        None => Ok(()),
    }
}
