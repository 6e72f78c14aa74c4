//! The client-credentials grant: an S2S app's secret and requested scopes in, an access token out.

use gatehouse_core::client_auth::ClientCredentials;
use std::sync::Arc;

use gatehouse_core::grant::client_credentials;
use gatehouse_core::jwt::Confirmation;
use serde::Serialize;

use crate::crypto::random_hex;
use crate::error::ServiceError;
use crate::services::user_tokens::IdentifiedClient;
use crate::state::AppState;

/// The token endpoint's answer to a client-credentials request (melody.md §3.2).
#[derive(Debug, Serialize)]
pub struct ClientCredentialsTokens {
    pub access_token: String,
    pub expires_in: u64,
    pub expires_on: i64,
    pub token_type: &'static str,
    pub scope: String,
}

/// How the S2S app proved itself.
#[derive(Debug, Clone, Copy)]
pub enum S2sAuthentication<'a> {
    /// HTTP Basic, checked here once the app is known to be an S2S app.
    Secret(&'a ClientCredentials),
    /// A `private_key_jwt` assertion, already verified.
    Assertion(&'a IdentifiedClient),
}

/// Issues an S2S access token; `dpop` is the thumbprint of the key a DPoP proof came with, to
/// which the token is then bound.
pub async fn issue(
    state: &AppState,
    auth: S2sAuthentication<'_>,
    requested_scope: Option<&str>,
    dpop: Option<&str>,
    now: i64,
) -> Result<ClientCredentialsTokens, ServiceError> {
    // Without a scope nothing is looked up.
    client_credentials::requested_scopes(requested_scope)?;
    let app = match auth {
        S2sAuthentication::Secret(credentials) => state.clients.app(&credentials.client_id).await?,
        S2sAuthentication::Assertion(client) => Some(Arc::clone(&client.app)),
    };
    let facts = app.as_deref().map(|app| client_credentials::ClientApp {
        app_type: app.app_type,
        is_active: app.is_active,
        scopes: &app.scopes,
    });
    let scopes = client_credentials::decide(requested_scope, facts, || match auth {
        S2sAuthentication::Assertion(_) => true,
        S2sAuthentication::Secret(credentials) => app.as_deref().is_some_and(|app| {
            app.security.token_endpoint_auth_method.is_none()
                && !app.security.fapi2_security_profile
                && crate::services::clients::secret_matches(app, &credentials.client_secret)
        }),
    })?;
    let app = app.ok_or(gatehouse_core::TokenError::NoS2sAppFound)?;
    crate::services::dpop::check_required(&app, dpop)?;
    let lifetime = state.config.s2s_access_token_expires_in;
    let mut claims = client_credentials::access_token_claims(
        &state.config.issuer,
        &app.client_id,
        &scopes,
        now,
        lifetime as i64,
        random_hex::<16>(),
    );
    claims.cnf = dpop.map(Confirmation::of);
    let access_token = state.keys.sign(&claims)?;
    state.metrics.token_issued("client_credentials");
    Ok(ClientCredentialsTokens {
        access_token,
        expires_in: lifetime,
        expires_on: claims.exp,
        token_type: token_type(dpop),
        scope: claims.scope,
    })
}

/// `DPoP` for a token bound to a key (RFC 9449 §5), else `Bearer`.
pub fn token_type(dpop: Option<&str>) -> &'static str {
    if dpop.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}
