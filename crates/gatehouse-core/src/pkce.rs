//! Proof Key for Code Exchange (RFC 7636): the challenge sent to `/authorize`, checked against
//! the verifier sent to `/token`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeMethod {
    S256,
    Plain,
}

impl ChallengeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}

/// A challenge that passed the format rules of RFC 7636 §4.2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeChallenge {
    pub value: String,
    pub method: ChallengeMethod,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge is required (PKCE with S256)")]
    MissingChallenge,
    #[error("code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
    MalformedChallenge,
    #[error("Plain PKCE code_challenge_method is not enabled")]
    PlainNotEnabled,
    #[error("code_challenge_method must be S256")]
    UnknownMethod,
}

fn is_unreserved(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl CodeChallenge {
    /// Reads `code_challenge` and `code_challenge_method`. The method defaults to `plain` per the
    /// RFC, which is refused unless `allow_plain`; it is compared case-insensitively like Melody.
    pub fn parse(
        challenge: Option<&str>,
        method: Option<&str>,
        allow_plain: bool,
    ) -> Result<Self, PkceError> {
        let value = challenge
            .filter(|c| !c.is_empty())
            .ok_or(PkceError::MissingChallenge)?;
        let method = match method.map(str::to_ascii_lowercase).as_deref() {
            Some("s256") => ChallengeMethod::S256,
            Some("plain" | "") | None => ChallengeMethod::Plain,
            Some(_) => return Err(PkceError::UnknownMethod),
        };
        if method == ChallengeMethod::Plain && !allow_plain {
            return Err(PkceError::PlainNotEnabled);
        }
        if !is_unreserved(value) {
            return Err(PkceError::MalformedChallenge);
        }
        Ok(Self {
            value: value.to_owned(),
            method,
        })
    }

    /// Whether `verifier` answers this challenge.
    pub fn is_answered_by(&self, verifier: &str) -> bool {
        if !is_unreserved(verifier) {
            return false;
        }
        let expected = match self.method {
            ChallengeMethod::S256 => s256_challenge(verifier),
            ChallengeMethod::Plain => verifier.to_owned(),
        };
        // The challenge is public; the comparison need not be constant-time.
        expected == self.value
    }
}

/// The S256 challenge of a verifier (what a client sends; the admin panel is one).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The left half of SHA-256 of a token, base64url: the `at_hash` of an ID token (OIDC Core
/// §3.1.3.6) for RS256, ES256 and EdDSA keys alike.
pub fn left_half_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_matches_the_rfc_example() {
        let c = CodeChallenge::parse(Some(CHALLENGE), Some("S256"), false).unwrap();
        assert!(c.is_answered_by(VERIFIER));
        assert!(!c.is_answered_by(&VERIFIER.replace('d', "e")));
        assert!(!c.is_answered_by(""));
    }

    #[test]
    fn method_is_case_insensitive_and_plain_needs_opt_in() {
        assert!(CodeChallenge::parse(Some(CHALLENGE), Some("s256"), false).is_ok());
        assert_eq!(
            CodeChallenge::parse(Some(CHALLENGE), Some("plain"), false),
            Err(PkceError::PlainNotEnabled)
        );
        assert_eq!(
            CodeChallenge::parse(Some(CHALLENGE), None, false),
            Err(PkceError::PlainNotEnabled)
        );
        let plain = CodeChallenge::parse(Some(VERIFIER), Some("plain"), true).unwrap();
        assert!(plain.is_answered_by(VERIFIER));
        assert_eq!(
            CodeChallenge::parse(Some(CHALLENGE), Some("S512"), true),
            Err(PkceError::UnknownMethod)
        );
    }

    #[test]
    fn challenge_format_is_checked() {
        assert_eq!(
            CodeChallenge::parse(None, Some("S256"), false),
            Err(PkceError::MissingChallenge)
        );
        assert_eq!(
            CodeChallenge::parse(Some("short"), Some("S256"), false),
            Err(PkceError::MalformedChallenge)
        );
        let spaced = format!("{} ", &CHALLENGE[..43]);
        assert_eq!(
            CodeChallenge::parse(Some(&spaced), Some("S256"), false),
            Err(PkceError::MalformedChallenge)
        );
    }

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // OIDC Core example values are for other tokens; check length and determinism.
        let h = left_half_hash("token");
        assert_eq!(h.len(), 22);
        assert_eq!(h, left_half_hash("token"));
        assert_ne!(h, left_half_hash("token2"));
    }
}
