//! The embedded auth API's second-factor routes (melody.md §6): enrollment, TOTP, email and SMS
//! codes, recovery codes. Same services as the pages; the session id is the transaction.

use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::signin::{AtStep, MfaType, SignInError, Step};
use serde::Deserialize;
use utoipa::ToSchema;

use super::api::json::ApiJson;
use super::api::ErrorBody;
use super::embedded::{meta, step_done, OwedSession, Session};
use super::embedded_views::{
    AuthRes, FallbackBody, MfaTypesBody, OtpSetupBody, PasskeyEnrollOptions, PasskeyRequestOptions,
    RecoveryCodesBody, SessionPath, SmsConfigBody, SuccessBody,
};
use super::error::ApiError;
use super::identity::step::{
    email_code_owed, EmailCode, MfaEnroll, Otp, OtpMfa, OtpSetup, PasskeyEnroll,
    RecoveryCodeEnroll, SmsMfa, StepPage,
};
use super::openapi::{routes, DocumentedRouter};
use crate::error::ServiceError;
use crate::services::signin::{self, StepCall, TxCall};
use crate::services::{mfa, passkeys};
use crate::state::AppState;

/// The second-factor routes, each registered once with its OpenAPI operation.
pub fn routes() -> DocumentedRouter<AppState> {
    DocumentedRouter::part()
        .routes(routes!(enrollment_types, enroll))
        .routes(routes!(otp_setup))
        .routes(routes!(otp_info, otp_verify))
        .routes(routes!(email_code))
        .routes(routes!(email_verify))
        .routes(routes!(sms_setup))
        .routes(routes!(sms_info, sms_verify))
        .routes(routes!(sms_code))
        .routes(routes!(recovery_codes, recovery_codes_saved))
        .routes(routes!(recovery_sign_in))
        .routes(routes!(passkey_options, passkey_enroll))
        .routes(routes!(passkey_decline))
        .routes(routes!(passkey_request, passkey_verify))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CodeBody {
    /// The 6-digit code.
    #[schema(example = "123456")]
    mfa_code: String,
    /// Accepted and ignored: the embedded API has no cookie to remember a device by.
    #[serde(default)]
    #[allow(dead_code)]
    remember_device: bool,
}

/// `{"success": true}`: the request was carried out and the session stays at its step.
fn success() -> Response {
    Json(SuccessBody { success: true }).into_response()
}

/// The second factors the user may enroll (the session is at `mfa_enroll`).
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/mfa-enrollment", tag = "MFA", params(SessionPath),
    responses((status = 200, description = "The factors to offer", body = MfaTypesBody),
        (status = 400, description = "The session is not at `mfa_enroll`", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn enrollment_types(s: OwedSession<MfaEnroll>) -> Result<Response, ApiError> {
    let app = s.state.clients.app(&s.tx.request.client_id).await?;
    let wants = s.tx.request.wants_two_factors;
    let mfa_types = mfa::enrollment_choices(&s.state, app.as_deref(), wants)
        .into_iter()
        .map(MfaType::as_str)
        .collect();
    Ok(Json(MfaTypesBody { mfa_types }).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
struct EnrollBody {
    /// One of the offered `mfaTypes`: `otp`, `email` or `sms`.
    #[serde(rename = "type")]
    #[schema(example = "otp")]
    kind: String,
}

/// Enroll one of the offered factors; the next step sets it up or proves it.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/mfa-enrollment", tag = "MFA", params(SessionPath), request_body = EnrollBody,
    responses((status = 200, description = "Enrolled; the next step", body = AuthRes),
        (status = 400, description = "The session is not at `mfa_enroll`, the type is not offered, or the user already has a factor", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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

/// The TOTP secret to add to an authenticator app (the session is at `otp_setup`).
///
/// Asked again, it is the same secret until a code proves it.
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/otp-mfa-setup", tag = "MFA", params(SessionPath),
    responses((status = 200, description = "The secret and its URI", body = OtpSetupBody),
        (status = 400, description = "The session is not at `otp_setup`", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn otp_setup(s: OwedSession<OtpSetup>) -> Result<Response, ApiError> {
    let setup = mfa::otp_setup(&s.state, &s.tx).await?;
    Ok(Json(OtpSetupBody {
        otp_uri: setup.uri,
        otp_secret: setup.secret,
    })
    .into_response())
}

/// Whether an emailed code may stand in for TOTP (the session is at `otp_mfa`).
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/otp-mfa", tag = "MFA", params(SessionPath),
    responses((status = 200, description = "The email fallback", body = FallbackBody),
        (status = 400, description = "The session is not at `otp_mfa`", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn otp_info(s: OwedSession<OtpMfa>) -> Result<Response, ApiError> {
    let app = s.state.clients.app(&s.tx.request.client_id).await?;
    let allow_fallback_to_email_mfa = mfa::email_backup_allowed(&s.state, app.as_deref());
    Ok(Json(FallbackBody {
        allow_fallback_to_email_mfa,
    })
    .into_response())
}

/// Prove TOTP with a code from the authenticator app (at `otp_setup` this also enrolls it).
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/otp-mfa", tag = "MFA", params(SessionPath), request_body = CodeBody,
    responses((status = 200, description = "Proved; the next step, if any", body = AuthRes),
        (status = 400, description = "The session is not at `otp_setup` or `otp_mfa`, the code is wrong, or too many wrong codes", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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

/// Email the user a code: for `email_mfa`, or instead of TOTP or SMS where the app allows.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/email-mfa-code", tag = "MFA", params(SessionPath),
    responses((status = 200, description = "Sent", body = SuccessBody),
        (status = 400, description = "The session owes no email code, or too many codes were sent", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn email_code(s: Session) -> Result<Response, ApiError> {
    let (s, _) = email_step(s).await?;
    mfa::send_email_code(&s.state, &s.id, &s.tx, s.meta()).await?;
    Ok(success())
}

/// Prove the emailed code.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/email-mfa", tag = "MFA", params(SessionPath), request_body = CodeBody,
    responses((status = 200, description = "Proved; the next step, if any", body = AuthRes),
        (status = 400, description = "The session owes no email code, the code is wrong or expired, or too many wrong codes", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn email_verify(s: Session, ApiJson(body): ApiJson<CodeBody>) -> Result<Response, ApiError> {
    let (s, at) = email_step(s).await?;
    let code = &body.mfa_code;
    let outcome =
        mfa::verify_email_code(StepCall::new(&s.state, &s.id, s.tx, at, meta(&s.ip)), code).await;
    step_done(&s.state, &s.id, outcome).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PhoneBody {
    /// In international form; without a country code it is read in `sms_country_code`'s.
    #[schema(example = "+14155550123")]
    phone_number: String,
}

/// Set the user's phone number and text a code to it.
///
/// The first setup: the session is at `sms_mfa` and no number is verified yet.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/sms-mfa-setup", tag = "MFA", params(SessionPath), request_body = PhoneBody,
    responses((status = 200, description = "Texted", body = SuccessBody),
        (status = 400, description = "The session is not at `sms_mfa`, a number is already verified, the number is invalid, or too many codes were sent", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn sms_setup(
    s: OwedSession<SmsMfa>,
    ApiJson(body): ApiJson<PhoneBody>,
) -> Result<Response, ApiError> {
    mfa::setup_sms(&s.state, &s.id, &s.tx, &body.phone_number, meta(&s.ip)).await?;
    Ok(success())
}

/// Whether email may stand in, the country code and the masked number (at `sms_mfa`).
///
/// When the user has a verified number, a code is texted to it.
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/sms-mfa", tag = "MFA", params(SessionPath),
    responses((status = 200, description = "The SMS step", body = SmsConfigBody),
        (status = 400, description = "The session is not at `sms_mfa`, or too many codes were sent", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn sms_info(s: OwedSession<SmsMfa>) -> Result<Response, ApiError> {
    let app = s.state.clients.app(&s.tx.request.client_id).await?;
    let phone = mfa::verified_phone(&s.state, s.at.user().id).await?;
    if phone.is_some() {
        mfa::send_sms_code(&s.state, &s.id, &s.tx, meta(&s.ip)).await?;
    }
    Ok(Json(SmsConfigBody {
        allow_fallback_to_email_mfa: mfa::email_backup_allowed(&s.state, app.as_deref()),
        country_code: s.state.config.sms_country_code.clone(),
        phone_number: phone,
    })
    .into_response())
}

/// Text a new code to the user's number.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/sms-mfa-code", tag = "MFA", params(SessionPath),
    responses((status = 200, description = "Texted", body = SuccessBody),
        (status = 400, description = "The session is not at `sms_mfa`, there is no number, or too many codes were sent", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn sms_code(s: OwedSession<SmsMfa>) -> Result<Response, ApiError> {
    mfa::send_sms_code(&s.state, &s.id, &s.tx, meta(&s.ip)).await?;
    Ok(success())
}

/// Prove the texted code (the first one also verifies the number).
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/sms-mfa", tag = "MFA", params(SessionPath), request_body = CodeBody,
    responses((status = 200, description = "Proved; the next step, if any", body = AuthRes),
        (status = 400, description = "The session is not at `sms_mfa`, the code is wrong or expired, or too many wrong codes", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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

/// The recovery codes to show (the session is at `recovery_code_enroll`).
///
/// Issued once per session: asked again, the same codes. They take effect when the client
/// says they are saved.
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/recovery-code-enroll", tag = "Recovery codes", params(SessionPath),
    responses((status = 200, description = "The codes", body = RecoveryCodesBody),
        (status = 400, description = "The session is not at `recovery_code_enroll`", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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
    Ok(Json(RecoveryCodesBody {
        recovery_code: codes.join("\n"),
        recovery_codes: codes,
    })
    .into_response())
}

/// Confirm the codes shown are saved; the session goes on.
///
/// They replace any earlier set. No body.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/recovery-code-enroll", tag = "Recovery codes", params(SessionPath),
    responses((status = 200, description = "Stored; the next step, if any", body = AuthRes),
        (status = 400, description = "No codes were shown in this session, or it is not at `recovery_code_enroll`", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RecoveryBody {
    email: String,
    recovery_code: String,
}

/// Sign in with an email and a recovery code instead of the password and second factor.
///
/// The code is spent; no new one is issued (the user keeps the rest of the set).
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/recovery-code", tag = "Recovery codes", params(SessionPath), request_body = RecoveryBody,
    responses((status = 200, description = "Signed in; the next step, if any", body = AuthRes),
        (status = 400, description = "Recovery codes are off, the session is past its first factor, the account is disabled or locked out", body = ErrorBody),
        (status = 404, description = "Unknown session, or no account with this email and code", body = ErrorBody)))]
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

/// The WebAuthn options to create a passkey with (the session is at `passkey_enroll`).
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/passkey-enroll", tag = "Passkeys", params(SessionPath),
    responses((status = 200, description = "The creation options", body = PasskeyEnrollOptions),
        (status = 400, description = "The session is not at `passkey_enroll`", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn passkey_options(s: OwedSession<PasskeyEnroll>) -> Result<Response, ApiError> {
    let enroll_options = passkeys::enroll_options(&s.state, s.at.user().id).await?;
    Ok(Json(PasskeyEnrollOptions { enroll_options }).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct EnrollInfoBody {
    /// What `navigator.credentials.create()` gave, in its JSON form.
    enroll_info: passkeys::RegistrationResponse,
}

/// A passkey the authenticator's answer does not prove is a 401 with `message`.
fn passkey_refused(message: &str) -> impl FnOnce(ServiceError) -> ApiError + '_ {
    move |err| match err {
        ServiceError::SignIn(SignInError::BadInput(_)) => ApiError::unauthorized(message.into()),
        other => other.into(),
    }
}

/// Register the passkey the authenticator created.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/passkey-enroll", tag = "Passkeys", params(SessionPath), request_body = EnrollInfoBody,
    responses((status = 200, description = "Registered; the next step, if any", body = AuthRes),
        (status = 400, description = "The session is not at `passkey_enroll`", body = ErrorBody),
        (status = 401, description = "`Invalid passkey enroll request`: the response does not answer the challenge, origin or relying party, or the passkey is already registered", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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

#[derive(Debug, Deserialize, ToSchema)]
struct DeclineBody {
    /// Stop asking this user at later sign-ins.
    #[serde(default)]
    remember: bool,
}

/// Skip enrolling a passkey.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/passkey-enroll-decline", tag = "Passkeys", params(SessionPath), request_body = DeclineBody,
    responses((status = 200, description = "Skipped; the next step, if any", body = AuthRes),
        (status = 400, description = "The session is not at `passkey_enroll`", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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

/// The WebAuthn options to sign in with a passkey.
///
/// Discoverable credentials: no email is needed (an `email` query parameter is ignored);
/// the challenge works once.
#[utoipa::path(get, path = "/embedded-auth/v1/{sessionId}/passkey-verify", tag = "Passkeys", params(SessionPath),
    responses((status = 200, description = "The request options", body = PasskeyRequestOptions),
        (status = 400, description = "Passkeys are off on this server", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
async fn passkey_request(s: Session) -> Result<Response, ApiError> {
    if !passkeys::passkeys_on(&s.state) {
        return Err(ApiError::bad_request(
            "Passkeys is not enabled on this server".into(),
        ));
    }
    let passkey_option = passkeys::sign_in_options(&s.state).await?;
    Ok(Json(PasskeyRequestOptions { passkey_option }).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PasskeyVerifyBody {
    /// What `navigator.credentials.get()` gave, in its JSON form.
    passkey_info: passkeys::AuthenticationResponse,
    /// The `challenge` of the options the passkey answered.
    challenge: String,
}

/// Sign in with a passkey: a strong first factor, so no second one is asked.
#[utoipa::path(post, path = "/embedded-auth/v1/{sessionId}/passkey-verify", tag = "Passkeys", params(SessionPath), request_body = PasskeyVerifyBody,
    responses((status = 200, description = "Signed in; the next step, if any", body = AuthRes),
        (status = 400, description = "Passkeys are off, the session is past its first factor, or the account is disabled", body = ErrorBody),
        (status = 401, description = "`Invalid passkey verify request`: unknown passkey, spent challenge or a signature that does not verify", body = ErrorBody),
        (status = 404, description = "Unknown session", body = ErrorBody)))]
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
