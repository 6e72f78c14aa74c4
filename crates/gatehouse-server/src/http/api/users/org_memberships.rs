//! `/api/v1/users/{authId}/orgs` and the user's organization groups.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{id_param, success, SuccessBody};
use crate::http::api::guard::{
    Enabled, Guarded, OrgFeature, OrgGroupFeature, ReadOrgAndUser, WriteOrgAndUser,
};
use crate::http::api::json::ApiJson;
use crate::http::api::orgs::OrgsBody;
use crate::http::api::views::ErrorBody;
use crate::http::error::ApiError;
use crate::services::users;
use crate::state::AppState;

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
    Path(ids): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    set_org_group(&state, ids, true).await
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
    Path(ids): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    set_org_group(&state, ids, false).await
}

async fn set_org_group(
    state: &AppState,
    (auth_id, group): (String, String),
    member: bool,
) -> Result<Json<serde_json::Value>, ApiError> {
    let group = id_param(&group, "orgGroupId")?;
    users::set_org_group(&state.store, &auth_id, group, member).await?;
    Ok(success())
}
