//! Signed authorization requests (JAR, RFC 9101): a request object sent by value at the
//! authorization endpoint or in a pushed request, verified with the app's keys
//! ([`ClientKeyDirectory`](super::client_keys::ClientKeyDirectory)) and turned back into the
//! request's parameters.

use gatehouse_core::client_assertion::ClientAssertionError;
use gatehouse_core::federation::JwsAlgorithm;
use gatehouse_core::par::{self, Pairs};
use gatehouse_core::request_object::{self, RequestObjectError};
use gatehouse_core::TokenError;
use gatehouse_store::App;

use crate::error::ServiceError;
use crate::state::AppState;

/// The parameters of `app`'s request object: signed with one of its keys (in the algorithm it
/// registered, if it did), for this server, not expired.
pub async fn unpack(state: &AppState, app: &App, request: &str) -> Result<Pairs, ServiceError> {
    let jwt = gatehouse_core::jwt::split(request).map_err(|_| RequestObjectError::Malformed)?;
    if !request_object::typ_allowed(jwt.header.typ.as_deref()) {
        return Err(RequestObjectError::Malformed.into());
    }
    if let Some(wanted) = app.security.request_object_signing_alg.as_deref() {
        let used = JwsAlgorithm::parse(&jwt.header.alg).ok();
        if used != JwsAlgorithm::parse(wanted).ok() {
            return Err(RequestObjectError::WrongAlgorithm(wanted.to_owned()).into());
        }
    }
    if app.security.fapi2_security_profile {
        let alg =
            JwsAlgorithm::parse(&jwt.header.alg).map_err(|_| RequestObjectError::Malformed)?;
        gatehouse_core::fapi::algorithm_allowed(alg)?;
    }
    let claims: serde_json::Map<String, serde_json::Value> = state
        .client_keys
        .verify(app, request, &jwt)
        .await
        .map_err(|err| match err {
            ClientAssertionError::NoKeys | ClientAssertionError::KeysUnavailable => {
                RequestObjectError::NoKeys
            }
            ClientAssertionError::Malformed => RequestObjectError::Malformed,
            _ => RequestObjectError::BadSignature,
        })?;
    let now = chrono::Utc::now().timestamp();
    Ok(request_object::parameters(
        claims,
        &app.client_id,
        &state.config.issuer,
        now,
    )?)
}

/// The parameters the authorization endpoint goes on with when the query carries a `request`:
/// the object's, the query's `client_id` naming the app, other query parameters only repeating
/// the object's (RFC 9101 §6.3 uses the object's alone; a differing one is refused here, as for
/// a pushed request).
pub async fn resolve(state: &AppState, query: Pairs) -> Result<Pairs, ServiceError> {
    let Some((_, request)) = query.iter().find(|(name, _)| name == "request") else {
        return Ok(query);
    };
    if query.iter().any(|(name, _)| name == "request_uri") {
        return Err(RequestObjectError::ByReference.into());
    }
    let client_id = query
        .iter()
        .find(|(name, _)| name == "client_id")
        .map(|(_, id)| id.as_str())
        .ok_or(RequestObjectError::MissingClientId)?;
    let app = state
        .clients
        .app(client_id)
        .await?
        .ok_or(TokenError::UnknownClient)?;
    let object = unpack(state, &app, request).await?;
    Ok(par::take_pushed(&query, object)?)
}
