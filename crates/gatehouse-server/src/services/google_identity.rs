//! "Sign in with Google" by Google Identity Services: the page's Google button hands the browser
//! an ID token (`credential`), posted to Melody's `/identity/v1/authorize-google`. The token is
//! checked against Google's keys, `iss`, `aud` and a nonce derived from the transaction, so a
//! credential minted for one sign-in cannot finish another.

use gatehouse_core::signin::SignInError;
use gatehouse_core::social_profiles::ExternalProfile;

use crate::config::OidcProviderConfig;
use crate::crypto::sha256_hex;
use crate::error::ServiceError;
use crate::services::federation::{sign_in_as, verify_id_token};
use crate::services::signin::{Outcome, TxCall};
use crate::state::AppState;

/// Google's button, when `google_auth_client_id` is set.
pub fn provider(state: &AppState) -> Option<OidcProviderConfig> {
    OidcProviderConfig::google_identity(&state.config)
}

/// The nonce the page gives Google for this transaction (the transaction id is the browser's
/// secret, so only this sign-in's page can have asked for it).
pub fn nonce(tx_id: &str) -> String {
    sha256_hex(format!("google-identity:{tx_id}").as_bytes())
}

pub async fn sign_in_with_credential(
    call: TxCall<'_>,
    credential: &str,
) -> Result<Outcome, ServiceError> {
    let (state, tx_id, tx, meta) = call.into_parts();
    let provider = provider(state).ok_or(SignInError::FeatureOff("Google sign-in"))?;
    tx.expect_first_factor()?;
    if credential.is_empty() {
        return Err(SignInError::BadInput("The Google credential is missing".into()).into());
    }
    let endpoints = state.federation.endpoints(&state.http, &provider).await?;
    let nonce = nonce(tx_id);
    let claims = verify_id_token(
        state,
        &provider,
        &endpoints,
        (&nonce, true),
        credential,
        meta.now,
    )
    .await?;
    sign_in_as(
        state,
        &provider.name,
        tx_id,
        tx,
        &ExternalProfile::from(&claims),
        meta,
    )
    .await
}
