//! What the user detail page posts: enable/disable, roles, impersonation, sessions, locked IPs,
//! MFA, passkeys, linked sign-in identities, consents, account linking, verification email, deletion. Each is one call of
//! the service the S2S API uses.

use axum::extract::Path;
use axum::routing::post;
use axum::Router;
use gatehouse_core::signin::MfaType;
use serde::Deserialize;

use super::auth::{ActiveForm, AdminForm, AdminUser, NoFields};
use super::users::user_page;
use super::view::{buttons, see_other, PageResult};
use crate::error::ServiceError;
use crate::services::user_tokens;
use crate::services::users::{self, UserUpdate};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users/{auth_id}/active", post(set_active))
        .route("/admin/users/{auth_id}/roles", post(set_roles))
        .route("/admin/users/{auth_id}/impersonate", post(impersonate))
        .route(
            "/admin/users/{auth_id}/sessions/{session_id}/end",
            post(end_session),
        )
        .route("/admin/users/{auth_id}/unlock", post(unlock))
        .route(
            "/admin/users/{auth_id}/mfa/{mfa_type}/reset",
            post(reset_mfa),
        )
        .route(
            "/admin/users/{auth_id}/passkeys/{id}/delete",
            post(delete_passkey),
        )
        .route(
            "/admin/users/{auth_id}/identities/{id}/unlink",
            post(unlink_identity),
        )
        .route(
            "/admin/users/{auth_id}/consents/{app_id}/revoke",
            post(revoke_consent),
        )
        .route("/admin/users/{auth_id}/link", post(link))
        .route("/admin/users/{auth_id}/unlink", post(unlink))
        .route(
            "/admin/users/{auth_id}/verification-email",
            post(send_verification),
        )
        .route("/admin/users/{auth_id}/delete", post(delete))
        .route("/admin/users/{auth_id}/orgs", post(set_orgs))
        .route("/admin/users/{auth_id}/attributes", post(set_attributes))
        .route("/admin/users/{auth_id}/contact", post(set_contact))
        .route("/admin/users/{auth_id}/invitation", post(renew_invitation))
        .route(
            "/admin/users/{auth_id}/invitation/revoke",
            post(revoke_invitation),
        )
        .route(
            "/admin/users/{auth_id}/org-groups/{group_id}",
            post(set_org_group),
        )
}

/// Where the detail page says "Saved".
fn saved(auth_id: &str) -> String {
    format!("/admin/users/{auth_id}?done=1")
}

/// Back to the detail page with "Saved".
fn done(auth_id: &str) -> PageResult {
    Ok(see_other(&saved(auth_id)))
}

/// Saves one change of the user's record with the admin's authority.
async fn update_user(
    state: &AppState,
    admin: &AdminUser,
    auth_id: &str,
    update: UserUpdate,
) -> PageResult {
    users::update(state, &admin.authority(), auth_id, update).await?;
    done(auth_id)
}
buttons! { end_session(state, (auth_id, session_id) => (String, String), _ => AdminForm<NoFields>) { users::end_session(&state, &auth_id, &session_id) } => saved(&auth_id); unlock(state, auth_id => String, _ => AdminForm<NoFields>) { users::unlock(&state, &auth_id) } => saved(&auth_id); delete_passkey(state, (auth_id, id) => (String, i64), posted => AdminForm<NoFields>) { users::delete_passkey(&state, &posted.admin.authority(), &auth_id, id) } => saved(&auth_id); unlink_identity(state, (auth_id, id) => (String, i64), posted => AdminForm<NoFields>) { users::unlink_identity(&state, &posted.admin.authority(), &auth_id, id) } => saved(&auth_id); revoke_consent(state, (auth_id, app_id) => (String, i64), _ => AdminForm<NoFields>) { users::revoke_consent(&state.store, &auth_id, app_id) } => saved(&auth_id); unlink(state, auth_id => String, posted => AdminForm<NoFields>) { users::unlink(&state, &posted.admin.authority(), &auth_id) } => saved(&auth_id); send_verification(state, auth_id => String, _ => AdminForm<NoFields>) { users::send_verification_email(&state, &auth_id) } => saved(&auth_id); renew_invitation(state, auth_id => String, _ => AdminForm<NoFields>) { users::renew_invitation(&state, &auth_id, None, None) } => saved(&auth_id); revoke_invitation(state, auth_id => String, _ => AdminForm<NoFields>) { users::revoke_invitation(&state.store, &auth_id) } => saved(&auth_id); delete(state, auth_id => String, posted => AdminForm<NoFields>) { users::delete(&state, &posted.admin.authority(), &auth_id) } => "/admin/users"; }
async fn set_active(Path(auth_id): Path<String>, posted: AdminForm<ActiveForm>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let update = UserUpdate {
        is_active: Some(form.is_active()),
        ..UserUpdate::default()
    };
    update_user(&state, &admin, &auth_id, update).await
}

/// Checkboxes post `role=<name>` once per checked role.
async fn set_roles(
    Path(auth_id): Path<String>,
    posted: AdminForm<Vec<(String, String)>>,
) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let roles = form
        .into_iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v)
        .collect();
    let update = UserUpdate {
        roles: Some(roles),
        ..UserUpdate::default()
    };
    update_user(&state, &admin, &auth_id, update).await
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ImpersonateForm {
    app_id: String,
}

/// Impersonation needs the admin's own access token, which the panel's session holds.
async fn impersonate(
    Path(auth_id): Path<String>,
    posted: AdminForm<ImpersonateForm>,
) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let app_id = form
        .app_id
        .trim()
        .parse::<i64>()
        .map_err(|_| ServiceError::NotFound("No app found"))?;
    let now = chrono::Utc::now().timestamp();
    let tokens = user_tokens::impersonate(
        &state,
        &auth_id,
        app_id,
        &admin.admin.session.access_token,
        now,
    )
    .await?;
    let expires = chrono::DateTime::from_timestamp(tokens.refresh_token_expires_on, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    user_page(
        &state,
        &admin,
        &auth_id,
        None,
        Some((tokens.refresh_token, expires)),
    )
    .await
}

async fn reset_mfa(
    Path((auth_id, mfa_type)): Path<(String, String)>,
    posted: AdminForm<NoFields>,
) -> PageResult {
    let AdminForm { state, admin, .. } = posted;
    let Some(mfa_type) = MfaType::parse(&mfa_type) else {
        return Err(ServiceError::NotFound("No such MFA type (otp, email or sms)").into());
    };
    users::set_mfa(&state, &admin.authority(), &auth_id, mfa_type, false).await?;
    done(&auth_id)
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct LinkForm {
    target_auth_id: String,
}

async fn link(Path(auth_id): Path<String>, posted: AdminForm<LinkForm>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    users::link(
        &state,
        &admin.authority(),
        &auth_id,
        form.target_auth_id.trim(),
    )
    .await?;
    done(&auth_id)
}

/// Checkboxes post `org=<id>` once per organization the user belongs to.
async fn set_orgs(
    Path(auth_id): Path<String>,
    posted: AdminForm<Vec<(String, String)>>,
) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    let ids: Vec<i64> = form
        .iter()
        .filter(|(k, _)| k == "org")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    users::set_orgs(&state.store, &auth_id, &ids).await?;
    done(&auth_id)
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct MemberForm {
    member: String,
}

async fn set_org_group(
    Path((auth_id, group_id)): Path<(String, i64)>,
    posted: AdminForm<MemberForm>,
) -> PageResult {
    let AdminForm { state, form, .. } = posted;
    users::set_org_group(&state.store, &auth_id, group_id, form.member == "true").await?;
    done(&auth_id)
}

/// The contact form: the phone number and the address members; blank ones are cleared.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct ContactForm {
    phone_number: String,
    street_address: String,
    locality: String,
    region: String,
    postal_code: String,
    country: String,
}

async fn set_contact(Path(auth_id): Path<String>, posted: AdminForm<ContactForm>) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let address = gatehouse_core::claims::Address {
        street_address: Some(form.street_address),
        locality: Some(form.locality),
        region: Some(form.region),
        postal_code: Some(form.postal_code),
        country: Some(form.country),
        ..Default::default()
    };
    let update = UserUpdate {
        phone_number: Some(form.phone_number),
        address: Some(address),
        ..UserUpdate::default()
    };
    update_user(&state, &admin, &auth_id, update).await
}

/// Each attribute posts `attribute:<id>`; an empty value removes the user's value.
async fn set_attributes(
    Path(auth_id): Path<String>,
    posted: AdminForm<Vec<(String, String)>>,
) -> PageResult {
    let AdminForm { state, admin, form } = posted;
    let values = form
        .iter()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("attribute:")?.parse::<i64>().ok()?;
            let v = v.trim();
            Some((id, (!v.is_empty()).then(|| v.to_owned())))
        })
        .collect();
    let update = UserUpdate {
        attributes: Some(values),
        ..UserUpdate::default()
    };
    update_user(&state, &admin, &auth_id, update).await
}
