//! `/api/v1`: the server-to-server management API, its OpenAPI document (generated from the
//! handlers' annotations) and Swagger UI (served from the binary).

mod apps;
mod banners;
mod connect_apps;
mod guard;
pub(crate) mod json;
mod logs;
mod orgs;
mod paging;
mod roles;
mod saml_idps;
mod scopes;
pub(crate) mod user_attributes;
mod users;
mod views;

pub(crate) use guard::{
    APP_BANNER_NOT_ENABLED, ORG_NOT_ENABLED, SAML_SP_NOT_ENABLED, USER_ATTRIBUTE_NOT_ENABLED,
};
pub use views::ErrorBody;

use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse S2S API", description = "Server-to-server management API. Authenticate with a client-credentials access token (`Authorization: Bearer …`); `root` satisfies every scope."),
    paths(
        crate::http::system::info,
        scopes::list, scopes::get, scopes::create, scopes::update, scopes::delete,
        roles::list, roles::get, roles::users, roles::create, roles::update, roles::delete,
        apps::list, apps::get, apps::create, apps::update, apps::delete,
        orgs::list, orgs::get, orgs::create, orgs::update, orgs::delete, orgs::users, orgs::all_users,
        orgs::list_groups, orgs::create_group, orgs::update_group, orgs::delete_group, orgs::group_users,
        user_attributes::list, user_attributes::get, user_attributes::create, user_attributes::update, user_attributes::delete,
        banners::list, banners::get, banners::create, banners::update, banners::delete,
        users::list, users::get, users::update, users::delete, users::consents::consented_apps,
        users::consents::revoke_consent, users::linked_accounts::link,
        users::linked_accounts::unlink, users::impersonation::impersonate,
        users::factors::enroll_email_mfa, users::factors::reset_email_mfa,
        users::factors::enroll_otp_mfa, users::factors::reset_otp_mfa,
        users::factors::enroll_sms_mfa, users::factors::reset_sms_mfa, users::factors::passkeys,
        users::factors::delete_passkey, users::org_memberships::orgs,
        users::org_memberships::set_orgs, users::org_memberships::join_org_group,
        users::org_memberships::leave_org_group, users::invitations::invite,
        users::invitations::renew_invitation, users::invitations::revoke_invitation,
        users::send_verification_email, users::lockouts::locked_ips, users::lockouts::unlock,
        users::sessions::active_sessions, users::sessions::end_session,
        logs::list_email, logs::get_email, logs::delete_email, logs::list_sms, logs::get_sms, logs::delete_sms,
        logs::list_sign_in, logs::get_sign_in, logs::delete_sign_in,
        saml_idps::list, saml_idps::get, saml_idps::create, saml_idps::update, saml_idps::delete,
        connect_apps::list, connect_apps::get, connect_apps::create, connect_apps::update,
        connect_apps::rotate_secret, connect_apps::delete,
    ),
    modifiers(&ClientCredentialsSecurity),
    tags(
        (name = "System", description = "Server information"),
        (name = "Scopes", description = "Scopes apps can hold"),
        (name = "Roles", description = "Roles users can hold"),
        (name = "Apps", description = "OAuth clients"),
        (name = "Orgs", description = "Organizations and their branding"),
        (name = "Org groups", description = "Groups within an organization"),
        (name = "User attributes", description = "Custom profile fields"),
        (name = "App banners", description = "Banners on the sign-in pages"),
        (name = "Users", description = "People who sign in"),
        (name = "Logs", description = "Email, SMS and sign-in logs"),
        (name = "SAML", description = "SAML identity providers"),
        (name = "Connect apps", description = "ePass connect apps (`/connect/<name>`)"),
    )
)]
pub struct ApiDoc;

struct ClientCredentialsSecurity;

impl Modify for ClientCredentialsSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scopes = Scopes::from_iter([
            ("root", "Full access"),
            ("read_app", "Read access to app"),
            ("write_app", "Write access to app"),
            ("read_user", "Read access to user"),
            ("write_user", "Write access to user"),
            ("read_role", "Read access to role"),
            ("write_role", "Write access to role"),
            ("read_scope", "Read access to scope"),
            ("write_scope", "Write access to scope"),
            ("read_org", "Read access to org"),
            ("write_org", "Write access to org"),
        ]);
        let flow = Flow::ClientCredentials(ClientCredentials::new("/oauth2/v1/token", scopes));
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("oauth2", SecurityScheme::OAuth2(OAuth2::new([flow])));
    }
}

/// The OpenAPI document as served at `/api/v1/openapi.json`.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

pub fn routes() -> Router<AppState> {
    let swagger: Router<AppState> = SwaggerUi::new("/api/v1/swagger")
        .url("/api/v1/openapi.json", ApiDoc::openapi())
        .into();
    Router::new()
        .route("/api/v1/scopes", get(scopes::list).post(scopes::create))
        .route(
            "/api/v1/scopes/{id}",
            get(scopes::get).put(scopes::update).delete(scopes::delete),
        )
        .route("/api/v1/roles", get(roles::list).post(roles::create))
        .route(
            "/api/v1/roles/{id}",
            get(roles::get).put(roles::update).delete(roles::delete),
        )
        .route("/api/v1/roles/{id}/users", get(roles::users))
        .route("/api/v1/apps", get(apps::list).post(apps::create))
        .route(
            "/api/v1/apps/{id}",
            get(apps::get).put(apps::update).delete(apps::delete),
        )
        .route("/api/v1/orgs", get(orgs::list).post(orgs::create))
        .route(
            "/api/v1/orgs/{id}",
            get(orgs::get).put(orgs::update).delete(orgs::delete),
        )
        .route("/api/v1/orgs/{id}/users", get(orgs::users))
        .route("/api/v1/orgs/{id}/all-users", get(orgs::all_users))
        .route(
            "/api/v1/org-groups",
            get(orgs::list_groups).post(orgs::create_group),
        )
        .route(
            "/api/v1/org-groups/{id}",
            axum::routing::put(orgs::update_group).delete(orgs::delete_group),
        )
        .route("/api/v1/org-groups/{id}/users", get(orgs::group_users))
        .route("/api/v1/users", get(users::list))
        .route(
            "/api/v1/users/invitations",
            axum::routing::post(users::invitations::invite),
        )
        .route(
            "/api/v1/users/invitations/{authId}",
            axum::routing::post(users::invitations::renew_invitation)
                .delete(users::invitations::revoke_invitation),
        )
        .route(
            "/api/v1/users/{authId}",
            get(users::get).put(users::update).delete(users::delete),
        )
        .route(
            "/api/v1/users/{authId}/consented-apps",
            get(users::consents::consented_apps),
        )
        .route(
            "/api/v1/users/{authId}/consented-apps/{appId}",
            axum::routing::delete(users::consents::revoke_consent),
        )
        .route(
            "/api/v1/users/{authId}/account-linking",
            axum::routing::delete(users::linked_accounts::unlink),
        )
        .route(
            "/api/v1/users/{authId}/account-linking/{linkingAuthId}",
            axum::routing::post(users::linked_accounts::link),
        )
        .route(
            "/api/v1/users/{authId}/impersonation/{appId}",
            axum::routing::post(users::impersonation::impersonate),
        )
        .route(
            "/api/v1/users/{authId}/email-mfa",
            axum::routing::post(users::factors::enroll_email_mfa)
                .delete(users::factors::reset_email_mfa),
        )
        .route(
            "/api/v1/users/{authId}/otp-mfa",
            axum::routing::post(users::factors::enroll_otp_mfa)
                .delete(users::factors::reset_otp_mfa),
        )
        .route(
            "/api/v1/users/{authId}/sms-mfa",
            axum::routing::post(users::factors::enroll_sms_mfa)
                .delete(users::factors::reset_sms_mfa),
        )
        .route(
            "/api/v1/users/{authId}/passkeys",
            get(users::factors::passkeys),
        )
        .route(
            "/api/v1/users/{authId}/verify-email",
            axum::routing::post(users::send_verification_email),
        )
        .route(
            "/api/v1/users/{authId}/locked-ips",
            get(users::lockouts::locked_ips).delete(users::lockouts::unlock),
        )
        .route(
            "/api/v1/users/{authId}/active-sessions",
            get(users::sessions::active_sessions),
        )
        .route(
            "/api/v1/users/{authId}/active-sessions/{sessionId}",
            axum::routing::delete(users::sessions::end_session),
        )
        .route(
            "/api/v1/users/{authId}/orgs",
            get(users::org_memberships::orgs).post(users::org_memberships::set_orgs),
        )
        .route(
            "/api/v1/users/{authId}/org-groups/{orgGroupId}",
            axum::routing::post(users::org_memberships::join_org_group)
                .delete(users::org_memberships::leave_org_group),
        )
        .route(
            "/api/v1/users/{authId}/passkeys/{passkeyId}",
            axum::routing::delete(users::factors::delete_passkey),
        )
        .route(
            "/api/v1/app-banners",
            get(banners::list).post(banners::create),
        )
        .route(
            "/api/v1/app-banners/{id}",
            get(banners::get)
                .put(banners::update)
                .delete(banners::delete),
        )
        .route(
            "/api/v1/user-attributes",
            get(user_attributes::list).post(user_attributes::create),
        )
        .route(
            "/api/v1/user-attributes/{id}",
            get(user_attributes::get)
                .put(user_attributes::update)
                .delete(user_attributes::delete),
        )
        .route(
            "/api/v1/logs/email",
            get(logs::list_email).delete(logs::delete_email),
        )
        .route("/api/v1/logs/email/{id}", get(logs::get_email))
        .route(
            "/api/v1/logs/sms",
            get(logs::list_sms).delete(logs::delete_sms),
        )
        .route("/api/v1/logs/sms/{id}", get(logs::get_sms))
        .route(
            "/api/v1/logs/sign-in",
            get(logs::list_sign_in).delete(logs::delete_sign_in),
        )
        .route("/api/v1/logs/sign-in/{id}", get(logs::get_sign_in))
        .route(
            "/api/v1/saml/idps",
            get(saml_idps::list).post(saml_idps::create),
        )
        .route(
            "/api/v1/saml/idps/{id}",
            get(saml_idps::get)
                .put(saml_idps::update)
                .delete(saml_idps::delete),
        )
        .route(
            "/api/v1/connect-apps",
            get(connect_apps::list).post(connect_apps::create),
        )
        .route(
            "/api/v1/connect-apps/{name}",
            get(connect_apps::get)
                .put(connect_apps::update)
                .delete(connect_apps::delete),
        )
        .route(
            "/api/v1/connect-apps/{name}/secret",
            axum::routing::post(connect_apps::rotate_secret),
        )
        .merge(swagger)
}
