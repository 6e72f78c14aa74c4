//! `/api/v1/users`: the user resource itself; what hangs off a user has a module of its own.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::format_timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::guard::{Guarded, ReadUser, WriteUser};
use super::json::ApiJson;
use super::orgs::OrgView;
use super::paging::{ListQuery, UsersPage};
use super::views::{user_views, ErrorBody, UserView};
use crate::http::error::ApiError;
use crate::services::users::{self, UserDetail, UserUpdate};
use crate::state::AppState;

pub(super) mod consents;
pub(super) mod factors;
pub(super) mod impersonation;
pub(super) mod invitations;
pub(super) mod linked_accounts;
pub(super) mod lockouts;
pub(super) mod org_memberships;
pub(super) mod sessions;

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
    /// Absent without `enable_org`; `null` for a user in no organization (Melody's shape).
    #[expect(
        clippy::option_option,
        reason = "absent and null mean different things here"
    )]
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
    Ok(Json(UsersPage {
        users: user_views(&state, &found),
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
