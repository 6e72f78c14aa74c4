//! What a finished sign-in says about how the user proved themselves: the authentication
//! method references (`amr`, RFC 8176) and the level they reach (`acr`), and whether a request's
//! `acr_values` ask for a second factor.

use super::proof::Progress;
use super::steps::{FirstFactor, Step};

/// One factor: a password, an emailed or sent code, a provider, a passkey.
pub const LOA_1FA: &str = "urn:gatehouse:loa:1fa";
/// Two factors, or a passkey.
pub const LOA_2FA: &str = "urn:gatehouse:loa:2fa";
/// The `acr` values this server issues and honours, weakest first.
pub const ACR_VALUES: [&str; 2] = [LOA_1FA, LOA_2FA];

/// The `amr` of a sign-in: its first factor (a session's own methods, when known), then each
/// second factor passed, and `mfa` when there were two or more.
pub fn methods(first: FirstFactor, progress: &Progress, session: Option<&[String]>) -> Vec<String> {
    let mut amr: Vec<String> = match first {
        FirstFactor::Password | FirstFactor::SignUp => vec!["pwd".into()],
        // An emailed code (or magic link), a recovery code: one-time passwords.
        FirstFactor::Passwordless | FirstFactor::RecoveryCode => vec!["otp".into()],
        FirstFactor::Passkey => vec!["swk".into()],
        FirstFactor::External => vec!["fed".into()],
        FirstFactor::Session => session.map(<[String]>::to_vec).unwrap_or_default(),
    };
    let mut push = |method: &str| {
        if !amr.iter().any(|m| m == method) {
            amr.push(method.to_owned());
        }
    };
    for step in &progress.done {
        match step {
            Step::OtpMfa | Step::OtpSetup | Step::EmailMfa => push("otp"),
            Step::SmsMfa => push("sms"),
            _ => {}
        }
    }
    let second = progress.done.iter().any(|s| {
        matches!(
            s,
            Step::OtpMfa | Step::OtpSetup | Step::EmailMfa | Step::SmsMfa
        )
    });
    if second && first != FirstFactor::Session {
        push("mfa");
    }
    amr
}

/// The level `amr` reaches: two factors (or a passkey, which the server treats as strong).
pub fn level(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "mfa" || m == "swk" || m == "hwk") {
        LOA_2FA
    } else {
        LOA_1FA
    }
}

/// Whether `acr_values` (space-separated, preferred first) asks for two factors: the first
/// value this server knows decides; unknown values are passed over (OIDC Core §3.1.2.1).
pub fn wants_two_factors(acr_values: Option<&str>) -> bool {
    acr_values
        .unwrap_or_default()
        .split_ascii_whitespace()
        .find(|v| ACR_VALUES.contains(v))
        == Some(LOA_2FA)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(steps: &[Step]) -> Progress {
        Progress {
            done: steps.to_vec(),
        }
    }

    #[test]
    fn each_first_factor_names_its_method() {
        let none = done(&[Step::Consent]);
        assert_eq!(methods(FirstFactor::Password, &none, None), ["pwd"]);
        assert_eq!(methods(FirstFactor::Passwordless, &none, None), ["otp"]);
        assert_eq!(methods(FirstFactor::Passkey, &none, None), ["swk"]);
        assert_eq!(methods(FirstFactor::External, &none, None), ["fed"]);
        assert_eq!(level(&methods(FirstFactor::Password, &none, None)), LOA_1FA);
        assert_eq!(level(&methods(FirstFactor::Passkey, &none, None)), LOA_2FA);
    }

    #[test]
    fn second_factors_add_their_method_and_mfa() {
        let totp = methods(FirstFactor::Password, &done(&[Step::OtpMfa]), None);
        assert_eq!(totp, ["pwd", "otp", "mfa"]);
        assert_eq!(level(&totp), LOA_2FA);
        let sms = methods(FirstFactor::External, &done(&[Step::SmsMfa]), None);
        assert_eq!(sms, ["fed", "sms", "mfa"]);
    }

    #[test]
    fn a_session_keeps_the_methods_it_was_started_with() {
        let stored = vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()];
        let amr = methods(FirstFactor::Session, &done(&[]), Some(&stored));
        assert_eq!(amr, stored);
        assert!(methods(FirstFactor::Session, &done(&[]), None).is_empty());
        assert_eq!(level(&[]), LOA_1FA);
    }

    #[test]
    fn the_first_known_acr_value_decides() {
        assert!(wants_two_factors(Some(LOA_2FA)));
        assert!(wants_two_factors(Some("gold urn:gatehouse:loa:2fa")));
        assert!(!wants_two_factors(Some(
            "urn:gatehouse:loa:1fa urn:gatehouse:loa:2fa"
        )));
        assert!(!wants_two_factors(Some("gold")));
        assert!(!wants_two_factors(None));
    }
}
