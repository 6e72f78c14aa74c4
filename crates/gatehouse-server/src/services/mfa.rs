//! Second factors during sign-in: TOTP (setup and codes), email codes, enrollment, the
//! remember-device cookie and the `reset_mfa` policy. Codes and counters live in the shared
//! cache under Melody's key names (`EMC-`, `OMUS-`, `FMA-`, `EMEA-`).

use std::time::Duration;

use gatehouse_core::lockout::Counter;
use gatehouse_core::mfa::{acceptable_steps, base32_encode, is_code, otp_uri};
use gatehouse_core::signin::{AtStep, MfaRequirement, MfaType, SignInError, Step};
use gatehouse_store::{AccountStore, App, MfaStore, UserRecord, UserStore};
use serde::{Deserialize, Serialize};

use crate::crypto::{constant_time_eq, random_bytes, random_code, random_token, sha256_hex};
use crate::error::ServiceError;
use crate::mail::compose::Mail;
use crate::services::signin::{self, Outcome, RequestMeta, Transaction};
use crate::services::{codes, outbox};
use crate::state::AppState;

/// The remember-device cookie: `<device id>.<secret>`.
pub const DEVICE_COOKIE: &str = "gh_device";

/// The factors a sign-in to `app` requires: the app's own settings, or the server's.
pub fn requirement(state: &AppState, app: Option<&App>) -> MfaRequirement {
    let config = &state.config;
    match app {
        Some(app) if !app.use_system_mfa_config => MfaRequirement {
            otp: app.require_otp_mfa,
            email: app.require_email_mfa,
            sms: app.require_sms_mfa,
            enforce_one_of: Vec::new(),
        },
        _ => MfaRequirement {
            otp: config.otp_mfa_is_required,
            email: config.email_mfa_is_required,
            sms: config.sms_mfa_is_required,
            enforce_one_of: config
                .enforce_one_mfa_enrollment
                .iter()
                .filter_map(|t| MfaType::parse(t))
                .collect(),
        },
    }
}

/// Whether a user facing TOTP or SMS may ask for an email code instead.
pub fn email_backup_allowed(state: &AppState, app: Option<&App>) -> bool {
    state.mailer.is_configured()
        && match app {
            Some(app) if !app.use_system_mfa_config => app.allow_email_mfa_as_backup,
            _ => state.config.allow_email_mfa_as_backup,
        }
}

pub fn parse_types(text: &str) -> Vec<MfaType> {
    text.split(',')
        .filter_map(|t| MfaType::parse(t.trim()))
        .collect()
}

/// A factor's name as stored and as the APIs show it.
pub fn type_name(kind: MfaType) -> &'static str {
    match kind {
        MfaType::Otp => "otp",
        MfaType::Email => "email",
        MfaType::Sms => "sms",
    }
}

fn join_types(types: &[MfaType]) -> String {
    types
        .iter()
        .map(|t| type_name(*t))
        .collect::<Vec<_>>()
        .join(",")
}

/// What a remember-device entry holds: the secret's hash and the factors it skips.
#[derive(Serialize, Deserialize)]
struct Remembered {
    secret_hash: String,
    types: Vec<MfaType>,
}

fn device_key(user_id: i64, device_id: &str) -> String {
    format!("MRD-{user_id}-{device_id}")
}

/// The factors this device may skip for `user_id`.
pub async fn remembered(
    state: &AppState,
    user_id: i64,
    cookie: Option<&str>,
) -> Result<Vec<MfaType>, ServiceError> {
    if !state.config.enable_mfa_remember_device {
        return Ok(Vec::new());
    }
    let Some((device_id, secret)) = cookie.and_then(|c| c.split_once('.')) else {
        return Ok(Vec::new());
    };
    let Some(raw) = state.cache.get(&device_key(user_id, device_id)).await? else {
        return Ok(Vec::new());
    };
    let Ok(entry) = serde_json::from_str::<Remembered>(&raw) else {
        return Ok(Vec::new());
    };
    let presented = sha256_hex(secret.as_bytes());
    if constant_time_eq(presented.as_bytes(), entry.secret_hash.as_bytes()) {
        Ok(entry.types)
    } else {
        Ok(Vec::new())
    }
}

/// Remembers that this device passed `kind` for the user; returns the cookie value to set.
pub async fn remember(
    state: &AppState,
    user_id: i64,
    kind: MfaType,
    cookie: Option<&str>,
) -> Result<String, ServiceError> {
    let mut types = remembered(state, user_id, cookie).await?;
    let (device_id, secret) = match cookie.and_then(|c| c.split_once('.')) {
        Some((id, secret)) if !types.is_empty() => (id.to_owned(), secret.to_owned()),
        _ => (random_token::<12>(), random_token::<32>()),
    };
    if !types.contains(&kind) {
        types.push(kind);
    }
    let entry = Remembered {
        secret_hash: sha256_hex(secret.as_bytes()),
        types,
    };
    let json = serde_json::to_string(&entry).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let ttl = Duration::from_secs(state.config.mfa_remember_device_expires_in);
    state
        .cache
        .set(&device_key(user_id, &device_id), &json, ttl)
        .await?;
    Ok(format!("{device_id}.{secret}"))
}

/// The account a submission begun at `at` (see `signin::at_step`) is for: a code is checked
/// for it, and only the step owed when the submission began is recorded.
async fn account_at(state: &AppState, at: &AtStep) -> Result<UserRecord, ServiceError> {
    Ok(state
        .store
        .user_by_id(at.user().id)
        .await?
        .ok_or(SignInError::NoUserFound)?)
}

async fn signed_in_user(state: &AppState, tx: &Transaction) -> Result<UserRecord, ServiceError> {
    let user = tx.user().ok_or(SignInError::WrongStep)?;
    Ok(state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(SignInError::NoUserFound)?)
}

/// Refuses when the user's wrong MFA codes (TOTP, email, SMS alike) reached the threshold.
async fn check_code_lockout(
    state: &AppState,
    user_id: i64,
    ip: Option<&str>,
) -> Result<(), ServiceError> {
    let threshold = state.config.mfa_code_verify_threshold;
    let subject = user_id.to_string();
    codes::check_lockout(
        state,
        Counter::FailedMfaCode,
        &subject,
        ip,
        threshold,
        SignInError::MfaLockout,
    )
    .await
}

/// Counts a wrong MFA code; the refusal to answer with.
async fn wrong_code(
    state: &AppState,
    user_id: i64,
    ip: Option<&str>,
) -> Result<ServiceError, ServiceError> {
    codes::count_failure(state, Counter::FailedMfaCode, &user_id.to_string(), ip).await?;
    Ok(SignInError::InvalidMfaCode.into())
}

/// Forgets the wrong MFA codes once the right one came.
async fn right_code(state: &AppState, user_id: i64, ip: Option<&str>) -> Result<(), ServiceError> {
    codes::clear_failures(state, Counter::FailedMfaCode, &user_id.to_string(), ip).await
}

/// What the TOTP setup page shows.
pub struct OtpSetup {
    pub secret: String,
    pub uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// What a user's sealed TOTP secret is bound to, so it cannot be moved to another user.
pub(crate) fn otp_seal_context(user_id: i64) -> String {
    format!("totp:{user_id}")
}

/// The user's TOTP secret for setup: the pending one, or a new one when there is none. A
/// verified secret is never shown again.
pub async fn otp_setup(state: &AppState, tx: &Transaction) -> Result<OtpSetup, ServiceError> {
    let user = signed_in_user(state, tx).await?;
    if user.otp_verified {
        return Err(SignInError::WrongStep.into());
    }
    let context = otp_seal_context(user.id);
    let secret = match state.store.otp_secret(user.id).await? {
        Some(sealed) => state.keys.open_secret(&sealed, &context)?,
        None => {
            let secret = random_bytes::<20>().to_vec();
            let sealed = state.keys.seal_secret(&secret, &context);
            state.store.set_otp_secret(user.id, &sealed).await?;
            secret
        }
    };
    let secret = base32_encode(&secret);
    let account = user.email.clone().unwrap_or_else(|| user.auth_id.clone());
    let uri = otp_uri(&state.config.otp_issuer, &account, &secret);
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| ServiceError::Internal(format!("QR code: {e}")))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(OtpSetup {
        secret,
        uri,
        qr_svg,
    })
}

/// A TOTP code: checked against the steps either side of now, each step usable once.
/// Verifying at setup confirms the secret and enrolls the user in TOTP.
pub async fn verify_otp(
    state: &AppState,
    id: &str,
    tx: Transaction,
    at: AtStep,
    code: &str,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    if !matches!(at.step(), Step::OtpMfa | Step::OtpSetup) {
        return Err(SignInError::WrongStep.into());
    }
    let user = account_at(state, &at).await?;
    check_code_lockout(state, user.id, meta.ip).await?;
    let sealed = state
        .store
        .otp_secret(user.id)
        .await?
        .ok_or(SignInError::WrongStep)?;
    let secret = state
        .keys
        .open_secret(&sealed, &otp_seal_context(user.id))?;
    let code = code.trim();
    let step = is_code(code)
        .then(|| {
            acceptable_steps(meta.now).into_iter().find(|step| {
                constant_time_eq(
                    crate::crypto::totp_code(&secret, *step).as_bytes(),
                    code.as_bytes(),
                )
            })
        })
        .flatten();
    let Some(step) = step else {
        return Err(wrong_code(state, user.id, meta.ip).await?);
    };
    // Each step once per user: a code seen over someone's shoulder is already spent.
    let fresh = state
        .cache
        .set_if_absent(
            &format!("OMUS-{}-{step}", user.id),
            "1",
            Duration::from_secs(90),
        )
        .await?;
    if !fresh {
        return Err(wrong_code(state, user.id, meta.ip).await?);
    }
    right_code(state, user.id, meta.ip).await?;
    if !user.otp_verified {
        let mut types = parse_types(&user.mfa_types);
        if !types.contains(&MfaType::Otp) {
            types.push(MfaType::Otp);
        }
        state
            .store
            .confirm_otp(user.id, &join_types(&types))
            .await?;
    }
    signin::complete_step(state, id, tx, at, meta).await
}

/// A code is bound to its transaction and to the account it was sent to.
fn email_code_key(id: &str, user_id: i64) -> String {
    format!("EMC-{id}-{user_id}")
}

/// Emails a sign-in code for the transaction (replacing any earlier one), within the send limit.
pub async fn send_email_code(
    state: &AppState,
    id: &str,
    tx: &Transaction,
    meta: RequestMeta<'_>,
) -> Result<(), ServiceError> {
    if !state.mailer.is_configured() {
        return Err(SignInError::FeatureOff("Email MFA").into());
    }
    let user = signed_in_user(state, tx).await?;
    let email = user.email.clone().ok_or(SignInError::NoUserFound)?;
    let limit = (state.config.email_mfa_email_threshold, codes::WINDOW);
    let subject = user.id.to_string();
    codes::within_send_limit(
        state,
        Counter::EmailCodeSends,
        &subject,
        meta.ip,
        limit,
        SignInError::EmailSendLimit,
    )
    .await?;
    let code = random_code();
    let ttl = Duration::from_secs(state.config.email_mfa_code_expires_in);
    state
        .cache
        .set(&email_code_key(id, user.id), &code, ttl)
        .await?;
    let mail = Mail::PasswordlessCode { code: &code };
    outbox::send(
        state,
        mail,
        &email,
        &tx.request.locale,
        Some(&user.org_slug),
    )
    .await
}

/// Whether the transaction has a live code under `key` for its account (so a page load does
/// not send another).
async fn code_pending(
    state: &AppState,
    id: &str,
    tx: &Transaction,
    key: fn(&str, i64) -> String,
) -> Result<bool, ServiceError> {
    let Some(user) = tx.user() else {
        return Ok(false);
    };
    Ok(state.cache.get(&key(id, user.id)).await?.is_some())
}

/// Whether the transaction has a live email code.
pub async fn email_code_pending(
    state: &AppState,
    id: &str,
    tx: &Transaction,
) -> Result<bool, ServiceError> {
    code_pending(state, id, tx, email_code_key).await
}

/// An emailed code. Begun at the TOTP or SMS step (the email backup), it stands in for that
/// step too.
pub async fn verify_email_code(
    state: &AppState,
    id: &str,
    tx: Transaction,
    at: AtStep,
    code: &str,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    match at.step() {
        Step::EmailMfa => {}
        // Standing in for TOTP or SMS only where the app allows the email backup.
        Step::OtpMfa | Step::SmsMfa => {
            let app = state.clients.app(&tx.request.client_id).await?;
            if !email_backup_allowed(state, app.as_deref()) {
                return Err(SignInError::WrongStep.into());
            }
        }
        _ => return Err(SignInError::WrongStep.into()),
    }
    let user = account_at(state, &at).await?;
    check_code_lockout(state, user.id, meta.ip).await?;
    if !codes::code_matches(state, &email_code_key(id, user.id), code).await? {
        return Err(wrong_code(state, user.id, meta.ip).await?);
    }
    state.cache.delete(&email_code_key(id, user.id)).await?;
    right_code(state, user.id, meta.ip).await?;
    signin::complete_by_email(state, id, tx, at, meta).await
}

/// The types the enrollment page offers: the enforced list, less what the server cannot do.
pub fn enrollment_choices(state: &AppState, app: Option<&App>) -> Vec<MfaType> {
    requirement(state, app)
        .enforce_one_of
        .into_iter()
        .filter(|t| match t {
            MfaType::Email => state.mailer.is_configured(),
            MfaType::Otp => true,
            MfaType::Sms => state.sms.is_configured(),
        })
        .collect()
}

/// The user picks the factor they must enroll in; the next step sets it up.
pub async fn enroll(
    state: &AppState,
    id: &str,
    tx: Transaction,
    at: AtStep,
    kind: Option<MfaType>,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    if at.step() != Step::MfaEnroll {
        return Err(SignInError::WrongStep.into());
    }
    let user = account_at(state, &at).await?;
    let app = state.clients.app(&tx.request.client_id).await?;
    let kind = kind
        .filter(|k| enrollment_choices(state, app.as_deref()).contains(k))
        .ok_or_else(|| SignInError::BadInput("Choose one of the offered methods".into()))?;
    let mut types = parse_types(&user.mfa_types);
    if !types.is_empty() {
        return Err(SignInError::BadInput("User already enrolled with MFA".into()).into());
    }
    types.push(kind);
    state
        .store
        .set_mfa_types(user.id, &join_types(&types), kind == MfaType::Otp, false)
        .await?;
    signin::complete_step(state, id, tx, at, meta).await
}

/// The `reset_mfa` policy: every factor and its secrets removed.
pub async fn reset_own_mfa(state: &AppState, user_id: i64) -> Result<(), ServiceError> {
    state.store.set_mfa_types(user_id, "", true, true).await?;
    Ok(())
}

/// Recovery codes are on (and passwordless sign-in, which has no second step, is off).
pub fn recovery_codes_on(state: &AppState) -> bool {
    state.config.enable_recovery_code && !state.config.enable_passwordless_sign_in
}

/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;

/// `XXXX-XXXX-XXXX-XXXX`: 80 random bits in base32, so a fast hash is enough to store it.
fn new_recovery_code() -> String {
    let text = base32_encode(&random_bytes::<10>());
    let groups: Vec<&str> = (0..4).map(|i| &text[i * 4..i * 4 + 4]).collect();
    groups.join("-")
}

/// A code as typed: case, spaces and dashes do not matter.
fn recovery_code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    sha256_hex(normal.as_bytes())
}

/// A new set of recovery codes, shown to the user before they are stored.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect()
}

/// Makes `codes` the user's recovery codes (the old set stops working); only their hashes
/// are kept.
pub async fn store_recovery_codes(
    state: &AppState,
    user_id: i64,
    codes: &[String],
) -> Result<(), ServiceError> {
    let hashes: Vec<String> = codes.iter().map(|c| recovery_code_hash(c)).collect();
    state.store.replace_recovery_codes(user_id, &hashes).await?;
    Ok(())
}

/// Whether the user has unused recovery codes.
pub async fn has_recovery_codes(state: &AppState, user_id: i64) -> Result<bool, ServiceError> {
    Ok(state.store.recovery_codes_left(user_id).await? > 0)
}

/// Sign-in with email and a recovery code: a strong first factor (the second step is skipped),
/// under the same lockout as passwords; the code is spent.
pub async fn sign_in_with_recovery_code(
    state: &AppState,
    id: &str,
    tx: Transaction,
    email: &str,
    code: &str,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    if !recovery_codes_on(state) {
        return Err(SignInError::FeatureOff("Recovery codes").into());
    }
    tx.expect_first_factor()?;
    let email = email.trim().to_lowercase();
    let lockout = signin::PasswordLockout::new(state, &email, meta.ip);
    if lockout.is_locked(state).await? {
        return Err(SignInError::LockedOut.into());
    }
    let account = state.store.password_account(&email).await?;
    let spent = match &account {
        Some(a) => {
            state
                .store
                .use_recovery_code(a.id, &recovery_code_hash(code))
                .await?
        }
        None => false,
    };
    let Some(account) = account.filter(|_| spent) else {
        lockout.failed(state).await?;
        return Err(SignInError::NoUserFound.into());
    };
    if !account.is_active {
        return Err(SignInError::DisabledAccount.into());
    }
    lockout.clear(state).await?;
    let user = signin::SignedInUser {
        id: account.id,
        auth_id: account.auth_id,
    };
    let factor = gatehouse_core::signin::FirstFactor::StrongFactor;
    signin::signed_in(state, id, tx, user, factor, meta).await
}

// --- SMS ----------------------------------------------------------------------------------

fn sms_code_key(id: &str, user_id: i64) -> String {
    format!("SMC-{id}-{user_id}")
}

fn sms_text(locale: &str, code: &str) -> String {
    match locale {
        "fr" => format!("Votre code de connexion : {code}"),
        l if l.eq_ignore_ascii_case("zh-CN") => format!("您的登录验证码：{code}"),
        _ => format!("Your sign-in code: {code}"),
    }
}

/// The user's SMS number (masked but the last 4 digits) once verified, for the code page.
pub async fn verified_phone(
    state: &AppState,
    user_id: i64,
) -> Result<Option<String>, ServiceError> {
    Ok(state
        .store
        .sms_phone(user_id)
        .await?
        .filter(|(_, verified)| *verified)
        .map(|(number, _)| {
            let keep = number.len().saturating_sub(4);
            format!("{}{}", "•".repeat(keep.saturating_sub(1)), &number[keep..])
        }))
}

/// Stores the number the user typed (not yet verified) and texts it a code.
pub async fn setup_sms(
    state: &AppState,
    id: &str,
    tx: &Transaction,
    typed: &str,
    meta: RequestMeta<'_>,
) -> Result<(), ServiceError> {
    let user = signed_in_user(state, tx).await?;
    if state
        .store
        .sms_phone(user.id)
        .await?
        .is_some_and(|(_, verified)| verified)
    {
        return Err(SignInError::BadInput("User already enrolled with MFA".into()).into());
    }
    let number =
        crate::sms::normalize_number(typed, &state.config.sms_country_code).ok_or_else(|| {
            SignInError::BadInput(
                "Enter a phone number in international form, such as +14155550123".into(),
            )
        })?;
    state.store.set_sms_phone(user.id, &number).await?;
    send_sms_code(state, id, tx, meta).await
}

/// Texts a sign-in code to the user's number (replacing any earlier one), within the limit.
pub async fn send_sms_code(
    state: &AppState,
    id: &str,
    tx: &Transaction,
    meta: RequestMeta<'_>,
) -> Result<(), ServiceError> {
    if !state.sms.is_configured() {
        return Err(SignInError::FeatureOff("SMS MFA").into());
    }
    let user = signed_in_user(state, tx).await?;
    let (number, _) = state
        .store
        .sms_phone(user.id)
        .await?
        .ok_or_else(|| SignInError::BadInput("SMS MFA is not setup".into()))?;
    let limit = (state.config.sms_mfa_message_threshold, codes::WINDOW);
    let subject = user.id.to_string();
    codes::within_send_limit(
        state,
        Counter::SmsSends,
        &subject,
        meta.ip,
        limit,
        SignInError::SmsSendLimit,
    )
    .await?;
    let code = random_code();
    let ttl = Duration::from_secs(state.config.sms_mfa_code_expires_in);
    state
        .cache
        .set(&sms_code_key(id, user.id), &code, ttl)
        .await?;
    let text = sms_text(&tx.request.locale, &code);
    outbox::send_sms(state, &number, &text, &code);
    Ok(())
}

/// Whether the transaction has a live SMS code.
pub async fn sms_code_pending(
    state: &AppState,
    id: &str,
    tx: &Transaction,
) -> Result<bool, ServiceError> {
    code_pending(state, id, tx, sms_code_key).await
}

/// A texted code: confirms the number (enrolling the user in SMS) and the step.
pub async fn verify_sms_code(
    state: &AppState,
    id: &str,
    tx: Transaction,
    at: AtStep,
    code: &str,
    meta: RequestMeta<'_>,
) -> Result<Outcome, ServiceError> {
    if at.step() != Step::SmsMfa {
        return Err(SignInError::WrongStep.into());
    }
    let user = account_at(state, &at).await?;
    check_code_lockout(state, user.id, meta.ip).await?;
    if !codes::code_matches(state, &sms_code_key(id, user.id), code).await? {
        return Err(wrong_code(state, user.id, meta.ip).await?);
    }
    state.cache.delete(&sms_code_key(id, user.id)).await?;
    right_code(state, user.id, meta.ip).await?;
    let mut types = parse_types(&user.mfa_types);
    if !types.contains(&MfaType::Sms) {
        types.push(MfaType::Sms);
    }
    state
        .store
        .confirm_sms(user.id, &join_types(&types))
        .await?;
    signin::complete_step(state, id, tx, at, meta).await
}
