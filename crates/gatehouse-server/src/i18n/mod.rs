//! Every text Gatehouse shows or sends, in each language it speaks: the pages, the admin panel,
//! the emails, the text messages and the refusals shown on pages. One table per language
//! (`en.rs`, `fr.rs`, `zh_cn.rs`), each a literal of the structs in `keys.rs`, so a key missing
//! from a language does not compile; the tests below check that no text is empty and that every
//! translation keeps its English text's `{…}` placeholders.
//!
//! The JSON answers (OAuth, the embedded and management APIs) keep the errors' English messages.

mod en;
mod fr;
mod keys;
mod zh_cn;

use gatehouse_core::admin::AdminRuleError;
use gatehouse_core::password::PasswordError;
use gatehouse_core::signin::SignInError;

pub use keys::{MailTexts, Refusals, SmsTexts, Texts, Words};

use crate::error::ServiceError;

/// One language's texts.
pub struct Catalogue {
    /// The BCP 47 tag, as `supported_locales` spells it.
    pub lang: &'static str,
    /// The language's name in itself, for language pickers.
    pub language_name: &'static str,
    pub page: Texts,
    pub panel: Words,
    pub mail: MailTexts,
    pub sms: SmsTexts,
    pub refusal: Refusals,
}

/// Every language, in the order pickers list them.
pub const LANGUAGES: [&Catalogue; 3] = [&en::CATALOGUE, &fr::CATALOGUE, &zh_cn::CATALOGUE];

/// The tags of [`LANGUAGES`], the values `supported_locales` accepts.
pub const TAGS: [&str; 3] = [
    en::CATALOGUE.lang,
    fr::CATALOGUE.lang,
    zh_cn::CATALOGUE.lang,
];

/// The catalogue of `locale` (compared case-insensitively; a bare `zh` is Simplified Chinese),
/// English for anything else.
pub fn catalogue(locale: &str) -> &'static Catalogue {
    let locale = if locale.eq_ignore_ascii_case("zh") {
        zh_cn::CATALOGUE.lang
    } else {
        locale
    };
    LANGUAGES
        .into_iter()
        .find(|c| c.lang.eq_ignore_ascii_case(locale))
        .unwrap_or(&en::CATALOGUE)
}

/// The pages' texts in `locale`.
pub fn texts(locale: &str) -> &'static Texts {
    &catalogue(locale).page
}

/// The admin panel's texts in `locale`.
pub fn words(locale: &str) -> &'static Words {
    &catalogue(locale).panel
}

/// A refusal as a page in `locale` shows it. Errors the catalogue does not know (free-text input
/// problems, management rules) keep their English message.
pub fn refusal(locale: &str, err: &ServiceError) -> String {
    match err {
        ServiceError::SignIn(err) => catalogue(locale).refusal.sign_in(err),
        other => other.to_string(),
    }
}

/// The text message carrying a sign-in code.
pub fn sms_code_text(locale: &str, code: &str) -> String {
    fill(catalogue(locale).sms.sign_in_code, &[("code", code)])
}

impl Refusals {
    fn sign_in(&self, err: &SignInError) -> String {
        let fixed = match err {
            SignInError::NoUserFound => self.no_user_found,
            SignInError::LockedOut => self.locked_out,
            SignInError::DisabledAccount => self.disabled_account,
            SignInError::EmailInUse => self.email_in_use,
            SignInError::BadInput(message) => return self.bad_input(message),
            SignInError::UnknownTransaction => self.unknown_transaction,
            SignInError::CsrfMismatch => self.csrf_mismatch,
            SignInError::FeatureOff(feature) => {
                return fill(self.feature_off, &[("feature", feature)])
            }
            SignInError::WrongStep => self.wrong_step,
            SignInError::AlreadySignedIn => self.already_signed_in,
            SignInError::WrongCurrentPassword => self.wrong_current_password,
            SignInError::InvalidCode => self.invalid_code,
            SignInError::Captcha => self.captcha,
            SignInError::InvalidMfaCode => self.invalid_mfa_code,
            SignInError::MfaLockout => self.mfa_lockout,
            SignInError::ResetRequestLimit => self.reset_request_limit,
            SignInError::ResetCodeLockout => self.reset_code_lockout,
            SignInError::VerificationLockout => self.verification_lockout,
            SignInError::ChangeEmailSendLimit => self.change_email_send_limit,
            SignInError::ChangeEmailLockout => self.change_email_lockout,
            SignInError::PasswordlessLockout => self.passwordless_lockout,
            SignInError::EmailSendLimit => self.email_send_limit,
            SignInError::SmsSendLimit => self.sms_send_limit,
            SignInError::SamePassword => self.same_password,
            SignInError::SameEmail => self.same_email,
            SignInError::InvitationNotFound => self.invitation_not_found,
            SignInError::InvitationExpired => self.invitation_expired,
            SignInError::AlreadyActive => self.already_active,
            SignInError::UnknownProvider(provider) => {
                return fill(self.unknown_provider, &[("provider", provider)])
            }
            SignInError::ExternalRefused { provider, reason } => {
                return fill(
                    self.external_refused,
                    &[("provider", provider), ("reason", reason)],
                )
            }
            SignInError::ProviderUnavailable(provider) => {
                return fill(self.provider_unavailable, &[("provider", provider)])
            }
            SignInError::UnknownSamlIdp(idp) => {
                return fill(self.unknown_saml_idp, &[("idp", idp)])
            }
            SignInError::SamlIdpMisconfigured { idp, reason } => {
                return fill(
                    self.saml_idp_misconfigured,
                    &[("idp", idp), ("reason", reason)],
                )
            }
            SignInError::InvalidSamlResponse(reason) => {
                return fill(
                    self.invalid_saml_response,
                    &[("reason", &reason.to_string())],
                )
            }
        };
        fixed.to_owned()
    }

    /// Input problems travel as their English message; the ones a rule of its own produces
    /// (the password rule, the email syntax) are recognized by that rule's message.
    fn bad_input(&self, message: &str) -> String {
        let known = [
            (PasswordError::TooWeak.to_string(), self.password_too_weak),
            (PasswordError::TooLong.to_string(), self.password_too_long),
            (AdminRuleError::InvalidEmail.to_string(), self.invalid_email),
        ];
        known
            .into_iter()
            .find(|(english, _)| english == message)
            .map_or_else(|| message.to_owned(), |(_, text)| text.to_owned())
    }
}

/// `template` with each `{name}` replaced by its value, in one pass (a value that itself holds
/// `{…}` is left as it is).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            values
                .iter()
                .find(|(name, _)| *name == &after[..close])
                .map(|(name, value)| (name.len(), *value))
        });
        match value {
            Some((len, value)) => {
                out.push_str(value);
                rest = &after[len + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
