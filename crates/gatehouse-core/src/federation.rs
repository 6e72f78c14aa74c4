//! Signing in through an outside OpenID Connect provider: the authorization request we send,
//! the choice of the provider's key for an ID token, and the checks on its claims. Fetching,
//! verifying the token's signature (with `jsonwebtoken`) and the clock belong to the server.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::jwt::JwtHeader;

/// Seconds of clock difference tolerated between us and the provider.
pub const CLOCK_LEEWAY: i64 = 60;

/// Why a provider's answer was refused, in words the sign-in page can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    #[error("the provider's ID token is not a valid JWT")]
    Malformed,
    #[error("the ID token is signed with `{0}`; only RS256, PS256, ES256 and EdDSA are accepted")]
    UnsupportedAlgorithm(String),
    #[error("the ID token is signed with a key the provider does not publish")]
    UnknownKey,
    #[error("the ID token's signature does not verify")]
    BadSignature,
    #[error("the ID token was issued by `{0}`, not by the configured issuer")]
    WrongIssuer(String),
    #[error("the ID token was issued to another client")]
    WrongAudience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is dated in the future")]
    NotYetValid,
    #[error("the ID token does not belong to this sign-in (nonce mismatch)")]
    NonceMismatch,
    #[error("the ID token names no user (`sub`)")]
    MissingSubject,
}

/// The authorization request sent to the provider.
#[derive(Debug, Clone)]
pub struct AuthorizationRedirect<'a> {
    pub authorization_endpoint: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
    pub state: &'a str,
    pub nonce: &'a str,
    /// The PKCE verifier, when the provider takes PKCE.
    pub code_verifier: Option<&'a str>,
    /// Ask for the answer by POST (`response_mode=form_post`).
    pub form_post: bool,
}

/// The S256 challenge of a PKCE verifier.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The URL the browser is sent to.
pub fn authorization_url(r: &AuthorizationRedirect<'_>) -> String {
    let scope = r.scopes.join(" ");
    let challenge = r.code_verifier.map(s256_challenge);
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", r.client_id),
        ("redirect_uri", r.redirect_uri),
        ("scope", scope.as_str()),
        ("state", r.state),
        ("nonce", r.nonce),
    ];
    if r.form_post {
        params.push(("response_mode", "form_post"));
    }
    if let Some(challenge) = &challenge {
        params.push(("code_challenge", challenge));
        params.push(("code_challenge_method", "S256"));
    }
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    let separator = if r.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{separator}{query}", r.authorization_endpoint)
}

/// A key from the provider's JWKS, as published.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub key_use: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct JwkSet {
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

/// A signature algorithm accepted on ID tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlgorithm {
    Rs256,
    /// RSASSA-PSS: what FAPI 2.0 asks of RSA keys.
    Ps256,
    Es256,
    EdDsa,
}

impl JwsAlgorithm {
    pub fn parse(alg: &str) -> Result<Self, FederationError> {
        match alg {
            "RS256" => Ok(Self::Rs256),
            "PS256" => Ok(Self::Ps256),
            "ES256" => Ok(Self::Es256),
            // RFC 9864's fully-specified name, which current JOSE libraries write.
            "EdDSA" | "Ed25519" => Ok(Self::EdDsa),
            other => Err(FederationError::UnsupportedAlgorithm(other.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// Whether a key component is present and is base64url of `len` bytes (any non-zero length
/// when `len` is `None`).
fn component(part: Option<&String>, len: Option<usize>) -> bool {
    part.and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .is_some_and(|bytes| !bytes.is_empty() && len.is_none_or(|len| bytes.len() == len))
}

/// Whether `jwk` is a signing key usable with `alg`, its parts well formed.
pub fn fits(jwk: &Jwk, alg: JwsAlgorithm) -> bool {
    let named = |a: &str| JwsAlgorithm::parse(a).ok() == Some(alg);
    if jwk.key_use.as_deref().is_some_and(|u| u != "sig")
        || jwk.alg.as_deref().is_some_and(|a| !named(a))
    {
        return false;
    }
    match (alg, jwk.kty.as_str(), jwk.crv.as_deref()) {
        (JwsAlgorithm::Rs256 | JwsAlgorithm::Ps256, "RSA", _) => {
            component(jwk.n.as_ref(), None) && component(jwk.e.as_ref(), None)
        }
        (JwsAlgorithm::Es256, "EC", Some("P-256")) => {
            component(jwk.x.as_ref(), Some(32)) && component(jwk.y.as_ref(), Some(32))
        }
        (JwsAlgorithm::EdDsa, "OKP", Some("Ed25519")) => component(jwk.x.as_ref(), Some(32)),
        _ => false,
    }
}

/// The key a token's header points at: same `kid` (or the only fitting key when the header
/// names none), fitting the header's algorithm. `none` and HMAC are never accepted.
pub fn select_key<'a>(
    keys: &'a JwkSet,
    header: &JwtHeader,
) -> Result<(JwsAlgorithm, &'a Jwk), FederationError> {
    let alg = JwsAlgorithm::parse(&header.alg)?;
    let mut fitting = keys
        .keys
        .iter()
        .filter(|k| match &header.kid {
            Some(kid) => k.kid.as_deref() == Some(kid.as_str()),
            None => true,
        })
        .filter(|k| fits(k, alg));
    match (fitting.next(), fitting.next(), &header.kid) {
        (Some(key), None, _) | (Some(key), Some(_), Some(_)) => Ok((alg, key)),
        _ => Err(FederationError::UnknownKey),
    }
}

/// `aud` is a string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// `email_verified` arrives as a boolean, or from some providers as `"true"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<Flag>::deserialize(d)? {
        Some(Flag::Bool(b)) => b,
        Some(Flag::Text(t)) => t == "true",
        None => false,
    })
}

/// The claims of a provider's ID token that sign-in uses.
#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    #[serde(default)]
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub email_verified: bool,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
}

/// What an ID token must say to answer our request.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    /// Also accept the issuer without `https://` (Google's ID tokens say either).
    pub bare_issuer_too: bool,
    pub client_id: &'a str,
    pub nonce: &'a str,
}

/// OpenID Connect Core §3.1.3.7, at `now` (unix seconds).
pub fn check_claims(
    claims: &IdTokenClaims,
    expected: Expected<'_>,
    now: i64,
) -> Result<(), FederationError> {
    let bare = expected.issuer.strip_prefix("https://");
    let issuer_ok = claims.iss == expected.issuer
        || (expected.bare_issuer_too && bare == Some(claims.iss.as_str()));
    if !issuer_ok {
        return Err(FederationError::WrongIssuer(claims.iss.clone()));
    }
    let audience_ok = match &claims.aud {
        Audience::One(aud) => aud == expected.client_id,
        Audience::Many(list) => {
            list.iter().any(|a| a == expected.client_id)
                && (list.len() == 1 || claims.azp.as_deref() == Some(expected.client_id))
        }
    };
    if !audience_ok
        || claims
            .azp
            .as_deref()
            .is_some_and(|a| a != expected.client_id)
    {
        return Err(FederationError::WrongAudience);
    }
    if claims.exp + CLOCK_LEEWAY <= now {
        return Err(FederationError::Expired);
    }
    let not_before = claims.nbf.into_iter().chain(claims.iat).max();
    if not_before.is_some_and(|t| t > now + CLOCK_LEEWAY) {
        return Err(FederationError::NotYetValid);
    }
    if claims.nonce.as_deref() != Some(expected.nonce) {
        return Err(FederationError::NonceMismatch);
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(FederationError::MissingSubject);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn claims(overrides: serde_json::Value) -> IdTokenClaims {
        let mut base = json!({
            "iss": "https://id.example.com", "sub": "user-1", "aud": "client",
            "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
        });
        for (k, v) in overrides.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn check(overrides: serde_json::Value) -> Result<(), FederationError> {
        let expected = Expected {
            issuer: "https://id.example.com",
            bare_issuer_too: false,
            client_id: "client",
            nonce: "n-1",
        };
        check_claims(&claims(overrides), expected, NOW)
    }

    #[test]
    fn a_token_answering_the_request_passes() {
        assert_eq!(check(json!({})), Ok(()));
        assert_eq!(check(json!({"aud": ["client"]})), Ok(()));
        assert_eq!(
            check(json!({"aud": ["client", "other"], "azp": "client"})),
            Ok(())
        );
    }

    #[test]
    fn each_wrong_claim_is_refused() {
        let cases = [
            (json!({"iss": "https://evil.example.com"}), "issued by"),
            (json!({"aud": "other"}), "another client"),
            (json!({"aud": ["client", "other"]}), "another client"),
            (json!({"azp": "other"}), "another client"),
            (json!({"exp": NOW - CLOCK_LEEWAY}), "expired"),
            (json!({"iat": NOW + 600}), "future"),
            (json!({"nonce": "n-2"}), "nonce"),
            (json!({"nonce": null}), "nonce"),
            (json!({"sub": ""}), "sub"),
        ];
        for (overrides, words) in cases {
            let err = check(overrides.clone()).unwrap_err();
            assert!(err.to_string().contains(words), "{overrides}: {err}");
        }
    }

    #[test]
    fn keys_are_chosen_by_kid_and_algorithm() {
        let set: JwkSet = serde_json::from_value(json!({"keys": [
            {"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "e1", "crv": "P-256",
             "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "short", "crv": "P-256", "x": "AQ", "y": "AQ"},
            {"kty": "OKP", "kid": "garbled", "crv": "Ed25519", "x": "!!"},
        ]}))
        .unwrap();
        let header = |alg: &str, kid: Option<&str>| JwtHeader {
            alg: alg.into(),
            typ: None,
            kid: kid.map(str::to_owned),
        };
        let chosen = |alg: &str, kid: Option<&str>| {
            select_key(&set, &header(alg, kid)).map(|(alg, key)| (alg, key.kid.clone()))
        };
        assert_eq!(
            chosen("RS256", Some("r1")),
            Ok((JwsAlgorithm::Rs256, Some("r1".into())))
        );
        assert_eq!(
            chosen("ES256", None),
            Ok((JwsAlgorithm::Es256, Some("e1".into())))
        );
        for (alg, kid) in [
            ("RS256", Some("e1")),
            ("RS256", Some("enc")),
            ("RS256", Some("missing")),
            ("ES256", Some("short")),
            ("EdDSA", Some("garbled")),
            ("EdDSA", None),
        ] {
            assert_eq!(
                select_key(&set, &header(alg, kid)),
                Err(FederationError::UnknownKey),
                "{alg} {kid:?}"
            );
        }
        for alg in ["none", "HS256"] {
            assert!(matches!(
                select_key(&set, &header(alg, Some("r1"))),
                Err(FederationError::UnsupportedAlgorithm(_))
            ));
        }
    }

    #[test]
    fn the_authorization_url_carries_state_nonce_and_challenge() {
        let scopes = ["openid".to_owned(), "email".to_owned()];
        let url = authorization_url(&AuthorizationRedirect {
            authorization_endpoint: "https://id.example.com/authorize?tenant=a",
            client_id: "client",
            redirect_uri: "https://gh.example.com/cb",
            scopes: &scopes,
            state: "s-1",
            nonce: "n-1",
            code_verifier: Some("verifier"),
            form_post: false,
        });
        assert!(url.starts_with("https://id.example.com/authorize?tenant=a&response_type=code"));
        assert!(url.contains("scope=openid+email") && url.contains("state=s-1"));
        assert!(url.contains(&format!("code_challenge={}", s256_challenge("verifier"))));
        assert!(url.contains("redirect_uri=https%3A%2F%2Fgh.example.com%2Fcb"));
    }
}
