//! The client-credentials grant: an S2S app's secret and requested scopes in, an access token out.

use gatehouse_core::client_auth::ClientCredentials;
use gatehouse_core::grant::client_credentials;
use serde::Serialize;

use crate::crypto::random_hex;
use crate::error::ServiceError;
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

pub async fn issue(
    state: &AppState,
    credentials: &ClientCredentials,
    requested_scope: Option<&str>,
    now: i64,
) -> Result<ClientCredentialsTokens, ServiceError> {
    // Without a scope nothing is looked up.
    client_credentials::requested_scopes(requested_scope)?;
    let app = state.clients.app(&credentials.client_id).await?;
    let facts = app.as_deref().map(|app| client_credentials::ClientApp {
        app_type: app.app_type,
        is_active: app.is_active,
        scopes: &app.scopes,
    });
    let scopes = client_credentials::decide(requested_scope, facts, || {
        app.as_deref().is_some_and(|app| {
            crate::services::clients::secret_matches(app, &credentials.client_secret)
        })
    })?;
    let lifetime = state.config.s2s_access_token_expires_in;
    let claims = client_credentials::access_token_claims(
        &state.config.issuer,
        &credentials.client_id,
        &scopes,
        now,
        lifetime as i64,
        random_hex::<16>(),
    );
    let access_token = state.keys.sign(&claims)?;
    state.metrics.token_issued("client_credentials");
    Ok(ClientCredentialsTokens {
        access_token,
        expires_in: lifetime,
        expires_on: claims.exp,
        token_type: "Bearer",
        scope: claims.scope,
    })
}
