//! SAML 2.0 service provider (melody.md §7): sign-in through a registered SAML IdP as the
//! transaction's first factor.
//!
//! The AuthnRequest's id is kept under a random RelayState (`SAMLP-<relay>`, TTL
//! `oidc_code_verifier_expires_in`) pointing at the transaction, which is bound to the browser.
//! The ACS takes that record once, verifies and checks the Response, and keeps the verified
//! profile for a moment (`SAMLA-<key>`); the browser then comes back with a same-site GET, where
//! its cookie (SameSite=Lax, absent from the IdP's cross-site POST) proves it is the browser
//! that began the sign-in, and the transaction goes on (consent, MFA, org switch).

use std::time::Duration;

use gatehouse_core::saml::{
    authn_request_xml, check_response, decode_post_binding, parse_idp_metadata, redirect_url,
    replay_ttl, AuthnRequest, Expected, IdpMetadata, SamlError, ServiceProvider,
};
use gatehouse_core::signin::SignInError;
use gatehouse_core::social_profiles::ExternalProfile;
use gatehouse_store::{SamlIdpRecord, SamlIdpStore};
use serde::{Deserialize, Serialize};

use crate::crypto::random_token;
use crate::crypto::xmldsig::verify_response;
use crate::error::ServiceError;
use crate::services::federation::sign_in_as;
use crate::services::signin::{self, Outcome, RequestMeta, Transaction};
use crate::state::AppState;

const PENDING_PREFIX: &str = "SAMLP-";
const VERIFIED_PREFIX: &str = "SAMLA-";
const REPLAY_PREFIX: &str = "SAMLR-";
/// The verified profile waits this long for the browser's redirect back.
const VERIFIED_TTL: Duration = Duration::from_secs(120);

/// A sign-in sent to an IdP, waiting for its Response.
#[derive(Debug, Serialize, Deserialize)]
struct PendingRequest {
    tx_id: String,
    idp: String,
    request_id: String,
}

/// A Response that passed every check, waiting for its browser.
#[derive(Debug, Serialize, Deserialize)]
struct VerifiedSignIn {
    tx_id: String,
    idp: String,
    subject: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// The posted `SAMLResponse` and `RelayState`.
#[derive(Debug, Default, Deserialize)]
pub struct PostedResponse {
    #[serde(default, rename = "SAMLResponse")]
    pub saml_response: String,
    #[serde(default, rename = "RelayState")]
    pub relay_state: String,
}

pub fn service_provider(state: &AppState) -> ServiceProvider {
    ServiceProvider::at(&state.config.issuer)
}

/// The users' `socialAccountType` for an IdP.
pub fn account_type(idp: &str) -> String {
    format!("SAML_{idp}")
}

fn invalid(err: SamlError) -> ServiceError {
    SignInError::InvalidSamlResponse(err).into()
}

/// The active IdP called `name` and its parsed metadata.
pub async fn idp(
    state: &AppState,
    name: &str,
) -> Result<(SamlIdpRecord, IdpMetadata), ServiceError> {
    let record = state
        .store
        .saml_idp_by_name(name)
        .await?
        .filter(|r| r.is_active)
        .ok_or_else(|| SignInError::UnknownSamlIdp(name.to_owned()))?;
    let metadata =
        parse_idp_metadata(&record.metadata).map_err(|e| SignInError::SamlIdpMisconfigured {
            idp: record.name.clone(),
            reason: e.to_string(),
        })?;
    Ok((record, metadata))
}

/// Sends the transaction's browser to the IdP: the redirect URL carrying the AuthnRequest.
pub async fn start(
    state: &AppState,
    tx_id: &str,
    tx: &Transaction,
    idp: &(SamlIdpRecord, IdpMetadata),
    now: i64,
) -> Result<String, ServiceError> {
    tx.expect_first_factor()?;
    let (record, metadata) = idp;
    let relay_state = random_token::<32>();
    let pending = PendingRequest {
        tx_id: tx_id.to_owned(),
        idp: record.name.clone(),
        request_id: format!("_{}", crate::crypto::random_hex::<20>()),
    };
    let ttl = Duration::from_secs(state.config.oidc_code_verifier_expires_in);
    state
        .cache
        .set_json(&format!("{PENDING_PREFIX}{relay_state}"), &pending, ttl)
        .await?;
    let sp = service_provider(state);
    let xml = authn_request_xml(&AuthnRequest {
        id: &pending.request_id,
        now,
        destination: &metadata.sso_redirect_url,
        sp: &sp,
    });
    Ok(redirect_url(&metadata.sso_redirect_url, &xml, &relay_state))
}

/// Begins sign-in through `idp` for a transaction just started (`saml_sso_<idp>`).
pub async fn begin_at(
    state: &AppState,
    tx_id: &str,
    idp: &(SamlIdpRecord, IdpMetadata),
    browser_token: Option<&str>,
    now: i64,
) -> Result<String, ServiceError> {
    let tx = signin::load(state, tx_id, browser_token).await?;
    start(state, tx_id, &tx, idp, now).await
}

/// The ACS: the Response verified and checked; returns the key the browser finishes with.
/// A refused Response changes nothing but spending its RelayState.
pub async fn accept_response(
    state: &AppState,
    posted: &PostedResponse,
    now: i64,
) -> Result<String, ServiceError> {
    if posted.relay_state.is_empty() {
        return Err(invalid(SamlError::UnknownRelayState));
    }
    let raw = state
        .cache
        .take(&format!("{PENDING_PREFIX}{}", posted.relay_state))
        .await?
        .ok_or_else(|| invalid(SamlError::UnknownRelayState))?;
    let pending: PendingRequest =
        serde_json::from_str(&raw).map_err(|_| invalid(SamlError::UnknownRelayState))?;
    let (record, metadata) = idp(state, &pending.idp).await?;
    let xml = decode_post_binding(&posted.saml_response).map_err(invalid)?;
    let certificates = metadata.signing_certificates.clone();
    // Canonicalization and RSA are CPU work; keep them off the request threads.
    let data = tokio::task::spawn_blocking(move || verify_response(xml, &certificates))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .map_err(|e| {
            tracing::info!(idp = %record.name, error = %e, "refused a SAML response");
            invalid(e)
        })?;
    let ttl = Duration::from_secs(replay_ttl(&data, now));
    for id in [&data.id, &data.assertion.id] {
        let first_use = state
            .cache
            .set_if_absent(&format!("{REPLAY_PREFIX}{id}"), "1", ttl)
            .await?;
        if !first_use {
            return Err(invalid(SamlError::Replay));
        }
    }
    let sp = service_provider(state);
    let profile = check_response(
        &data,
        &Expected {
            idp_entity_id: &metadata.entity_id,
            sp_entity_id: &sp.entity_id,
            acs_url: &sp.acs_url,
            request_id: &pending.request_id,
            user_id_attribute: &record.user_id_attribute,
            email_attribute: record.email_attribute.as_deref(),
            first_name_attribute: record.first_name_attribute.as_deref(),
            last_name_attribute: record.last_name_attribute.as_deref(),
        },
        now,
    )
    .map_err(|e| {
        tracing::info!(idp = %record.name, error = %e, "refused a SAML response");
        invalid(e)
    })?;
    let verified = VerifiedSignIn {
        tx_id: pending.tx_id,
        idp: record.name,
        subject: profile.subject,
        email: profile.email,
        first_name: profile.first_name,
        last_name: profile.last_name,
    };
    let key = random_token::<32>();
    state
        .cache
        .set_json(&format!("{VERIFIED_PREFIX}{key}"), &verified, VERIFIED_TTL)
        .await?;
    Ok(key)
}

/// The browser back from the ACS: its transaction signs in as the verified person and goes on.
/// Returns the transaction id with the outcome (for the locale and the next page).
pub async fn finish(
    state: &AppState,
    key: &str,
    browser_token: Option<&str>,
    meta: RequestMeta<'_>,
) -> Result<(String, String, Outcome), ServiceError> {
    let raw = match key {
        "" => None,
        key => state.cache.take(&format!("{VERIFIED_PREFIX}{key}")).await?,
    }
    .ok_or(SignInError::UnknownTransaction)?;
    let verified: VerifiedSignIn =
        serde_json::from_str(&raw).map_err(|_| SignInError::UnknownTransaction)?;
    let tx = signin::load(state, &verified.tx_id, browser_token).await?;
    tx.expect_first_factor()?;
    let locale = tx.request.locale.clone();
    let profile = ExternalProfile {
        subject: verified.subject,
        email: verified.email,
        email_verified: false,
        first_name: verified.first_name,
        last_name: verified.last_name,
    };
    let outcome = sign_in_as(
        state,
        &account_type(&verified.idp),
        &verified.tx_id,
        tx,
        &profile,
        meta,
    )
    .await?;
    Ok((verified.tx_id, locale, outcome))
}
