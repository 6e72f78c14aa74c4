//! Services: the operations HTTP handlers (and the CLI) call. They take plain data and the
//! guards the auth layer built, ask the core for decisions and the store for data.

pub mod account_linking;
pub mod admin_accounts;
pub mod admin_panel;
pub mod apps;
pub mod audit;
pub mod authority;
pub mod banners;
pub mod bootstrap;
pub mod captcha;
pub mod client_credentials;
pub mod client_documents;
pub mod client_keys;
pub mod clients;
pub(crate) mod codes;
pub mod confirm_identity;
pub mod connect;
pub mod dashboard;
pub mod device_flow;
pub mod dpop;
pub mod facebook;
pub mod federation;
#[cfg(test)]
pub(crate) mod fixture;
pub mod google_identity;
pub(crate) mod held_denials;
pub mod invitations;
pub mod lifecycle;
pub mod logout_notices;
pub mod logs;
pub mod melody_import;
pub mod memo;
pub mod mfa;
pub mod oidc_metadata;
pub mod orgs;
pub mod outbound;
pub mod outbox;
pub mod par;
pub mod passkeys;
pub mod password_check;
pub mod passwordless;
pub mod registration;
pub mod request_objects;
pub mod resource_servers;
pub mod retention;
pub mod roles;
pub mod saml_idps;
pub mod saml_sp;
pub mod scim;
pub mod scopes;
pub mod sessions;
pub mod sign_up;
pub mod signin;
pub mod signing_keys;
pub mod simple_oauth;
pub mod social_oauth;
pub mod step_facts;
pub mod user_attributes;
pub mod user_tokens;
pub mod user_views;
pub mod users;
pub mod webhooks;

/// The row a store lookup found, or `NotFound` with what the API answers for a missing one.
pub(crate) async fn found<T, E>(
    lookup: impl std::future::Future<Output = Result<Option<T>, E>>,
    missing: &'static str,
) -> Result<T, crate::error::ServiceError>
where
    crate::error::ServiceError: From<E>,
{
    lookup
        .await?
        .ok_or(crate::error::ServiceError::NotFound(missing))
}
