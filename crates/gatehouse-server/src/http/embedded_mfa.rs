//! The embedded auth API's second-factor routes (melody.md §6): enrollment, TOTP, email and SMS
//! codes, recovery codes. Same services as the pages; the session id is the transaction.

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gatehouse_core::signin::{AtStep, MfaType, SignInError, Step};
use serde::Deserialize;
use serde_json::json;

use super::api::json::ApiJson;
use super::embedded::{meta, step_done, OwedSession, Session};
use super::error::ApiError;
use super::identity::step::{
    email_code_owed, EmailCode, MfaEnroll, Otp, OtpMfa, OtpSetup, PasskeyEnroll,
    RecoveryCodeEnroll, SmsMfa, StepPage,
};
use crate::error::ServiceError;
use crate::services::signin::{self, StepCall, TxCall};
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodeBody {
    mfa_code: String,
    /// Accepted for Melody's clients; the embedded API has no cookies to remember a device by.
    #[serde(default)]
    #[allow(dead_code)]
    remember_device: bool,
}

/// `{"success": true}`: the request was carried out and the session stays at its step.
fn success() -> Response {
    Json(json!({ "success": true })).into_response()
}

async fn enrollment_types(s: OwedSession<MfaEnroll>) -> Result<Response, ApiError> {
    let app = s.state.clients.app(&s.tx.request.client_id).await?;
    let wants = s.tx.request.wants_two_factors;
    let types: Vec<&str> = mfa::enrollment_choices(&s.state, app.as_deref(), wants)
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
    s: OwedSession<MfaEnroll>,
    ApiJson(body): ApiJson<EnrollBody>,
) -> Result<Response, ApiError> {
    let kind = MfaType::parse(&body.kind);
    let outcome = mfa::enroll(
        StepCall::new(&s.state, &s.id, s.tx, s.at, meta(&s.ip)),
        kind,
    )
    .await;
    step_done(&s.state, &s.id, outcome).await
}

async fn otp_setup(s: OwedSession<OtpSetup>) -> Result<Response, ApiError> {
    let setup = mfa::otp_setup(&s.state, &s.tx).await?;
    Ok(Json(json!({ "otpUri": setup.uri, "otpSecret": setup.secret })).into_response())
}

async fn otp_info(s: OwedSession<OtpMfa>) -> Result<Response, ApiError> {
    let app = s.state.clients.app(&s.tx.request.client_id).await?;
    let fallback = mfa::email_backup_allowed(&s.state, app.as_deref());
    Ok(Json(json!({ "allowFallbackToEmailMfa": fallback })).into_response())
}

async fn otp_verify(
    s: OwedSession<Otp>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let code = &body.mfa_code;
    let outcome = mfa::verify_otp(
        StepCall::new(&s.state, &s.id, s.tx, s.at, meta(&s.ip)),
        code,
    )
    .await;
    step_done(&s.state, &s.id, outcome).await
}

/// The step an email code answers: email MFA itself, or TOTP / SMS when the app allows the
/// email backup.
async fn email_step(s: Session) -> Result<(Session, AtStep), ApiError> {
    let not_owed = || {
        ApiError::bad_request(
            "An email mfa request triggered but the system is not supposed to send email mfa"
                .into(),
        )
    };
    let (s, at) = match s.owing(EmailCode::STEPS).await {
        Ok(owed) => owed,
        Err(ServiceError::SignIn(SignInError::WrongStep)) => return Err(not_owed()),
        Err(other) => return Err(other.into()),
    };
    match email_code_owed(&s.state, &s.tx, &at).await {
        true => Ok((s, at)),
        false => Err(not_owed()),
    }
}

async fn email_code(s: Session) -> Result<Response, ApiError> {
    let (s, _) = email_step(s).await?;
    mfa::send_email_code(&s.state, &s.id, &s.tx, s.meta()).await?;
    Ok(success())
}

async fn email_verify(s: Session, ApiJson(body): ApiJson<CodeBody>) -> Result<Response, ApiError> {
    let (s, at) = email_step(s).await?;
    let code = &body.mfa_code;
    let outcome =
        mfa::verify_email_code(StepCall::new(&s.state, &s.id, s.tx, at, meta(&s.ip)), code).await;
    step_done(&s.state, &s.id, outcome).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneBody {
    phone_number: String,
}

async fn sms_setup(
    s: OwedSession<SmsMfa>,
    ApiJson(body): ApiJson<PhoneBody>,
) -> Result<Response, ApiError> {
    mfa::setup_sms(&s.state, &s.id, &s.tx, &body.phone_number, meta(&s.ip)).await?;
    Ok(success())
}

/// Melody's answer: whether email may stand in, the country code, and the masked number (a
/// code is texted to it when it is verified).
async fn sms_info(s: OwedSession<SmsMfa>) -> Result<Response, ApiError> {
    let app = s.state.clients.app(&s.tx.request.client_id).await?;
    let phone = mfa::verified_phone(&s.state, s.at.user().id).await?;
    if phone.is_some() {
        mfa::send_sms_code(&s.state, &s.id, &s.tx, meta(&s.ip)).await?;
    }
    Ok(Json(json!({
        "allowFallbackToEmailMfa": mfa::email_backup_allowed(&s.state, app.as_deref()),
        "countryCode": s.state.config.sms_country_code,
        "phoneNumber": phone,
    }))
    .into_response())
}

async fn sms_code(s: OwedSession<SmsMfa>) -> Result<Response, ApiError> {
    mfa::send_sms_code(&s.state, &s.id, &s.tx, meta(&s.ip)).await?;
    Ok(success())
}

async fn sms_verify(
    s: OwedSession<SmsMfa>,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, ApiError> {
    let code = &body.mfa_code;
    let outcome = mfa::verify_sms_code(
        StepCall::new(&s.state, &s.id, s.tx, s.at, meta(&s.ip)),
        code,
    )
    .await;
    step_done(&s.state, &s.id, outcome).await
}

/// The recovery codes to show, issued once per session. `recoveryCode` (Melody's field) holds
/// them all, one per line, for clients that show a single code.
async fn recovery_codes(s: Session) -> Result<Response, ApiError> {
    let codes = match s.tx.recovery_codes.clone() {
        Some(codes) => codes,
        None => {
            let (mut s, _) = s.owing(&[Step::RecoveryCodeEnroll]).await?;
            // Stored when the client says they are saved.
            let codes = mfa::new_recovery_codes();
            s.tx.recovery_codes = Some(codes.clone());
            signin::save(&s.state, &s.id, &s.tx).await?;
            codes
        }
    };
    Ok(Json(json!({ "recoveryCode": codes.join("\n"), "recoveryCodes": codes })).into_response())
}

async fn recovery_codes_saved(mut s: Session) -> Result<Response, ApiError> {
    let codes =
        s.tx.recovery_codes
            .take()
            .ok_or(ServiceError::from(SignInError::WrongStep))?;
    let (s, at) = s.owing(RecoveryCodeEnroll::STEPS).await?;
    mfa::store_recovery_codes(&s.state, at.user().id, &codes).await?;
    let outcome =
        signin::complete_step(StepCall::new(&s.state, &s.id, s.tx, at, meta(&s.ip))).await;
    step_done(&s.state, &s.id, outcome).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecoveryBody {
    email: String,
    recovery_code: String,
}

async fn recovery_sign_in(
    s: Session,
    ApiJson(body): ApiJson<RecoveryBody>,
) -> Result<Response, ApiError> {
    let (email, code) = (&body.email, &body.recovery_code);
    let outcome = mfa::sign_in_with_recovery_code(
        TxCall::new(&s.state, &s.id, s.tx, meta(&s.ip)),
        email,
        code,
    )
    .await;
    step_done(&s.state, &s.id, outcome).await
}

async fn passkey_options(s: OwedSession<PasskeyEnroll>) -> Result<Response, ApiError> {
    let options = passkeys::enroll_options(&s.state, s.at.user().id).await?;
    Ok(Json(json!({ "enrollOptions": options })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnrollInfoBody {
    enroll_info: passkeys::RegistrationResponse,
}

/// A passkey the authenticator's answer does not prove is a 401 with `message`.
fn passkey_refused(message: &str) -> impl FnOnce(ServiceError) -> ApiError + '_ {
    move |err| match err {
        ServiceError::SignIn(SignInError::BadInput(_)) => ApiError::unauthorized(message.into()),
        other => other.into(),
    }
}

async fn passkey_enroll(
    s: OwedSession<PasskeyEnroll>,
    ApiJson(body): ApiJson<EnrollInfoBody>,
) -> Result<Response, ApiError> {
    passkeys::enroll(&s.state, s.at.user().id, &body.enroll_info)
        .await
        .map_err(passkey_refused("Invalid passkey enroll request"))?;
    let outcome =
        signin::complete_step(StepCall::new(&s.state, &s.id, s.tx, s.at, meta(&s.ip))).await;
    step_done(&s.state, &s.id, outcome).await
}

#[derive(Debug, Deserialize)]
struct DeclineBody {
    #[serde(default)]
    remember: bool,
}

async fn passkey_decline(
    s: OwedSession<PasskeyEnroll>,
    ApiJson(body): ApiJson<DeclineBody>,
) -> Result<Response, ApiError> {
    if body.remember {
        passkeys::decline_enrollment(&s.state, s.at.user().id).await?;
    }
    let outcome =
        signin::complete_step(StepCall::new(&s.state, &s.id, s.tx, s.at, meta(&s.ip))).await;
    step_done(&s.state, &s.id, outcome).await
}

async fn passkey_request(s: Session) -> Result<Response, ApiError> {
    if !passkeys::passkeys_on(&s.state) {
        return Err(ApiError::bad_request(
            "Passkeys is not enabled on this server".into(),
        ));
    }
    let options = passkeys::sign_in_options(&s.state).await?;
    Ok(Json(json!({ "passkeyOption": options })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasskeyVerifyBody {
    passkey_info: passkeys::AuthenticationResponse,
    challenge: String,
}

async fn passkey_verify(
    s: Session,
    ApiJson(body): ApiJson<PasskeyVerifyBody>,
) -> Result<Response, ApiError> {
    let (info, challenge) = (&body.passkey_info, &body.challenge);
    let outcome = passkeys::sign_in_with_passkey(
        TxCall::new(&s.state, &s.id, s.tx, meta(&s.ip)),
        info,
        challenge,
    )
    .await
    .map_err(passkey_refused("Invalid passkey verify request"))?;
    step_done(&s.state, &s.id, Ok(outcome)).await
}
