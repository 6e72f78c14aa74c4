//! TOTP: setting up the authenticator app and checking its codes.

use std::time::Duration;

use gatehouse_core::ids::UserId;
use gatehouse_core::mfa::{acceptable_steps, base32_encode, is_code, otp_uri};
use gatehouse_core::signin::{MfaType, SignInError, Step};
use gatehouse_store::MfaStore;

use super::{account_at, check_code_lockout, right_code, signed_in_user, wrong_code};
use crate::crypto::{constant_time_eq, random_bytes};
use crate::error::ServiceError;
use crate::services::signin::{self, Outcome, StepCall, Transaction};
use crate::state::AppState;

/// What the TOTP setup page shows.
pub struct OtpSetup {
    pub secret: String,
    pub uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// What a user's sealed TOTP secret is bound to, so it cannot be moved to another user.
pub(crate) fn otp_seal_context(user_id: UserId) -> String {
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
pub async fn verify_otp(call: StepCall<'_>, code: &str) -> Result<Outcome, ServiceError> {
    let (state, id, tx, at, meta) = call.into_parts();
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
        let types = user.mfa_types.clone().with(MfaType::Otp);
        let change = crate::services::audit::mfa_enrolled(&user, &types);
        let list = types.to_list();
        let write = state.store.confirm_otp(user.id, &list);
        gatehouse_store::changes::recording(change, write).await?;
    }
    signin::complete_step(StepCall::new(state, id, tx, at, meta)).await
}
