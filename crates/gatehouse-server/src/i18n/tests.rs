use std::collections::BTreeSet;

use gatehouse_core::saml::SamlError;

use super::*;

/// Every table of a language with its name.
fn tables(c: &Catalogue) -> [(&'static str, Vec<(&'static str, &'static str)>); 5] {
    [
        ("page", c.page.entries()),
        ("panel", c.panel.entries()),
        ("mail", c.mail.entries()),
        ("sms", c.sms.entries()),
        ("refusal", c.refusal.entries()),
    ]
}

/// The `{name}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<&str> {
    text.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .collect()
}

/// One of each sign-in refusal, with the values a refusal names.
fn every_sign_in_error() -> Vec<SignInError> {
    vec![
        SignInError::NoUserFound,
        SignInError::LockedOut,
        SignInError::DisabledAccount,
        SignInError::EmailInUse,
        SignInError::BadInput("First name and last name are required".into()),
        SignInError::BadInput(PasswordError::TooWeak.to_string()),
        SignInError::BadInput(PasswordError::TooLong.to_string()),
        SignInError::BadInput(AdminRuleError::InvalidEmail.to_string()),
        SignInError::UnknownTransaction,
        SignInError::CsrfMismatch,
        SignInError::FeatureOff("SMS MFA"),
        SignInError::WrongStep,
        SignInError::AlreadySignedIn,
        SignInError::WrongCurrentPassword,
        SignInError::InvalidCode,
        SignInError::Captcha,
        SignInError::InvalidMfaCode,
        SignInError::MfaLockout,
        SignInError::ResetRequestLimit,
        SignInError::ResetCodeLockout,
        SignInError::VerificationLockout,
        SignInError::ChangeEmailSendLimit,
        SignInError::ChangeEmailLockout,
        SignInError::PasswordlessLockout,
        SignInError::EmailSendLimit,
        SignInError::SmsSendLimit,
        SignInError::SamePassword,
        SignInError::SameEmail,
        SignInError::InvitationNotFound,
        SignInError::UnknownUserCode,
        SignInError::UserCodeLockout,
        SignInError::NotTheRequestedAccount,
        SignInError::InvitationExpired,
        SignInError::AlreadyActive,
        SignInError::UnknownProvider("corp".into()),
        SignInError::ExternalRefused {
            provider: "GitHub".into(),
            reason: "the provider answered `access_denied` {reason}".into(),
        },
        SignInError::ProviderUnavailable("Corp {provider}".into()),
        SignInError::UnknownSamlIdp("okta".into()),
        SignInError::SamlIdpMisconfigured {
            idp: "okta".into(),
            reason: "the IdP metadata has no signing certificate".into(),
        },
        SignInError::InvalidSamlResponse(SamlError::Malformed),
    ]
}

#[test]
fn every_language_has_every_text_with_the_english_placeholders() {
    let english = catalogue("en");
    for language in LANGUAGES {
        assert_eq!(language.panel.lang, language.page.lang);
        assert_eq!(language.panel.language_name, language.page.language_name);
        for ((table, entries), (_, english_entries)) in
            tables(language).into_iter().zip(tables(english))
        {
            assert_eq!(entries.len(), english_entries.len());
            for ((key, text), (_, english_text)) in entries.into_iter().zip(english_entries) {
                let at = format!("{} {table}.{key}", language.page.lang);
                assert!(!text.trim().is_empty(), "{at} is empty");
                assert_eq!(
                    placeholders(text),
                    placeholders(english_text),
                    "{at} names other placeholders than English"
                );
            }
        }
    }
}

/// Texts that are the same word in a language as in English (a code, a loanword the language
/// uses as it is). Any other text equal to its English one was left untranslated.
const SAME_AS_ENGLISH: &[(&str, &str)] = &[
    ("fr", "page.code_label"),
    ("fr", "panel.invitation"),
    ("fr", "panel.app_type"),
    ("fr", "panel.note"),
    ("fr", "panel.ip"),
    ("zh-CN", "panel.swagger"),
    ("zh-CN", "panel.ip"),
    ("de", "page.code_label"),
    ("de", "panel.text"),
    ("de", "panel.name"),
    ("de", "panel.status"),
    ("de", "panel.region"),
    ("de", "panel.passkeys"),
    ("de", "panel.ip"),
    ("es", "panel.roles"),
    ("es", "panel.no"),
    ("es", "panel.ip"),
    ("pt-BR", "panel.ip"),
    ("it", "page.password"),
    ("it", "panel.password"),
    ("it", "panel.email"),
    ("it", "panel.no"),
    ("it", "panel.ip"),
    ("ko", "panel.swagger"),
    ("ru", "panel.ip"),
    ("fr", "panel.webhooks"),
    ("fr", "panel.description"),
    ("de", "panel.webhooks"),
    ("es", "panel.webhooks"),
    ("pt-BR", "panel.webhooks"),
    ("he", "panel.webhooks"),
];

#[test]
fn no_text_is_left_in_english() {
    let english = catalogue("en");
    let mut left = Vec::new();
    for language in LANGUAGES.into_iter().skip(1) {
        let lang = language.page.lang;
        for ((table, entries), (_, english_entries)) in
            tables(language).into_iter().zip(tables(english))
        {
            for ((key, text), (_, english_text)) in entries.into_iter().zip(english_entries) {
                let at = format!("{table}.{key}");
                if text == english_text && !SAME_AS_ENGLISH.contains(&(lang, at.as_str())) {
                    left.push(format!("{lang} {at}: {text}"));
                }
            }
        }
    }
    assert!(left.is_empty(), "left in English:\n{}", left.join("\n"));
}

#[test]
fn right_to_left_languages_say_so() {
    for language in LANGUAGES {
        let rtl = matches!(language.page.lang, "ar" | "he");
        assert_eq!(language.page.dir(), if rtl { "rtl" } else { "ltr" });
        assert_eq!(language.panel.dir(), language.page.dir());
    }
    assert_eq!(direction("AR-EG"), "rtl");
    assert_eq!(direction("fa"), "rtl");
}

#[test]
fn supported_tags_are_the_catalogues_and_each_finds_its_own() {
    assert_eq!(
        TAGS,
        ["en", "fr", "zh-CN", "de", "es", "pt-BR", "it", "ja", "ko", "ru", "ar", "he"]
    );
    for (tag, language) in TAGS.into_iter().zip(LANGUAGES) {
        assert_eq!(language.page.lang, tag);
        assert_eq!(catalogue(tag).page.lang, tag);
        assert_eq!(catalogue(&tag.to_uppercase()).page.lang, tag);
    }
    assert_eq!(catalogue("zh").page.lang, "zh-CN");
    assert_eq!(catalogue("pt-br").page.lang, "pt-BR");
    assert_eq!(catalogue("xx").page.lang, "en");
    assert_eq!(catalogue("").page.lang, "en");
}

#[test]
fn english_refusals_are_the_errors_own_messages() {
    for err in every_sign_in_error() {
        let english = err.to_string();
        assert_eq!(refusal("en", &err.into()), english);
    }
    let not_a_sign_in = ServiceError::NotFound("No app found");
    assert_eq!(refusal("fr", &not_a_sign_in), "No app found");
}

#[test]
fn refusals_are_translated_and_keep_the_values_they_name() {
    for locale in TAGS.into_iter().filter(|tag| *tag != "en") {
        for err in every_sign_in_error() {
            let english = err.to_string();
            let shown = refusal(locale, &err.clone().into());
            match &err {
                SignInError::BadInput(message) if message.starts_with("First name") => {
                    assert_eq!(shown, english, "free text stays as it is");
                }
                _ => assert_ne!(shown, english, "{locale}: {err:?}"),
            }
            assert!(!shown.contains("{provider}") || english.contains("{provider}"));
        }
    }
    let refused = SignInError::ExternalRefused {
        provider: "GitHub".into(),
        reason: "the code was refused".into(),
    };
    assert_eq!(
        refusal("fr", &refused.into()),
        "La connexion avec GitHub a échoué : the code was refused"
    );
    assert_eq!(
        refusal("zh-CN", &SignInError::NoUserFound.into()),
        "未找到该用户"
    );
}

#[test]
fn placeholders_are_filled_once_and_unknown_ones_stay() {
    assert_eq!(
        fill("{a} and {b}", &[("a", "{b}"), ("b", "2")]),
        "{b} and 2"
    );
    assert_eq!(fill("{missing} {", &[("a", "1")]), "{missing} {");
    assert_eq!(fill("x}{a}", &[("a", "é")]), "x}é");
}

#[test]
fn the_code_text_message_speaks_the_locale() {
    assert_eq!(sms_code_text("en", "123456"), "Your sign-in code: 123456");
    assert_eq!(
        sms_code_text("fr", "123456"),
        "Votre code de connexion : 123456"
    );
    assert_eq!(sms_code_text("zh-cn", "123456"), "您的登录验证码：123456");
}
