//! DPoP at this server (RFC 9449): proofs checked at the token endpoint and at the resources it
//! serves (userinfo, `/info`, the S2S API), the nonces it hands out, and the replay cache.
//!
//! Nonces are random and shared through the cache, one per `dpop_nonce_lifetime` window, so every
//! instance hands out and accepts the same ones; a nonce stays good through the next window.
//! A window's nonce is set once, so each instance keeps its copy of the two it accepts and asks
//! the cache only for a window it has not seen. A flushed cache makes the instances that had not
//! read a window's nonce choose a new one: a client sent between them is asked for the nonce
//! again (fails closed) until the windows move on.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName};
use gatehouse_core::dpop::{self, DpopError, ProofTarget};
use gatehouse_core::federation::JwsAlgorithm;
use gatehouse_core::jwt::Confirmation;
use gatehouse_core::request_headers::TokenScheme;
use gatehouse_core::TokenError;
use gatehouse_store::App;

use crate::crypto::{jws, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::state::AppState;

pub const DPOP: HeaderName = HeaderName::from_static("dpop");
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The proof a request carries: `None` without a DPoP header, refused when it has several.
pub fn proof_of(headers: &HeaderMap) -> Result<Option<&str>, DpopError> {
    let mut values = headers.get_all(DPOP).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(DpopError::SeveralProofs),
        (Some(value), None) => value.to_str().map(Some).map_err(|_| DpopError::Malformed),
    }
}

/// The nonce clients must put in their next proof.
pub async fn current_nonce(state: &AppState, now: i64) -> Result<String, ServiceError> {
    let key = nonce_key(state, now, 0);
    if let Some(nonce) = stored_nonce(state, &key).await? {
        return Ok(nonce);
    }
    let kept = Duration::from_secs(state.config.dpop_nonce_lifetime * 2 + 60);
    state
        .cache
        .set_if_absent(&key, &random_token::<24>(), kept)
        .await?;
    // Another instance may have set its own first: every instance answers the stored one.
    Ok(stored_nonce(state, &key).await?.unwrap_or_default())
}

/// The nonce of a window, from this instance's copy or the shared cache. A window's nonce is
/// set once (`set_if_absent`), so a copy of it stays true for the window's life.
async fn stored_nonce(state: &AppState, key: &str) -> Result<Option<String>, ServiceError> {
    if let Some(nonce) = state.dpop_nonces.get(key) {
        return Ok(Some(nonce));
    }
    let stored = state.cache.get(key).await?;
    if let Some(nonce) = &stored {
        state.dpop_nonces.insert(key, nonce.clone());
    }
    Ok(stored)
}

fn nonce_key(state: &AppState, now: i64, windows_back: i64) -> String {
    let window = now / state.config.dpop_nonce_lifetime.max(1) as i64 - windows_back;
    format!("DN-{window}")
}

async fn nonce_accepted(state: &AppState, nonce: &str, now: i64) -> Result<bool, ServiceError> {
    for back in [0, 1] {
        let stored = stored_nonce(state, &nonce_key(state, now, back)).await?;
        if stored.as_deref() == Some(nonce) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The key a valid proof was made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenKey {
    /// Its RFC 7638 thumbprint, what tokens are bound to.
    pub thumbprint: String,
    /// What the proof was signed with.
    pub algorithm: JwsAlgorithm,
}

/// Checks a proof for `target` (RFC 9449 §4.3) and returns its key. The `jti` is recorded last,
/// so a proof refused for another reason can be corrected and sent again.
async fn verify(
    state: &AppState,
    proof: &str,
    target: ProofTarget<'_>,
    now: i64,
) -> Result<ProvenKey, ServiceError> {
    let read = dpop::read_proof(proof)?;
    jws::verify::<serde_json::Value>(proof, read.algorithm, &read.jwk)
        .map_err(|_| DpopError::BadSignature)?;
    dpop::check_claims(&read.claims, target, now)?;
    if state.config.dpop_nonce_required {
        let fresh = match read.claims.nonce.as_deref() {
            Some(nonce) => nonce_accepted(state, nonce, now).await?,
            None => false,
        };
        if !fresh {
            return Err(DpopError::UseNonce.into());
        }
    }
    let key = format!(
        "DJ-{}-{}",
        read.thumbprint,
        sha256_hex(read.claims.jti.as_bytes())
    );
    let ttl = Duration::from_secs(dpop::JTI_TTL as u64);
    if !state.cache.set_if_absent(&key, "1", ttl).await? {
        return Err(DpopError::Replayed.into());
    }
    Ok(ProvenKey {
        thumbprint: read.thumbprint,
        algorithm: read.algorithm,
    })
}

/// At the token endpoint: the key a valid proof was made with, `None` when the request carries
/// none.
pub async fn token_request_key(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    now: i64,
) -> Result<Option<ProvenKey>, ServiceError> {
    let Some(proof) = proof_of(headers)? else {
        return Ok(None);
    };
    let url = format!("{}{path}", state.config.issuer);
    let target = ProofTarget {
        method: "POST",
        url: &url,
        access_token: None,
    };
    verify(state, proof, target, now).await.map(Some)
}

/// An app held to FAPI 2.0 proves its DPoP key with the profile's algorithms only.
pub fn check_fapi_proof(app: &App, key: Option<&ProvenKey>) -> Result<(), DpopError> {
    match key {
        Some(key) if app.security.fapi2_security_profile => {
            dpop::check_fapi_algorithm(key.algorithm)
        }
        _ => Ok(()),
    }
}

/// An app that asked for DPoP-bound access tokens must send a proof with every token request.
pub fn check_required(app: &App, dpop: Option<&str>) -> Result<(), TokenError> {
    let bound = app.security.dpop_bound_access_tokens || app.security.fapi2_security_profile;
    if bound && dpop.is_none() {
        return Err(DpopError::ProofRequired.into());
    }
    Ok(())
}

/// An access token as a resource of this server received it.
#[derive(Debug, Clone, Copy)]
pub struct PresentedToken<'a> {
    pub scheme: TokenScheme,
    pub token: &'a str,
    /// The request's method and path, which its proof must name.
    pub method: &'a str,
    pub path: &'a str,
}

/// At a resource: a token bound to a key is good only as `DPoP <token>` with a proof made with
/// that key for this request (RFC 9449 §7); an unbound token only as `Bearer`.
pub async fn check_presented(
    state: &AppState,
    headers: &HeaderMap,
    presented: PresentedToken<'_>,
    cnf: Option<&Confirmation>,
    now: i64,
) -> Result<(), ServiceError> {
    let Some(cnf) = cnf else {
        return match presented.scheme {
            TokenScheme::Bearer => Ok(()),
            TokenScheme::Dpop => Err(DpopError::NotBound.into()),
        };
    };
    if presented.scheme != TokenScheme::Dpop {
        return Err(DpopError::BoundTokenAsBearer.into());
    }
    let proof = proof_of(headers)?.ok_or(DpopError::ProofMissing)?;
    let url = format!("{}{}", state.config.issuer, presented.path);
    let target = ProofTarget {
        method: presented.method,
        url: &url,
        access_token: Some(presented.token),
    };
    let thumbprint = verify(state, proof, target, now).await?.thumbprint;
    if thumbprint != cnf.jkt {
        return Err(DpopError::WrongKey.into());
    }
    Ok(())
}
