//! `/api/v1/users`: the user resource itself; what hangs off a user has a module of its own.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::format_timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::guard::{Guarded, ReadUser, WriteUser};
use super::json::{positive_id, ApiJson};
use super::orgs::OrgView;
use super::views::{ErrorBody, UserView};
use crate::http::error::ApiError;
use crate::services::users::{self, UserDetail, UserUpdate};
use crate::state::AppState;
use listing::{UserListBody, UserListQuery};

/// Handlers under `/api/v1/users/{authId}` (the key every user route starts from).
macro_rules! user_routes {
    ($($routes:tt)+) => {
        crate::http::api::keyed::keyed_routes! {
            tag "Users", key "authId" "The user's authId";
            $($routes)+
        }
    };
}

pub(super) mod consents;
pub(super) mod factors;
pub(super) mod impersonation;
pub(super) mod invitations;
pub(super) mod linked_accounts;
pub(super) mod listing;
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
    /// The contact phone number in E.164 form (`+14155550123`); an empty string clears it.
    pub phone_number: Option<String>,
    /// OIDC Core §5.1.1 members (`formatted`, `street_address`, `locality`, `region`,
    /// `postal_code`, `country`); an object without any clears it.
    #[schema(value_type = Option<Object>)]
    pub address: Option<gatehouse_core::claims::Address>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuccessBody {
    pub success: bool,
}

/// `{"success": true}`: the answer of actions that have nothing else to say.
fn success() -> SuccessBody {
    SuccessBody { success: true }
}

/// List users, paged and searched. Requires `read_user`.
///
/// A search of three characters or more is answered from a trigram index; `after` (a
/// `nextCursor`) pages at the same cost at any depth. `count` is exact up to 10,000 matches and
/// an estimate above, as `countIsEstimate` says.
#[utoipa::path(get, path = "/api/v1/users", tag = "Users", security(("oauth2" = ["read_user"])),
    params(UserListQuery),
    responses((status = 200, body = UserListBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    _: Guarded<ReadUser>,
    State(state): State<AppState>,
    query: UserListQuery,
) -> Result<Json<UserListBody>, ApiError> {
    let found = users::search(&state.store, query.search.as_deref(), query.page()).await?;
    Ok(Json(UserListBody::new(&state, found)))
}

user_routes! {
    /// Get a user with roles (and attributes, organization and groups when enabled). Requires `read_user`.
    get "/api/v1/users/{authId}", ReadUser ["read_user"];
    fn get(state, _caller, auth_id) -> 200 UserBody [401, 404] {
        let detail = users::detail(&state, &auth_id).await?;
        UserBody {
            user: detail_view(&state, &detail),
        }
    }

    /// Update a user. Requires `write_user`; giving or taking away a protected role (`privileged_roles`,
    /// `impersonation_roles`, `admin_panel_roles`), or disabling or enabling a holder of one, also
    /// requires `root`.
    put "/api/v1/users/{authId}", WriteUser ["write_user"];
    fn update(state, caller, auth_id, json body: PutUserReq) -> 200 UserBody [400, 401, 404] {
        let attributes = body
            .attributes
            .map(|values| {
                values
                    .into_iter()
                    .map(|(id, value)| Ok((positive_id(&id, "attribute id")?, value)))
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
            phone_number: body.phone_number,
            address: body.address,
        };
        let detail = users::update(&state, &caller.authority(), &auth_id, update).await?;
        UserBody {
            user: detail_view(&state, &detail),
        }
    }

    /// Delete a user (and their roles, consents and memberships). Requires `write_user`; a holder of
    /// a protected role also requires `root`.
    delete "/api/v1/users/{authId}", WriteUser ["write_user"];
    fn delete(state, caller, auth_id) -> 204 [401, 404] {
        users::delete(&state, &caller.authority(), &auth_id).await?
    }

    /// Email the user a new verification code. Requires `write_user`.
    post "/api/v1/users/{authId}/verify-email", WriteUser ["write_user"];
    fn send_verification_email(state, _caller, auth_id) -> 200 SuccessBody [400, 401, 404] {
        users::send_verification_email(&state, &auth_id).await?;
        success()
    }
}
