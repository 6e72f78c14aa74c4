//! Token signing keys: RS256 (RSA-2048), ES256 (P-256) and EdDSA (Ed25519).

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rs256,
    Es256,
    EdDsa,
}

impl Algorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningKeyError {
    #[error("unknown signing algorithm {0}")]
    UnknownAlgorithm(String),
    #[error("the key could not be generated")]
    Generate,
    #[error("the stored private key is not a valid {0} PKCS#8 key")]
    BadPrivateKey(&'static str),
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private key ready to sign, with its public half in the forms the outside world needs.
pub struct SigningKey {
    algorithm: Algorithm,
    kid: String,
    spki_der: Vec<u8>,
    /// The public key in the form `UnparsedPublicKey` verifies with.
    verify_bytes: Vec<u8>,
    jwk: serde_json::Value,
    pair: Pair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new key; returns it with its PKCS#8 DER (to be encrypted and stored).
    pub fn generate(algorithm: Algorithm) -> Result<(Self, Vec<u8>), SigningKeyError> {
        let pkcs8 = match algorithm {
            Algorithm::Rs256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| SigningKeyError::Generate)?;
                let der: Pkcs8V1Der<'_> = pair.as_der().map_err(|_| SigningKeyError::Generate)?;
                der.as_ref().to_vec()
            }
            Algorithm::Es256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| SigningKeyError::Generate)?;
                pair.to_pkcs8v1()
                    .map_err(|_| SigningKeyError::Generate)?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::EdDsa => {
                let pair = Ed25519KeyPair::generate().map_err(|_| SigningKeyError::Generate)?;
                pair.to_pkcs8()
                    .map_err(|_| SigningKeyError::Generate)?
                    .as_ref()
                    .to_vec()
            }
        };
        let key = Self::from_pkcs8(algorithm, &pkcs8)?;
        Ok((key, pkcs8))
    }

    pub fn from_pkcs8(algorithm: Algorithm, pkcs8: &[u8]) -> Result<Self, SigningKeyError> {
        let bad = || SigningKeyError::BadPrivateKey(algorithm.as_str());
        let (pair, spki_der, verify_bytes, jwk) = match algorithm {
            Algorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| bad())?;
                let public = pair.public_key();
                let spki: PublicKeyX509Der<'_> = public.as_der().map_err(|_| bad())?;
                let jwk = json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                });
                let verify = public.as_ref().to_vec();
                (Pair::Rsa(pair), spki.as_ref().to_vec(), verify, jwk)
            }
            Algorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|_| bad())?;
                let public = pair.public_key();
                let spki: PublicKeyX509Der<'_> = public.as_der().map_err(|_| bad())?;
                // Uncompressed point: 0x04 ‖ x ‖ y.
                let point = public.as_ref();
                if point.len() != 65 {
                    return Err(bad());
                }
                let jwk = json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                });
                let verify = point.to_vec();
                (Pair::Ec(pair), spki.as_ref().to_vec(), verify, jwk)
            }
            Algorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| bad())?;
                let public = pair.public_key();
                let spki: PublicKeyX509Der<'_> = public.as_der().map_err(|_| bad())?;
                let jwk = json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(public.as_ref()),
                });
                let verify = public.as_ref().to_vec();
                (Pair::Ed(pair), spki.as_ref().to_vec(), verify, jwk)
            }
        };
        let kid = super::sha256_hex(&spki_der);
        let mut jwk = jwk;
        if let Some(map) = jwk.as_object_mut() {
            map.insert("alg".into(), algorithm.as_str().into());
            map.insert("use".into(), "sig".into());
            map.insert("kid".into(), kid.clone().into());
        }
        Ok(Self {
            algorithm,
            kid,
            spki_der,
            verify_bytes,
            jwk,
            pair,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The public key as a JWK with `kid`, `alg` and `use: "sig"`.
    pub fn jwk(&self) -> &serde_json::Value {
        &self.jwk
    }

    /// A JWS signature over `message` in the algorithm's JOSE form.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        // Signing with a key that loaded successfully only fails on allocation failure.
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .expect("RSA signing failed");
                sig
            }
            Pair::Ec(pair) => pair
                .sign(&SystemRandom::new(), message)
                .expect("ECDSA signing failed")
                .as_ref()
                .to_vec(),
            Pair::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }

    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        let algorithm: &dyn signature::VerificationAlgorithm = match self.algorithm {
            Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::Es256 => &ECDSA_P256_SHA256_FIXED,
            Algorithm::EdDsa => &signature::ED25519,
        };
        UnparsedPublicKey::new(algorithm, &self.verify_bytes)
            .verify(message, sig)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_signs_verifies_and_reloads() {
        for algorithm in [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
            let (key, pkcs8) = SigningKey::generate(algorithm).unwrap();
            let sig = key.sign(b"message");
            assert!(key.verify(b"message", &sig), "{algorithm:?}");
            assert!(!key.verify(b"other", &sig), "{algorithm:?}");
            let reloaded = SigningKey::from_pkcs8(algorithm, &pkcs8).unwrap();
            assert_eq!(reloaded.kid(), key.kid());
            assert!(reloaded.verify(b"message", &sig));
            assert_eq!(key.kid(), crate::crypto::sha256_hex(key.spki_der()));
            assert_eq!(key.jwk()["kid"], key.kid());
            assert_eq!(key.jwk()["alg"], algorithm.as_str());
        }
    }

    #[test]
    fn a_key_of_one_algorithm_does_not_load_as_another() {
        let (_, pkcs8) = SigningKey::generate(Algorithm::Es256).unwrap();
        assert!(SigningKey::from_pkcs8(Algorithm::Rs256, &pkcs8).is_err());
    }
}
