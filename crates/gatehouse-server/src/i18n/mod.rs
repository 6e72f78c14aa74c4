//! Every text Gatehouse shows or sends, in each language it speaks: the pages, the admin panel,
//! the emails, the text messages and the refusals shown on pages. One table per language
//! (`en.rs`, `fr.rs`, …), each a literal of the structs in `keys.rs`, so a key missing
//! from a language does not compile; the tests below check that no text is empty and that every
//! translation keeps its English text's `{…}` placeholders.
//!
//! The JSON answers (OAuth, the embedded and management APIs) keep the errors' English messages.

mod ar;
mod de;
mod en;
mod es;
mod fr;
mod he;
mod it;
mod ja;
mod keys;
mod ko;
mod pt_br;
mod ru;
mod zh_cn;

use gatehouse_core::admin::AdminRuleError;
use gatehouse_core::password::PasswordError;
use gatehouse_core::signin::SignInError;

pub use keys::{MailTexts, Refusals, SmsTexts, Texts, Words};

use crate::error::ServiceError;

/// One language's texts. Its tag (as `supported_locales` spells it) and its name in itself are
/// the page texts' `lang` and `language_name`.
pub struct Catalogue {
    pub page: Texts,
    pub panel: Words,
    pub mail: MailTexts,
    pub sms: SmsTexts,
    pub refusal: Refusals,
}

/// Every language, in the order pickers list them.
pub const LANGUAGES: [&Catalogue; 12] = [
    &en::CATALOGUE,
    &fr::CATALOGUE,
    &zh_cn::CATALOGUE,
    &de::CATALOGUE,
    &es::CATALOGUE,
    &pt_br::CATALOGUE,
    &it::CATALOGUE,
    &ja::CATALOGUE,
    &ko::CATALOGUE,
    &ru::CATALOGUE,
    &ar::CATALOGUE,
    &he::CATALOGUE,
];

/// The tags of [`LANGUAGES`], the values `supported_locales` accepts.
pub const TAGS: [&str; LANGUAGES.len()] = {
    let mut tags = [""; LANGUAGES.len()];
    let mut i = 0;
    while i < tags.len() {
        tags[i] = LANGUAGES[i].page.lang;
        i += 1;
    }
    tags
};

/// The catalogue of `locale` (compared case-insensitively; a bare `zh` is Simplified Chinese),
/// English for anything else.
pub fn catalogue(locale: &str) -> &'static Catalogue {
    let locale = if locale.eq_ignore_ascii_case("zh") {
        zh_cn::CATALOGUE.page.lang
    } else {
        locale
    };
    LANGUAGES
        .into_iter()
        .find(|c| c.page.lang.eq_ignore_ascii_case(locale))
        .unwrap_or(&en::CATALOGUE)
}

/// The writing direction of a language tag, as HTML's `dir` names it: `rtl` for Arabic and
/// Hebrew (and the other right-to-left scripts a deployment might add), `ltr` for the rest.
pub fn direction(lang: &str) -> &'static str {
    let primary = lang.split(['-', '_']).next().unwrap_or(lang);
    if ["ar", "he", "fa", "ur", "yi"]
        .iter()
        .any(|rtl| rtl.eq_ignore_ascii_case(primary))
    {
        "rtl"
    } else {
        "ltr"
    }
}

impl Texts {
    /// The pages' writing direction (`dir`).
    pub fn dir(&self) -> &'static str {
        direction(self.lang)
    }
}

impl Words {
    /// The panel's writing direction (`dir`).
    pub fn dir(&self) -> &'static str {
        direction(self.lang)
    }
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
        let saml_reason;
        let (template, values): (&str, Vec<(&str, &str)>) = match err {
            SignInError::NoUserFound => (self.no_user_found, vec![]),
            SignInError::LockedOut => (self.locked_out, vec![]),
            SignInError::DisabledAccount => (self.disabled_account, vec![]),
            SignInError::EmailInUse => (self.email_in_use, vec![]),
            SignInError::BadInput(message) => return self.bad_input(message),
            SignInError::UnknownTransaction => (self.unknown_transaction, vec![]),
            SignInError::CsrfMismatch => (self.csrf_mismatch, vec![]),
            SignInError::FeatureOff(feature) => (self.feature_off, vec![("feature", *feature)]),
            SignInError::WrongStep => (self.wrong_step, vec![]),
            SignInError::AlreadySignedIn => (self.already_signed_in, vec![]),
            SignInError::WrongCurrentPassword => (self.wrong_current_password, vec![]),
            SignInError::InvalidCode => (self.invalid_code, vec![]),
            SignInError::Captcha => (self.captcha, vec![]),
            SignInError::InvalidMfaCode => (self.invalid_mfa_code, vec![]),
            SignInError::MfaLockout => (self.mfa_lockout, vec![]),
            SignInError::ResetRequestLimit => (self.reset_request_limit, vec![]),
            SignInError::ResetCodeLockout => (self.reset_code_lockout, vec![]),
            SignInError::VerificationLockout => (self.verification_lockout, vec![]),
            SignInError::ChangeEmailSendLimit => (self.change_email_send_limit, vec![]),
            SignInError::ChangeEmailLockout => (self.change_email_lockout, vec![]),
            SignInError::PasswordlessLockout => (self.passwordless_lockout, vec![]),
            SignInError::EmailSendLimit => (self.email_send_limit, vec![]),
            SignInError::SmsSendLimit => (self.sms_send_limit, vec![]),
            SignInError::SamePassword => (self.same_password, vec![]),
            SignInError::SameEmail => (self.same_email, vec![]),
            SignInError::InvitationNotFound => (self.invitation_not_found, vec![]),
            SignInError::UnknownUserCode => (self.unknown_user_code, vec![]),
            SignInError::UserCodeLockout => (self.user_code_lockout, vec![]),
            SignInError::NotTheRequestedAccount => (self.not_the_requested_account, vec![]),
            SignInError::InvitationExpired => (self.invitation_expired, vec![]),
            SignInError::AlreadyActive => (self.already_active, vec![]),
            SignInError::UnknownProvider(provider) => {
                (self.unknown_provider, vec![("provider", provider.as_str())])
            }
            SignInError::ExternalRefused { provider, reason } => (
                self.external_refused,
                vec![("provider", provider.as_str()), ("reason", reason.as_str())],
            ),
            SignInError::ProviderUnavailable(provider) => (
                self.provider_unavailable,
                vec![("provider", provider.as_str())],
            ),
            SignInError::UnknownSamlIdp(idp) => {
                (self.unknown_saml_idp, vec![("idp", idp.as_str())])
            }
            SignInError::SamlIdpMisconfigured { idp, reason } => (
                self.saml_idp_misconfigured,
                vec![("idp", idp.as_str()), ("reason", reason.as_str())],
            ),
            SignInError::InvalidSamlResponse(reason) => {
                saml_reason = reason.to_string();
                (
                    self.invalid_saml_response,
                    vec![("reason", saml_reason.as_str())],
                )
            }
        };
        fill(template, &values)
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
