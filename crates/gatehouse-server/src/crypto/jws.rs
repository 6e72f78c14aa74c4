//! Checking an outside party's JWS signature with a key from its JWKS.

use aws_lc_rs::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519,
    RSA_PKCS1_2048_8192_SHA256,
};
use gatehouse_core::federation::{JwsAlgorithm, PublicKey};

/// Whether `signature` over `message` verifies with `key` in `algorithm`.
pub fn verify_signature(
    algorithm: JwsAlgorithm,
    key: &PublicKey,
    message: &[u8],
    signature: &[u8],
) -> bool {
    match (algorithm, key) {
        (JwsAlgorithm::Rs256, PublicKey::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
            .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
            .is_ok(),
        (JwsAlgorithm::Es256, PublicKey::P256 { point }) => {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature)
                .is_ok()
        }
        (JwsAlgorithm::EdDsa, PublicKey::Ed25519 { x }) => UnparsedPublicKey::new(&ED25519, x)
            .verify(message, signature)
            .is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Algorithm, SigningKey};
    use gatehouse_core::federation::{select_key, JwkSet};
    use gatehouse_core::jwt::JwtHeader;

    #[test]
    fn a_published_key_verifies_its_own_signatures_only() {
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
            let signature = key.sign(b"message");
            assert!(
                verify_signature(jws, &public, b"message", &signature),
                "{alg}"
            );
            assert!(
                !verify_signature(jws, &public, b"other", &signature),
                "{alg}"
            );
        }
    }
}
