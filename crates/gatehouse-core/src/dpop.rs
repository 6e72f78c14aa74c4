//! DPoP (RFC 9449): reading a proof, the checks of §4.3 that need no key or clock of ours beyond
//! `now`, the key's thumbprint (RFC 7638) that binds tokens, and the hash of the access token a
//! proof covers. The signature, the `jti` replay cache and the nonces are the server's.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::federation::{Jwk, JwsAlgorithm};
use crate::web_url::WebUrl;

/// The header a proof must carry (`typ`).
pub const PROOF_TYP: &str = "dpop+jwt";
/// How old a proof may be (`iat`), and how far in the future, in seconds.
pub const MAX_AGE: i64 = 60;
pub const CLOCK_LEEWAY: i64 = 15;
/// How long a proof's `jti` must be remembered to refuse its replay.
pub const JTI_TTL: i64 = MAX_AGE + 2 * CLOCK_LEEWAY;

/// Why a proof was refused (`invalid_dpop_proof`, or `use_dpop_nonce`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    #[error(
        "The DPoP proof is not a JWT with typ dpop+jwt, a public jwk, and jti, htm, htu and iat"
    )]
    Malformed,
    #[error("Send one DPoP header, not several")]
    SeveralProofs,
    #[error("The DPoP proof is signed with `{0}`; RS256, PS256, ES256 and EdDSA are accepted")]
    UnsupportedAlgorithm(String),
    #[error("FAPI 2.0 allows DPoP proofs signed with PS256, ES256 or EdDSA, not RS256")]
    FapiAlgorithm,
    #[error("The DPoP proof's jwk holds a private key: send the public key only")]
    PrivateKey,
    #[error("The DPoP proof's signature does not verify with its jwk")]
    BadSignature,
    #[error("The DPoP proof is for another method (htm)")]
    WrongMethod,
    #[error("The DPoP proof is for another URL (htu)")]
    WrongUrl,
    #[error("The DPoP proof is too old or dated in the future (iat)")]
    Stale,
    #[error("The DPoP proof was already used: make a new one, with a new jti, for each request")]
    Replayed,
    #[error("The DPoP proof's ath is not the hash of the access token sent with it")]
    WrongTokenHash,
    #[error("The access token is bound to another DPoP key")]
    WrongKey,
    #[error("The server requires a DPoP nonce: send the one in the DPoP-Nonce header")]
    UseNonce,
    #[error("The access token is bound to a DPoP key: send it as `Authorization: DPoP <token>` with a proof")]
    BoundTokenAsBearer,
    #[error("A DPoP proof must come with the access token in the DPoP header")]
    ProofMissing,
    #[error(
        "The access token is not bound to a DPoP key: send it as `Authorization: Bearer <token>`"
    )]
    NotBound,
    #[error("This app must send a DPoP proof with each token request")]
    ProofRequired,
    #[error("This refresh token is bound to a DPoP key: send a proof made with it")]
    RefreshTokenBound,
    #[error(
        "This authorization code is bound to a DPoP key (dpop_jkt): send a proof made with it"
    )]
    CodeBound,
    #[error("dpop_jkt must be the base64url SHA-256 thumbprint of a JWK (43 characters)")]
    MalformedThumbprint,
    #[error("dpop_jkt names another key than the DPoP proof sent with the pushed request")]
    ThumbprintMismatch,
}

/// A proof's header: the public key it is signed with travels in it.
#[derive(Debug, Clone, Deserialize)]
struct ProofHeader {
    typ: String,
    alg: String,
    jwk: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProofClaims {
    pub jti: String,
    pub htm: String,
    pub htu: String,
    pub iat: i64,
    #[serde(default)]
    pub ath: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
}

/// A proof read from its compact form, signature not yet checked.
#[derive(Debug, Clone)]
pub struct Proof<'a> {
    pub algorithm: JwsAlgorithm,
    pub jwk: Jwk,
    /// RFC 7638 thumbprint of `jwk`: what a bound token's `cnf.jkt` holds.
    pub thumbprint: String,
    pub claims: ProofClaims,
    /// The whole compact proof, for the signature check.
    pub token: &'a str,
}

/// Members of a JWK that only a private key has.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

/// Reads a proof: its header (typ, an accepted asymmetric alg, a public key that fits the alg)
/// and its claims.
pub fn read_proof(token: &str) -> Result<Proof<'_>, DpopError> {
    let jwt = crate::jwt::split(token).map_err(|_| DpopError::Malformed)?;
    let (header_b64, _) = token.split_once('.').ok_or(DpopError::Malformed)?;
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| DpopError::Malformed)?;
    let header: ProofHeader =
        serde_json::from_slice(&header_json).map_err(|_| DpopError::Malformed)?;
    if header.typ != PROOF_TYP {
        return Err(DpopError::Malformed);
    }
    let algorithm = JwsAlgorithm::parse(&header.alg)
        .map_err(|_| DpopError::UnsupportedAlgorithm(header.alg.clone()))?;
    if PRIVATE_MEMBERS.iter().any(|m| header.jwk.contains_key(*m)) {
        return Err(DpopError::PrivateKey);
    }
    let jwk: Jwk = serde_json::from_value(serde_json::Value::Object(header.jwk))
        .map_err(|_| DpopError::Malformed)?;
    if !crate::federation::fits(&jwk, algorithm) {
        return Err(DpopError::Malformed);
    }
    let thumbprint = thumbprint(&jwk).ok_or(DpopError::Malformed)?;
    let claims: ProofClaims =
        serde_json::from_slice(&jwt.payload).map_err(|_| DpopError::Malformed)?;
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(DpopError::Malformed);
    }
    Ok(Proof {
        algorithm,
        jwk,
        thumbprint,
        claims,
        token,
    })
}

/// The JWK thumbprint (RFC 7638): SHA-256 of the key's required members in lexicographic order,
/// base64url. `None` for a key type we do not take.
pub fn thumbprint(jwk: &Jwk) -> Option<String> {
    let text = |v: &Option<String>| v.as_deref().map(|s| serde_json::Value::from(s).to_string());
    let canonical = match jwk.kty.as_str() {
        "RSA" => format!(
            r#"{{"e":{},"kty":"RSA","n":{}}}"#,
            text(&jwk.e)?,
            text(&jwk.n)?
        ),
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            text(&jwk.crv)?,
            text(&jwk.x)?,
            text(&jwk.y)?
        ),
        "OKP" => format!(
            r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
            text(&jwk.crv)?,
            text(&jwk.x)?
        ),
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// `ath`: base64url of the SHA-256 of the access token (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// What the request a proof came with is.
#[derive(Debug, Clone, Copy)]
pub struct ProofTarget<'a> {
    pub method: &'a str,
    /// The URL the request was sent to (this server's public URL and the path).
    pub url: &'a str,
    /// The access token presented with the proof, at a protected resource.
    pub access_token: Option<&'a str>,
}

/// The checks of RFC 9449 §4.3 on a proof's claims, other than the signature, the nonce and the
/// `jti` replay: method, URL (without query and fragment, normalized), age and the token hash.
pub fn check_claims(
    claims: &ProofClaims,
    target: ProofTarget<'_>,
    now: i64,
) -> Result<(), DpopError> {
    if claims.htm != target.method {
        return Err(DpopError::WrongMethod);
    }
    if normalized_url(&claims.htu).is_none()
        || normalized_url(&claims.htu) != normalized_url(target.url)
    {
        return Err(DpopError::WrongUrl);
    }
    if claims.iat < now - MAX_AGE - CLOCK_LEEWAY || claims.iat > now + CLOCK_LEEWAY {
        return Err(DpopError::Stale);
    }
    match (target.access_token, claims.ath.as_deref()) {
        (None, _) => Ok(()),
        (Some(token), Some(ath)) if ath == access_token_hash(token) => Ok(()),
        (Some(_), _) => Err(DpopError::WrongTokenHash),
    }
}

/// A URL without query and fragment, scheme and host lower-cased, the scheme's default port
/// dropped and an empty path made `/` (RFC 3986 §6.2.2–6.2.3).
fn normalized_url(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let parsed = WebUrl::parse(url)?;
    if !parsed.has_authority || parsed.has_credentials {
        return None;
    }
    let port = match (parsed.scheme.as_str(), parsed.port) {
        ("https", Some("443")) | ("http", Some("80")) | (_, None) => String::new(),
        (_, Some(port)) => format!(":{port}"),
    };
    let path = if parsed.rest.is_empty() {
        "/"
    } else {
        parsed.rest
    };
    Some(format!("{}://{}{port}{path}", parsed.scheme, parsed.host))
}

/// A proof for an app held to FAPI 2.0 must use one of the profile's algorithms (§5.4.1).
pub fn check_fapi_algorithm(algorithm: JwsAlgorithm) -> Result<(), DpopError> {
    crate::fapi::algorithm_allowed(algorithm).map_err(|_| DpopError::FapiAlgorithm)
}

/// Whether `value` can be an RFC 7638 SHA-256 thumbprint (`dpop_jkt`, RFC 9449 §10).
pub fn is_thumbprint(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A code bound to a key at authorize (`dpop_jkt`, RFC 9449 §10) is exchanged only with a proof
/// made with that key.
pub fn check_code_key(bound: Option<&str>, proven: Option<&str>) -> Result<(), DpopError> {
    match bound {
        Some(jkt) if proven != Some(jkt) => Err(DpopError::CodeBound),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_code_bound_at_authorize_needs_the_same_key() {
        let jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert!(is_thumbprint(jkt));
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            "NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs",
        ] {
            assert!(!is_thumbprint(bad), "{bad}");
        }
        assert_eq!(check_code_key(Some(jkt), Some(jkt)), Ok(()));
        assert_eq!(check_code_key(Some(jkt), None), Err(DpopError::CodeBound));
        assert_eq!(
            check_code_key(Some(jkt), Some("other")),
            Err(DpopError::CodeBound)
        );
        assert_eq!(check_code_key(None, Some(jkt)), Ok(()));
    }
    use super::*;

    #[test]
    fn the_thumbprint_is_rfc_7638s_example() {
        // RFC 7638 §3.1.
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    fn claims(htm: &str, htu: &str, iat: i64, ath: Option<&str>) -> ProofClaims {
        ProofClaims {
            jti: "j".into(),
            htm: htm.into(),
            htu: htu.into(),
            iat,
            ath: ath.map(str::to_owned),
            nonce: None,
        }
    }

    const TOKEN_URL: &str = "https://id.example/oauth2/v1/token";

    fn at_token(method: &str) -> ProofTarget<'static> {
        ProofTarget {
            method: if method == "POST" { "POST" } else { "GET" },
            url: TOKEN_URL,
            access_token: None,
        }
    }

    #[test]
    fn method_url_and_age_must_match() {
        let check = |c: &ProofClaims| check_claims(c, at_token("POST"), 1000);
        assert_eq!(check(&claims("POST", TOKEN_URL, 1000, None)), Ok(()));
        assert_eq!(
            check(&claims(
                "POST",
                "HTTPS://ID.example:443/oauth2/v1/token?x=1#f",
                990,
                None
            )),
            Ok(())
        );
        assert_eq!(
            check(&claims("GET", TOKEN_URL, 1000, None)),
            Err(DpopError::WrongMethod)
        );
        assert_eq!(
            check(&claims(
                "POST",
                "https://id.example/oauth2/v1/userinfo",
                1000,
                None
            )),
            Err(DpopError::WrongUrl)
        );
        assert_eq!(
            check(&claims(
                "POST",
                "https://id.example:8443/oauth2/v1/token",
                1000,
                None
            )),
            Err(DpopError::WrongUrl)
        );
        assert_eq!(
            check(&claims("POST", "not a url", 1000, None)),
            Err(DpopError::WrongUrl)
        );
        assert_eq!(
            check(&claims(
                "POST",
                TOKEN_URL,
                1000 - MAX_AGE - CLOCK_LEEWAY - 1,
                None
            )),
            Err(DpopError::Stale)
        );
        assert_eq!(
            check(&claims("POST", TOKEN_URL, 1000 + CLOCK_LEEWAY + 1, None)),
            Err(DpopError::Stale)
        );
    }

    #[test]
    fn a_proof_at_a_resource_covers_the_token_sent_with_it() {
        let target = ProofTarget {
            method: "GET",
            url: "https://id.example/oauth2/v1/userinfo",
            access_token: Some("the-token"),
        };
        let ath = access_token_hash("the-token");
        let good = claims("GET", target.url, 1000, Some(&ath));
        assert_eq!(check_claims(&good, target, 1000), Ok(()));
        let other = claims("GET", target.url, 1000, Some(&access_token_hash("other")));
        assert_eq!(
            check_claims(&other, target, 1000),
            Err(DpopError::WrongTokenHash)
        );
        let none = claims("GET", target.url, 1000, None);
        assert_eq!(
            check_claims(&none, target, 1000),
            Err(DpopError::WrongTokenHash)
        );
    }

    #[test]
    fn a_proof_with_a_private_key_or_no_typ_is_refused() {
        let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let claims =
            part(serde_json::json!({"jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": 1}));
        let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([7u8; 32])});
        let mut private = jwk.clone();
        private["d"] = serde_json::json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
        let token = |header: serde_json::Value| format!("{}.{claims}.c2ln", part(header));
        let ok = token(serde_json::json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk}));
        let proof = read_proof(&ok).unwrap();
        assert_eq!(proof.algorithm, JwsAlgorithm::EdDsa);
        assert_eq!(Some(proof.thumbprint), thumbprint(&proof.jwk));
        let cases = [
            (
                serde_json::json!({"typ": "JWT", "alg": "EdDSA", "jwk": jwk}),
                DpopError::Malformed,
            ),
            (
                serde_json::json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": private}),
                DpopError::PrivateKey,
            ),
            (
                serde_json::json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk}),
                DpopError::UnsupportedAlgorithm("HS256".into()),
            ),
            (
                serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}),
                DpopError::Malformed,
            ),
            (
                serde_json::json!({"typ": "dpop+jwt", "alg": "EdDSA"}),
                DpopError::Malformed,
            ),
        ];
        for (header, err) in cases {
            assert_eq!(
                read_proof(&token(header.clone())).unwrap_err(),
                err,
                "{header}"
            );
        }
    }
}
