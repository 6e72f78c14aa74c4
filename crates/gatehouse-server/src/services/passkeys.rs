//! Passkeys (WebAuthn): enrollment after sign-in, discoverable sign-in, the `manage_passkey`
//! policy. Challenges live in the cache (`PEC-<user>`, `PVC-<challenge>`), single-use.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_core::ids::UserId;
use gatehouse_core::signin::{FirstFactor, SignInError};
use gatehouse_core::webauthn::{
    attested_data, check_ceremony, parse_authenticator_data, signed_bytes, Expected, PublicKey,
};
use gatehouse_store::{AccountStore, MfaStore, UserStore};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::crypto::{passkey_signature_valid, random_token};
use crate::error::ServiceError;
use crate::services::signin::{self, Outcome, SignedInUser, TxCall};
use crate::state::AppState;

/// Passkeys are offered (and passwordless sign-in, which replaces them, is off).
pub fn passkeys_on(state: &AppState) -> bool {
    state.config.allow_passkey_enrollment && !state.config.enable_passwordless_sign_in
}

/// The relying party id: the issuer's host (without port; IPv6 keeps its brackets).
pub fn relying_party_id(issuer: &str) -> &str {
    let authority = issuer.split("://").nth(1).unwrap_or_default();
    let authority = authority.split('/').next().unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

fn rp_id(state: &AppState) -> String {
    relying_party_id(&state.config.issuer).to_owned()
}

/// Origins a ceremony may come from: the issuer and the embedded auth origins.
fn origins(state: &AppState) -> Vec<String> {
    let mut origins = vec![state.config.issuer.trim_end_matches('/').to_owned()];
    origins.extend(state.config.embedded_auth_origins.iter().cloned());
    origins
}

fn ttl(state: &AppState) -> Duration {
    Duration::from_secs(state.config.passkey_challenge_expires_in)
}

fn refused() -> ServiceError {
    SignInError::BadInput("Invalid passkey request".into()).into()
}

fn b64(text: &str) -> Result<Vec<u8>, ServiceError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| refused())
}

/// The creation options for `navigator.credentials.create` (WebAuthn JSON form).
pub async fn enroll_options(state: &AppState, user_id: UserId) -> Result<Value, ServiceError> {
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or(SignInError::NoUserFound)?;
    let challenge = random_token::<32>();
    state
        .cache
        .set(&format!("PEC-{user_id}"), &challenge, ttl(state))
        .await?;
    let existing: Vec<Value> = state
        .store
        .user_passkeys(user_id)
        .await?
        .into_iter()
        .map(|p| json!({ "type": "public-key", "id": p.credential_id }))
        .collect();
    let name = user.email.clone().unwrap_or_else(|| user.auth_id.clone());
    let display = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(json!({
        "challenge": challenge,
        "rp": { "name": state.config.otp_issuer, "id": rp_id(state) },
        "user": {
            "id": URL_SAFE_NO_PAD.encode(user.auth_id.as_bytes()),
            "name": name,
            "displayName": if display.is_empty() { name.clone() } else { display },
        },
        "pubKeyCredParams": [
            { "type": "public-key", "alg": -7 },
            { "type": "public-key", "alg": -8 },
            { "type": "public-key", "alg": -257 },
        ],
        "timeout": 60000,
        "attestation": "none",
        "excludeCredentials": existing,
        "authenticatorSelection": { "residentKey": "required", "userVerification": "preferred" },
    }))
}

/// A registration response (the JSON form browsers and SimpleWebAuthn produce). Other fields
/// (`rawId`, `type`, `clientExtensionResults`…) are accepted and not read.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResponse {
    /// The credential id, base64url.
    pub id: String,
    pub response: AttestationResponse,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttestationResponse {
    /// Base64url.
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    /// Base64url CBOR; any attestation format (the statement is not checked).
    pub attestation_object: String,
}

/// Checks a registration against the challenge issued to the user and stores the passkey.
pub async fn enroll(
    state: &AppState,
    user_id: UserId,
    response: &RegistrationResponse,
) -> Result<(), ServiceError> {
    let challenge = state
        .cache
        .take(&format!("PEC-{user_id}"))
        .await?
        .ok_or_else(refused)?;
    let client_data = b64(&response.response.client_data_json)?;
    let auth =
        attested_data(&b64(&response.response.attestation_object)?).map_err(|_| refused())?;
    let expected = Expected {
        kind: "webauthn.create",
        challenge: &challenge,
        origins: &origins(state),
        rp_id: &rp_id(state),
    };
    check_ceremony(&client_data, &auth, &expected).map_err(|e| {
        tracing::info!(error = %e, "passkey registration refused");
        refused()
    })?;
    let (credential_id, key) = auth.credential.ok_or_else(refused)?;
    let credential_id = URL_SAFE_NO_PAD.encode(credential_id);
    if credential_id != response.id.trim_end_matches('=') {
        return Err(refused());
    }
    if state
        .store
        .passkey_by_credential(&credential_id)
        .await?
        .is_some()
    {
        return Err(SignInError::BadInput("This passkey is already registered".into()).into());
    }
    let user = crate::services::audit::user_by_id(state, user_id).await?;
    let change = crate::services::audit::user_change(
        &user,
        "passkey_added",
        gatehouse_core::webhooks::USER_PASSKEY_ADDED,
    );
    let stored = key.to_stored();
    let write =
        state
            .store
            .insert_passkey(user_id, &credential_id, &stored, i64::from(auth.sign_count));
    gatehouse_store::changes::recording(change, write).await?;
    state.store.set_skip_passkey_enroll(user_id, false).await?;
    Ok(())
}

/// The request options for a discoverable sign-in (no email needed); the challenge is
/// single-use.
pub async fn sign_in_options(state: &AppState) -> Result<Value, ServiceError> {
    let challenge = random_token::<32>();
    state
        .cache
        .set(&format!("PVC-{challenge}"), "1", ttl(state))
        .await?;
    Ok(json!({
        "challenge": challenge,
        "rpId": rp_id(state),
        "timeout": 60000,
        "userVerification": "preferred",
        "allowCredentials": [],
    }))
}

/// An authentication response (JSON form). Other fields are accepted and not read.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationResponse {
    /// The credential id, base64url.
    pub id: String,
    pub response: AssertionResponse,
}

/// Each field base64url.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponse {
    #[serde(rename = "clientDataJSON")]
    pub client_data_json: String,
    pub authenticator_data: String,
    pub signature: String,
}

/// The challenge a response answers (from its client data); whether the server issued it is
/// checked when the response is verified.
pub fn challenge_of(response: &AuthenticationResponse) -> Option<String> {
    let data = b64(&response.response.client_data_json).ok()?;
    let value: Value = serde_json::from_slice(&data).ok()?;
    value["challenge"].as_str().map(str::to_owned)
}

/// Sign-in with a passkey: a strong first factor (the second step is skipped).
pub async fn sign_in_with_passkey(
    call: TxCall<'_>,
    response: &AuthenticationResponse,
    challenge: &str,
) -> Result<Outcome, ServiceError> {
    let (state, id, tx, meta) = call.into_parts();
    if !passkeys_on(state) {
        return Err(SignInError::FeatureOff("Passkeys").into());
    }
    tx.expect_first_factor()?;
    // The challenge is spent whatever happens next.
    state
        .cache
        .take(&format!("PVC-{challenge}"))
        .await?
        .ok_or_else(refused)?;
    let stored = state
        .store
        .passkey_by_credential(response.id.trim_end_matches('='))
        .await?
        .ok_or_else(refused)?;
    let client_data = b64(&response.response.client_data_json)?;
    let auth_bytes = b64(&response.response.authenticator_data)?;
    let auth = parse_authenticator_data(&auth_bytes).map_err(|_| refused())?;
    let expected = Expected {
        kind: "webauthn.get",
        challenge,
        origins: &origins(state),
        rp_id: &rp_id(state),
    };
    check_ceremony(&client_data, &auth, &expected).map_err(|e| {
        tracing::info!(error = %e, "passkey sign-in refused");
        refused()
    })?;
    let key = PublicKey::from_stored(&stored.public_key)
        .ok_or_else(|| ServiceError::Internal("a stored passkey key is unreadable".into()))?;
    let message = signed_bytes(&auth_bytes, &client_data);
    if !passkey_signature_valid(&key, &message, &b64(&response.response.signature)?) {
        return Err(refused());
    }
    // A counter that does not move forward means a cloned authenticator.
    let counter = i64::from(auth.sign_count);
    if (counter != 0 || stored.counter != 0) && counter <= stored.counter {
        return Err(refused());
    }
    state.store.passkey_used(stored.id, counter).await?;
    let user = state
        .store
        .user_by_id(stored.user_id)
        .await?
        .ok_or_else(refused)?;
    if !user.is_active {
        return Err(SignInError::DisabledAccount.into());
    }
    let user = SignedInUser {
        id: user.id,
        auth_id: user.auth_id,
    };
    signin::signed_in(state, id, tx, user, FirstFactor::Passkey, meta).await
}

/// The user's passkeys, for the `manage_passkey` page.
pub async fn list(
    state: &AppState,
    user_id: UserId,
) -> Result<Vec<gatehouse_store::PasskeyRecord>, ServiceError> {
    Ok(state.store.user_passkeys(user_id).await?)
}

/// Removes one of the user's own passkeys; another user's passkey is not found.
pub async fn remove(
    state: &AppState,
    user_id: UserId,
    passkey_id: i64,
) -> Result<(), ServiceError> {
    let user = crate::services::audit::user_by_id(state, user_id).await?;
    let mut change = crate::services::audit::user_change(
        &user,
        "passkey_removed",
        gatehouse_core::webhooks::USER_PASSKEY_REMOVED,
    );
    change.data["passkeyId"] = serde_json::json!(passkey_id);
    let write = state.store.delete_passkey(user_id, passkey_id);
    if gatehouse_store::changes::recording(change, write).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound("No such passkey"))
    }
}

/// The user declined enrolling a passkey for good: the step is not offered again.
pub async fn decline_enrollment(state: &AppState, user_id: UserId) -> Result<(), ServiceError> {
    Ok(state.store.set_skip_passkey_enroll(user_id, true).await?)
}

/// Whether the user has a passkey, and whether they declined enrolling one for good.
pub async fn enrollment_facts(
    state: &AppState,
    user_id: UserId,
) -> Result<(bool, bool), ServiceError> {
    let has = !state.store.user_passkeys(user_id).await?.is_empty();
    let skips = state.store.skips_passkey_enroll(user_id).await?;
    Ok((has, skips))
}
