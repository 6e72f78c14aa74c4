//! `/api/v1/users/{authId}/orgs` and the user's organization groups.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{success, SuccessBody};
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

user_routes! {
    /// The organizations the user belongs to. Requires `read_user` and `read_org`.
    get "/api/v1/users/{authId}/orgs", ReadOrgAndUser ["read_user", "read_org"] + OrgFeature;
    fn orgs(state, _caller, auth_id) -> 200 OrgsBody [400, 401, 404] {
        let found = users::orgs(&state.store, &auth_id).await?;
        OrgsBody {
            orgs: found.iter().map(Into::into).collect(),
        }
    }

    /// Replace the user's organization memberships. Requires `write_user` and `write_org`.
    post "/api/v1/users/{authId}/orgs", WriteOrgAndUser ["write_user", "write_org"] + OrgFeature;
    fn set_orgs(state, _caller, auth_id, json body: PostUserOrgsReq)
    -> 200 SuccessBody [400, 401, 404] {
        users::set_orgs(&state.store, &auth_id, &body.orgs).await?;
        success()
    }

    /// Add the user to a group of their active organization. Requires `write_user` and `write_org`.
    post "/api/v1/users/{authId}/org-groups/{orgGroupId}",
        WriteOrgAndUser ["write_user", "write_org"] + OrgFeature + OrgGroupFeature;
    fn join_org_group(state, _caller, auth_id / group: i64 "orgGroupId" "The group's id")
    -> 200 SuccessBody [400, 401, 404] {
        users::set_org_group(&state.store, &auth_id, group, true).await?;
        success()
    }

    /// Remove the user from an organization group. Requires `write_user` and `write_org`.
    delete "/api/v1/users/{authId}/org-groups/{orgGroupId}",
        WriteOrgAndUser ["write_user", "write_org"] + OrgFeature + OrgGroupFeature;
    fn leave_org_group(state, _caller, auth_id / group: i64 "orgGroupId" "The group's id")
    -> 200 SuccessBody [400, 401, 404] {
        users::set_org_group(&state.store, &auth_id, group, false).await?;
        success()
    }
}
