//! `/api/v1`: the server-to-server management API, its OpenAPI document (generated from the
//! handlers' annotations) and Swagger UI (served from the binary).

mod apps;
pub(crate) mod audit;
mod banners;
mod connect_apps;
mod crud;
mod guard;
pub(crate) mod json;
mod keyed;
mod logs;
mod orgs;
mod paging;
mod registration_tokens;
mod resource_servers;
mod roles;
mod saml_idps;
mod scopes;
pub mod text_errors;
pub(crate) mod user_attributes;
mod users;
mod views;
mod webhooks;

pub(crate) use guard::{
    AppBannerFeature, Enabled, FeatureFlag, OrgFeature, SamlSpFeature, UserAttributeFeature,
};
pub use views::ErrorBody;

use axum::Router;
use utoipa::openapi::security::{ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::openapi::{routes, DocumentedRouter};
use crate::state::AppState;

/// What the document says besides its paths (which [`api_router`] adds, one registration a
/// route): the title, the security scheme and the tags.
#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse S2S API", description = "Server-to-server management API. Authenticate with a client-credentials access token (`Authorization: Bearer …`); `root` satisfies every scope."),
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
        (name = "Logs", description = "Email, SMS and sign-in logs, and the audit trail"),
        (name = "SAML", description = "SAML identity providers"),
        (name = "Connect apps", description = "ePass connect apps (`/connect/<name>`)"),
        (name = "Resource servers", description = "APIs access tokens are issued for (RFC 8707, RFC 9068)"),
        (name = "Webhooks", description = "Endpoints sent signed events (Standard Webhooks), and their delivery logs"),
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
            (
                "read_webhooks",
                "Read access to webhook endpoints and their delivery logs",
            ),
            (
                "write_webhooks",
                "Write access to webhook endpoints, their secrets and deliveries",
            ),
        ]);
        let flow = Flow::ClientCredentials(ClientCredentials::new("/oauth2/v1/token", scopes));
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("oauth2", SecurityScheme::OAuth2(OAuth2::new([flow])));
    }
}

/// Every `/api/v1` route (and `/info`), each registered once with its OpenAPI operation.
fn api_router() -> DocumentedRouter<AppState> {
    DocumentedRouter::new(ApiDoc::openapi)
        .routes(routes!(crate::http::system::info))
        .routes(routes!(scopes::list, scopes::create))
        .routes(routes!(scopes::get, scopes::update, scopes::delete))
        .routes(routes!(roles::list, roles::create))
        .routes(routes!(roles::get, roles::update, roles::delete))
        .routes(routes!(roles::users))
        .routes(routes!(apps::list, apps::create))
        .routes(routes!(apps::get, apps::update, apps::delete))
        .routes(routes!(orgs::list, orgs::create))
        .routes(routes!(orgs::get, orgs::update, orgs::delete))
        .routes(routes!(orgs::users))
        .routes(routes!(orgs::all_users))
        .routes(routes!(orgs::list_groups, orgs::create_group))
        .routes(routes!(orgs::update_group, orgs::delete_group))
        .routes(routes!(orgs::group_users))
        .routes(routes!(users::list))
        .routes(routes!(users::invitations::invite))
        .routes(routes!(
            users::invitations::renew_invitation,
            users::invitations::revoke_invitation
        ))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::consents::consented_apps))
        .routes(routes!(users::consents::revoke_consent))
        .routes(routes!(users::linked_accounts::unlink))
        .routes(routes!(users::linked_accounts::link))
        .routes(routes!(users::impersonation::impersonate))
        .routes(routes!(
            users::factors::enroll_email_mfa,
            users::factors::reset_email_mfa
        ))
        .routes(routes!(
            users::factors::enroll_otp_mfa,
            users::factors::reset_otp_mfa
        ))
        .routes(routes!(
            users::factors::enroll_sms_mfa,
            users::factors::reset_sms_mfa
        ))
        .routes(routes!(users::factors::passkeys))
        .routes(routes!(users::factors::delete_passkey))
        .routes(routes!(users::send_verification_email))
        .routes(routes!(
            users::lockouts::locked_ips,
            users::lockouts::unlock
        ))
        .routes(routes!(users::sessions::active_sessions))
        .routes(routes!(users::sessions::end_session))
        .routes(routes!(
            users::org_memberships::orgs,
            users::org_memberships::set_orgs
        ))
        .routes(routes!(
            users::org_memberships::join_org_group,
            users::org_memberships::leave_org_group
        ))
        .routes(routes!(banners::list, banners::create))
        .routes(routes!(banners::get, banners::update, banners::delete))
        .routes(routes!(user_attributes::list, user_attributes::create))
        .routes(routes!(
            user_attributes::get,
            user_attributes::update,
            user_attributes::delete
        ))
        .routes(routes!(logs::list_email, logs::delete_email))
        .routes(routes!(logs::get_email))
        .routes(routes!(logs::list_sms, logs::delete_sms))
        .routes(routes!(logs::get_sms))
        .routes(routes!(logs::list_sign_in, logs::delete_sign_in))
        .routes(routes!(logs::get_sign_in))
        .routes(routes!(audit::list_audit))
        .routes(routes!(registration_tokens::create))
        .routes(routes!(resource_servers::list, resource_servers::create))
        .routes(routes!(
            resource_servers::get,
            resource_servers::update,
            resource_servers::delete
        ))
        .routes(routes!(saml_idps::list, saml_idps::create))
        .routes(routes!(
            saml_idps::get,
            saml_idps::update,
            saml_idps::delete
        ))
        .routes(routes!(connect_apps::list, connect_apps::create))
        .routes(routes!(
            connect_apps::get,
            connect_apps::update,
            connect_apps::delete
        ))
        .routes(routes!(connect_apps::rotate_secret))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::get, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::resend))
}

/// The OpenAPI document as served at `/api/v1/openapi.json`.
pub fn openapi_json() -> String {
    let (_, documentation) = api_router().split_for_parts();
    documentation.build().to_pretty_json().unwrap_or_default()
}

pub fn routes() -> Router<AppState> {
    let (router, documentation) = api_router().split_for_parts();
    let swagger: Router<AppState> = SwaggerUi::new("/api/v1/swagger")
        .config(Config::new(["/api/v1/openapi.json"]))
        .into();
    router
        .layer(axum::middleware::from_fn(text_errors::layer))
        .merge(swagger)
        .route("/api/v1/openapi.json", documentation.serve())
}
