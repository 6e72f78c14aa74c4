//! `/api/v1/orgs` and `/api/v1/org-groups` (with `enable_org`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_store::{OrgChanges, OrgGroupRecord, OrgRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::crud::crud_routes;
use super::guard::{
    Enabled, Guarded, OrgFeature, OrgGroupFeature, ReadOrg, ReadOrgAndUser, WriteOrg,
};
use super::json::{ApiJson, RecordId};
use super::paging::{ListQuery, UsersPage};
use super::views::{record_view, user_views, views, ErrorBody, UsersBody};
use crate::http::error::ApiError;
use crate::services::orgs;
use crate::state::AppState;

record_view! {
    pub struct OrgView from |o: &OrgRecord| {
        id: i64 = o.id,
        name: String = o.name.clone(),
        slug: String = o.slug.clone(),
        company_logo_url: String = o.company_logo_url.clone(),
        company_email_logo_url: String = o.company_email_logo_url.clone(),
        font_family: String = o.font_family.clone(),
        font_url: String = o.font_url.clone(),
        layout_color: String = o.layout_color.clone(),
        label_color: String = o.label_color.clone(),
        primary_button_color: String = o.primary_button_color.clone(),
        primary_button_label_color: String = o.primary_button_label_color.clone(),
        primary_button_border_color: String = o.primary_button_border_color.clone(),
        secondary_button_color: String = o.secondary_button_color.clone(),
        secondary_button_label_color: String = o.secondary_button_label_color.clone(),
        secondary_button_border_color: String = o.secondary_button_border_color.clone(),
        critical_indicator_color: String = o.critical_indicator_color.clone(),
        email_sender_name: String = o.email_sender_name.clone(),
        terms_link: String = o.terms_link.clone(),
        privacy_policy_link: String = o.privacy_policy_link.clone(),
        allow_public_registration: bool = o.allow_public_registration,
        only_use_for_branding_override: bool = o.only_use_for_branding_override,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgsBody {
    pub orgs: Vec<OrgView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgBody {
    pub org: OrgView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostOrgReq {
    /// 1–50 characters, unique.
    pub name: String,
    /// 1–50 characters without spaces, unique.
    pub slug: String,
    #[serde(default = "yes")]
    pub allow_public_registration: bool,
    #[serde(default)]
    pub only_use_for_branding_override: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PutOrgReq {
    pub name: Option<String>,
    /// A new slug is written to every user whose active organization this is.
    pub slug: Option<String>,
    /// An `https:` URL (`http:` only for localhost) without credentials, at most 250 characters; `""` uses the server's.
    pub company_logo_url: Option<String>,
    /// An `https:` URL (`http:` only for localhost) without credentials, at most 250 characters; `""` uses the server's.
    pub company_email_logo_url: Option<String>,
    /// Letters, digits, spaces, commas, hyphens and balanced quotes (`"Open Sans", sans-serif`), at most 50 characters; `""` uses the server's.
    pub font_family: Option<String>,
    /// A font stylesheet: an `https:` URL on one of the server's `font_hosts` or on the host of its own `font_url`; `""` uses the server's.
    pub font_url: Option<String>,
    /// A CSS color (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers, or a color name), at most 20 characters; `""` uses the server's.
    pub layout_color: Option<String>,
    /// A CSS color (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers, or a color name), at most 20 characters; `""` uses the server's.
    pub label_color: Option<String>,
    /// A CSS color (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers, or a color name), at most 20 characters; `""` uses the server's.
    pub primary_button_color: Option<String>,
    /// A CSS color (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers, or a color name), at most 20 characters; `""` uses the server's.
    pub primary_button_label_color: Option<String>,
    /// A CSS color (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers, or a color name), at most 20 characters; `""` uses the server's.
    pub primary_button_border_color: Option<String>,
    /// A CSS color (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers, or a color name), at most 20 characters; `""` uses the server's.
    pub secondary_button_color: Option<String>,
    /// A CSS color (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers, or a color name), at most 20 characters; `""` uses the server's.
    pub secondary_button_label_color: Option<String>,
    /// A CSS color (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers, or a color name), at most 20 characters; `""` uses the server's.
    pub secondary_button_border_color: Option<String>,
    /// A CSS color (`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`/`hsl()`/`hsla()` with numbers, or a color name), at most 20 characters; `""` uses the server's.
    pub critical_indicator_color: Option<String>,
    pub email_sender_name: Option<String>,
    /// An `https:` URL (`http:` only for localhost) without credentials, at most 250 characters; `""` uses the server's.
    pub terms_link: Option<String>,
    /// An `https:` URL (`http:` only for localhost) without credentials, at most 250 characters; `""` uses the server's.
    pub privacy_policy_link: Option<String>,
    pub allow_public_registration: Option<bool>,
    pub only_use_for_branding_override: Option<bool>,
}

record_view! {
    pub struct OrgGroupView from |g: &OrgGroupRecord| {
        id: i64 = g.id,
        org_id: i64 = g.org_id,
        name: String = g.name.clone(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgGroupsBody {
    pub org_groups: Vec<OrgGroupView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgGroupBody {
    pub org_group: OrgGroupView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostOrgGroupReq {
    /// 1–50 characters, unique within the organization.
    pub name: String,
    pub org_id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PutOrgGroupReq {
    pub name: String,
}

crud_routes! {
    tag "Orgs", "/api/v1/orgs", "/api/v1/orgs/{id}", id "The organization's id",
    read ReadOrg ["read_org"], write WriteOrg ["write_org"], features [OrgFeature];

    /// List organizations. Requires `read_org`.
    list(state) -> OrgsBody [400, 401] {
        OrgsBody {
            orgs: views(&orgs::list(&state.store).await?),
        }
    }

    /// Get an organization. Requires `read_org`.
    get(state, id) -> OrgBody [400, 401, 404] {
        OrgBody {
            org: (&orgs::get(&state.store, id).await?).into(),
        }
    }

    /// Create an organization. Requires `write_org`.
    create(state, _caller, body: PostOrgReq) -> OrgBody [400, 401, 409] {
        let org = orgs::create(
            &state.store,
            &body.name,
            &body.slug,
            body.allow_public_registration,
            body.only_use_for_branding_override,
        )
        .await?;
        OrgBody { org: (&org).into() }
    }

    /// Update an organization and its branding. Requires `write_org`.
    update(state, _caller, id, b: PutOrgReq) -> OrgBody [400, 401, 404, 409] {
        let changes = OrgChanges {
            name: b.name,
            slug: b.slug,
            company_logo_url: b.company_logo_url,
            company_email_logo_url: b.company_email_logo_url,
            font_family: b.font_family,
            font_url: b.font_url,
            layout_color: b.layout_color,
            label_color: b.label_color,
            primary_button_color: b.primary_button_color,
            primary_button_label_color: b.primary_button_label_color,
            primary_button_border_color: b.primary_button_border_color,
            secondary_button_color: b.secondary_button_color,
            secondary_button_label_color: b.secondary_button_label_color,
            secondary_button_border_color: b.secondary_button_border_color,
            critical_indicator_color: b.critical_indicator_color,
            email_sender_name: b.email_sender_name,
            terms_link: b.terms_link,
            privacy_policy_link: b.privacy_policy_link,
            allow_public_registration: b.allow_public_registration,
            only_use_for_branding_override: b.only_use_for_branding_override,
        };
        OrgBody {
            org: (&orgs::update(&state.config, &state.store, id, changes).await?).into(),
        }
    }

    /// Delete an organization no user has active. Requires `write_org`.
    delete(state, _caller, id) [400, 401, 404] {
        orgs::delete(&state.store, id).await?
    }
}

/// The two lists of an organization's users, which differ only in whom they count.
macro_rules! org_user_lists {
    ($($(#[$meta:meta])* $name:ident $path:literal, |$state:ident, $id:ident, $query:ident| $found:expr;)+) => {$(
        $(#[$meta])*
        #[utoipa::path(get, path = $path, tag = "Orgs", security(("oauth2" = ["read_org", "read_user"])),
            params(("id" = i64, Path, description = "The organization's id"), ListQuery),
            responses((status = 200, body = UsersPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
        pub async fn $name(
            _: Guarded<ReadOrgAndUser>,
            _: Enabled<OrgFeature>,
            State($state): State<AppState>,
            RecordId($id): RecordId,
            $query: ListQuery,
        ) -> Result<Json<UsersPage>, ApiError> {
            Ok(Json(UsersPage::new(&$state, $found.await?)))
        }
    )+};
}

org_user_lists! {
    /// Users whose active organization this is. Requires `read_org` and `read_user`.
    users "/api/v1/orgs/{id}/users",
        |state, id, query| orgs::active_users(&state.store, id, query.search.as_deref(), query.page());
    /// Every member of the organization. Requires `read_org` and `read_user`.
    all_users "/api/v1/orgs/{id}/all-users",
        |state, id, query| orgs::members(&state.store, id, query.page());
}

/// List organization groups, optionally of one organization (`org_id`). Requires `read_org`.
#[utoipa::path(get, path = "/api/v1/org-groups", tag = "Org groups", security(("oauth2" = ["read_org"])),
    params(ListQuery),
    responses((status = 200, body = OrgGroupsBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_groups(
    _: Guarded<ReadOrg>,
    _: Enabled<OrgFeature>,
    _: Enabled<OrgGroupFeature>,
    State(state): State<AppState>,
    query: ListQuery,
) -> Result<Json<OrgGroupsBody>, ApiError> {
    let groups = orgs::list_groups(&state.store, query.org_id).await?;
    Ok(Json(OrgGroupsBody {
        org_groups: views(&groups),
    }))
}

/// Create an organization group. Requires `write_org`.
#[utoipa::path(post, path = "/api/v1/org-groups", tag = "Org groups", request_body = PostOrgGroupReq, security(("oauth2" = ["write_org"])),
    responses((status = 201, body = OrgGroupBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_group(
    _: Guarded<WriteOrg>,
    _: Enabled<OrgFeature>,
    _: Enabled<OrgGroupFeature>,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PostOrgGroupReq>,
) -> Result<(StatusCode, Json<OrgGroupBody>), ApiError> {
    let group = orgs::create_group(&state.store, body.org_id, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrgGroupBody {
            org_group: (&group).into(),
        }),
    ))
}

/// Rename an organization group. Requires `write_org`.
#[utoipa::path(put, path = "/api/v1/org-groups/{id}", tag = "Org groups", request_body = PutOrgGroupReq, security(("oauth2" = ["write_org"])),
    params(("id" = i64, Path, description = "The group's id")),
    responses((status = 200, body = OrgGroupBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_group(
    _: Guarded<WriteOrg>,
    _: Enabled<OrgFeature>,
    _: Enabled<OrgGroupFeature>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
    ApiJson(body): ApiJson<PutOrgGroupReq>,
) -> Result<Json<OrgGroupBody>, ApiError> {
    let group = orgs::rename_group(&state.store, id, &body.name).await?;
    Ok(Json(OrgGroupBody {
        org_group: (&group).into(),
    }))
}

/// Delete an organization group. Requires `write_org`.
#[utoipa::path(delete, path = "/api/v1/org-groups/{id}", tag = "Org groups", security(("oauth2" = ["write_org"])),
    params(("id" = i64, Path, description = "The group's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_group(
    _: Guarded<WriteOrg>,
    _: Enabled<OrgFeature>,
    _: Enabled<OrgGroupFeature>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<StatusCode, ApiError> {
    orgs::delete_group(&state.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Members of an organization group. Requires `read_org` and `read_user`.
#[utoipa::path(get, path = "/api/v1/org-groups/{id}/users", tag = "Org groups", security(("oauth2" = ["read_org", "read_user"])),
    params(("id" = i64, Path, description = "The group's id")),
    responses((status = 200, body = UsersBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn group_users(
    _: Guarded<ReadOrgAndUser>,
    _: Enabled<OrgFeature>,
    _: Enabled<OrgGroupFeature>,
    State(state): State<AppState>,
    RecordId(id): RecordId,
) -> Result<Json<UsersBody>, ApiError> {
    let users = orgs::group_members(&state.store, id).await?;
    Ok(Json(UsersBody {
        users: user_views(&state, &users),
    }))
}
