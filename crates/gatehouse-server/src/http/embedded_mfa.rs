//! The embedded auth API's second-factor routes (melody.md §6): enrollment, TOTP, email and SMS
//! codes, recovery codes. Same services as the pages; the session id is the transaction.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gatehouse_core::signin::{AtStep, MfaType, SignInError, Step};
use serde::Deserialize;
use serde_json::json;

use super::api::json::ApiJson;
use super::embedded::{auth_res, meta, session};
use super::error::ApiError;
use super::web::{client_ip, PeerAddr};
use crate::services::signin::{self, Transaction};
use crate::services::{mfa, passkeys};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/embedded-auth/v1/{session_id}/mfa-enrollment",
            get(enrollment_types).post(enroll),
        )
        .route(
            "/embedded-auth/v1/{session_id}/otp-mfa-setup",
            get(otp_setup),
        )
        .route(
            "/embedded-auth/v1/{session_id}/otp-mfa",
            get(otp_info).post(otp_verify),
        )
        .route(
            "/embedded-auth/v1/{session_id}/email-mfa-code",
            post(email_code),
        )
        .route(
            "/embedded-auth/v1/{session_id}/email-mfa",
            post(email_verify),
        )
        .route(
            "/embedded-auth/v1/{session_id}/sms-mfa-setup",
            post(sms_setup),
        )
        .route(
            "/embedded-auth/v1/{session_id}/sms-mfa",
            get(sms_info).post(sms_verify),
        )
        .route(
            "/embedded-auth/v1/{session_id}/sms-mfa-code",
            post(sms_code),
        )
        .route(
            "/embedded-auth/v1/{session_id}/recovery-code-enroll",
            get(recovery_codes).post(recovery_codes_saved),
        )
        .route(
            "/embedded-auth/v1/{session_id}/recovery-code",
            post(recovery_sign_in),
        )
        .route(
            "/embedded-auth/v1/{session_id}/passkey-enroll",
            get(passkey_options).post(passkey_enroll),
        )
        .route(
            "/embedded-auth/v1/{session_id}/passkey-enroll-decline",
            post(passkey_decline),
        )
        .route(
            "/embedded-auth/v1/{session_id}/passkey-verify",
            get(passkey_request).post(passkey_verify),
        )
}

/// The session, if it owes one of `steps`, with the `AtStep` a submission records its step with.
async fn at(
    state: &AppState,
    session_id: &str,
    steps: &[Step],
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> Result<(Transaction, AtStep), ApiError> {
    let tx = session(state, session_id).await?;
    let ip = client_ip(headers, peer, &state.config);
    let at = signin::at_step(state, &tx, steps, meta(&ip)).await?;
    Ok((tx, at))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodeBody {
    mfa_code: String,
    /// Accepted for Melody's clients; the embedded API has no cookies to remember a device by.
    #[serde(default)]
    #[allow(dead_code)]
    remember_device: bool,
}

async fn enrollment_types(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let (tx, _) = at(&state, &session_id, &[Step::MfaEnroll], &headers, peer).await?;
    let app = state.clients.app(&tx.request.client_id).await?;
    let types: Vec<&str> = mfa::enrollment_choices(&state, app.as_deref())
        .into_iter()
        .map(MfaType::as_str)
        .collect();
    Ok(Json(json!({ "mfaTypes": types })).into_response())
}

#[derive(Debug, Deserialize)]
struct EnrollBody {
    #[serde(rename = "type")]
    kind: String,
}

async fn enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<EnrollBody>,
) -> Result<Response, ApiError> {
    let (tx, at) = at(&state, &session_id, &[Step::MfaEnroll], &headers, peer).await?;
    let ip = client_ip(&headers, peer, &state.config);
    let kind = MfaType::parse(&body.kind);
    let outcome = mfa::enroll(&state, &session_id, tx, at, kind, meta(&ip)).await?;
    auth_res(&state, &session_id, outcome).await
}

async fn otp_setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let (tx, _) = at(&state, &session_id, &[Step::OtpSetup], &headers, peer).await?;
    let setup = mfa::otp_setup(&state, &tx).await?;
    Ok(Json(json!({ "otpUri": setup.uri, "otpSecret": setup.secret })).into_response())
}

async fn otp_info(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let (tx, _) = at(&state, &session_id, &[Step::OtpMfa], &headers, peer).await?;
    let app = state.clients.app(&tx.request.client_id).await?;
    let fallback = mfa::email_backup_allowed(&state, app.as_deref());
    Ok(Json(json!({ "allowFallbackToEmailMfa": fallback })).into_response())
}

async fn otp_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let (tx, at) = at(
        &state,
        &session_id,
        &[Step::OtpSetup, Step::OtpMfa],
        &headers,
        peer,
    )
    .await?;
    let ip = client_ip(&headers, peer, &state.config);
    let outcome = mfa::verify_otp(&state, &session_id, tx, at, &body.mfa_code, meta(&ip)).await?;
    auth_res(&state, &session_id, outcome).await
}

/// The step an email code answers: email MFA itself, or TOTP / SMS when the app allows the
/// email backup.
async fn email_step(
    state: &AppState,
    tx: &Transaction,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> Result<AtStep, ApiError> {
    let not_owed = || {
        ApiError::bad_request(
            "An email mfa request triggered but the system is not supposed to send email mfa"
                .into(),
        )
    };
    let ip = client_ip(headers, peer, &state.config);
    let steps = [Step::EmailMfa, Step::OtpMfa, Step::SmsMfa];
    let at = match signin::at_step(state, tx, &steps, meta(&ip)).await {
        Ok(at) => at,
        Err(crate::error::ServiceError::SignIn(SignInError::WrongStep)) => return Err(not_owed()),
        Err(other) => return Err(other.into()),
    };
    if at.step() != Step::EmailMfa {
        let app = state.clients.app(&tx.request.client_id).await?;
        if !mfa::email_backup_allowed(state, app.as_deref()) {
            return Err(not_owed());
        }
    }
    Ok(at)
}

async fn email_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let tx = session(&state, &session_id).await?;
    email_step(&state, &tx, &headers, peer).await?;
    let ip = client_ip(&headers, peer, &state.config);
    mfa::send_email_code(&state, &session_id, &tx, meta(&ip)).await?;
    Ok(Json(json!({ "success": true })).into_response())
}

async fn email_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let tx = session(&state, &session_id).await?;
    let at = email_step(&state, &tx, &headers, peer).await?;
    let ip = client_ip(&headers, peer, &state.config);
    let outcome =
        mfa::verify_email_code(&state, &session_id, tx, at, &body.mfa_code, meta(&ip)).await?;
    auth_res(&state, &session_id, outcome).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneBody {
    phone_number: String,
}

async fn sms_setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<PhoneBody>,
) -> Result<Response, ApiError> {
    let (tx, _) = at(&state, &session_id, &[Step::SmsMfa], &headers, peer).await?;
    let ip = client_ip(&headers, peer, &state.config);
    mfa::setup_sms(&state, &session_id, &tx, &body.phone_number, meta(&ip)).await?;
    Ok(Json(json!({ "success": true })).into_response())
}

/// Melody's answer: whether email may stand in, the country code, and the masked number (a
/// code is texted to it when it is verified).
async fn sms_info(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let (tx, _) = at(&state, &session_id, &[Step::SmsMfa], &headers, peer).await?;
    let ip = client_ip(&headers, peer, &state.config);
    let app = state.clients.app(&tx.request.client_id).await?;
    let user_id = tx.user().map_or(0, |u| u.id);
    let phone = mfa::verified_phone(&state, user_id).await?;
    if phone.is_some() {
        mfa::send_sms_code(&state, &session_id, &tx, meta(&ip)).await?;
    }
    Ok(Json(json!({
        "allowFallbackToEmailMfa": mfa::email_backup_allowed(&state, app.as_deref()),
        "countryCode": state.config.sms_country_code,
        "phoneNumber": phone,
    }))
    .into_response())
}

async fn sms_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let (tx, _) = at(&state, &session_id, &[Step::SmsMfa], &headers, peer).await?;
    let ip = client_ip(&headers, peer, &state.config);
    mfa::send_sms_code(&state, &session_id, &tx, meta(&ip)).await?;
    Ok(Json(json!({ "success": true })).into_response())
}

async fn sms_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let (tx, at) = at(&state, &session_id, &[Step::SmsMfa], &headers, peer).await?;
    let ip = client_ip(&headers, peer, &state.config);
    let outcome =
        mfa::verify_sms_code(&state, &session_id, tx, at, &body.mfa_code, meta(&ip)).await?;
    auth_res(&state, &session_id, outcome).await
}

/// The recovery codes to show, issued once per session. `recoveryCode` (Melody's field) holds
/// them all, one per line, for clients that show a single code.
async fn recovery_codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let mut tx = session(&state, &session_id).await?;
    let codes = match tx.recovery_codes.clone() {
        Some(codes) => codes,
        None => {
            at(
                &state,
                &session_id,
                &[Step::RecoveryCodeEnroll],
                &headers,
                peer,
            )
            .await?;
            // Stored when the client says they are saved.
            let codes = mfa::new_recovery_codes();
            tx.recovery_codes = Some(codes.clone());
            signin::save(&state, &session_id, &tx).await?;
            codes
        }
    };
    Ok(Json(json!({ "recoveryCode": codes.join("\n"), "recoveryCodes": codes })).into_response())
}

async fn recovery_codes_saved(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let mut tx = session(&state, &session_id).await?;
    let codes = tx
        .recovery_codes
        .take()
        .ok_or(crate::error::ServiceError::from(SignInError::WrongStep))?;
    let ip = client_ip(&headers, peer, &state.config);
    let at = signin::at_step(&state, &tx, &[Step::RecoveryCodeEnroll], meta(&ip)).await?;
    mfa::store_recovery_codes(&state, at.user().id, &codes).await?;
    let outcome = signin::complete_step(&state, &session_id, tx, at, meta(&ip)).await?;
    auth_res(&state, &session_id, outcome).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecoveryBody {
    email: String,
    recovery_code: String,
}

async fn recovery_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<RecoveryBody>,
) -> Result<Response, ApiError> {
    let tx = session(&state, &session_id).await?;
    let ip = client_ip(&headers, peer, &state.config);
    let outcome = mfa::sign_in_with_recovery_code(
        &state,
        &session_id,
        tx,
        &body.email,
        &body.recovery_code,
        meta(&ip),
    )
    .await?;
    auth_res(&state, &session_id, outcome).await
}

async fn passkey_options(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let (tx, _) = at(&state, &session_id, &[Step::PasskeyEnroll], &headers, peer).await?;
    let user_id = tx.user().map_or(0, |u| u.id);
    let options = passkeys::enroll_options(&state, user_id).await?;
    Ok(Json(json!({ "enrollOptions": options })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnrollInfoBody {
    enroll_info: passkeys::RegistrationResponse,
}

async fn passkey_enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<EnrollInfoBody>,
) -> Result<Response, ApiError> {
    let tx = session(&state, &session_id).await?;
    let ip = client_ip(&headers, peer, &state.config);
    let at = signin::at_step(&state, &tx, &[Step::PasskeyEnroll], meta(&ip)).await?;
    passkeys::enroll(&state, at.user().id, &body.enroll_info)
        .await
        .map_err(|e| match e {
            crate::error::ServiceError::SignIn(SignInError::BadInput(_)) => {
                ApiError::unauthorized("Invalid passkey enroll request".into())
            }
            other => other.into(),
        })?;
    let outcome = signin::complete_step(&state, &session_id, tx, at, meta(&ip)).await?;
    auth_res(&state, &session_id, outcome).await
}

#[derive(Debug, Deserialize)]
struct DeclineBody {
    #[serde(default)]
    remember: bool,
}

async fn passkey_decline(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<DeclineBody>,
) -> Result<Response, ApiError> {
    use gatehouse_store::MfaStore;
    let tx = session(&state, &session_id).await?;
    let ip = client_ip(&headers, peer, &state.config);
    let at = signin::at_step(&state, &tx, &[Step::PasskeyEnroll], meta(&ip)).await?;
    if body.remember {
        state
            .store
            .set_skip_passkey_enroll(at.user().id, true)
            .await
            .map_err(crate::error::ServiceError::from)?;
    }
    let outcome = signin::complete_step(&state, &session_id, tx, at, meta(&ip)).await?;
    auth_res(&state, &session_id, outcome).await
}

async fn passkey_request(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    session(&state, &session_id).await?;
    if !passkeys::passkeys_on(&state) {
        return Err(ApiError::bad_request(
            "Passkeys is not enabled on this server".into(),
        ));
    }
    let options = passkeys::sign_in_options(&state).await?;
    Ok(Json(json!({ "passkeyOption": options })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasskeyVerifyBody {
    passkey_info: passkeys::AuthenticationResponse,
    challenge: String,
}

async fn passkey_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    PeerAddr(peer): PeerAddr,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<PasskeyVerifyBody>,
) -> Result<Response, ApiError> {
    let tx = session(&state, &session_id).await?;
    let ip = client_ip(&headers, peer, &state.config);
    let outcome = passkeys::sign_in_with_passkey(
        &state,
        &session_id,
        tx,
        &body.passkey_info,
        &body.challenge,
        meta(&ip),
    )
    .await
    .map_err(|e| match e {
        crate::error::ServiceError::SignIn(SignInError::BadInput(_)) => {
            ApiError::unauthorized("Invalid passkey verify request".into())
        }
        other => other.into(),
    })?;
    auth_res(&state, &session_id, outcome).await
}
