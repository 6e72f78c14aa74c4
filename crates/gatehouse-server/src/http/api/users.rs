//! `/api/v1/users`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::format_timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::guard::{
    Enabled, Guarded, OrgFeature, OrgGroupFeature, ReadOrgAndUser, ReadUser, Root, WriteOrgAndUser,
    WriteUser,
};
use super::json::ApiJson;
use super::orgs::{OrgView, OrgsBody};
use super::paging::{ListQuery, UsersPage};
use super::views::{ErrorBody, UserView};
use crate::http::error::ApiError;
use crate::services::users::{self, UserDetail, UserUpdate};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgGroupRef {
    pub id: i64,
    pub name: String,
}

/// A user with roles and, when those features are on, attributes, organization and groups.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDetailView {
    #[serde(flatten)]
    pub user: UserView,
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<Option<OrgView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_groups: Option<Vec<OrgGroupRef>>,
    /// With `link_social_accounts_at_sign_in`: provider identities linked to the account at
    /// sign-in (Gatehouse's; Melody has no such field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked_identities: Option<Vec<LinkedIdentityView>>,
}

/// A provider identity linked to the account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkedIdentityView {
    pub id: i64,
    pub provider: String,
    pub subject: String,
    pub created_at: String,
}

fn detail_view(state: &AppState, d: &UserDetail) -> UserDetailView {
    UserDetailView {
        user: UserView::new(&d.user, state.config.enable_names),
        roles: d.roles.clone(),
        attributes: d.attributes.clone(),
        org: d.org.as_ref().map(|o| o.as_ref().map(OrgView::from)),
        org_groups: d.org_groups.as_ref().map(|groups| {
            groups
                .iter()
                .map(|(id, name)| OrgGroupRef {
                    id: *id,
                    name: name.clone(),
                })
                .collect()
        }),
        linked_identities: d.linked_identities.as_ref().map(|identities| {
            identities
                .iter()
                .map(|i| LinkedIdentityView {
                    id: i.id,
                    provider: i.provider.clone(),
                    subject: i.subject.clone(),
                    created_at: format_timestamp(&i.created_at),
                })
                .collect()
        }),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub user: UserDetailView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PutUserReq {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// One of the supported locales.
    pub locale: Option<String>,
    /// The active organization; the user must be a member.
    pub org_slug: Option<String>,
    pub is_active: Option<bool>,
    /// Replaces the user's roles (unknown names are ignored). Privileged roles need `root`.
    pub roles: Option<Vec<String>>,
    /// Attribute id → value, or null to remove it.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<BTreeMap<String, Option<String>>>,
}

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

#[derive(Debug, Serialize, ToSchema)]
pub struct SuccessBody {
    pub success: bool,
}

fn success() -> Json<serde_json::Value> {
    Json(json!({ "success": true }))
}

fn id_param(raw: &str, name: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be a positive integer")))
}

/// List users, paged and searched. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/users", tag = "Users", security(("oauth2" = ["read_user"])),
    params(ListQuery),
    responses((status = 200, body = UsersPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    query: ListQuery,
) -> Result<Json<UsersPage>, ApiError> {
    let (found, count) = users::list(&state.store, query.search.as_deref(), query.page()).await?;
    let with_names = state.config.enable_names;
    Ok(Json(UsersPage {
        users: found.iter().map(|u| UserView::new(u, with_names)).collect(),
        count,
    }))
}

/// Get a user with roles (and attributes, organization and groups when enabled). Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/users/{authId}", tag = "Users", security(("oauth2" = ["read_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = UserBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<UserBody>, ApiError> {
    let detail = users::detail(&state, &auth_id).await?;
    Ok(Json(UserBody {
        user: detail_view(&state, &detail),
    }))
}

/// Update a user. Requires `write_user`; giving or taking away a protected role (`privileged_roles`,
/// `impersonation_roles`, `admin_panel_roles`), or disabling or enabling a holder of one, also
/// requires `root`.
#[utoipa::path(put, path = "/api/v1/users/{authId}", tag = "Users", request_body = PutUserReq, security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = UserBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    guard: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
    ApiJson(body): ApiJson<PutUserReq>,
) -> Result<Json<UserBody>, ApiError> {
    let attributes = body
        .attributes
        .map(|values| {
            values
                .into_iter()
                .map(|(id, value)| Ok((id_param(&id, "attribute id")?, value)))
                .collect::<Result<BTreeMap<_, _>, ApiError>>()
        })
        .transpose()?;
    let update = UserUpdate {
        first_name: body.first_name,
        last_name: body.last_name,
        locale: body.locale,
        org_slug: body.org_slug,
        is_active: body.is_active,
        roles: body.roles,
        attributes,
    };
    let detail = users::update(&state, &guard.caller.authority(), &auth_id, update).await?;
    Ok(Json(UserBody {
        user: detail_view(&state, &detail),
    }))
}

/// Delete a user (and their roles, consents and memberships). Requires `write_user`; a holder of
/// a protected role also requires `root`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    guard: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    users::delete(&state, &guard.caller.authority(), &auth_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Apps the user consented to. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/users/{authId}/consented-apps", tag = "Users", security(("oauth2" = ["read_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = ConsentedAppsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn consented_apps(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<ConsentedAppsBody>, ApiError> {
    let apps = users::consented_apps(&state.store, &auth_id).await?;
    Ok(Json(ConsentedAppsBody {
        consented_apps: apps
            .into_iter()
            .map(|(app_id, app_name)| ConsentedApp { app_id, app_name })
            .collect(),
    }))
}

/// Revoke the user's consent to an app. Requires `write_user`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/consented-apps/{appId}", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId"), ("appId" = i64, Path, description = "The app's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_consent(
    _: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path((auth_id, app_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    users::revoke_consent(&state.store, &auth_id, id_param(&app_id, "appId")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

/// Impersonate the user in a SPA app: returns a refresh token acting as them. Requires `root`.
#[utoipa::path(post, path = "/api/v1/users/{authId}/impersonation/{appId}", tag = "Users", request_body = ImpersonationReq, security(("oauth2" = ["root"])),
    params(("authId" = String, Path, description = "The user to act as"), ("appId" = i64, Path, description = "The SPA app")),
    responses((status = 200, body = ImpersonationBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn impersonate(
    _: Guarded<Root>,
    State(state): State<AppState>,
    Path((auth_id, app_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ImpersonationReq>,
) -> Result<Json<ImpersonationBody>, ApiError> {
    let app_id = id_param(&app_id, "appId")?;
    let now = chrono::Utc::now().timestamp();
    let tokens = crate::services::user_tokens::impersonate(
        &state,
        &auth_id,
        app_id,
        &body.impersonator_token,
        now,
    )
    .await?;
    Ok(Json(ImpersonationBody {
        refresh_token: tokens.refresh_token,
        refresh_token_expires_in: tokens.refresh_token_expires_in,
        refresh_token_expires_on: tokens.refresh_token_expires_on,
    }))
}

/// Link two accounts to each other. Requires `write_user`; a holder of a protected role on either
/// side also requires `root`.
#[utoipa::path(post, path = "/api/v1/users/{authId}/account-linking/{linkingAuthId}", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId"), ("linkingAuthId" = String, Path, description = "The account to link")),
    responses((status = 200, body = SuccessBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn link(
    guard: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path((auth_id, target)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    users::link(&state, &guard.caller.authority(), &auth_id, &target).await?;
    Ok(success())
}

/// Unlink the user's linked account (both sides). Requires `write_user`; a holder of a protected
/// role on either side also requires `root`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/account-linking", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = SuccessBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlink(
    guard: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    users::unlink(&state, &guard.caller.authority(), &auth_id).await?;
    Ok(success())
}

macro_rules! mfa_routes {
    ($($enroll:ident, $reset:ident, $kind:literal, $path:literal;)*) => {$(
        #[doc = concat!("Enroll the user in ", $kind, " MFA. Requires `write_user`; a holder of a protected role also requires `root`.")]
        #[utoipa::path(post, path = $path, tag = "Users", security(("oauth2" = ["write_user"])),
            params(("authId" = String, Path, description = "The user's authId")),
            responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
        pub async fn $enroll(guard: Guarded<WriteUser>, State(state): State<AppState>, Path(auth_id): Path<String>) -> Result<StatusCode, ApiError> {
            users::set_mfa(&state, &guard.caller.authority(), &auth_id, $kind, true).await?;
            Ok(StatusCode::NO_CONTENT)
        }

        #[doc = concat!("Reset the user's ", $kind, " MFA (its secrets are removed). Requires `write_user`; a holder of a protected role also requires `root`.")]
        #[utoipa::path(delete, path = $path, tag = "Users", security(("oauth2" = ["write_user"])),
            params(("authId" = String, Path, description = "The user's authId")),
            responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
        pub async fn $reset(guard: Guarded<WriteUser>, State(state): State<AppState>, Path(auth_id): Path<String>) -> Result<StatusCode, ApiError> {
            users::set_mfa(&state, &guard.caller.authority(), &auth_id, $kind, false).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    )*};
}

mfa_routes! {
    enroll_email_mfa, reset_email_mfa, "email", "/api/v1/users/{authId}/email-mfa";
    enroll_otp_mfa, reset_otp_mfa, "otp", "/api/v1/users/{authId}/otp-mfa";
    enroll_sms_mfa, reset_sms_mfa, "sms", "/api/v1/users/{authId}/sms-mfa";
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

#[derive(Debug, Deserialize, ToSchema)]
pub struct PostUserOrgsReq {
    /// Organization ids; replaces the user's memberships.
    pub orgs: Vec<i64>,
}

/// The organizations the user belongs to. Requires `read_user` and `read_org`.
#[utoipa::path(get, path = "/api/v1/users/{authId}/orgs", tag = "Users", security(("oauth2" = ["read_user", "read_org"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = OrgsBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn orgs(
    _: Guarded<ReadOrgAndUser>,
    _: Enabled<OrgFeature>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<OrgsBody>, ApiError> {
    let found = users::orgs(&state.store, &auth_id).await?;
    Ok(Json(OrgsBody {
        orgs: found.iter().map(Into::into).collect(),
    }))
}

/// Replace the user's organization memberships. Requires `write_user` and `write_org`.
#[utoipa::path(post, path = "/api/v1/users/{authId}/orgs", tag = "Users", request_body = PostUserOrgsReq, security(("oauth2" = ["write_user", "write_org"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = SuccessBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_orgs(
    _: Guarded<WriteOrgAndUser>,
    _: Enabled<OrgFeature>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
    ApiJson(body): ApiJson<PostUserOrgsReq>,
) -> Result<Json<serde_json::Value>, ApiError> {
    users::set_orgs(&state.store, &auth_id, &body.orgs).await?;
    Ok(success())
}

/// Add the user to a group of their active organization. Requires `write_user` and `write_org`.
#[utoipa::path(post, path = "/api/v1/users/{authId}/org-groups/{orgGroupId}", tag = "Users", security(("oauth2" = ["write_user", "write_org"])),
    params(("authId" = String, Path, description = "The user's authId"), ("orgGroupId" = i64, Path, description = "The group's id")),
    responses((status = 200, body = SuccessBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn join_org_group(
    _: Guarded<WriteOrgAndUser>,
    _: Enabled<OrgFeature>,
    _: Enabled<OrgGroupFeature>,
    State(state): State<AppState>,
    Path((auth_id, group)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    users::set_org_group(
        &state.store,
        &auth_id,
        id_param(&group, "orgGroupId")?,
        true,
    )
    .await?;
    Ok(success())
}

/// Remove the user from an organization group. Requires `write_user` and `write_org`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/org-groups/{orgGroupId}", tag = "Users", security(("oauth2" = ["write_user", "write_org"])),
    params(("authId" = String, Path, description = "The user's authId"), ("orgGroupId" = i64, Path, description = "The group's id")),
    responses((status = 200, body = SuccessBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn leave_org_group(
    _: Guarded<WriteOrgAndUser>,
    _: Enabled<OrgFeature>,
    _: Enabled<OrgGroupFeature>,
    State(state): State<AppState>,
    Path((auth_id, group)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    users::set_org_group(
        &state.store,
        &auth_id,
        id_param(&group, "orgGroupId")?,
        false,
    )
    .await?;
    Ok(success())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostInvitationReq {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    /// The organization the user joins (not a branding-only one).
    pub org_slug: Option<String>,
    /// Role names; privileged roles need `root`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Where the accepted invitation leads (used by the invitation email).
    pub signin_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenewInvitationReq {
    pub locale: Option<String>,
    pub signin_url: Option<String>,
}

/// Invite a user: an inactive account with a pending invitation. Requires `write_user`;
/// privileged roles also require `root`.
#[utoipa::path(post, path = "/api/v1/users/invitations", tag = "Users", request_body = PostInvitationReq, security(("oauth2" = ["write_user"])),
    responses((status = 200, body = UserBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn invite(
    guard: Guarded<WriteUser>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PostInvitationReq>,
) -> Result<Json<UserBody>, ApiError> {
    check_signin_url(body.signin_url.as_deref())?;
    let invitation = users::Invitation {
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        locale: body.locale,
        org_slug: body.org_slug,
        roles: body.roles,
        sign_in_url: body.signin_url,
    };
    let detail = users::invite(&state, &guard.caller.authority(), invitation).await?;
    Ok(Json(UserBody {
        user: detail_view(&state, &detail),
    }))
}

/// Renew a pending invitation (new token and expiry). Requires `write_user`.
#[utoipa::path(post, path = "/api/v1/users/invitations/{authId}", tag = "Users", request_body = RenewInvitationReq, security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The invited user's authId")),
    responses((status = 200, body = SuccessBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn renew_invitation(
    _: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
    ApiJson(body): ApiJson<RenewInvitationReq>,
) -> Result<Json<serde_json::Value>, ApiError> {
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
    Ok(success())
}

/// Withdraw a pending invitation (the user stays inactive). Requires `write_user`.
#[utoipa::path(delete, path = "/api/v1/users/invitations/{authId}", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The invited user's authId")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_invitation(
    _: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    users::revoke_invitation(&state.store, &auth_id).await?;
    Ok(StatusCode::NO_CONTENT)
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

#[derive(Debug, Serialize, ToSchema)]
pub struct LockedIpsBody {
    /// IP addresses locked out for this user's email (`""`: locked whatever the IP).
    #[serde(rename = "lockedIPs")]
    pub locked_ips: Vec<String>,
}

/// Email the user a new verification code. Requires `write_user`.
#[utoipa::path(post, path = "/api/v1/users/{authId}/verify-email", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = SuccessBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn send_verification_email(
    _: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    users::send_verification_email(&state, &auth_id).await?;
    Ok(success())
}

/// Where the user is locked out after too many wrong passwords. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/users/{authId}/locked-ips", tag = "Users", security(("oauth2" = ["read_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = LockedIpsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn locked_ips(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<LockedIpsBody>, ApiError> {
    Ok(Json(LockedIpsBody {
        locked_ips: users::locked_ips(&state, &auth_id).await?,
    }))
}

/// Clear every lockout of the user's email. Requires `write_user`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/locked-ips", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock(
    _: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    users::unlock(&state, &auth_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSessionView {
    /// Identifies the session (its refresh-token family); never a token.
    pub session_id: String,
    pub auth_id: String,
    pub client_id: String,
    pub scope: String,
    pub roles: Vec<String>,
    /// When the current refresh token expires (`YYYY-MM-DD HH:MM:SS` UTC).
    pub expired_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<String>,
}

/// A signed-in browser: the single sign-on session shared by every app it visits.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrowserSessionView {
    /// `browser-<n>`; end it with `DELETE …/active-sessions/{sessionId}`.
    pub session_id: String,
    pub auth_id: String,
    /// When the user last entered their credentials (`YYYY-MM-DD HH:MM:SS` UTC).
    pub signed_in_at: String,
    pub last_seen_at: String,
    pub expired_at: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSessionsBody {
    pub active_sessions: Vec<ActiveSessionView>,
    /// Gatehouse's addition: the browsers signed in as this user.
    pub browser_sessions: Vec<BrowserSessionView>,
}

/// The user's active sessions: one per live refresh-token family, and one per signed-in
/// browser. Requires `read_user`.
#[utoipa::path(get, path = "/api/v1/users/{authId}/active-sessions", tag = "Users", security(("oauth2" = ["read_user"])),
    params(("authId" = String, Path, description = "The user's authId")),
    responses((status = 200, body = ActiveSessionsBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn active_sessions(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    Path(auth_id): Path<String>,
) -> Result<Json<ActiveSessionsBody>, ApiError> {
    let sessions = users::active_sessions(&state.store, &auth_id).await?;
    let user = &sessions.user;
    Ok(Json(ActiveSessionsBody {
        browser_sessions: sessions
            .browser_sessions
            .iter()
            .map(|b| BrowserSessionView {
                session_id: format!("{}{}", users::BROWSER_SESSION_PREFIX, b.id),
                auth_id: user.auth_id.clone(),
                signed_in_at: format_timestamp(&b.auth_time),
                last_seen_at: format_timestamp(&b.last_seen_at),
                expired_at: format_timestamp(&b.expires_at),
                ip_address: b.ip.clone(),
                user_agent: b.user_agent.clone(),
            })
            .collect(),
        active_sessions: sessions
            .token_sessions
            .into_iter()
            .map(|s| ActiveSessionView {
                session_id: s.family_id,
                auth_id: user.auth_id.clone(),
                client_id: s.client_id,
                scope: s.scope,
                roles: serde_json::from_str(&s.roles).unwrap_or_default(),
                expired_at: format_timestamp(&s.expires_at),
                impersonated_by: s.impersonated_by,
            })
            .collect(),
    }))
}

/// End one of the user's sessions: a refresh-token family (its tokens stop working) or a
/// browser session (`browser-<n>`: that browser must sign in again). Requires `write_user`.
#[utoipa::path(delete, path = "/api/v1/users/{authId}/active-sessions/{sessionId}", tag = "Users", security(("oauth2" = ["write_user"])),
    params(("authId" = String, Path, description = "The user's authId"), ("sessionId" = String, Path, description = "The session's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_session(
    _: Guarded<WriteUser>,
    State(state): State<AppState>,
    Path((auth_id, session_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    users::end_session(&state.store, &auth_id, &session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
