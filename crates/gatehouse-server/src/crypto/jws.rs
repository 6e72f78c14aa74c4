//! Checking an outside party's JWS (a provider's ID token) with a key from its JWKS, through
//! `jsonwebtoken` on aws-lc-rs: the compact form, the header, the signature and the claims' JSON.
//! The OpenID Connect claim rules are core's (`federation::check_claims`), at the request's `now`.

use gatehouse_core::federation::{FederationError, Jwk, JwsAlgorithm};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;

/// The claims of `token` if it is signed in `algorithm` by `jwk` (a key `select_key` chose).
pub fn verify<T: DeserializeOwned>(
    token: &str,
    algorithm: JwsAlgorithm,
    jwk: &Jwk,
) -> Result<T, FederationError> {
    let part = |p: &Option<String>| p.clone().unwrap_or_default();
    // Ed25519 directly: the library knows `EdDSA` but not RFC 9864's `Ed25519` header name.
    if algorithm == JwsAlgorithm::EdDsa {
        return verify_ed25519(token, jwk);
    }
    let (key, algorithm) = match algorithm {
        JwsAlgorithm::Rs256 => (
            DecodingKey::from_rsa_components(&part(&jwk.n), &part(&jwk.e)),
            Algorithm::RS256,
        ),
        JwsAlgorithm::Ps256 => (
            DecodingKey::from_rsa_components(&part(&jwk.n), &part(&jwk.e)),
            Algorithm::PS256,
        ),
        JwsAlgorithm::Es256 => (
            DecodingKey::from_ec_components(&part(&jwk.x), &part(&jwk.y)),
            Algorithm::ES256,
        ),
        JwsAlgorithm::EdDsa => (
            DecodingKey::from_ed_components(&part(&jwk.x)),
            Algorithm::EdDSA,
        ),
    };
    let key = key.map_err(|_| FederationError::UnknownKey)?;
    // Only the signature here: OpenID Connect's claim rules (the issuer without its scheme,
    // `azp` beside several audiences, `iat` in the future, the nonce) and the clock, a parameter
    // for tests, are not what the library's registered-claim checks do.
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<T>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidKeyFormat => FederationError::BadSignature,
            _ => FederationError::Malformed,
        })
}

/// The claims of `token` if it is an HMAC JWS (HS256, HS384 or HS512) made with `secret`
/// (`client_secret_jwt`, RFC 7523); `None` for another algorithm or a bad signature.
pub fn verify_hmac<T: DeserializeOwned>(token: &str, secret: &[u8]) -> Option<T> {
    let algorithm = match jsonwebtoken::decode_header(token).ok()?.alg {
        algorithm @ (Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => algorithm,
        _ => return None,
    };
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let key = DecodingKey::from_secret(secret);
    jsonwebtoken::decode::<T>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
}

fn verify_ed25519<T: DeserializeOwned>(token: &str, jwk: &Jwk) -> Result<T, FederationError> {
    use aws_lc_rs::signature::{UnparsedPublicKey, ED25519};
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let jwt = gatehouse_core::jwt::split(token).map_err(|_| FederationError::Malformed)?;
    let x = jwk.x.as_deref().unwrap_or_default();
    let public = URL_SAFE_NO_PAD
        .decode(x)
        .map_err(|_| FederationError::BadSignature)?;
    UnparsedPublicKey::new(&ED25519, public)
        .verify(jwt.signing_input.as_bytes(), &jwt.signature)
        .map_err(|_| FederationError::BadSignature)?;
    serde_json::from_slice(&jwt.payload).map_err(|_| FederationError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Algorithm, SigningKey};
    use gatehouse_core::federation::{select_key, IdTokenClaims, JwkSet};
    use gatehouse_core::jwt::{compact, signing_input, JwtHeader};

    #[test]
    fn a_published_key_verifies_its_own_signatures_only() {
        let claims = serde_json::json!({"iss": "https://id.example", "aud": "c", "exp": 10});
        for (algorithm, alg) in [
            (Algorithm::Rs256, "RS256"),
            (Algorithm::Es256, "ES256"),
            (Algorithm::EdDsa, "EdDSA"),
        ] {
            let (key, _) = SigningKey::generate(algorithm).unwrap();
            let set: JwkSet =
                serde_json::from_value(serde_json::json!({ "keys": [key.jwk()] })).unwrap();
            let header = JwtHeader {
                alg: alg.into(),
                typ: None,
                kid: Some(key.kid().to_owned()),
            };
            let (jws, public) = select_key(&set, &header).unwrap();
            let input = signing_input(&header, &claims);
            let token = compact(input.clone(), &key.sign(input.as_bytes()));
            let verified: IdTokenClaims = verify(&token, jws, public).expect(alg);
            assert_eq!(verified.iss, "https://id.example", "{alg}");
            let other = signing_input(
                &header,
                &serde_json::json!({"iss": "x", "aud": "c", "exp": 1}),
            );
            let forged = compact(other, &key.sign(input.as_bytes()));
            assert_eq!(
                verify::<IdTokenClaims>(&forged, jws, public).unwrap_err(),
                FederationError::BadSignature,
                "{alg}"
            );
        }
    }

    #[test]
    fn a_signed_payload_that_is_no_claims_is_malformed() {
        let (key, _) = SigningKey::generate(Algorithm::EdDsa).unwrap();
        let set: JwkSet =
            serde_json::from_value(serde_json::json!({ "keys": [key.jwk()] })).unwrap();
        let header = JwtHeader {
            alg: "EdDSA".into(),
            typ: None,
            kid: Some(key.kid().to_owned()),
        };
        let (jws, public) = select_key(&set, &header).unwrap();
        let input = signing_input(&header, &serde_json::json!({"sub": "no issuer"}));
        let token = compact(input.clone(), &key.sign(input.as_bytes()));
        assert_eq!(
            verify::<IdTokenClaims>(&token, jws, public).unwrap_err(),
            FederationError::Malformed
        );
    }
}
